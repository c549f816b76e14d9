"""Row <-> text codec: exact encodings and decode reasons on a hand-made 4-column schema."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from samplegen.codec import NAN_TOKEN, DecodeResult, RowCodec
from samplegen.errors import UsageError
from samplegen.schema import Column, ColumnType, Role, Schema


@pytest.fixture
def schema() -> Schema:
    return Schema([
        Column("city", Role.USER, ColumnType.CATEGORICAL,
               values=["Sanya", "Bei, jing", "NaN", "", "rain is wet"], nullable=True),
        Column("price", Role.ITEM, ColumnType.NUMERICAL, min=0.0, max=10000.0, decimals=2),
        Column("click", Role.CLICK, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0,
               integer=True),
        Column("day", Role.TIMESTAMP, ColumnType.DATETIME),
    ])


ROW = {"city": "Sanya", "price": 1299.5, "click": 1, "day": pd.Timestamp("2024-03-01 08:30")}


def test_encode_great_exact(schema: Schema) -> None:
    codec = RowCodec(schema)
    assert codec.encode(ROW) == ("city is Sanya, price is 1299.50, click is 1, "
                                 "day is 2024-03-01T08:30:00")
    assert codec.encode(ROW, order=["click", "day", "city", "price"]) == (
        "click is 1, day is 2024-03-01T08:30:00, city is Sanya, price is 1299.50")


@pytest.mark.parametrize("city,text", [
    ("Bei, jing", '"Bei, jing"'),
    ("NaN", '"NaN"'),
    (None, "NaN"),
    (float("nan"), "NaN"),
    ("", '""'),
    ("rain is wet", '"rain is wet"'),
    ('say "hi"', r'"say \"hi\""'),
    ("back\\slash", r'"back\\slash"'),
    ("two\nlines", r'"two\nlines"'),
    (" padded ", '" padded "'),
    ("三亚", "三亚"),
    ("a\u2028b", r'"a\u2028b"'),
    ("{{ 7*7 }}", "{{ 7*7 }}"),
])
def test_encode_escapes(schema: Schema, city: object, text: str) -> None:
    codec = RowCodec(schema, columns=["city"])
    assert codec.encode({"city": city}) == f"city is {text}"
    got = codec.decode(f"city is {text}")
    want = None if city is None or (isinstance(city, float) and math.isnan(city)) else city
    assert got == DecodeResult({"city": want}) or (want not in schema["city"].values)


def test_encode_json_exact(schema: Schema) -> None:
    codec = RowCodec(schema, fmt="json")
    assert codec.encode(ROW) == ('{"city": "Sanya", "price": 1299.50, "click": 1, '
                                 '"day": "2024-03-01T08:30:00"}')
    row = dict(ROW, city=None)
    assert codec.encode(row) == ('{"city": null, "price": 1299.50, "click": 1, '
                                 '"day": "2024-03-01T08:30:00"}')
    assert codec.decode(codec.encode(row)).row == row


def test_numbers_exact_round_trip(schema: Schema) -> None:
    codec = RowCodec(schema, columns=["price"], strict=False)
    for x, text in [(3.0, "3.00"), (0.1 + 0.2, "0.30000000000000004"), (-0.0, "-0.00"),
                    (1e20, "1e+20"), (12.345, "12.345"), (float("inf"), "inf")]:
        assert codec.encode({"price": x}) == f"price is {text}"
        y = codec.decode(f"price is {text}").row["price"]
        assert y == x and math.copysign(1, y) == math.copysign(1, x)


def test_decode_round_trip_both_formats(schema: Schema) -> None:
    for fmt in ("great", "json"):
        codec = RowCodec(schema, fmt=fmt)
        assert codec.decode(codec.encode(ROW)) == DecodeResult(ROW)


@pytest.mark.parametrize("text,kind,reason", [
    ("city is Paris, price is 1, click is 0, day is 2024-01-01",
     "out_of_domain", "value 'Paris' outside the domain of 'city'"),
    ("city is Sanya, price is abc, click is 0, day is 2024-01-01",
     "unparsable_number", "unparsable number 'abc' for 'price'"),
    ("city is Sanya, price is 20000, click is 0, day is 2024-01-01",
     "out_of_domain", "value '20000' outside the domain of 'price' ([0, 10000], 2 decimals)"),
    ("city is Sanya, price is 1.234, click is 0, day is 2024-01-01",
     "out_of_domain", "value '1.234' outside the domain of 'price' ([0, 10000], 2 decimals)"),
    ("city is Sanya, price is 1, click is 2, day is 2024-01-01",
     "out_of_domain", "value '2' outside the domain of 'click' (labels are 0 or 1)"),
    ("city is Sanya, price is 1, click is 0, day is tomorrow",
     "unparsable_datetime", "unparsable datetime 'tomorrow' for 'day'"),
    ("city is Sanya, price is NaN, click is 0, day is 2024-01-01",
     "missing_value", "missing value for 'price' (not nullable)"),
    ("city is Sanya, hotel is Hilton, price is 1, click is 0, day is 2024-01-01",
     "unknown_column", "unknown column 'hotel'"),
    ("city is Sanya, price is 1, click is 0",
     "missing_column", "missing column 'day'"),
    ("city is Sanya, city is Sanya, price is 1, click is 0, day is 2024-01-01",
     "duplicate_column", "duplicate column 'city'"),
    ("city is Sanya, price is 1,", "malformed", "malformed text: trailing comma"),
    ("city: Sanya", "malformed", "malformed text at character 0: 'city: Sanya'"),
    ("", "malformed", "malformed text: empty"),
    ('city is "unterminated, price is 1', "malformed",
     "malformed text at character 0: 'city is \"unterminated, pric...'"),
    ('city is "bad \\q escape", price is 1', "malformed",
     "malformed text: bad escape in 'bad \\\\q escape'"),
])
def test_decode_reasons(schema: Schema, text: str, kind: str, reason: str) -> None:
    r = RowCodec(schema).decode(text)
    assert (r.row, r.kind, r.reason) == (None, kind, reason)


def test_decode_reasons_json(schema: Schema) -> None:
    codec = RowCodec(schema, fmt="json")
    assert codec.decode("[1, 2]").reason == "malformed text: expected one JSON object"
    assert codec.decode("{").kind == "malformed"
    r = codec.decode('{"city": "Sanya", "city": "Sanya"}')
    assert (r.kind, r.reason) == ("duplicate_column", "duplicate column 'city'")
    r = codec.decode('{"city": ["Sanya"], "price": 1, "click": 0, "day": "2024-01-01"}')
    assert r.kind == "out_of_domain"
    # numbers for categorical values and bools for labels are read leniently
    r = codec.decode('{"city": "Sanya", "price": 5, "click": true, "day": "2024-01-01"}')
    assert r.row == {"city": "Sanya", "price": 5.0, "click": 1, "day": pd.Timestamp("2024-01-01")}


def test_decode_never_raises_on_odd_input(schema: Schema) -> None:
    codec = RowCodec(schema)
    for bad in [None, 5, b"city is x", "x" * 200_000, "\x00", '"', "is is is"]:
        r = codec.decode(bad)  # type: ignore[arg-type]
        assert r.row is None and r.kind == "malformed" or r.kind == "unknown_column"


def test_lenient_mode_skips_domain_checks(schema: Schema) -> None:
    codec = RowCodec(schema, strict=False)
    r = codec.decode("city is Paris, price is 1.234, click is 0, day is 2024-01-01")
    assert r.row is not None and r.row["city"] == "Paris" and r.row["price"] == 1.234
    assert codec.decode("city is Paris, price is 1, click is 3, day is 2024-01-01").row is None


def test_decode_many_frame_and_counts(schema: Schema) -> None:
    codec = RowCodec(schema)
    texts = [codec.encode(ROW), codec.encode(dict(ROW, city=None, click=0)), "junk",
             "city is Paris, price is 1, click is 0, day is 2024-01-01",
             "city is Rome, price is 1, click is 0, day is 2024-01-01"]
    df, counts = codec.decode_many(texts)
    assert list(df.columns) == ["city", "price", "click", "day"]
    assert df["city"].tolist() == ["Sanya", None]
    assert df["click"].dtype == np.int64 and df["price"].dtype == np.float64
    assert str(df["day"].dtype).startswith("datetime64")
    assert counts == {"malformed": 1, "out_of_domain:city": 2}
    _, detailed = codec.decode_many(texts, detail=True)
    assert detailed["value 'Paris' outside the domain of 'city'"] == 1
    empty, none = codec.decode_many([])
    assert len(empty) == 0 and list(empty.columns) == codec.columns and not none


def test_encode_frame_matches_encode_and_shuffles(schema: Schema) -> None:
    codec = RowCodec(schema)
    df = pd.DataFrame([ROW, dict(ROW, city="Bei, jing", price=3.0, click=0)])
    texts = codec.encode_frame(df)
    assert texts == [codec.encode(r) for r in df.to_dict("records")]
    shuffled = codec.encode_frame(df, shuffle=True, rng=0)
    assert shuffled == codec.encode_frame(df, shuffle=True, rng=0)
    assert [codec.decode(t).row for t in shuffled] == [codec.decode(t).row for t in texts]


def test_permuted_order_is_seeded(schema: Schema) -> None:
    codec = RowCodec(schema)
    a = codec.permuted_order(np.random.default_rng(3))
    assert a == codec.permuted_order(np.random.default_rng(3))
    assert sorted(a) == sorted(codec.columns)
    assert codec.decode(codec.encode(ROW, order=a)).row == ROW


def test_prefix_and_tokens(schema: Schema) -> None:
    codec = RowCodec(schema)
    assert codec.prefix({"city": "Sanya", "click": 1}, ["city", "click"]) == (
        "city is Sanya, click is 1, ")
    assert codec.format_value("city", "NaN") == '"NaN"'
    assert codec.format_value("city", None) == NAN_TOKEN
    assert codec.format_name("price") == "price"
    assert RowCodec(schema, fmt="json").prefix({"city": "Sanya"}, ["city"]) == '{"city": "Sanya", '


def test_usage_errors(schema: Schema) -> None:
    with pytest.raises(UsageError, match="unknown row format"):
        RowCodec(schema, fmt="xml")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not in the schema"):
        RowCodec(schema, columns=["nope"])
    codec = RowCodec(schema)
    with pytest.raises(UsageError, match="row has no column 'day'"):
        codec.encode({"city": "Sanya", "price": 1.0, "click": 0})
    with pytest.raises(UsageError, match="not a permutation"):
        codec.encode(ROW, order=["city"])


def test_quoted_column_names() -> None:
    schema = Schema([Column("home city", Role.USER, ColumnType.CATEGORICAL),
                     Column("what is it", Role.ITEM, ColumnType.CATEGORICAL),
                     Column("a,b", Role.CONTEXT, ColumnType.CATEGORICAL)])
    codec = RowCodec(schema)
    row = {"home city": "x", "what is it": "y", "a,b": "z"}
    assert codec.encode(row) == 'home city is x, "what is it" is y, "a,b" is z'
    assert codec.decode(codec.encode(row)).row == row


def test_numbers_are_ascii_only(schema: Schema) -> None:
    codec = RowCodec(schema, columns=["price"])
    assert codec.decode("price is ٣").kind == "unparsable_number"
    assert codec.decode("price is 1_000").kind == "unparsable_number"
    assert codec.decode("price is +3").row == {"price": 3.0}
