"""Row <-> text codec: GReaT-style ``col is value, ...`` and JSON, with exact round trips.

Rows are mappings as stored by :meth:`Schema.coerce`: categorical values are
strings (``None`` when missing), numerical values floats (NaN when missing),
labels 0/1 ints, datetimes :class:`pandas.Timestamp`.

GReaT text format (``fmt="great"``)::

    city is Sanya, price is 1299.50, star is "5-star, sea view", note is NaN

* pairs are ``NAME is VALUE`` joined by ``", "``; the order may be permuted per row;
* a name or value is written bare when it is a plain printable string: no
  leading/trailing space, no ``,`` ``"`` ``\\``, no whitespace other than single
  spaces, no word ``is``, and not the missing token; otherwise it is quoted as a
  JSON string (``"..."`` with ``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX`` escapes;
  non-ASCII stays literal, line separators are escaped), so a row is always one line;
* a missing value is the bare token ``NaN``; the string ``"NaN"`` is always quoted;
* numbers use the column's ``decimals`` when that reproduces the stored float
  exactly, else the shortest round-trip form (``repr``); labels are ``0``/``1``;
  datetimes are ISO-8601.

JSON format (``fmt="json"``): one object per row, ``{"col": value, ...}``; missing
is ``null``, numbers are JSON numbers formatted as above, datetimes ISO strings.

:meth:`RowCodec.decode` never raises: it returns a :class:`DecodeResult` with the
row, or a reason (``unknown column 'x'``, ``missing column 'y'``, ``value 'z'
outside the domain of 'col'``, ``unparsable number 'abc' for 'price'``,
``duplicate column 'c'``, ``malformed text ...``) and a stable ``kind``. The
parser accepts extra whitespace around ``is`` and commas; with ``strict=True``
(default) it checks values against the schema domains (``values``, ``min``/``max``,
``decimals``, ``integer``, ``nullable``); labels must be 0 or 1 in any mode.
:meth:`RowCodec.decode_many` returns the valid rows as a frame and reject counts
keyed by ``kind:column`` (e.g. ``out_of_domain:city``; ``malformed``,
``unknown_column`` without a column).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from samplegen._codec_syntax import (
    IS_SEP,
    ISO,
    MAX_TEXT_CHARS,
    MISSING,
    NAN_TOKEN,
    NUMBER,
    PAIR_SEP,
    Num,
    Reject,
    format_number,
    isna,
    quote,
    short,
    split_great,
    split_json,
    text_token,
    to_str,
)
from samplegen.errors import UsageError
from samplegen.schema import Column, ColumnType, Schema

__all__ = ["RowCodec", "DecodeResult", "NAN_TOKEN", "PAIR_SEP", "IS_SEP"]


@dataclass(frozen=True)
class DecodeResult:
    """Outcome of decoding one text: ``row`` when valid, else ``reason``.

    ``kind`` is a stable code (``unknown_column``, ``missing_column``,
    ``duplicate_column``, ``out_of_domain``, ``missing_value``,
    ``unparsable_number``, ``unparsable_datetime``, ``malformed``); ``column``
    names the column concerned when there is one.
    """

    row: dict[str, Any] | None
    reason: str | None = None
    column: str | None = None
    kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.row is not None

    @property
    def key(self) -> str:
        """Grouping key for reject counts: ``kind`` plus the schema column, if any."""
        if self.kind is None:
            return "ok"
        if self.column is not None and self.kind not in ("unknown_column",):
            return f"{self.kind}:{self.column}"
        return self.kind


class RowCodec:
    """Serialize rows of ``schema`` to text and parse them back (see module docstring).

    ``columns`` restricts and orders the columns (default: all schema columns);
    ``strict`` checks decoded values against the schema domains.
    """

    def __init__(self, schema: Schema, fmt: Literal["great", "json"] = "great",
                 columns: Sequence[str] | None = None, *, strict: bool = True):
        if fmt not in ("great", "json"):
            raise UsageError(f"unknown row format {fmt!r}. Fix: use 'great' or 'json'.")
        names = list(schema.names if columns is None else columns)
        unknown = [c for c in names if c not in schema]
        if unknown:
            raise UsageError(f"codec columns {unknown} are not in the schema; known columns: "
                             f"{schema.names}")
        if len(set(names)) != len(names):
            raise UsageError(f"codec columns contain duplicates: {names}")
        self.schema, self.fmt, self.strict = schema, fmt, strict
        self.columns: list[str] = names
        self._cols: dict[str, Column] = {c: schema[c] for c in names}
        self._domains = {c: frozenset(col.values) for c, col in self._cols.items()
                         if col.type == ColumnType.CATEGORICAL and col.values is not None}
        self._heads = {c: self._head(c) for c in names}
        self._kinds = {c: _kind(col) for c, col in self._cols.items()}
        self._missing = NAN_TOKEN if fmt == "great" else "null"
        self._str_token = text_token if fmt == "great" else quote
        self._tokens: dict[str, str] = {}  # string value -> its text token

    # ------------------------------------------------------------------ encode
    def format_name(self, column: str) -> str:
        """The column name as written in text (bare or quoted)."""
        return text_token(column) if self.fmt == "great" else quote(column)

    def format_value(self, column: str, value: Any) -> str:
        """One value as written in text for ``column`` (the missing token for NaN/None)."""
        col = self._col(column)
        return self._format(col, value)

    def encode(self, row: Mapping[str, Any], order: Sequence[str] | None = None) -> str:
        """One row as one line of text, columns in ``order`` (default: codec order)."""
        order = self.columns if order is None else order
        self._check_order(order)
        try:
            parts = [self._heads[c] + self._format(self._cols[c], row[c]) for c in order]
        except KeyError as e:
            raise UsageError(f"row has no column {e.args[0]!r}; codec columns: "
                             f"{self.columns}") from None
        return self._join(parts)

    def encode_frame(self, df: pd.DataFrame, *, shuffle: bool = False,
                     rng: np.random.Generator | int | None = None) -> list[str]:
        """Every row of ``df`` as text; ``shuffle`` permutes the column order per row."""
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise UsageError(f"frame lacks codec column(s) {missing}")
        cells = [[self._heads[c] + v for v in self._format_series(self._cols[c], df[c])]
                 for c in self.columns]
        if not shuffle:
            return [self._join(parts) for parts in zip(*cells, strict=True)]
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        perm = gen.permuted(np.tile(np.arange(len(self.columns)), (len(df), 1)), axis=1)
        rows = list(zip(*cells, strict=True)) if len(df) else []
        return [self._join([parts[j] for j in p]) for parts, p in zip(rows, perm.tolist(),
                                                                       strict=True)]

    def permuted_order(self, rng: np.random.Generator | int | None = None) -> list[str]:
        """A random column order (GReaT's per-row shuffling)."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return [self.columns[i] for i in gen.permutation(len(self.columns))]

    def prefix(self, row: Mapping[str, Any], order: Sequence[str]) -> str:
        """Text of the first pairs of a row plus the separator, to condition sampling on."""
        parts = [self._heads[c] + self._format(self._col(c), row[c]) for c in order]
        if self.fmt == "json":
            return "{" + ", ".join(parts) + (", " if parts else "")
        return PAIR_SEP.join(parts) + (PAIR_SEP if parts else "")

    # ------------------------------------------------------------------ decode
    def decode(self, text: str) -> DecodeResult:
        """Parse one row; never raises (a bad text gives a reason instead of a row)."""
        try:
            if not isinstance(text, str):
                raise Reject("malformed", f"malformed text: expected str, got "
                             f"{type(text).__name__}")
            if len(text) > MAX_TEXT_CHARS:
                raise Reject("malformed", f"malformed text: longer than {MAX_TEXT_CHARS} chars")
            pairs = split_json(text) if self.fmt == "json" else split_great(text)
            return DecodeResult(self._build(pairs))
        except Reject as r:
            return DecodeResult(None, r.reason, r.column, r.kind)
        except Exception as e:  # noqa: BLE001 - decode must never raise
            return DecodeResult(None, f"malformed text: {type(e).__name__}: {short(e)}",
                                None, "malformed")

    def decode_many(self, texts: Iterable[str], *, detail: bool = False
                    ) -> tuple[pd.DataFrame, Counter[str]]:
        """Valid rows as a frame (schema dtypes) and reject counts.

        Counts are keyed by :attr:`DecodeResult.key` (``"out_of_domain:city"``,
        ``"malformed"``, ...), or by the full reason when ``detail`` is true.
        """
        rows, rejects = [], Counter()
        for t in texts:
            r = self.decode(t)
            if r.row is not None:
                rows.append(r.row)
            else:
                rejects[r.reason if detail else r.key] += 1
        return self.frame(rows), rejects

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """Decoded rows as a DataFrame with the schema's storage dtypes."""
        data = {}
        for c in self.columns:
            col, vals = self._cols[c], [r[c] for r in rows]
            if col.is_label and not col.nullable:
                data[c] = pd.Series(vals, dtype="int64")
            elif col.is_label or col.type == ColumnType.NUMERICAL:
                data[c] = pd.Series(vals, dtype="float64")
            elif col.type == ColumnType.DATETIME:
                try:
                    data[c] = pd.to_datetime(pd.Series(vals, dtype=object))
                except (ValueError, TypeError):  # mixed time zones stay objects
                    data[c] = pd.Series(vals, dtype=object)
            else:
                data[c] = pd.Series(vals, dtype=object)
        return pd.DataFrame(data, columns=self.columns)

    # ---------------------------------------------------------------- private
    def _col(self, column: str) -> Column:
        try:
            return self._cols[column]
        except KeyError:
            raise UsageError(f"column {column!r} is not a codec column; codec columns: "
                             f"{self.columns}") from None

    def _check_order(self, order: Sequence[str]) -> None:
        if order is not self.columns and (len(order) != len(self.columns)
                                          or set(order) != self._cols.keys()):
            raise UsageError(f"order {list(order)} is not a permutation of the codec columns "
                             f"{self.columns}")

    def _head(self, column: str) -> str:
        return (text_token(column) + IS_SEP) if self.fmt == "great" else quote(column) + ": "

    def _join(self, parts: Sequence[str]) -> str:
        return PAIR_SEP.join(parts) if self.fmt == "great" else "{" + ", ".join(parts) + "}"

    def _format(self, col: Column, v: Any) -> str:
        kind = self._kinds[col.name]
        if kind == _CAT and v.__class__ is str:
            tok = self._tokens.get(v)
            if tok is None:
                tok = self._str_token(v)
                if len(self._tokens) < 100_000:
                    self._tokens[v] = tok
            return tok
        if isna(v):
            return self._missing
        if kind == _LABEL:
            return "1" if int(v) else "0"
        if kind == _NUM:
            t = format_number(float(v), col.decimals)
            if self.fmt == "json" and t[-1] == "f":  # inf -> JSON Infinity
                return t.replace("inf", "Infinity")
            return t
        if kind == _DATE:
            t = pd.Timestamp(v).isoformat()
            return t if self.fmt == "great" else quote(t)
        return self._str_token(to_str(v))

    def _format_series(self, col: Column, s: pd.Series) -> list[str]:
        return [self._format(col, v) for v in s.tolist()]

    def _build(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, raw in pairs:
            col = self._cols.get(name)
            if col is None:
                raise Reject("unknown_column", f"unknown column {short(name)!r}", name)
            if name in row:
                raise Reject("duplicate_column", f"duplicate column {short(name)!r}", name)
            row[name] = self._value(col, raw)
        if len(row) != len(self.columns):
            c = next(c for c in self.columns if c not in row)
            raise Reject("missing_column", f"missing column {c!r}", c)
        return row

    def _value(self, col: Column, raw: Any) -> Any:
        name, kind = col.name, self._kinds[col.name]
        if kind == _CAT and raw.__class__ is str:  # fast path: a plain string
            if self.strict and name in self._domains and raw not in self._domains[name]:
                raise Reject("out_of_domain", f"value {short(raw)!r} outside the domain of "
                             f"{name!r}", name)
            return raw
        if raw is MISSING:
            if self.strict and not col.nullable:
                raise Reject("missing_value", f"missing value for {name!r} (not nullable)", name)
            return None if kind == _CAT else pd.NaT if kind == _DATE else math.nan
        if isinstance(raw, list):  # a JSON array or object
            raise Reject("out_of_domain", f"value {short(json.dumps(raw))!r} outside the "
                         f"domain of {name!r}", name)
        if isinstance(raw, bool):
            raw = Num(int(raw)) if kind == _LABEL else str(raw)
        if kind in (_LABEL, _NUM):
            return self._number(col, str(raw))
        if kind == _DATE:
            return _datetime(name, str(raw))
        return self._value(col, str(raw))

    def _number(self, col: Column, s: str) -> float | int:
        name = col.name
        if NUMBER.fullmatch(s) is None:
            raise Reject("unparsable_number", f"unparsable number {short(s)!r} for "
                         f"{name!r}", name)
        x = float(s.replace("Infinity", "inf"))
        if col.is_label:
            if x not in (0.0, 1.0):
                raise Reject("out_of_domain", f"value {short(s)!r} outside the domain of "
                             f"{name!r} (labels are 0 or 1)", name)
            return int(x)
        if self.strict and not self._in_domain(col, x):
            raise Reject("out_of_domain", f"value {short(s)!r} outside the domain of "
                         f"{name!r}{_domain_hint(col)}", name)
        return x

    @staticmethod
    def _in_domain(col: Column, x: float) -> bool:
        if (col.min is not None and not x >= col.min) or (col.max is not None
                                                          and not x <= col.max):
            return False
        if math.isinf(x):
            return col.min is None or col.max is None
        if col.integer and not x.is_integer():
            return False
        if col.decimals is not None:
            return abs(round(x, col.decimals) - x) <= 1e-9 * max(1.0, abs(x))
        return True


_CAT, _NUM, _LABEL, _DATE = "cat", "num", "label", "date"


def _kind(col: Column) -> str:
    if col.is_label:
        return _LABEL
    return {ColumnType.NUMERICAL: _NUM, ColumnType.DATETIME: _DATE}.get(col.type, _CAT)


def _datetime(name: str, s: str) -> pd.Timestamp:
    try:
        if ISO.fullmatch(s) is None:
            raise ValueError(s)
        return pd.Timestamp(s)
    except (ValueError, OverflowError):
        raise Reject("unparsable_datetime", f"unparsable datetime {short(s)!r} for "
                     f"{name!r}", name) from None


def _domain_hint(col: Column) -> str:
    lo = "-inf" if col.min is None else f"{col.min:g}"
    hi = "inf" if col.max is None else f"{col.max:g}"
    dec = "" if col.decimals is None else f", {col.decimals} decimals"
    return f" ([{lo}, {hi}]{dec})"
