"""Label-leak detection on hand-made tables with planted leaks and clean columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from samplegen.errors import UsageError
from samplegen.leaks import apply_leak_policy, detect_leaks, guard_leaks
from samplegen.schema import Role, infer_schema


def _planted(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    click = (rng.random(n) < 0.3).astype(int)
    conv = click * (rng.random(n) < 0.3).astype(int)
    return pd.DataFrame({
        "city": rng.choice(["Sanya", "Paris", "Tokyo", "Lhasa"], n),   # clean categorical
        "price": rng.integers(50, 5000, n).astype(float),              # clean numeric
        "spend_x": np.where(conv == 1, rng.integers(10, 100, n), 0),   # planted: non-zero iff conv
        "click": click,
        "conversion": conv,
    })


def test_planted_leak_is_found_with_evidence_and_clean_columns_are_not():
    df = _planted()
    leaks = detect_leaks(df, infer_schema(df))
    cols = {lk.column for lk in leaks}
    assert cols == {"spend_x"}
    kinds = {lk.kind: lk for lk in leaks}
    assert set(kinds) == {"name", "nonzero_iff_label", "single_column_auc"}
    n_clicks, n_conv = int(df.click.sum()), int(df.conversion.sum())
    iff = kinds["nonzero_iff_label"]
    assert iff.label == "conversion" and iff.score == 1.0
    assert iff.evidence == (f"non-null and non-zero in {n_conv}/{n_conv} rows with conversion=1 "
                            f"and in 0/{n_clicks - n_conv} rows with conversion=0 (distinct clicked rows)")
    auc = kinds["single_column_auc"]
    assert auc.score == 1.0 and "AUC 1.000" in auc.evidence and "raw value" in auc.evidence
    assert kinds["name"].evidence.startswith("the name contains 'spend'")


def test_categorical_leak_and_unnamed_column():
    df = _planted()
    df = df.drop(columns=["spend_x"]).assign(
        flag=np.where(df.conversion == 1, "Y", None),   # non-null exactly when converted
        cat_leak=np.where(df.click == 1, "a", "b"))       # categorical copy of click
    leaks = detect_leaks(df, infer_schema(df))
    got = {(lk.column, lk.label, lk.kind) for lk in leaks}
    assert ("flag", "conversion", "nonzero_iff_label") in got
    assert ("cat_leak", "click", "single_column_auc") in got
    assert not any(lk.column in ("city", "price") for lk in leaks)


def test_high_cardinality_id_is_not_a_leak():
    df = _planted()
    df["session"] = [f"s{i}" for i in range(len(df))]  # unique per row: in-sample encoding = 1.0
    sch = infer_schema(df).with_overrides({"columns": {"session": {"role": "context"}}})
    assert [lk for lk in detect_leaks(df, sch) if lk.column == "session"] == []


@pytest.mark.parametrize("name", ["ctcvr", "pay_amount", "order_cnt", "purchase_value", "gmv",
                                  "is_clicked", "userRevenue"])
def test_names_like_labels(name):
    df = _planted().drop(columns=["spend_x"])
    df[name] = np.arange(len(df)) % 7
    leaks = [lk for lk in detect_leaks(df, infer_schema(df)) if lk.column == name]
    assert [lk.kind for lk in leaks] == ["name"]
    expected = "click" if name == "is_clicked" else "conversion"
    assert leaks[0].label == expected


def test_few_positives_skip_statistical_checks():
    df = pd.DataFrame({"x": [0, 0, 0, 5, 0, 0], "click": [0, 1, 1, 1, 0, 1],
                       "conversion": [0, 0, 0, 1, 0, 0]})
    assert detect_leaks(df, infer_schema(df)) == []


def test_apply_leak_policy_ignores_unless_kept():
    df = _planted()
    sch = infer_schema(df)
    leaks = detect_leaks(df, sch)
    out = apply_leak_policy(sch, leaks)
    assert out["spend_x"].role == Role.IGNORE and "spend_x" not in out.features
    assert out.features == ["city", "price"]
    kept = apply_leak_policy(sch, leaks, keep=["spend_x"])
    assert "spend_x" in kept.features
    assert apply_leak_policy(sch, []) is sch
    with pytest.raises(UsageError, match="'nope'"):
        apply_leak_policy(sch, leaks, keep=["nope"])


def test_deterministic_and_threshold_checked():
    df = _planted()
    sch = infer_schema(df)
    assert detect_leaks(df, sch, seed=3) == detect_leaks(df, sch, seed=3)
    with pytest.raises(UsageError, match="auc_threshold"):
        detect_leaks(df, sch, auc_threshold=0.3)


def test_guard_leaks_on_a_source():
    from samplegen.sources import load_source

    src = load_source(_planted())
    guarded, leaks = guard_leaks(src)
    assert {lk.column for lk in leaks} == {"spend_x"}
    assert "spend_x" not in guarded.schema.features and "spend_x" in src.schema.features
    assert guarded.meta["leaks_ignored"] == ["spend_x"] and guarded.table is src.table
    kept, _ = guard_leaks(src, keep=["spend_x"])
    assert kept is src


def test_duplicated_rows_are_not_evidence():
    # 5 distinct clicked rows and one non-clicked row copied 6 times: x separates them
    # perfectly, but on distinct rows there is only one negative
    df = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4, 0.5] + [9.0] * 6,
                       "click": [1] * 5 + [0] * 6, "conversion": [0] * 11})
    assert detect_leaks(df, infer_schema(df)) == []
