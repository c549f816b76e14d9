"""Row <-> text codec: property-based round trips (hypothesis) and every real fixture row."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samplegen.codec import IS_SEP, NAN_TOKEN, PAIR_SEP, RowCodec
from samplegen.schema import Column, ColumnType, Role, Schema, infer_schema

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

NASTY = [NAN_TOKEN, "", " ", ",", ", ", " is ", "is", "a is b", '"', '""', "\\", "\\n", "\n",
         "\r\n", "\t", "x,y", " lead", "trail ", "三亚", "🙂", "é", "\u2028", "\x85", "\x00",
         "{{ 7*7 }}", "None", "null", "nan", "col is value, other is x", "1.5", "-0", "NaN "]
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=12),
                       st.lists(st.sampled_from(NASTY), min_size=1, max_size=4).map("".join))
names = st.one_of(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                  nasty_text.filter(bool))


def _numeric(draw: st.DrawFn, name: str, role: Role, strict: bool) -> tuple[Column, Any]:
    decimals = draw(st.one_of(st.none(), st.integers(0, 6)))
    floats = st.floats(allow_nan=False, allow_infinity=not strict, width=64)
    if strict:
        floats = floats.filter(lambda x: abs(x) <= 1e300)
    if strict and decimals is not None:
        floats = floats.filter(lambda x: abs(x) < 1e12).map(lambda x: round(x, decimals))
    values = st.one_of(floats, st.just(math.nan), st.sampled_from([0.0, -0.0, 3.0, 1e20]))
    col = Column(name, role, ColumnType.NUMERICAL, decimals=decimals, nullable=True,
                 min=None if not strict else -1e300, max=None if not strict else 1e300)
    return col, values


@st.composite
def schema_and_rows(draw: st.DrawFn, strict: bool = True) -> tuple[Schema, list[dict]]:
    cols_names = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    columns, strategies = [], {}
    for name in cols_names:
        kind = draw(st.sampled_from(["cat", "cat_open", "num", "label", "date"]))
        if kind == "cat":
            domain = draw(st.lists(nasty_text, min_size=1, max_size=6, unique=True))
            col = Column(name, Role.CONTEXT, ColumnType.CATEGORICAL, values=domain, nullable=True)
            values = st.one_of(st.sampled_from(domain), st.none())
        elif kind == "cat_open":
            col = Column(name, Role.ITEM, ColumnType.CATEGORICAL, nullable=True)
            values = st.one_of(nasty_text, st.none())
        elif kind == "num":
            col, values = _numeric(draw, name, Role.USER, strict)
        elif kind == "label":
            col = Column(name, Role.AUX_LABEL, ColumnType.NUMERICAL, min=0.0, max=1.0,
                         decimals=0, integer=True)
            values = st.sampled_from([0, 1])
        else:
            col = Column(name, Role.TIMESTAMP, ColumnType.DATETIME, nullable=True)
            values = st.one_of(st.datetimes().map(pd.Timestamp), st.just(pd.NaT))
        columns.append(col)
        strategies[name] = values
    rows = draw(st.lists(st.fixed_dictionaries(strategies), min_size=1, max_size=5))
    return Schema(columns), rows


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if a is pd.NaT or b is pd.NaT:
        return a is b
    return type(a) is type(b) and a == b


def _expected(schema: Schema, row: dict) -> dict:
    return {k: (None if schema[k].type == ColumnType.CATEGORICAL and v is None else v)
            for k, v in row.items()}


@SETTINGS
@given(data=schema_and_rows(), fmt=st.sampled_from(["great", "json"]), seed=st.integers(0, 99))
def test_round_trip_exact_strict(data: tuple[Schema, list[dict]], fmt: str, seed: int) -> None:
    schema, rows = data
    codec = RowCodec(schema, fmt=fmt)  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    for row in rows:
        text = codec.encode(row, order=codec.permuted_order(rng))
        assert "\n" not in text and len(text.splitlines()) == 1
        got = codec.decode(text)
        assert got.row is not None, (text, got.reason)
        want = _expected(schema, row)
        assert got.row.keys() == want.keys()
        assert all(_same(got.row[k], want[k]) for k in want), (text, got.row, want)


@SETTINGS
@given(data=schema_and_rows(strict=False), fmt=st.sampled_from(["great", "json"]))
def test_round_trip_exact_any_float(data: tuple[Schema, list[dict]], fmt: str) -> None:
    schema, rows = data
    codec = RowCodec(schema, fmt=fmt, strict=False)  # type: ignore[arg-type]
    df = pd.DataFrame(rows, columns=schema.names)
    for text, row in zip(codec.encode_frame(df, shuffle=True, rng=1), rows, strict=True):
        got = codec.decode(text)
        assert got.row is not None, (text, got.reason)
        assert all(_same(got.row[k], v) for k, v in _expected(schema, row).items()), text


def _fragments() -> st.SearchStrategy[str]:
    pieces = st.sampled_from(["city", "price", "click", "day", IS_SEP, PAIR_SEP, ",", '"', "\\",
                              "\\u12", NAN_TOKEN, "Sanya", "1.5", "1e999", "-", " ", "\n", "is",
                              "2024-01-01", "{", "}", ":", "[", "null", "true", "\u2028"])
    return st.lists(st.one_of(pieces, st.text(max_size=5)), max_size=20).map("".join)


FIXED = Schema([
    Column("city", Role.USER, ColumnType.CATEGORICAL, values=["Sanya", "NaN"], nullable=True),
    Column("price", Role.ITEM, ColumnType.NUMERICAL, min=0.0, max=100.0, decimals=1),
    Column("click", Role.CLICK, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0, integer=True),
    Column("day", Role.TIMESTAMP, ColumnType.DATETIME),
])
_json_values = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                            lambda c: st.lists(c, max_size=3)
                            | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(), _fragments()), fmt=st.sampled_from(["great", "json"]),
       strict=st.booleans())
def test_decode_never_raises_on_random_text(text: str, fmt: str, strict: bool) -> None:
    r = RowCodec(FIXED, fmt=fmt, strict=strict).decode(text)  # type: ignore[arg-type]
    assert (r.row is None) == (r.reason is not None)
    assert r.row is None or set(r.row) == set(FIXED.names)


@settings(max_examples=200, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["city", "price", "click", "day", "x"]), _json_values,
                           max_size=5))
def test_decode_never_raises_on_random_json(obj: dict) -> None:
    r = RowCodec(FIXED, fmt="json").decode(json.dumps(obj))
    assert (r.row is None) == (r.reason is not None)


# ------------------------------------------------------------------ real fixtures
def _fixture_frames() -> list[tuple[str, pd.DataFrame]]:
    if not DATA.is_dir():
        return []
    out = []
    for path in sorted(DATA.glob("*/*.csv")):
        header = None if "noheader" in path.name else "infer"
        df = pd.read_csv(path, header=header)
        df.columns = [str(c) for c in df.columns]
        out.append((path.name, df))
    return out


def _loaded_sources() -> list[tuple[str, pd.DataFrame, Schema]]:
    """Fixture tables as the project's loader reads them, when samplegen.sources exists."""
    try:
        from samplegen.sources import load_source
    except ImportError:
        return []
    out = []
    for path in sorted(DATA.glob("*/*.*")):
        if path.suffix not in (".csv", ".txt"):
            continue
        for kw in ({}, {"invalid_conversions": "drop"}):
            try:
                src = load_source(path, **kw)
            except Exception:  # noqa: BLE001 - a format the loader refuses is not ours to test
                continue
            out.append((path.name, src.table, src.schema))
            break
    return out


