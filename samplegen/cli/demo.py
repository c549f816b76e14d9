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
            t.add_row(*[_fmt(k, v) for k, v in rec.items()])
        console.print(t)
        from evaluators.scores import CATEGORY_CVR_AUC_DELTA, DCR

        console.print(f"{CATEGORY_CVR_AUC_DELTA.explain()} gap closed: share of the real-only "
                      "-> oracle gap of the global click-space CVR AUC. "
                      f"{DCR.explain()}")
        console.print(f"report: {out / 'report' / 'report.html'}")


def _fmt(column: str, v: object) -> str:
    if not isinstance(v, float):
        return str(v)
    if math.isnan(v):
        return "n/a"
    if column == "rows/s":
        return f"{v:,.2f}"
    if column == "gap closed":
        return f"{v:+.0%}"
    if column in ("cat. CVR AUC Δ",):
        return f"{v:+.4f}"
    return f"{v:.4f}"
