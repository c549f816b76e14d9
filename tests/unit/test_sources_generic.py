"""Generic tables (CSV, Parquet, JSONL, HF datasets, DataFrames), Taobao logs, and bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from samplegen.errors import DataError, SchemaError, UsageError
from samplegen.schema import Role
from samplegen.sources import iter_source_chunks, load_source


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": ["u1", "u2", "u3", "u1", "u2", "u3"],
        "item_id": ["i1", "i2", "i1", "i3", "i2", "i3"],
        "item_category": ["hotel", "cruise", "hotel", "visa", "cruise", "visa"],
        "price": [120.5, 880.0, 120.5, 60.25, 880.0, 60.25],
        "city": ["Sanya, Hainan", "Paris", "Sanya, Hainan", "Tokyo", "Paris", "Tokyo"],
        "click": [1, 0, 1, 1, 0, 0],
        "purchase": [1, 0, 0, 1, 0, 0],
    })


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                  check_dtype=False)


def test_dataframe_infers_labels_category_and_keys():
    src = load_source(_table())
    sch = src.schema
    assert (sch.click, sch.conversion, sch.category) == ("click", "purchase", "item_category")
    assert sch["user_id"].key and sch["item_id"].key
    assert sch.features == ["item_category", "price", "city"]
    assert src.table["click"].tolist() == [1, 0, 1, 1, 0, 0]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl", ".json"])
def test_generic_files_round_trip(tmp_path, suffix):
    df = _table()
    p = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        df.to_csv(p, index=False)
    elif suffix == ".tsv":
        df.to_csv(p, index=False, sep="\t")
    elif suffix == ".parquet":
        df.to_parquet(p)
    elif suffix == ".jsonl":
        df.to_json(p, orient="records", lines=True)
    else:
        df.to_json(p, orient="records")
    src = load_source(p)
    ref = load_source(df)
    _same(src.table, ref.table)
    assert src.schema.to_dict()["columns"] == ref.schema.to_dict()["columns"]
    assert src.name == "t"


def test_hf_dataset_object_and_saved_folder(tmp_path):
    import datasets

    ds = datasets.Dataset.from_pandas(_table())
    ref = load_source(_table()).table
    _same(load_source(ds).table, ref)
    ds.save_to_disk(str(tmp_path / "hf"))
    src = load_source(tmp_path / "hf")
    assert src.meta["format"] == "hf-dataset"
    _same(src.table, ref)
    datasets.DatasetDict({"train": ds, "test": ds.select(range(2))}).save_to_disk(
        str(tmp_path / "hfd"))
    assert len(load_source(tmp_path / "hfd").table) == 6
    assert len(load_source(tmp_path / "hfd", split="test").table) == 2


def test_flags_name_the_labels(tmp_path):
    df = _table().rename(columns={"click": "clk_flag", "purchase": "paid_flag"})
    with pytest.raises(SchemaError, match="no click label column"):
        load_source(df)
    src = load_source(df, click="clk_flag", conversion="paid_flag", category="city")
    assert (src.schema.click, src.schema.conversion, src.schema.category) == (
        "clk_flag", "paid_flag", "city")


def test_parquet_chunks(tmp_path):
    p = tmp_path / "t.parquet"
    pd.concat([_table()] * 5).to_parquet(p)
    assert [len(c) for c in iter_source_chunks(p, 12)] == [12, 12, 6]


# -------------------------------------------------------------------- Taobao
TAOBAO_LOG = """1,100,7,pv,1511544070
1,100,7,cart,1511544090
1,100,7,buy,1511544100
1,200,8,pv,1511540000
2,100,7,fav,1511550000
2,300,9,pv,1511530000
2,300,9,pv,1511530500
3,200,8,buy,1511560000
"""


def test_taobao_userbehavior_log_to_user_item_rows(tmp_path):
    p = tmp_path / "UserBehavior.csv"
    p.write_text(TAOBAO_LOG)
    src = load_source(p)
    assert src.meta["format"] == "taobao-userbehavior"
    t = src.table
    # 5 user-item pairs, ordered by their first event
    assert list(zip(t.user_id, t.item_id, strict=True)) == [
        ("2", "300"), ("1", "200"), ("1", "100"), ("2", "100"), ("3", "200")]
    assert t.click.tolist() == [1, 1, 1, 1, 1]
    assert t.conversion.tolist() == [0, 0, 1, 0, 1]
    assert t.cart.tolist() == [0, 0, 1, 0, 0] and t.fav.tolist() == [0, 0, 0, 1, 0]
    assert t.timestamp.tolist() == [1511530000, 1511540000, 1511544070, 1511550000, 1511560000]
    sch = src.schema
    assert (sch.category, sch.timestamp) == ("category_id", "timestamp")
    assert sch.aux_labels == ["cart", "fav"] and sch["user_id"].key
    # with a header row and the long spellings
    h = tmp_path / "log_h.csv"
    h.write_text("user_id,item_id,category_id,behavior_type,timestamp\n" + TAOBAO_LOG)
    _same(load_source(h).table, t)


def test_taobao_unknown_behaviour(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("user,item,category,behavior,ts\n1,2,3,pv,10\n1,2,3,like,11\n")
    with pytest.raises(DataError, match="behavior_type.*like"):
        load_source(p)


# -------------------------------------------------------------- bad input
def test_missing_file():
    with pytest.raises(UsageError, match="does not exist.*Fix"):
        load_source("/nonexistent/data.csv")
    with pytest.raises(UsageError, match="neither a built-in dataset.*travel-sim"):
        load_source("travelsim")


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="is empty.*Fix"):
        load_source(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text("user_id,click,purchase\n")
    with pytest.raises(DataError, match="no data rows.*Fix"):
        load_source(tmp_path / "h.csv")


def test_conversion_without_click_column(tmp_path):
    df = _table().drop(columns=["click"])
    with pytest.raises(SchemaError, match="no click label column.*--click"):
        load_source(df)


def test_non_binary_label():
    df = _table()
    df.loc[3, "purchase"] = 2
    with pytest.raises(SchemaError) as e:
        load_source(df)
    assert "'purchase'" in str(e.value) and "row 3" in str(e.value) and "0/1" in str(e.value)
    df = _table().astype({"click": object})
    df.loc[0, "click"] = "yes"
    with pytest.raises(SchemaError, match="'click'.*not 0/1"):
        load_source(df)


def test_schema_file_problems(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("columns:\n  revenue: {role: context}\n  city: {role: destination}\n")
    with pytest.raises(SchemaError) as e:
        load_source(_table(), schema=f)
    msg = str(e.value)
    assert "'revenue'" in msg and "lacks" in msg  # a column the data lacks
    assert "'city'" in msg and "unknown role 'destination'" in msg
    with pytest.raises(SchemaError, match="'nope'.*--category"):
        load_source(_table(), category="nope")


def test_schema_overrides_from_json_and_dict(tmp_path):
    f = tmp_path / "s.json"
    f.write_text('{"columns": {"city": {"role": "ignore"}}}')
    assert "city" not in load_source(_table(), schema=f).schema.features
    sch = load_source(_table(), schema={"columns": {"price": {"role": "user"}}}).schema
    assert sch["price"].role == Role.USER


def test_unreadable_format(tmp_path):
    p = tmp_path / "t.xlsx"
    p.write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match="unknown file type '.xlsx'.*Fix"):
        load_source(p)
    q = tmp_path / "bad.parquet"
    q.write_text("not parquet")
    with pytest.raises(DataError, match="cannot read .* as parquet"):
        load_source(q)


def test_unknown_invalid_conversion_policy():
    with pytest.raises(UsageError, match="invalid_conversions='keep'"):
        load_source(_table(), invalid_conversions="keep")


def test_date_strings_become_a_datetime_timestamp(tmp_path):
    df = _table().assign(event_date=[f"2024-01-0{i + 1}" for i in range(6)])
    df.to_csv(tmp_path / "t.csv", index=False)
    src = load_source(tmp_path / "t.csv")
    assert src.schema.timestamp == "event_date"
    assert src.schema["event_date"].type.value == "datetime"
    assert str(src.table["event_date"].iloc[2].date()) == "2024-01-03"


def test_full_schema_object_with_flags():
    base = load_source(_table()).schema
    src = load_source(_table(), schema=base, category="city")
    assert src.schema.category == "city" and src.schema["item_category"].role == Role.ITEM


def test_chunks_for_jsonl_hf_and_coercion(tmp_path):
    import datasets

    df = pd.concat([_table()] * 3, ignore_index=True)
    df.to_json(tmp_path / "t.jsonl", orient="records", lines=True)
    assert [len(c) for c in iter_source_chunks(tmp_path / "t.jsonl", 10)] == [10, 8]
    datasets.Dataset.from_pandas(df).save_to_disk(str(tmp_path / "hf"))
    assert [len(c) for c in iter_source_chunks(tmp_path / "hf", 7)] == [7, 7, 4]
    sch = load_source(df).schema
    chunk = next(iter_source_chunks(tmp_path / "t.jsonl", 5, schema=sch))
    assert chunk["click"].dtype == "int64" and chunk["city"].tolist()[0] == "Sanya, Hainan"
    (tmp_path / "log.csv").write_text(TAOBAO_LOG)
    with pytest.raises(DataError, match="cannot be streamed"):
        next(iter_source_chunks(tmp_path / "log.csv", 5))


def test_known_format_detected_from_a_dataframe(tmp_path):
    raw = pd.DataFrame({"click": [0, 1, 1, 0], "purchase": [0, 1, 0, 0], "101": [5, 5, 6, 6],
                        "124": [1, 1, 2, 2], "205": [7, 8, 7, 9], "206": [3, 4, 3, 3],
                        "301": [1, 1, 2, 1]})
    src = load_source(raw)
    assert src.meta["format"] == "ali-ccp" and src.schema.category == "206"
    assert src.table["206"].tolist() == ["3", "4", "3", "3"]
    assert src.schema.entity("user").attributes == ["124"]


def test_alicpp_codes_from_an_int_dataframe_stay_categorical():
    n = 30
    raw = pd.DataFrame({"click": [1, 0] * 15, "purchase": [1, 0, 0, 0, 0, 0] * 5,
                        "101": range(n), "205": [100 + i for i in range(n)],
                        "206": [float(i % 25) for i in range(n)]})
    sch = load_source(raw).schema
    assert sch["206"].type.value == "categorical" and len(sch["206"].values) == 25
    assert "7" in sch["206"].values