@pytest.mark.skipif(not DATA.is_dir(), reason=f"real-data fixtures not found at {DATA}")
@pytest.mark.parametrize("fmt", ["great", "json"])
def test_round_trip_every_fixture_row(fmt: str) -> None:
    tables = _tables()
    assert len(tables) >= 7
    for name, raw, inferred in tables:
        df = inferred.coerce(raw)[inferred.names].reset_index(drop=True)
        # lenient: exact on the schema as inferred
        codec = RowCodec(inferred, fmt=fmt, strict=False)  # type: ignore[arg-type]
        back, rejects = codec.decode_many(codec.encode_frame(df, shuffle=True, rng=0))
        assert not rejects, (name, rejects)
        pd.testing.assert_frame_equal(back, df, check_exact=True, obj=name)
        # strict: exact too, once domains really describe the data
        schema = _true_decimals(inferred, df)
        codec = RowCodec(schema, fmt=fmt)  # type: ignore[arg-type]
        back, rejects = codec.decode_many(codec.encode_frame(df, shuffle=True, rng=0))
        assert not rejects, (name, rejects)
        pd.testing.assert_frame_equal(back, df, check_exact=True, obj=name)


@functools.cache
def _tables() -> list[tuple[str, pd.DataFrame, Schema]]:
    return [(n, df, infer_schema(df)) for n, df in _fixture_frames()] + _loaded_sources()


def _true_decimals(schema: Schema, df: pd.DataFrame) -> Schema:
    """Drop ``decimals`` where the inferred value (capped at 6) is fewer than the data has.

    (aliexpress ``numerical_12`` holds 0.0989857: 7 decimals, inferred as 6.)
    """
    cols = []
    for c in schema.columns:
        x = df[c.name].to_numpy(dtype=float) if c.type == ColumnType.NUMERICAL else None
        if x is not None and c.decimals is not None and not c.is_label:
            x = x[~np.isnan(x)]
            if not np.all(np.abs(np.round(x, c.decimals) - x) <= 1e-9 * np.maximum(1, abs(x))):
                c = Column.from_dict(c.to_dict() | {"decimals": None})
        cols.append(c)
    return Schema(cols, schema.entities, schema.name)
