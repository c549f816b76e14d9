"""Validation of a table against its schema (every problem at once) and type coercion."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from samplegen.errors import Problem
from samplegen.schema import ColumnType, Role
from samplegen.schema_infer import to_str

if TYPE_CHECKING:
    from samplegen.schema import Column, Schema

__all__ = ["table_problems", "coerce_table"]

def table_problems(schema: Schema, df: pd.DataFrame, check_domains: bool) -> list[Problem]:
    problems: list[Problem] = []
    if len(df) == 0:
        problems.append(Problem(None, "the table has no rows.", "pass a file with data rows"))
    missing = [c for c in schema.names if c not in df.columns]
    for c in missing:
        problems.append(Problem(c, "is in the schema but not in the data.",
                                "add the column or remove it from the schema file"))
    if schema.click is None:
        had = f" (conversion column {schema.conversion!r} found; conversion implies click)" \
            if schema.conversion else ""
        problems.append(Problem(None, f"no click label column{had}.",
                                "name it with --click COL or role: click in the schema file"))
    if schema.conversion is None:
        problems.append(Problem(None, "no conversion label column.",
                                "name it with --conversion COL or role: conversion in the "
                                "schema file"))
    for role in (Role.CLICK, Role.CONVERSION, Role.CATEGORY, Role.TIMESTAMP):
        cols = schema.by_role(role)
        if len(cols) > 1:
            problems.append(Problem(cols[1].name, f"more than one column has role {role.value!r}: "
                                    f"{[c.name for c in cols]}.", "keep one and set the others "
                                    "to another role (for example 'ignore')"))
    for col in schema.columns:
        if col.name in missing or len(df) == 0:
            continue
        s = df[col.name]
        if s.isna().all():
            problems.append(Problem(col.name, "is empty (all values missing).",
                                    "drop it or set its role to 'ignore'"))
            continue
        if col.is_label:
            num = pd.to_numeric(s, errors="coerce")
            bad = ~(num.isin([0, 1]))
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                problems.append(Problem(col.name, f"label is not 0/1 (value {_plain(s.iloc[i])!r}).",
                                        "map the label to 0/1 before loading", row=i))
        if (col.is_feature and col.type == ColumnType.CATEGORICAL and len(df) >= 20
                and s.nunique() == len(df)):
            problems.append(Problem(col.name, "is unique on every row, like an id, but is used "
                                    "as a feature.", "set its role to 'id' (or 'ignore') in the "
                                    "schema file"))
        if check_domains:
            problems.extend(_domain_problems(col, s))
    for col in schema.columns:
        if col.role == Role.ID and col.type == ColumnType.NUMERICAL:
            problems.append(Problem(col.name, "an id column is typed numerical.",
                                    "set its type to 'categorical' (ids are never features)"))
    ck, cv = schema.click, schema.conversion
    if ck and cv and ck in df.columns and cv in df.columns and len(df):
        c = pd.to_numeric(df[ck], errors="coerce")
        v = pd.to_numeric(df[cv], errors="coerce")
        bad = (v == 1) & (c != 1)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            problems.append(Problem(cv, f"conversion=1 without click=1 in {int(bad.sum())} "
                                    f"row(s) (first at row {i}); conversion implies click.",
                                    "drop those rows (--invalid-conversions drop) or set "
                                    "click=1 for them (--invalid-conversions fix-click)", row=i))
    return problems


def _domain_problems(col: Column, s: pd.Series) -> list[Problem]:
    out = []
    if col.type == ColumnType.CATEGORICAL and col.values is not None:
        allowed = set(col.values)
        strs = s.map(lambda v: None if _isna(v) else to_str(v))
        bad = (s.notna() & ~strs.isin(allowed)).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            out.append(Problem(col.name, f"value {strs.iloc[i]!r} is outside the domain.",
                               "use a value from the schema's domain", row=i))
    elif col.type == ColumnType.NUMERICAL and not col.is_label:
        x = pd.to_numeric(s, errors="coerce")
        bad = x.isna() & s.notna()
        if col.min is not None:
            bad |= x < col.min
        if col.max is not None:
            bad |= x > col.max
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            out.append(Problem(col.name, f"value {_plain(s.iloc[i])!r} is outside "
                               f"[{col.min}, {col.max}] or not a number.",
                               "clip or drop the value", row=i))
    if not col.nullable and s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        out.append(Problem(col.name, "missing value in a non-nullable column.",
                           "fill it or mark the column nullable", row=i))
    return out


# ========================================================================== coerce
def coerce_table(schema: Schema, df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in schema.columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        if col.is_label:
            out[col.name] = pd.to_numeric(s, errors="coerce").fillna(0).astype("int64")
        elif col.type == ColumnType.CATEGORICAL:
            out[col.name] = _coerce_categorical(s)
        elif col.type == ColumnType.NUMERICAL:
            x = pd.to_numeric(s, errors="coerce")
            out[col.name] = x.astype("float64")
        elif col.type == ColumnType.DATETIME:
            out[col.name] = pd.to_datetime(s, errors="coerce")
    return out


def _coerce_categorical(s: pd.Series) -> pd.Series:
    """Values as strings (missing as None), converting each distinct value once."""
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    kinds = {type(v) for v in uniques}
    if kinds & {bool, np.bool_} and len(kinds) > 1:  # True == 1 would merge: convert one by one
        return s.map(lambda v: None if _isna(v) else to_str(v)).astype(object)
    table = np.array([None if _isna(v) else to_str(v) for v in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=s.index, dtype=object, name=s.name)


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def _plain(v: Any) -> Any:
    """A numpy scalar as the Python value it holds (messages show ``2``, not ``np.int64(2)``)."""
    return v.item() if isinstance(v, np.generic) else v
