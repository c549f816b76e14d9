"""Encoding, batching, sampling, adapters, streaming, global rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from downstream.adapters import ParquetBatches, read_run_dir, read_table
from downstream.data import FeatureEncoder, iter_batches, subsample_nonclicks
from downstream.globalrows import merge_labels, prepare_global_rows
from samplegen.schema import Column, ColumnType, Role, Schema

LAB = dict(type=ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0, integer=True)


def _schema() -> Schema:
    return Schema([
        Column("user_id", Role.USER, ColumnType.CATEGORICAL, key=True),
        Column("item_category", Role.CATEGORY, ColumnType.CATEGORICAL),
        Column("price", Role.ITEM, ColumnType.NUMERICAL),
        Column("click", Role.CLICK, **LAB),
        Column("conversion", Role.CONVERSION, **LAB),
        Column("same_cat", Role.AUX_LABEL, **LAB),
    ])


def _df() -> pd.DataFrame:
    return pd.DataFrame({"user_id": ["u1", "u2", "u1"], "item_category": ["a", "b", "a"],
                         "price": [1.0, 2.0, 3.0], "click": [1, 0, 1],
                         "conversion": [1, 0, 0], "same_cat": [0, 1, 0]})


def test_encoder_vocab_oov_and_normalise() -> None:
    enc = FeatureEncoder().fit(_df(), _schema())
    assert enc.cat_columns == ["item_category"] and enc.num_columns == ["price"]
    assert enc.cardinalities == [3]
    test = pd.DataFrame({"user_id": ["u9"] * 3, "item_category": ["a", "c", None],
                         "price": [4.0, np.nan, 2.0], "click": [1, 1, 0],
                         "conversion": [1, 0, 0], "same_cat": [1, 0, 0]})
    t = enc.transform(test)
    assert t.tensors["cat"][:, 0].tolist() == [1, 0, 0]  # a -> 1, unseen and missing -> 0
    std = np.std([1.0, 2.0, 3.0])
    assert t.tensors["num"][:, 0].tolist() == pytest.approx([2 / std, 0.0, 0.0])
    assert t.tensors["ctcvr"].tolist() == [1.0, 0.0, 0.0]
    assert t.tensors["aux:same_cat"].tolist() == [1.0, 0.0, 0.0]
    assert t.tensors["weight"].tolist() == [1.0, 1.0, 1.0]
    assert list(t.category) == ["a", "c", None] and list(t.user) == ["u9"] * 3


def test_encoder_bucketize_and_labels_by_name() -> None:
    df = _df().assign(is_synthetic=[0, 0, 1], sample_weight=[1.0, 2.0, 0.5])
    enc = FeatureEncoder(numeric="bucketize", n_buckets=2).fit(df, _schema())
    assert enc.cat_columns == ["item_category", "price"]
    t = enc.transform(df, weight=2.0)
    assert t.tensors["cat"][:, 1].tolist() == [1, 2, 2]  # edge at the median 2.0
    assert t.tensors["weight"].tolist() == [2.0, 4.0, 1.0]
    assert t.tensors["is_synthetic"].tolist() == [0.0, 0.0, 1.0]
    # conversion without click is dropped from ctcvr (conversion => click)
    bad = df.assign(click=[0, 0, 1], conversion=[1, 0, 0])
    assert enc.transform(bad).tensors["ctcvr"].tolist() == [0.0, 0.0, 0.0]


def test_encoder_round_trip_dict() -> None:
    enc = FeatureEncoder().fit(_df(), _schema())
    again = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert torch.equal(again.transform(_df()).tensors["num"], enc.transform(_df()).tensors["num"])


def test_batches_seeded_complete_and_sharded() -> None:
    df = pd.concat([_df()] * 10, ignore_index=True).assign(price=np.arange(30.0))
    t = FeatureEncoder().fit_transform(df, _schema())
    order = [b["num"][:, 0] for b in iter_batches(t, 7, generator=torch.Generator().manual_seed(1))]
    again = [b["num"][:, 0] for b in iter_batches(t, 7, generator=torch.Generator().manual_seed(1))]
    assert all(torch.equal(a, b) for a, b in zip(order, again, strict=True))
    assert sorted(torch.cat(order).tolist()) == sorted(t.tensors["num"][:, 0].tolist())
    shards = [torch.cat([b["num"][:, 0] for b in iter_batches(
        t, 4, generator=torch.Generator().manual_seed(1), shard=(r, 2))]) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 15
    assert not set(shards[0].tolist()) & set(shards[1].tolist())


def test_subsample_nonclicks_keeps_every_click() -> None:
    df = pd.DataFrame({"click": [1] * 10 + [0] * 1000})
    out = subsample_nonclicks(df, "click", 0.1, seed=0)
    assert int(out["click"].sum()) == 10
    assert 60 < (out["click"] == 0).sum() < 140
    assert out.equals(subsample_nonclicks(df, "click", 0.1, seed=0))
    assert len(subsample_nonclicks(df, "click", 1.0, seed=0)) == len(df)


def test_adapters_read_every_format(tmp_path: Path) -> None:
    import datasets

    df = _df()
    df.to_parquet(tmp_path / "t.parquet")
    df.to_csv(tmp_path / "t.csv", index=False)
    datasets.Dataset.from_pandas(df).save_to_disk(str(tmp_path / "hf"))
    run = tmp_path / "run"
    run.mkdir()
    df.to_parquet(run / "synthetic.parquet")
    (run / "manifest.json").write_text(json.dumps({"generator": "x"}))
    for obj in (df, tmp_path / "t.parquet", tmp_path / "t.csv", tmp_path / "hf",
                datasets.Dataset.from_pandas(df)):
        got = read_table(obj)
        assert got[["click", "conversion"]].values.tolist() == [[1, 1], [0, 0], [1, 0]]
    syn, manifest = read_run_dir(run)
    assert manifest == {"generator": "x"} and syn["is_synthetic"].tolist() == [1, 1, 1]


def test_parquet_streaming_covers_every_row_once(tmp_path: Path) -> None:
    df = pd.concat([_df()] * 20, ignore_index=True).assign(price=np.arange(60.0))
    df.to_parquet(tmp_path / "big.parquet", row_group_size=16)
    enc = FeatureEncoder().fit(df, _schema())
    ds = ParquetBatches(tmp_path / "big.parquet", enc, batch_size=5, seed=3)
    assert ds.n_groups == 4
    seen = torch.cat([b["num"][:, 0] for b in ds])
    assert sorted(seen.tolist()) == sorted(enc.transform(df).tensors["num"][:, 0].tolist())
    loader = torch.utils.data.DataLoader(ds, batch_size=None)
    assert sum(len(b["click"]) for b in loader) == 60


def test_global_rows_labels_and_head_modes() -> None:
    cands = _df().drop(columns=["click", "conversion", "same_cat"]).assign(
        global_purchase=[1, 0, 0])
    rows = prepare_global_rows(cands, _schema(), mode="labels", weight=0.5)
    assert rows["click"].tolist() == [1, 0, 0] and rows["conversion"].tolist() == [1, 0, 0]
    assert rows["domain"].tolist() == [1, 1, 1] and rows["sample_weight"].tolist() == [0.5] * 3
    assert rows["same_cat"].tolist() == [0, 0, 0]
    head = prepare_global_rows(cands, _schema(), mode="head")
    assert head["click"].tolist() == [0, 0, 0] and head["global_conversion"].tolist() == [1, 0, 0]
    enc = FeatureEncoder().fit(_df(), _schema())
    t = enc.transform(rows)
    assert t.tensors["weight"].tolist() == [0.5] * 3 and t.tensors["domain"].tolist() == [1] * 3


def test_merge_labels_takes_max_of_local_and_global() -> None:
    local = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item": ["i1", "i2", "i1"],
                          "click": [1, 0, 1], "conversion": [0, 0, 1]})
    glob = pd.DataFrame({"user_id": ["u1", "u1", "u2"], "item": ["i1", "i2", "i1"],
                         "global_purchase": [1, 0, 0]})
    sch = Schema([Column("user_id", Role.USER, ColumnType.CATEGORICAL, key=True),
                  Column("item", Role.ITEM, ColumnType.CATEGORICAL),
                  Column("click", Role.CLICK, **LAB), Column("conversion", Role.CONVERSION, **LAB)])
    out = merge_labels(local, glob, ["user_id", "item"], sch)
    assert out["conversion"].tolist() == [1, 0, 1]
    assert out["click"].tolist() == [1, 0, 1]
    assert out["global_conversion"].tolist() == [1, 0, 0]


def test_auto_neg_rate_keeps_four_nonclicks_per_click() -> None:
    from downstream.fit import auto_neg_rate

    big = pd.DataFrame({"click": np.r_[np.ones(3000), np.zeros(297_000)]})
    assert auto_neg_rate(big, "click") == pytest.approx(4 * 3000 / 297_000)
    assert auto_neg_rate(big.head(1000), "click") == 1.0  # small tables are not sampled
