"""evaluators.scores: one definition of the lift and DCR, the same in the demo's table and the
report (click-space only: an entire-space AUC never enters the category delta)."""

from __future__ import annotations

import math

import pytest

from evaluators.properties.downstream import DownstreamLift
from evaluators.scores import CATEGORY_CVR_AUC_DELTA, DCR, category_cvr_auc_delta, dcr_share

CATS = ["ski trip", "visa"]


def _run(arm: str, seed: int, click: list[float], entire: list[float]) -> dict:
    m = {f"cvr_auc@click-space[cat={c}]": {"value": v} for c, v in zip(CATS, click, strict=True)}
    m |= {f"cvr_auc@entire-space[cat={c}]": {"value": v}
          for c, v in zip(CATS, entire, strict=True)}
    return {"arm": arm, "seed": seed, "metrics": m}


METRICS = {"runs": [
    _run("real-only", 0, [0.60, 0.70], [0.80, 0.80]),
    _run("real-only", 1, [0.62, 0.68], [0.80, 0.80]),
    _run("+gc", 0, [0.64, 0.70], [0.50, 0.50]),   # per seed: (0.04 + 0.00) / 2 = 0.02
    _run("+gc", 1, [0.63, 0.71], [0.50, 0.50]),   #           (0.01 + 0.03) / 2 = 0.02
    _run("+llm", 0, [0.58, 0.70], [0.90, 0.90]),  # -0.01
    _run("+llm", 1, [0.62, 0.66], [0.90, 0.90]),  # -0.01
]}


def test_category_delta_is_click_space_paired_by_seed() -> None:
    got = category_cvr_auc_delta(METRICS, CATS)
    assert got["+gc"]["per_seed"] == pytest.approx([0.02, 0.02])
    assert got["+gc"]["mean"] == pytest.approx(0.02) and got["+gc"]["std"] == pytest.approx(0.0)
    assert got["+llm"]["mean"] == pytest.approx(-0.01) and got["+llm"]["n_seeds"] == 2
    assert "real-only" not in got


def test_report_card_and_demo_table_share_the_definition() -> None:
    """The demo's targets delta (mean over targets of click-space AUCs, paired by seed) is
    the report card's category lift, and its DCR the report's."""
    from downstream.summary import summarize
    from samplegen.cli._demo import MethodRun, summary_table

    runs = []
    for r in METRICS["runs"]:
        m = dict(r["metrics"])
        clicks = [m[f"cvr_auc@click-space[cat={c}]"]["value"] for c in CATS]
        m["cvr_auc@click-space[targets]"] = {"value": sum(clicks) / len(clicks)}
        runs.append({**r, "metrics": m})
    metrics = {"runs": runs, "summary": summarize(runs).to_dict("records"),
               "arms": ["real-only", "+gc", "+llm"], "config": {}}
    lift = DownstreamLift().compute(metrics, CATS).summary
    report = {"data": {"sets": {n: {"properties": {"privacy": {"summary": {DCR.key: d}}}}
                                for n, d in (("gc", 0.48), ("llm", 0.61))}}}
    demo = {n: MethodRun(n, None, 10, 5.0, {}) for n in ("gc", "llm")}  # type: ignore[arg-type]
    table = summary_table(demo, metrics, report, CATS).set_index("arm")
    for name in ("gc", "llm"):
        want = lift[f"+{name}"][CATEGORY_CVR_AUC_DELTA.key]
        assert f"{want:+.4f}" in table.loc[f"+{name}", "targets CVR AUC Δ [95% CI]"]
        assert table.loc[f"+{name}", "DCR"] == f"{dcr_share(report['data'], name):.2f}"


def test_dcr_share_reads_report_json_and_says_nan_when_absent() -> None:
    doc = {"sets": {"a": {"properties": {"privacy": {"summary": {DCR.key: 0.125}}}}}}
    assert dcr_share(doc, "a") == 0.125
    assert math.isnan(dcr_share(doc, "b")) and math.isnan(dcr_share({}, "a"))
    assert "0.5" in DCR.explain() and "below 0.5 is no privacy risk" in DCR.explain()
