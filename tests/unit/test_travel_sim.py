"""travel-sim: determinism, schema, label logic, rates, cold-start sparsity, entities, oracle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from samplegen.datasets.travel_sim import DEFAULT_N_IMPRESSIONS, load_travel_sim
from samplegen.errors import UsageError
from samplegen.split import Split, category_stats, make_split, sparse_categories


@pytest.fixture(scope="module")
def default_source():
    """The default-size table (generated once: a few seconds)."""
    return load_travel_sim()


@pytest.fixture(scope="module")
def small_source():
    return load_travel_sim(60_000, seed=3)


def test_same_seed_same_data_and_different_seed_differs() -> None:
    a, b = load_travel_sim(20_000, seed=7), load_travel_sim(20_000, seed=7)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.oracle, b.oracle)
    pd.testing.assert_frame_equal(a.extras["global_candidates"], b.extras["global_candidates"])
    assert a.meta == b.meta
    c = load_travel_sim(20_000, seed=8)
    assert not a.table.equals(c.table)
    # the side table does not change the main table
    d = load_travel_sim(20_000, seed=7, with_global=False)
    pd.testing.assert_frame_equal(a.table, d.table)
    assert d.extras == {}


def test_schema_declares_roles_entities_and_validates(small_source) -> None:
    s = small_source.schema
    s.validate(small_source.table, check_domains=True)
    assert s.category == "item_category" and s.click == "click" and s.conversion == "conversion"
    assert s.timestamp == "event_time"
    assert s.aux_labels == ["same_category_purchase", "same_destination_purchase"]
    assert s["user_id"].key and s["item_id"].key
    assert "user_id" not in s.features and "event_time" not in s.features
    assert set(s.entity("item").attributes) >= {"item_category", "item_destination",
                                                 "item_price_band", "item_star"}
    assert s.entity("user").key == "user_id"
    assert list(small_source.table.columns) == s.names
    assert not any(c.startswith("p_") for c in small_source.table.columns)
    price = s["item_price"]
    assert price.min is not None and price.max is not None and price.decimals == 0
    # values are human-readable strings
    assert "Sanya" in s["item_destination"].values and "family" in s["user_life_stage"].values
    assert "5-star" in s["item_star"].values


def test_entities_are_consistent_across_table_and_candidates(small_source) -> None:
    both = pd.concat([small_source.table, small_source.extras["global_candidates"]],
                     ignore_index=True)
    for ent in small_source.schema.entities:
        combos = both[[ent.key, *ent.attributes]].astype(str).drop_duplicates()
        assert combos[ent.key].is_unique, ent.name


def test_labels_conversion_implies_click_and_aux_denser(default_source) -> None:
    t = default_source.table
    assert not ((t["conversion"] == 1) & (t["click"] == 0)).any()
    conv = t["conversion"].mean()
    for aux in default_source.schema.aux_labels:
        assert t[aux].mean() > 5 * conv, aux
        assert not ((t["conversion"] == 1) & (t[aux] == 0)).any()


def test_default_rates_within_30_percent(default_source) -> None:
    t = default_source.table
    assert len(t) == DEFAULT_N_IMPRESSIONS == default_source.meta["n_impressions"]
    assert abs(t["click"].mean() / 0.02 - 1) < 0.3
    assert abs(t["conversion"].sum() / t["click"].sum() / 0.014 - 1) < 0.3


def test_configured_rates_are_honoured() -> None:
    src = load_travel_sim(200_000, seed=1, click_rate=0.05, cvr=0.03, with_global=False)
    t = src.table
    assert abs(t["click"].mean() / 0.05 - 1) < 0.3
    assert abs(t["conversion"].sum() / t["click"].sum() / 0.03 - 1) < 0.3
    assert src.meta["config"]["click_rate"] == 0.05 and src.meta["config"]["cvr"] == 0.03


def test_cold_start_categories_at_default_size(default_source) -> None:
    split = make_split(default_source)
    train, _, test = split.frames(default_source)
    rep = sparse_categories(train, default_source.schema)
    test_conv = category_stats(test, default_source.schema)["conversions"]
    measurable = [c for c in rep.cold_start if test_conv[c] >= 50]
    assert len(measurable) >= 2, (rep.table, test_conv)
    assert all(rep.table.loc[c, "conversions"] <= 20 for c in measurable)
    assert set(measurable) <= set(default_source.meta["category_launch"])
    assert len(rep.sparse) >= 3


def test_oracle_predicts_labels(default_source) -> None:
    t, o = default_source.table, default_source.oracle
    assert list(o.columns) == ["p_click", "p_conversion", "p_ctcvr"] and len(o) == len(t)
    clicked = t["click"].to_numpy() == 1
    cvr_auc = roc_auc_score(t["conversion"].to_numpy()[clicked],
                            o["p_conversion"].to_numpy()[clicked])
    assert cvr_auc > 0.7
    # within a late-launched category the per-category effect is constant, so the ranking
    # comes from the structure shared with the dense categories
    cats = t["item_category"].to_numpy()
    for cat in default_source.meta["category_launch"]:
        m = clicked & (cats == cat)
        assert roc_auc_score(t["conversion"].to_numpy()[m], o["p_conversion"].to_numpy()[m]) > 0.6
    sub = slice(0, None, 10)
    assert roc_auc_score(t["click"].to_numpy()[sub], o["p_click"].to_numpy()[sub]) > 0.6
    np.testing.assert_allclose(o["p_ctcvr"], o["p_click"] * o["p_conversion"], rtol=1e-5)


def test_global_candidates(small_source) -> None:
    t, g = small_source.table, small_source.extras["global_candidates"]
    go = small_source.extras["global_candidates_oracle"]
    expected = [c for c in t.columns if c not in ("click", "conversion")]
    assert [c for c in g.columns if c != "global_purchase"] == expected
    assert len(g) == int(t["click"].sum()) == len(go)
    assert set(np.unique(g["global_purchase"])) <= {0, 1}
    assert abs(g["global_purchase"].mean() / 0.01 - 1) < 0.3
    assert "p_global_purchase" in go.columns
    assert g["event_time"].is_monotonic_increasing
    assert g["event_time"].min() >= t["event_time"].min() - pd.Timedelta(days=1)
    assert g["event_time"].max() <= t["event_time"].max() + pd.Timedelta(days=1)
    # the table's time rule splits the candidates too (no candidate from the future in train)
    rule = make_split(small_source).rule
    g_split = Split.from_dict({"rule": rule}, g)
    assert g.iloc[g_split.train]["event_time"].max() < pd.Timestamp(rule["cut_valid"])
    assert g.iloc[g_split.test]["event_time"].min() >= pd.Timestamp(rule["cut_test"])
    bigger = load_travel_sim(20_000, seed=3, global_multiple=2.0)
    assert len(bigger.extras["global_candidates"]) == 2 * int(bigger.table["click"].sum())


def test_global_purchase_follows_its_oracle() -> None:
    src = load_travel_sim(300_000, seed=2, global_purchase_rate=0.05)
    g, go = src.extras["global_candidates"], src.extras["global_candidates_oracle"]
    assert roc_auc_score(g["global_purchase"], go["p_global_purchase"]) > 0.65


def test_meta_records_configuration(small_source) -> None:
    m = small_source.meta
    assert m["seed"] == 3 and m["n_impressions"] == 60_000
    assert set(m["category_launch"]) == {"ski trip", "theme park"}
    assert m["config"]["click_rate"] == 0.02 and m["config"]["cvr"] == 0.014
    assert m["global_candidates"]["label"] == "global_purchase"


def test_late_categories_appear_only_after_launch(small_source) -> None:
    t = small_source.table
    for cat, when in small_source.meta["category_launch"].items():
        assert t.loc[t["item_category"] == cat, "event_time"].min() >= pd.Timestamp(when)


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown option"):
        load_travel_sim(1000, colour="red")
    with pytest.raises(UsageError, match="click_rate"):
        load_travel_sim(1000, click_rate=1.5)
    with pytest.raises(UsageError, match="too small"):
        load_travel_sim(10)
