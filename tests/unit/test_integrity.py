"""Integrity guards on hand-made tables: provenance overlap and test contamination."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from samplegen.datasets.base import Source
from samplegen.errors import LeakageError
from samplegen.integrity import (
    check_provenance,
    contamination,
    provenance_record,
    write_fit_rows,
)
from samplegen.schema import infer_schema
from samplegen.split import Split


def _source() -> Source:
    df = pd.DataFrame({
        "user_id": [f"u{i}" for i in range(10)],
        "item_category": ["hotel", "cruise"] * 5,
        "platform": ["ios", "web", "ios", "android", "web"] * 2,
        "hour": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
        "click": [1, 0] * 5,
        "conversion": [1, 0, 0, 0, 1, 0, 0, 0, 1, 0],
    })
    return Source("toy", df, infer_schema(df))


def _split(train, valid, test):
    return Split(np.array(train, dtype=np.int64), np.array(valid, dtype=np.int64),
                 np.array(test, dtype=np.int64), rule={"kind": "seeded", "seed": 0})


def _run_dir(tmp_path, src, split):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"provenance": provenance_record(src, split)}))
    write_fit_rows(run, src, split)
    return run


def test_same_split_is_accepted_and_overlap_is_refused(tmp_path) -> None:
    src = _source()
    split = _split(range(6), [6, 7], [8, 9])
    run = _run_dir(tmp_path, src, split)
    assert check_provenance(run, src, split).status == "disjoint"
    # the generator was fitted on everything: rows 6-9 are validation/test here
    leaky = _split(range(10), [], [])
    run2 = tmp_path / "leaky"
    run2.mkdir()
    (run2 / "manifest.json").write_text(json.dumps({"provenance": provenance_record(src, leaky)}))
    write_fit_rows(run2, src, leaky)
    with pytest.raises(LeakageError, match=r"validation \(2 rows\) or test \(2 rows\)"):
        check_provenance(run2, src, split)


def test_fit_record_is_compact_and_checks_clicked_rows_of_another_table(tmp_path) -> None:
    src = _source()
    leaky = _split(range(10), [], [])
    run = tmp_path / "leaky"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"provenance": provenance_record(src, leaky)}))
    path = write_fit_rows(run, src, leaky)
    rec = np.load(path)
    assert rec["positions"].nbytes == 2 and len(rec["clicked_hashes"]) == 5  # 10 bits; 5 clicks
    # the same rows in another order: positions no longer apply, the clicked hashes do
    shuffled = Source("toy", src.table.iloc[::-1].reset_index(drop=True), src.schema)
    split = _split(range(6), [6, 7], [8, 9])  # rows 6-9 of the reversed table = rows 3..0
    with pytest.raises(LeakageError, match=r"validation \(1 clicked rows\) or test \(1 clicked"):
        check_provenance(run, shuffled, split)


def test_unknown_provenance_is_reported_not_refused(tmp_path) -> None:
    src = _source()
    run = tmp_path / "external"
    run.mkdir()
    assert check_provenance(run, src, _split(range(6), [6, 7], [8, 9])).status == "unknown"


def test_contamination_counts_exact_and_near_copies() -> None:
    src = _source()
    test = src.table.iloc[[8, 9]]
    syn = pd.concat([
        test.iloc[[0]],                                        # exact copy of test row 8
        test.iloc[[1]].assign(hour="23"),                      # near copy: one column differs
        test.iloc[[1]].assign(hour="23", platform="android"),  # two differ: not a copy
        src.table.iloc[[0]],                                   # a training row: not test
    ])
    r = contamination(syn, test, src.schema, threshold=0.25)
    assert (r.exact, r.near, r.rows) == (1, 1, 4)
    assert r.share == 0.5 and r.contaminated
    assert not contamination(syn.iloc[2:], test, src.schema).contaminated


def _repeating_source(n: int = 200, share: float = 0.1) -> Source:
    """A log whose last ``share`` of rows repeat earlier rows exactly (coarse real logs do)."""
    rng = np.random.default_rng(0)
    k = int(n * (1 - share))
    df = pd.DataFrame({"user_id": [f"u{i}" for i in range(k)],
                       "item_category": rng.choice(["hotel", "cruise"], k),
                       "hour": rng.integers(0, 24, k).astype(str),
                       "click": rng.integers(0, 2, k)})
    df["conversion"] = df["click"] * rng.integers(0, 2, k)
    df = pd.concat([df, df.sample(n - k, random_state=1)], ignore_index=True)
    df = df.sample(frac=1.0, random_state=2).reset_index(drop=True)  # repeats land everywhere
    return Source("repeats", df, infer_schema(df))


def test_repeated_rows_are_not_taken_for_a_leak(tmp_path) -> None:
    src = _repeating_source()
    n = len(src.table)
    split = _split(range(140), range(140, 160), range(160, n))
    from samplegen.split import row_hashes

    h = row_hashes(src.table)
    shared = np.isin(h[160:], h[:140]).sum() + np.isin(h[140:160], h[:140]).sum()
    assert shared > 0  # the table repeats rows across its parts
    run = _run_dir(tmp_path, src, split)
    check = check_provenance(run, src, split)
    assert check.status == "disjoint" and check.shared_content == shared
    assert f"{shared} validation/test row(s) repeat the content" in check.detail
    # a generator fitted on the test part is still refused, for the rows only the test part has
    on_test = _split(range(160, n), [], [])
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "manifest.json").write_text(json.dumps({"provenance":
                                                     provenance_record(src, on_test)}))
    write_fit_rows(leaky, src, on_test)
    unique_test = int((~np.isin(h[160:], h[:140])).sum())
    with pytest.raises(LeakageError, match=rf"test \({unique_test} rows\)"):
        check_provenance(leaky, src, split)


def test_contamination_leaves_out_test_rows_that_repeat_training_rows() -> None:
    src = _repeating_source()
    train, test = src.table.iloc[:140], src.table.iloc[160:]
    from samplegen.split import row_hashes

    in_train = np.isin(row_hashes(test), row_hashes(train))
    copies_of_train = test[in_train]  # what oversampling the training rows writes
    assert len(copies_of_train) > 0
    naive = contamination(copies_of_train, test, src.schema)
    assert naive.exact == len(copies_of_train) and naive.contaminated
    fair = contamination(copies_of_train, test, src.schema, train=train)
    assert fair.exact == 0 and not fair.contaminated and fair.shared == int(in_train.sum())
    leak = contamination(test[~in_train], test, src.schema, train=train)
    assert leak.exact == int((~in_train).sum()) and leak.contaminated
