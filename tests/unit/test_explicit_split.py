"""User-made splits (--train/--test/--valid files): joined, kept apart, overlaps reported."""

from __future__ import annotations

import pandas as pd
import pytest

from samplegen.errors import DataError
from samplegen.explicit import load_split_files


def _write(tmp_path, name, rows):
    df = pd.DataFrame(rows, columns=["user_id", "item_category", "platform", "click", "conversion"])
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


ROWS = [(f"u{i}", ["hotel", "cruise"][i % 2], ["ios", "web", "android"][i % 3],
         int(i % 2 == 0), int(i % 4 == 0))
        for i in range(40)]


def test_files_become_one_source_with_their_split(tmp_path) -> None:
    tr = _write(tmp_path, "train.csv", ROWS[:30])
    va = _write(tmp_path, "valid.csv", ROWS[30:34])
    te = _write(tmp_path, "test.csv", ROWS[34:])
    src, split = load_split_files(tr, te, va)
    assert split.sizes() == {"train": 30, "valid": 4, "test": 6}
    assert split.rule["kind"] == "files"
    assert split.rule["overlap"] == {"train&valid": 0, "train&test": 0, "valid&test": 0}
    _, _, test = split.frames(src)
    assert test["user_id"].tolist() == [f"u{i}" for i in range(34, 40)]


def test_overlap_between_train_and_test_is_reported(tmp_path) -> None:
    tr = _write(tmp_path, "train.csv", ROWS[:30])
    te = _write(tmp_path, "test.csv", ROWS[27:40])  # rows 27-29 are in both
    src, split = load_split_files(tr, te)
    assert split.rule["overlap"]["train&test"] == 3
    assert split.sizes()["valid"] > 0 and split.sizes()["train"] + split.sizes()["valid"] == 30


def test_column_mismatch_names_the_columns(tmp_path) -> None:
    tr = _write(tmp_path, "train.csv", ROWS[:30])
    te = tmp_path / "test.csv"
    pd.read_csv(tr).drop(columns=["platform"]).to_csv(te, index=False)
    with pytest.raises(DataError, match=r"missing \['platform'\]"):
        load_split_files(tr, te)
