"""Weighted draws without replacement and stratified quotas."""

from __future__ import annotations

import numpy as np

from samplegen.align.sampling import stratified_draw, stratified_quotas, weighted_draw


def test_weighted_draw_size_unique_and_seeded():
    w = np.array([1.0, 2.0, 0.0, 5.0, 1.0, 0.5])
    a = weighted_draw(w, 4, np.random.default_rng(3))
    b = weighted_draw(w, 4, np.random.default_rng(3))
    assert a.tolist() == b.tolist()
    assert len(a) == 4 and len(set(a.tolist())) == 4
    assert 2 not in a.tolist()  # zero weight comes last


def test_weighted_draw_takes_zero_weight_rows_only_when_needed():
    w = np.array([0.0, 1.0, 0.0])
    assert weighted_draw(w, 1, np.random.default_rng(0)).tolist() == [1]
    assert sorted(weighted_draw(w, 3, np.random.default_rng(0)).tolist()) == [0, 1, 2]


def test_weighted_draw_follows_weights():
    w = np.array([10.0] * 10 + [0.1] * 90)
    hits = np.zeros(100)
    for s in range(200):
        hits[weighted_draw(w, 10, np.random.default_rng(s))] += 1
    assert hits[:10].mean() > 10 * hits[10:].mean()


def test_stratified_quotas_exact():
    assert stratified_quotas({"a": 60, "b": 30, "c": 10}, {"a": 60, "b": 30, "c": 10}, 10) == {
        "a": 6, "b": 3, "c": 1}
    # b can supply only 1: its share moves to a and c in proportion
    assert stratified_quotas({"a": 50, "b": 50}, {"a": 50, "b": 1}, 10) == {"a": 9, "b": 1}
    assert stratified_quotas({"a": 3, "b": 3}, {"a": 2, "b": 1}, 5) == {"a": 2, "b": 1}


def test_stratified_draw_keeps_shares():
    strata = np.array(["x"] * 30 + ["y"] * 10)
    w = np.ones(40)
    pos = stratified_draw(w, strata, 20, np.random.default_rng(0))
    assert len(pos) == 20
    assert (strata[pos] == "x").sum() == 15 and (strata[pos] == "y").sum() == 5
