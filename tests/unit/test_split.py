"""Splits (time and seeded), their rules and fingerprints, and the sparsity report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from samplegen.datasets.base import Source
from samplegen.errors import DataError, UsageError
from samplegen.schema import Column, ColumnType, Role, Schema
from samplegen.split import (
    Split,
    category_stats,
    make_split,
    row_hashes,
    sparse_categories,
)

C, N = ColumnType.CATEGORICAL, ColumnType.NUMERICAL


def _schema(with_ts: bool = True, domain: list[str] | None = None) -> Schema:
    cols = [
        Column("item_category", Role.CATEGORY, C, values=domain),
        Column("platform", Role.CONTEXT, C),
        Column("click", Role.CLICK, N, min=0, max=1, decimals=0, integer=True),
        Column("conversion", Role.CONVERSION, N, min=0, max=1, decimals=0, integer=True),
    ]
    if with_ts:
        cols.append(Column("ts", Role.TIMESTAMP, ColumnType.DATETIME))
    return Schema(cols)


def _source(with_ts: bool = True) -> Source:
    # 10 rows, timestamps deliberately out of order: day of row i = ORDER[i]
    order = [5, 0, 9, 2, 7, 1, 8, 3, 6, 4]
    df = pd.DataFrame({
        "item_category": ["a", "b"] * 5,
        "platform": [f"p{i}" for i in range(10)],
        "click": [1, 0, 1, 1, 0, 1, 1, 0, 1, 1],
        "conversion": [1, 0, 0, 1, 0, 0, 1, 0, 0, 0],
        "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(order, unit="D"),
    })
    if not with_ts:
        df = df.drop(columns="ts")
    return Source("toy", df, _schema(with_ts))


def test_time_split_exact_rows_and_rule() -> None:
    src = _source()
    sp = make_split(src, valid_frac=0.1, test_frac=0.2)
    # days 0-6 train, day 7 valid, days 8-9 test
    assert sp.train.tolist() == [0, 1, 3, 5, 7, 8, 9]
    assert sp.valid.tolist() == [4]
    assert sp.test.tolist() == [2, 6]
    assert sp.rule == {"kind": "time", "column": "ts", "cut_valid": "2026-01-08T00:00:00",
                       "cut_test": "2026-01-09T00:00:00", "valid_frac": 0.1, "test_frac": 0.2}
    train, valid, test = sp.frames(src)
    assert train["ts"].max() < valid["ts"].min() <= valid["ts"].max() < test["ts"].min()
    assert sp.sizes() == {"train": 7, "valid": 1, "test": 2}


def test_time_split_reads_text_and_numeric_timestamps() -> None:
    src = _source()
    expected = make_split(src)
    text = src.table.assign(ts=src.table["ts"].dt.strftime("%Y-%m-%d %H:%M"))
    sp = make_split(Source("t", text, src.schema))
    assert sp.train.tolist() == expected.train.tolist()
    assert sp.rule["cut_test"] == "2026-01-09T00:00:00"  # naive UTC
    assert Split.from_dict(sp.to_dict(), text).test.tolist() == expected.test.tolist()
    unix = src.table.assign(ts=src.table["ts"].astype("int64") // 10**9)
    sp = make_split(Source("u", unix, src.schema))
    assert sp.test.tolist() == expected.test.tolist() and isinstance(sp.rule["cut_test"], float)


def test_time_split_keeps_ties_together() -> None:
    src = _source()
    src.table["ts"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(
        [0, 0, 1, 1, 1, 2, 2, 2, 3, 3], unit="D")
    sp = make_split(src, valid_frac=0.1, test_frac=0.2)
    assert sp.test.tolist() == [8, 9] and sp.valid.tolist() == [5, 6, 7]
    assert sp.train.tolist() == [0, 1, 2, 3, 4]


def test_seeded_split_when_no_timestamp() -> None:
    src = _source(with_ts=False)
    a = make_split(src, seed=1)
    b = make_split(src, seed=1)
    assert a.rule == {"kind": "seeded", "seed": 1, "fractions": {"valid": 0.1, "test": 0.2},
                      "n_rows": 10}
    assert a.sizes() == {"train": 7, "valid": 1, "test": 2}
    for k in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    all_idx = np.concatenate([a.train, a.valid, a.test])
    assert sorted(all_idx.tolist()) == list(range(10))
    big = Source("big", pd.concat([src.table] * 50, ignore_index=True), src.schema)
    assert not np.array_equal(make_split(big, seed=1).test, make_split(big, seed=2).test)


def test_split_is_disjoint_and_covers_everything() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    df = pd.DataFrame({"item_category": rng.choice(["a", "b", "c"], n),
                       "platform": "ios", "click": 1, "conversion": 0,
                       "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(
                           rng.integers(0, 10**6, n), unit="s")})
    sp = make_split(Source("r", df, _schema()), valid_frac=0.15, test_frac=0.25)
    parts = [set(sp.train), set(sp.valid), set(sp.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert set().union(*parts) == set(range(n))
    assert sp.sizes() == {"train": 600, "valid": 150, "test": 250}


def test_rule_round_trip() -> None:
    src = _source()
    sp = make_split(src)
    again = Split.from_dict(sp.to_dict(), src)
    assert again.train.tolist() == sp.train.tolist() and again.test.tolist() == sp.test.tolist()
    stored = Split.from_dict(sp.to_dict(with_indices=True))
    assert stored.valid.tolist() == sp.valid.tolist() and stored.rule == sp.rule
    seeded = make_split(_source(with_ts=False), seed=4)
    again = Split.from_dict(seeded.to_dict(), _source(with_ts=False))
    assert again.test.tolist() == seeded.test.tolist()
    with pytest.raises(UsageError, match="pass the source"):
        Split.from_dict(sp.to_dict())


def test_fingerprint_is_stable_and_order_independent() -> None:
    src = _source()
    fp = make_split(src).train_fingerprint(src)
    assert fp == make_split(src).train_fingerprint(src) and len(fp) == 64
    shuffled = src.table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    src2 = Source("toy", shuffled, src.schema)
    assert make_split(src2).train_fingerprint(src2) == fp
    # storage types do not matter: categories vs strings, int8 vs int64
    typed = src.table.astype({"item_category": "category", "click": "int8",
                              "conversion": "float64"})
    src3 = Source("toy", typed, src.schema)
    assert make_split(src3).train_fingerprint(src3) == fp
    changed = src.table.copy()
    changed.loc[0, "platform"] = "other"
    src4 = Source("toy", changed, src.schema)
    assert make_split(src4).train_fingerprint(src4) != fp


def test_row_hashes_ignore_column_order_and_index() -> None:
    df = _source().table
    h = row_hashes(df)
    assert h.dtype == np.uint64 and len(h) == 10 and len(set(h.tolist())) == 10
    np.testing.assert_array_equal(row_hashes(df[df.columns[::-1]].set_index(df.index + 5)), h)
    np.testing.assert_array_equal(row_hashes(df, ["click", "platform"]),
                                  row_hashes(df[["platform", "click"]]))
    with pytest.raises(UsageError, match="not in the frame"):
        row_hashes(df, ["nope"])


def test_bad_fractions_and_timestamps() -> None:
    src = _source()
    with pytest.raises(UsageError, match="no training"):
        make_split(src, valid_frac=0.5, test_frac=0.5)
    with pytest.raises(UsageError, match="test_frac"):
        make_split(src, test_frac=-0.1)
    src.table.loc[3, "ts"] = pd.NaT
    with pytest.raises(DataError, match="row 3"):
        make_split(src)


def _sparse_frame() -> pd.DataFrame:
    """4 categories: A 100 conversions, B 50, C 10, D 0 (D clicked but never converted)."""
    rows = []
    for cat, n_rows, n_click, n_conv in (("A", 400, 200, 100), ("B", 300, 150, 50),
                                         ("C", 200, 40, 10), ("D", 100, 20, 0)):
        for i in range(n_rows):
            rows.append((cat, "ios", int(i < n_click), int(i < n_conv)))
    return pd.DataFrame(rows, columns=["item_category", "platform", "click", "conversion"])


def test_sparse_categories_exact_lists() -> None:
    df = _sparse_frame()
    schema = _schema(with_ts=False, domain=["A", "B", "C", "D", "E"])
    rep = sparse_categories(df, schema, cold_max=20)
    # E is in the schema's domain but has no training row: cold-start with 0 conversions.
    # default sparse_max = max(3 * 20, median([100, 50, 10, 0, 0]) / 4) = 60
    assert rep.cold_start == ["D", "E", "C"]
    assert rep.sparse == ["B"]
    assert rep.targets == ["D", "E", "C", "B"]
    assert rep.rule == {"cold_max": 20, "sparse_max": 60, "basis": "training rows"}
    t = rep.table
    assert t.loc["A", "status"] == "dense" and t.loc["E", "rows"] == 0
    assert t["conversions"].to_dict() == {"A": 100, "B": 50, "C": 10, "D": 0, "E": 0}
    assert t.loc["A", "click_rate"] == 0.5 and t.loc["C", "cvr"] == 0.25
    assert np.isnan(t.loc["E", "cvr"])
    tight = sparse_categories(df, schema, cold_max=5, sparse_max=40)
    assert tight.cold_start == ["D", "E"] and tight.sparse == ["C"]
    # without a domain, unseen categories are unknowable and not listed
    assert sparse_categories(df, _schema(with_ts=False)).cold_start == ["D", "C"]


def test_category_stats_counts_and_string_keys() -> None:
    df = pd.DataFrame({"item_category": [1, 1, 2, 2, 2], "platform": "x",
                       "click": [1, 0, 1, 1, 0], "conversion": [1, 0, 0, 1, 0]})
    st = category_stats(df, _schema(with_ts=False))
    assert st.index.tolist() == ["2", "1"]  # conversions, then rows, descending
    assert st[["rows", "clicks", "conversions"]].to_dict("index") == {
        "1": {"rows": 2, "clicks": 1, "conversions": 1},
        "2": {"rows": 3, "clicks": 2, "conversions": 1}}
    schema = Schema([c for c in _schema(with_ts=False).columns if c.role != Role.CATEGORY])
    with pytest.raises(UsageError, match="no category column"):
        category_stats(df, schema)
