"""Reading `samplegen validate` metrics into the downstream-lift section."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evaluators.properties.downstream import (
    DownstreamLift,
    downstream_table,
    load_validate_metrics,
)
from samplegen.errors import UsageError

EXPERIMENT = {
    "protocol": {"cvr_auc@click-space": "clicked test rows, label conversion"},
    "arms": ["real-only", "+llm"],
    "seeds": [0, 1, 2],
    "summary": [
        {"arm": "real-only", "metric": "cvr_auc@click-space[cat=cruise]", "category": "cruise",
         "mean": 0.60, "std": 0.02, "n_seeds": 3, "delta": None, "delta_std": None},
        {"arm": "+llm", "metric": "cvr_auc@click-space[cat=cruise]", "category": "cruise",
         "mean": 0.64, "std": 0.01, "n_seeds": 3, "delta": 0.04, "delta_std": 0.01,
         "p_value": 0.03},
        {"arm": "+llm", "metric": "cvr_auc@click-space[cat=visa]", "category": "visa",
         "mean": 0.55, "std": 0.03, "n_seeds": 3, "delta": -0.02, "delta_std": 0.02},
        {"arm": "+llm", "metric": "cvr_auc@click-space[cat=hotel]", "category": "hotel",
         "mean": 0.70, "std": 0.01, "n_seeds": 3, "delta": 0.10, "delta_std": 0.01},
        {"arm": "+llm", "metric": "ctcvr_auc", "category": None, "mean": 0.66, "std": 0.01,
         "n_seeds": 3, "delta": 0.01, "delta_std": 0.005},
    ],
}


def test_experiment_format_gives_per_category_deltas() -> None:
    res = DownstreamLift().compute(EXPERIMENT, ["cruise", "visa"])
    assert math.isnan(res.score)  # informational
    llm = res.summary["+llm"]
    assert list(res.summary) == ["+llm"]
    assert llm["category_cvr_auc_delta"] == pytest.approx(0.01)  # (0.04 - 0.02) / 2
    assert (llm["categories_improved"], llm["categories"], llm["protocol"]) == (1, 2,
                                                                                 "click-space")
    assert len(res.details) == 5
    per_cat = res.artifacts["per_category"]
    assert sorted(per_cat["category"]) == ["cruise", "cruise", "visa"]
    assert any("seeds: [0, 1, 2]" in n for n in res.notes)


def test_loose_format_is_walked() -> None:
    loose = {"sets": {"+sdv": {"cvr_auc@click-space[cat=cruise]": {"mean": 0.61, "std": 0.02}}},
             "deltas": {"+sdv": {"cvr_auc@click-space[cat=cruise]": {"mean": 0.03,
                                                                     "std": 0.01}}}}
    table = downstream_table(loose)
    row = table.iloc[0]
    assert (row["arm"], row["category"]) == ("+sdv", "cruise")
    assert (row["mean"], row["std"], row["delta"], row["delta_std"]) == (0.61, 0.02, 0.03, 0.01)
    assert len(table) == 1


def test_no_metrics_and_bad_files(tmp_path: Path) -> None:
    res = DownstreamLift().compute(None, [])
    assert res.details.empty and "no validate metrics" in res.notes[0]
    with pytest.raises(UsageError, match="does not exist"):
        load_validate_metrics(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_validate_metrics(bad)
    good = tmp_path / "metrics.json"
    good.write_text(json.dumps(EXPERIMENT))
    assert load_validate_metrics(tmp_path)["arms"] == ["real-only", "+llm"]  # a folder works
