"""`samplegen demo`: the whole idea on the built-in data and the bundled small LLM."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Run directory for everything the demo "
                                          "writes.")] = Path("runs/demo"),
        quick: Annotated[bool, typer.Option("--quick", help="Smaller data, fewer rows and seeds "
                                            "(about 3 minutes).")] = False,
        align: Annotated[str, typer.Option("--align", help="Alignment: shap, cllm or none.")
                         ] = "cllm",
    ) -> None:
        """Describe travel-sim, generate positives for its sparse and cold-start categories (LLM,
        GaussianCopula, oversampling), align them, validate with ESMM and write the report."""
        from samplegen.cli import console
        from samplegen.cli._demo import DemoConfig, check_out_dir, run_demo

        check_out_dir(out)
        cfg = DemoConfig.quick() if quick else DemoConfig()
        cfg.align = align
        table = run_demo(out, cfg, console)
        t = Table(title="samplegen demo: synthetic positives for sparse and cold-start categories")
        for col in table.columns:
            t.add_column(col, justify="left" if col == "method" else "right")
        for rec in table.to_dict(orient="records"):
            t.add_row(*[_fmt(v) for v in rec.values()])
        console.print(t)
        console.print("CVR AUC: click-space (clicked test rows, label conversion), per target "
                      "category, mean over categories; delta vs real-only paired by seed.")
        console.print(f"report: {out / 'report' / 'report.html'}")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:+.4f}" if abs(v) < 1 and v != 0 else f"{v:,.2f}"
    return str(v)
