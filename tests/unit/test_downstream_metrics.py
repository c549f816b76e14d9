"""Metrics on hand-made tables with exact expected values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from downstream.data import EncodedTable, correct_probability
from downstream.metrics import auc, calibration, evaluate, gauc, logloss
from downstream.summary import paired_test, summarize


def test_auc_exact_and_ties_and_one_class() -> None:
    assert auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert auc([1, 0, 1], [0.9, 0.1, 0.2]) == pytest.approx(1.0)
    assert math.isnan(auc([1, 1], [0.2, 0.3]))


def test_logloss_calibration_correction() -> None:
    assert logloss([1, 0], [0.8, 0.2]) == pytest.approx(-math.log(0.8))
    assert calibration([1, 0, 1, 0], [0.5] * 4) == pytest.approx(1.0)
    assert calibration([1, 0, 1, 0], [0.2] * 4) == pytest.approx(0.4)
    assert math.isnan(calibration([0, 0], [0.1, 0.2]))
    assert correct_probability(np.array([0.5]), 4.0)[0] == pytest.approx(0.2)
    assert correct_probability(np.array([0.3]), 1.0)[0] == pytest.approx(0.3)


def test_gauc_weights_groups_and_skips_one_class_groups() -> None:
    y = [0, 1, 0, 1, 0, 0, 0]
    s = [0.2, 0.8, 0.5, 0.3, 0.1, 0.9, 0.4]
    g = ["a", "a", "b", "b", "b", "c", "c"]
    # a: AUC 1 (2 rows); b: AUC 0.5 (3 rows); c: one class, skipped
    assert gauc(y, s, g) == pytest.approx((2 * 1.0 + 3 * 0.5) / 5)


def _table() -> tuple[EncodedTable, dict[str, np.ndarray]]:
    click = np.array([1, 1, 1, 0, 0, 1], dtype=np.float32)
    conv = np.array([1, 0, 0, 0, 0, 1], dtype=np.float32)
    t = {"cat": torch.zeros(6, 1, dtype=torch.long), "num": torch.zeros(6, 0),
         "click": torch.from_numpy(click), "conversion": torch.from_numpy(conv),
         "ctcvr": torch.from_numpy(click * conv)}
    table = EncodedTable(t, np.array(["a", "a", "b", "b", "a", "b"]),
                         np.array(["u1", "u1", "u1", "u2", "u2", "u2"]))
    pred = {"p_ctr": np.array([0.8, 0.6, 0.7, 0.2, 0.3, 0.4]),
            "p_cvr": np.array([0.5, 0.4, 0.6, 0.9, 0.1, 0.7])}
    return table, pred


def test_evaluate_protocols_exact() -> None:
    table, pred = _table()
    oracle = pd.DataFrame({"p_click": pred["p_ctr"],
                           "p_conversion": [0.9, 0.1, 0.2, 0.3, 0.4, 0.8]})
    m = evaluate(pred, table, targets=["a", "b"], oracle=oracle)
    assert m["ctr_auc"]["value"] == pytest.approx(1.0)
    assert m["cvr_auc@click-space"]["value"] == pytest.approx(0.75)
    assert m["cvr_auc@click-space"]["protocol"] == "click-space"
    assert m["cvr_auc@click-space"]["oracle"] == pytest.approx(1.0)
    assert m["cvr_auc@entire-space"]["value"] == pytest.approx(0.625)
    assert m["cvr_auc@entire-space"]["protocol"] == "entire-space"
    assert m["ctcvr_auc"]["value"] == pytest.approx(0.75)
    assert m["cvr_auc@click-space[cat=a]"]["value"] == pytest.approx(1.0)
    assert m["cvr_auc@entire-space[cat=a]"]["value"] == pytest.approx(1.0)
    assert m["cvr_auc@click-space[cat=b]"]["value"] == pytest.approx(1.0)
    assert m["cvr_auc@entire-space[cat=b]"]["value"] == pytest.approx(0.5)
    assert m["cvr_auc@entire-space[cat=b]"]["category"] == "b"
    assert m["ctr_calibration"]["value"] == pytest.approx(3.0 / 4)
    # user u1: clicks [1,1,1] one class -> skipped; u2: y [0,0,1] s [.2,.3,.4] -> 1
    assert m["ctr_gauc"]["value"] == pytest.approx(1.0)
    for name, rec in m.items():
        if name.startswith("cvr_auc"):
            assert rec["protocol"] in ("click-space", "entire-space")


def test_evaluate_applies_upsampling_correction() -> None:
    table, pred = _table()
    m = evaluate(pred, table, k_click=2.0)
    q = np.array([0.8 / 1.2, 0.6 / 1.4, 0.7 / 1.3, 0.2 / 1.8, 0.3 / 1.7, 0.4 / 1.6])
    assert m["ctr_calibration"]["value"] == pytest.approx(q.sum() / 4)
    ctcvr = q * pred["p_cvr"]
    assert m["ctcvr_calibration"]["value"] == pytest.approx(ctcvr.sum() / 2)
    assert m["ctr_auc"]["value"] == pytest.approx(1.0)  # AUC unchanged by the correction


def test_summarize_paired_delta_and_gap() -> None:
    def run(arm: str, seed: int, v: float) -> dict:
        return {"arm": arm, "seed": seed,
                "metrics": {"ctcvr_auc": {"value": v, "task": "ctcvr",
                                          "protocol": "all-impressions", "oracle": 0.8}}}

    runs = [run("real-only", 0, 0.60), run("real-only", 1, 0.62),
            run("+syn", 0, 0.65), run("+syn", 1, 0.69)]
    s = summarize(runs).set_index("arm")
    assert s.loc["real-only", "mean"] == pytest.approx(0.61)
    assert s.loc["+syn", "mean"] == pytest.approx(0.67)
    assert s.loc["+syn", "std"] == pytest.approx(math.sqrt(0.0008))
    assert s.loc["+syn", "delta"] == pytest.approx(0.06)
    assert s.loc["+syn", "gap_closed"] == pytest.approx(0.06 / (0.8 - 0.61))
    assert s.loc["+syn", "p_value"] == pytest.approx(paired_test([0.65, 0.69], [0.60, 0.62]))
    assert math.isnan(s.loc["real-only", "delta"])
    assert math.isnan(paired_test([0.5], [0.4]))
