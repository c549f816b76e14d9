"""travel-sim as a ruler: same-world draws and the truth score of any rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from samplegen.datasets.travel_sim_truth import SimWorld
from samplegen.datasets.travel_sim_world import CATEGORY_NAMES
from samplegen.errors import UsageError
from samplegen.sources import load_source

TARGETS = ["theme park", "ski trip"]


@pytest.fixture(scope="module")
def src():
    return load_source("travel-sim", n_impressions=40_000, seed=3)


@pytest.fixture(scope="module")
def world(src):
    return SimWorld.from_source(src)


def test_truth_of_source_rows_equals_oracle_exactly(src, world):
    tr = world.truth(src.table)
    assert tr["known"].all()
    for col in ("p_click", "p_conversion"):
        np.testing.assert_array_equal(tr[col].to_numpy(np.float32), src.oracle[col].to_numpy())


def test_structural_truth_leaves_out_the_random_effects(src, world):
    import dataclasses

    rows = src.table.iloc[:200]
    tr = world.truth(rows)
    assert not np.allclose(tr["p_conversion"], tr["p_conversion_structural"])
    rng = np.random.default_rng(0)
    other = dataclasses.replace(world, users=dataclasses.replace(
        world.users, conv_re=rng.normal(0, 1, len(world.users)).astype(np.float32),
        click_re=rng.normal(0, 1, len(world.users)).astype(np.float32)))
    t2 = other.truth(rows)
    np.testing.assert_array_equal(t2["p_conversion_structural"], tr["p_conversion_structural"])
    np.testing.assert_array_equal(t2["p_click_structural"], tr["p_click_structural"])
    assert not np.allclose(t2["p_conversion"], tr["p_conversion"])


def test_rows_outside_the_catalogue_are_flagged_not_dropped(src, world):
    rows = src.table.iloc[:5].copy()
    rows["user_id"] = rows["user_id"].astype(str)
    rows.iloc[0, rows.columns.get_loc("user_id")] = "u9999999"
    rows.iloc[1, rows.columns.get_loc("user_id")] = "alice"
    rows["platform"] = rows["platform"].astype(str)
    rows.iloc[2, rows.columns.get_loc("platform")] = "fax"
    tr = world.truth(rows)
    assert len(tr) == 5
    assert tr["known"].tolist() == [False, False, False, True, True]
    assert tr.loc[~tr["known"], "p_conversion"].isna().all()


def test_draws_are_reproducible_and_independent_of_the_source(src, world):
    a = world.draw(5_000, categories=TARGETS, seed=1)
    b = world.draw(5_000, categories=TARGETS, seed=1)
    c = world.draw(5_000, categories=TARGETS, seed=2)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not a.table.equals(c.table)
    assert set(a.table["item_category"].astype(str)) == set(TARGETS)
    key = ["user_id", "item_id", "event_time"]
    both = a.table[key].astype(str).merge(src.table[key].astype(str), on=key)
    assert len(both) == 0
    # labels follow the oracle: truth of drawn rows == their oracle
    np.testing.assert_array_equal(world.truth(a.table)["p_conversion"].to_numpy(np.float32),
                                  a.oracle["p_conversion"].to_numpy())


def test_draws_respect_window_and_launch(world):
    end = world.n_days * 86_400
    d = world.draw(3_000, categories=["hotel", "theme park"], window=(0.5 * end, 0.9 * end))
    s = (d.table["event_time"] - world.start).dt.total_seconds()
    assert s.min() >= 0.5 * end and s.max() < 0.9 * end
    launch = world.launch_s[CATEGORY_NAMES.index("theme park")]
    tp = s[d.table["item_category"] == "theme park"]
    assert len(tp) > 0 and tp.min() >= launch
    with pytest.raises(UsageError, match="widen the window"):
        world.draw(10, categories=["theme park"], window=(0, 0.1 * end))


def test_draw_until_stops_at_the_asked_conversions(world):
    end = world.n_days * 86_400
    d = world.draw_until("ski trip", positives=40, window=(0.8 * end, end), seed=4,
                         clicked_only=True)
    assert int(d.table["conversion"].sum()) == 40
    assert d.table["click"].eq(1).all()


def test_true_cold_start_has_no_training_rows():
    from samplegen.split import make_split

    src = load_source("travel-sim-cold", n_impressions=40_000)
    train, _, test = make_split(src).frames(src)
    assert (train["item_category"] == "theme park").sum() == 0
    assert (test["item_category"] == "theme park").sum() > 0
    assert SimWorld.from_source(src).truth(test)["known"].all()


def test_world_needs_a_simulator():
    df = pd.DataFrame({"a": [1, 2], "click": [0, 1], "conversion": [0, 1]})
    with pytest.raises(UsageError, match="not a travel-sim source"):
        SimWorld.from_source(load_source(df))


def test_truth_lift_of_reference_is_one_and_positives_score_higher(src, world):
    end = world.n_days * 86_400
    ref = world.draw(200_000, categories=TARGETS, window=(0.8 * end, end), seed=7).clicked()
    lift = world.lift(ref.table, ref.table, TARGETS).set_index("target")
    np.testing.assert_allclose(lift["lift"], 1.0)
    np.testing.assert_allclose(lift["structural_lift"], 1.0)
    pos = ref.table[ref.table["conversion"] == 1]
    bad = pos.iloc[:3].copy()
    bad["user_id"] = "nobody"
    lp = world.lift(pd.concat([pos, bad]), ref.table, TARGETS).set_index("target")
    assert (lp["lift"] > 1.3).all()
    assert lp["outside"].sum() == 3 and lp["rows"].sum() == len(pos) + 3
