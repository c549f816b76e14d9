"""SampleLLM-style importance weights: grouping, planted wrong interaction, finiteness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from samplegen.align import ShapAligner, get_aligner, group_features
from tests.align_toy import toy


def test_group_features_components_and_cap():
    f = ["a", "b", "c", "d", "e"]
    m = np.zeros((5, 5))
    m[0, 1] = m[1, 0] = 1.0   # a-b strongest
    m[1, 2] = m[2, 1] = 0.6   # b-c
    m[2, 3] = m[3, 2] = 0.5   # c-d (would make a group of 4)
    m[3, 4] = m[4, 3] = 0.1   # below threshold
    assert group_features(m, f, threshold=0.3, max_group_size=3) == [["a", "b", "c"], ["d"], ["e"]]
    assert group_features(m, f, threshold=0.3, max_group_size=4) == [["a", "b", "c", "d"], ["e"]]
    assert group_features(m, f, threshold=0.3, exclude=("b",)) == [["a"], ["c", "d"], ["e"]]
    assert group_features(np.zeros((2, 2)), ["a", "b"]) == [["a"], ["b"]]


@pytest.fixture(scope="module")
def fitted():
    real, schema, pool, planted = toy()
    aligner = get_aligner("shap", n_estimators=60).fit(real, schema, seed=0)
    return aligner, real, schema, pool, planted


def test_interaction_groups_find_the_planted_pair(fitted):
    aligner, *_ = fitted
    assert ["user_membership", "item_price_band"] in aligner.groups
    assert all("item_category" not in g for g in aligner.groups)  # the category conditions


def test_weights_push_planted_rows_down(fitted):
    aligner, _, _, pool, planted = fitted
    w = aligner.weights(pool)
    assert np.all(np.isfinite(w)) and np.all(w > 0)
    assert w.mean() == pytest.approx(1.0)
    assert w[planted].max() < w[~planted].min()          # every planted row ranks last
    assert w[planted].mean() < 0.05 * w[~planted].mean()


def test_weights_only_ratio_of_group_term(fitted):
    _, real, schema, pool, planted = fitted
    aligner = ShapAligner(use_filter=False, label_power=0.0, n_estimators=60).fit(real, schema)
    w = aligner.weights(pool)
    assert w[planted].max() < w[~planted].min()


def test_select_size_counts_and_report_json(fitted):
    aligner, _, _, pool, planted = fitted
    sel, rep = aligner.select(pool, 300, seed=0)
    assert len(sel) == 300 and sel.index.is_unique
    assert rep.selected + sum(rep.dropped.values()) == rep.pool_size == 600
    assert planted[sel.index.to_numpy()].sum() == 0
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["method"] == "shap" and d["n_requested"] == 300
    assert 0 < d["ess"] <= rep.passed_filter and 0 < d["ess_fraction"] <= 1
    assert 0.5 < d["validation_auc"] < 1
    # the category mix of the pool is kept
    for c, row in d["per_category"].items():
        assert abs(row["selected"] / 300 - row["pool"] / 600) < 0.02, c


def test_select_is_seeded(fitted):
    aligner, _, _, pool, _ = fitted
    a, _ = aligner.select(pool, 200, seed=7)
    b, _ = aligner.select(pool, 200, seed=7)
    c, _ = aligner.select(pool, 200, seed=8)
    assert a.index.tolist() == b.index.tolist()
    assert a.index.tolist() != c.index.tolist()


def test_unseen_values_are_downweighted_not_divided_by_zero(fitted):
    aligner, _, _, pool, _ = fitted
    odd = pool.head(50).copy()
    odd.loc[odd.index[:10], "device"] = "smart-tv"   # never seen in real data
    w = aligner.weights(odd)
    assert np.all(np.isfinite(w))
    assert w[:10].max() < w[10:].min()


def test_score_is_zero_for_filtered_rows(fitted):
    aligner, _, _, pool, planted = fitted
    s = aligner.score(pool)
    assert np.all(np.isfinite(s)) and np.all(s >= 0)
    assert np.all(s[planted] == 0)


def test_group_features_respects_the_cell_cap():
    f = ["a", "b", "c"]
    m = np.zeros((3, 3))
    m[0, 1] = m[1, 0] = 1.0
    m[1, 2] = m[2, 1] = 0.9
    card = {"a": 10, "b": 10, "c": 2}
    assert group_features(m, f, cardinality=card, max_cells=50) == [["a"], ["b", "c"]]
    assert group_features(m, f, cardinality=card, max_cells=200) == [["a", "b", "c"]]
