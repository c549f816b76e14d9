"""Schema inference, overrides, save/load and validation on hand-made frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from samplegen.errors import SchemaError, UsageError
from samplegen.schema import ColumnType, Role, Schema, infer_schema, load_overrides


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u1"],
            "item_id": ["i1", "i2", "i1", "i3"],
            "item_category": ["hotel", "cruise", "hotel", "visa"],
            "price": [120.5, 99.25, 120.5, 35.0],
            "platform": ["ios", "android", "ios", "web"],
            "click": [1, 0, 1, 1],
            "purchase": [1, 0, 0, 1],
            "same_category_purchase": [1, 0, 1, 0],
        }
    )


def test_infer_roles_types_and_domains() -> None:
    s = infer_schema(_frame())
    assert s.click == "click"
    assert s.conversion == "purchase"
    assert s.category == "item_category"
    assert s.aux_labels == ["same_category_purchase"]
    assert s["user_id"].role == Role.USER and s["user_id"].key
    assert s["item_id"].role == Role.ITEM and s["item_id"].key
    assert s["item_category"].values == ["cruise", "hotel", "visa"]
    price = s["price"]
    assert price.type == ColumnType.NUMERICAL
    assert (price.min, price.max, price.decimals) == (35.0, 120.5, 2)
    assert s.features == ["item_category", "price", "platform"]


def test_explicit_label_flags_win_and_missing_flag_column_is_named() -> None:
    df = _frame().rename(columns={"click": "clk_flag"})
    s = infer_schema(df, click="clk_flag")
    assert s.click == "clk_flag"
    with pytest.raises(SchemaError, match="nope"):
        infer_schema(df, click="nope")


def test_validate_collects_every_problem_at_once() -> None:
    df = _frame()
    s = infer_schema(df)
    bad = df.copy()
    bad.loc[1, "purchase"] = 1  # conversion without click at row 1
    bad.loc[2, "click"] = 2  # non-binary label at row 2
    bad["platform"] = np.nan  # all-NaN column
    with pytest.raises(SchemaError) as e:
        s.validate(bad)
    msgs = [str(p) for p in e.value.problems]
    assert any("'purchase'" in m and "row 1" in m and "--invalid-conversions" in m for m in msgs)
    assert any("'click'" in m and "row 2" in m and "0/1" in m for m in msgs)
    assert any("'platform'" in m and "empty" in m for m in msgs)
    assert len(e.value.problems) == 3


def test_missing_label_column_and_empty_table() -> None:
    df = _frame().drop(columns=["click"])
    s = infer_schema(df)
    msgs = [str(p) for p in s.problems(df)]
    assert any("no click label column" in m and "--click" in m for m in msgs)
    assert any("no rows" in str(p) for p in s.problems(df.iloc[:0]))


def test_id_used_as_feature_is_reported() -> None:
    df = pd.DataFrame({"session": [f"s{i}" for i in range(30)], "click": [1] * 30,
                       "conversion": [0] * 30})
    s = infer_schema(df)
    assert any("'session'" in str(p) and "like an id" in str(p) for p in s.problems(df))


def test_domain_check_names_value_and_row() -> None:
    s = infer_schema(_frame())
    other = _frame()
    other.loc[3, "item_category"] = "spaceflight"
    other.loc[0, "price"] = 1000.0
    msgs = [str(p) for p in s.problems(other, check_domains=True)]
    assert any("'spaceflight'" in m and "row 3" in m for m in msgs)
    assert any("'price'" in m and "row 0" in m for m in msgs)


def test_overrides_from_yaml_and_unknown_role(tmp_path) -> None:
    s = infer_schema(_frame())
    f = tmp_path / "schema.yaml"
    f.write_text(
        "columns:\n  platform: {role: ignore}\n  price: {role: item}\n"
        "entities:\n  - {name: item, key: item_id, attributes: [item_category, price]}\n"
    )
    s2 = s.with_overrides(load_overrides(f))
    assert s2["platform"].role == Role.IGNORE and "platform" not in s2.features
    assert s2.entity("item").attributes == ["item_category", "price"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"columns": {"price": {"role": "wizard"}, "ghost": {"role": "user"}}}))
    with pytest.raises(SchemaError) as e:
        s.with_overrides(load_overrides(bad))
    text = str(e.value)
    assert "'wizard'" in text and "'ghost'" in text and "2 schema problem(s)" in text
    with pytest.raises(UsageError, match="does not exist"):
        load_overrides(tmp_path / "missing.yaml")


def test_save_load_round_trip_and_fingerprint(tmp_path) -> None:
    s = infer_schema(_frame())
    s.save(tmp_path / "schema.json")
    s2 = Schema.load(tmp_path / "schema.json")
    assert s2.to_dict() == s.to_dict()
    assert s2.fingerprint() == s.fingerprint()
    assert s.drop(["platform"]).fingerprint() != s.fingerprint()


def test_coerce_gives_storage_types() -> None:
    df = pd.DataFrame({"cat_code": [1, 2, 1, 3], "click": [1.0, 0.0, 1.0, 1.0],
                       "conversion": [True, False, False, True]})
    s = infer_schema(df)
    out = s.coerce(df)
    assert out["cat_code"].tolist() == ["1", "2", "1", "3"]
    assert out["click"].dtype == np.int64 and out["conversion"].tolist() == [1, 0, 0, 1]
