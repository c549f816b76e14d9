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
            t.add_column(col, justify="left" if col == "arm" else "right")
        for rec in table.to_dict(orient="records"):
            t.add_row(*[_fmt(v) for v in rec.values()])
        console.print(t)
        from evaluators.scores import DCR

        console.print(
            "truth lift: mean true P(conversion | click) of a set's rows in the targets over "
            "that of the targets' real clicked test rows (1.0 = a random click; structural: "
            "without user/item random effects). level: mean predicted pCVR / mean true pCVR on "
            "a target's clicked test rows (1.0 is right). targets CVR AUC: click-space CVR AUC "
            "(clicked test rows, label conversion) per target on a test enlarged with "
            "same-world draws, mean over targets. Δ: paired by seed against real-only, with the "
            "95% CI; 'not resolved' when it covers 0. share of ceilings: Δ over the Δ of n "
            "fresh real positives (pos) / the impressions holding them (imp), drawn from the "
            "same world. " + DCR.explain())
        console.print(f"report: {out / 'report' / 'report.html'}")


def _fmt(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
