"""The measuring protocol: paired CIs and verdicts, the level metric, the enlarged test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from downstream.summary import ceiling_shares, paired_ci, summarize, verdict

TARGETS = ["theme park", "ski trip"]


def _runs(base: list[float], arm: list[float], name: str = "+x") -> list[dict]:
    runs = [{"arm": "real-only", "seed": s, "metrics": {"m": {"value": v}}}
            for s, v in enumerate(base)]
    return runs + [{"arm": name, "seed": s, "metrics": {"m": {"value": v}}}
                   for s, v in enumerate(arm)]


def test_paired_ci_is_the_t_interval() -> None:
    d = np.array([0.01, 0.03, 0.02, 0.04])
    lo, hi = paired_ci(d)
    half = 3.182446305284263 * d.std(ddof=1) / 2      # t(0.975, 3) * sd / sqrt(4)
    assert lo == pytest.approx(0.025 - half) and hi == pytest.approx(0.025 + half)
    assert all(math.isnan(x) for x in paired_ci(np.array([0.1])))


def test_verdict_marks_an_interval_covering_zero_not_resolved() -> None:
    assert verdict(-0.01, 0.02) == "not resolved"
    assert verdict(0.0, 0.02) == "not resolved"
    assert verdict(0.001, 0.02) == "gain"
    assert verdict(-0.03, -0.001) == "loss"
    assert verdict(math.nan, math.nan) == "not resolved"


def test_summary_resolves_only_consistent_differences() -> None:
    base = [0.60, 0.62, 0.58, 0.61, 0.59]
    noisy = summarize(_runs(base, [0.61, 0.60, 0.60, 0.62, 0.58]))
    row = noisy[noisy["arm"] == "+x"].iloc[0]
    assert row["ci_low"] < 0 < row["ci_high"] and row["resolved"] == "not resolved"
    steady = summarize(_runs(base, [b + 0.01 + 0.001 * i for i, b in enumerate(base)]))
    row = steady[steady["arm"] == "+x"].iloc[0]
    assert row["resolved"] == "gain" and row["delta"] == pytest.approx(0.012)


def test_ceiling_shares_only_of_a_resolved_ceiling() -> None:
    base = [0.60, 0.62, 0.58, 0.61]
    runs = _runs(base, [b + 0.01 for b in base], "+set")
    runs += _runs(base, [b + 0.04 + 0.001 * i for i, b in enumerate(base)],
                  "+fresh-impressions")[4:]
    runs += _runs(base, [0.62, 0.60, 0.59, 0.60], "+fresh-positives")[4:]
    shares = ceiling_shares(summarize(runs), "m")
    assert shares["+set"]["+fresh-impressions"] == pytest.approx(0.01 / 0.0415)
    assert math.isnan(shares["+set"]["+fresh-positives"])


def test_level_metric_is_mean_prediction_over_truth_and_observed() -> None:
    from downstream.metrics import _level

    rec = _level(np.array([0.1, 0.3]), np.array([0, 1]), np.array([0.4, 0.4]), "a")
    assert rec["pred_over_true"] == pytest.approx(0.5)
    assert rec["pred_over_observed"] == pytest.approx(0.4)
    assert rec["value"] == rec["pred_over_true"]
    assert _level(np.array([0.1]), np.array([1]), None, "a")["value"] == pytest.approx(0.1)


@pytest.fixture(scope="module")
def instrument():
    from downstream.ruler import Instrument
    from samplegen.sources import load_source
    from samplegen.split import make_split

    src = load_source("travel-sim", n_impressions=60_000, seed=1)
    split = make_split(src)
    return src, split, Instrument.build(src, split, TARGETS, min_test_conversions=150,
                                        fresh_positives={"theme park": 7, "ski trip": 5})


def test_enlarged_test_has_the_conversions_and_no_training_or_validation_row(instrument):
    from samplegen.split import row_hashes

    src, split, inst = instrument
    t = inst.target_test
    assert t["click"].eq(1).all()
    conv = t.groupby(t["item_category"].astype(str), observed=True)["conversion"].sum()
    assert conv.to_dict() == {"theme park": 150, "ski trip": 150}
    train, valid, test = split.frames(src)
    seen = set(row_hashes(src.schema.coerce(pd.concat([train, valid]))))
    assert not seen & set(row_hashes(t))
    assert t["event_time"].min() >= test["event_time"].min()
    # its oracle is the truth of its rows
    truth = inst.world.truth(t)["p_conversion"].to_numpy(np.float32)
    np.testing.assert_array_equal(truth, inst.target_oracle["p_conversion"].to_numpy())


def test_ceilings_hold_the_asked_positives_in_the_training_window(instrument):
    src, split, inst = instrument
    pos, imp = inst.arms["+fresh-positives"], inst.arms["+fresh-impressions"]
    by = pos["item_category"].astype(str).value_counts().to_dict()
    assert by == {"theme park": 7, "ski trip": 5}
    assert pos["conversion"].eq(1).all() and pos["is_synthetic"].eq(1).all()
    assert int(imp["conversion"].sum()) == 12 and imp["click"].eq(0).any()
    _, valid, _ = split.frames(src)
    assert imp["event_time"].max() < valid["event_time"].min()
