"""The demo's table prints no gain that its own CI does not resolve."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from downstream.summary import summarize
from samplegen.cli._demo import MethodRun, summary_table

TARGETS = ["theme park", "ski trip"]


def _metrics(noisy: list[float], steady: list[float]) -> dict:
    base = [0.60, 0.62, 0.58, 0.61, 0.59]
    runs = []
    for arm, vals in (("real-only", base), ("+noisy", noisy), ("+steady", steady)):
        for s, v in enumerate(vals):
            m = {"cvr_auc@click-space[targets]": {"value": v},
                 "cvr_auc@click-space": {"value": v}, "ctcvr_auc": {"value": v}}
            for t in TARGETS:
                m[f"cvr_level@click-space[cat={t}]"] = {"value": 0.8 + s / 100}
            runs.append({"arm": arm, "seed": s, "metrics": m})
    truth = {"noisy": [{"target": t, "lift": 0.5, "structural_lift": 0.7} for t in TARGETS]}
    return {"summary": summarize(runs).to_dict("records"), "arms": ["real-only", "+noisy",
            "+steady"], "config": {"instrument": {"truth": truth}}}


def test_unresolved_gain_is_not_printed_as_a_gain() -> None:
    base = [0.60, 0.62, 0.58, 0.61, 0.59]
    metrics = _metrics([0.63, 0.60, 0.61, 0.60, 0.62], [b + 0.01 + i / 1000 for i, b in
                                                        enumerate(base)])
    runs = {k: MethodRun(k, Path("."), 40, 10.0, {}) for k in ("noisy", "steady")}
    table = summary_table(runs, metrics, {}, TARGETS).set_index("arm")
    col = "targets CVR AUC Δ [95% CI]"
    assert table.loc["+noisy", col].startswith("not resolved (+")
    assert table.loc["+steady", col].startswith("+0.0120 [")
    assert table.loc["+noisy", "truth lift (structural)"] == "0.50 (0.70)"
    assert table.loc["real-only", "level pred/true"].startswith("theme park 0.82")
    assert table.loc["+noisy", "rows/s"] == "4.00"
    assert isinstance(table, pd.DataFrame) and "gap closed" not in table.columns
