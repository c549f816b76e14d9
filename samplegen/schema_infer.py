"""Schema inference from a DataFrame and schema-override files (YAML/JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import Problem, SchemaError, UsageError
from samplegen.schema import LABEL_ROLES, Column, ColumnType, Role, Schema

__all__ = ["infer_schema", "load_overrides", "to_str"]

_CLICK_NAMES = ("click", "is_click", "clicked", "clk")
_CONV_NAMES = ("conversion", "purchase", "is_purchase", "buy", "is_buy", "converted", "cvr", "pay")
_TS_PAT = re.compile(r"(^|_)(ts|time|timestamp|date|datetime|day_index)$", re.I)
_ID_PAT = re.compile(r"(^|_)id$", re.I)
_CATEGORY_PAT = re.compile(r"(^|_)(category|cate|cat|category_id|cate_id)$", re.I)
_AUX_PAT = re.compile(r"^(aux_|same_)", re.I)


def infer_schema(
    df: pd.DataFrame,
    *,
    click: str | None = None,
    conversion: str | None = None,
    category: str | None = None,
    timestamp: str | None = None,
    max_categories: int = 1000,
    name: str = "table",
) -> Schema:
    """Infer roles, types and domains from ``df``; explicit label names win over guesses."""
    lower = {c.lower(): c for c in df.columns}

    def pick(given: str | None, candidates: Iterable[str], what: str) -> str | None:
        if given is not None:
            if given not in df.columns:
                raise SchemaError([Problem(given, f"the {what} column named by a flag is not in "
                                           "the data.", f"use one of {list(df.columns)}")])
            return given
        return next((lower[c] for c in candidates if c in lower), None)

    click_col = pick(click, _CLICK_NAMES, "click")
    conv_col = pick(conversion, _CONV_NAMES, "conversion")
    cat_col = pick(category, [c.lower() for c in df.columns if _CATEGORY_PAT.search(c)], "category")
    ts_col = pick(timestamp, [c.lower() for c in df.columns if _TS_PAT.search(c)], "timestamp")

    columns = []
    for col in df.columns:
        s = df[col]
        if col == click_col:
            role = Role.CLICK
        elif col == conv_col:
            role = Role.CONVERSION
        elif col == cat_col:
            role = Role.CATEGORY
        elif col == ts_col:
            role = Role.TIMESTAMP
        elif _AUX_PAT.search(str(col)) and _is_binary(s):
            role = Role.AUX_LABEL
        elif _ID_PAT.search(str(col)):
            low = str(col).lower()
            role = Role.USER if low.startswith("user") else Role.ITEM if low.startswith("item") \
                else Role.ID
        elif str(col).lower().startswith("user"):
            role = Role.USER
        elif str(col).lower().startswith("item"):
            role = Role.ITEM
        else:
            role = Role.CONTEXT
        columns.append(_infer_column(str(col), s, role, max_categories))
    schema = Schema(columns, name=name)
    for col in schema.columns:
        if col.role in (Role.USER, Role.ITEM) and _ID_PAT.search(col.name):
            col.key = True
    return schema


def _is_binary(s: pd.Series) -> bool:
    vals = pd.unique(s.dropna())
    return len(vals) <= 2 and all(v in (0, 1, True, False) for v in vals)


def _infer_column(name: str, s: pd.Series, role: Role, max_categories: int) -> Column:
    nullable = bool(s.isna().any())
    if role in LABEL_ROLES:
        return Column(name, role, ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0,
                      integer=True, nullable=nullable)
    if pd.api.types.is_datetime64_any_dtype(s):
        return Column(name, role, ColumnType.DATETIME, nullable=nullable)
    if role == Role.TIMESTAMP and pd.api.types.is_numeric_dtype(s):
        return _numeric(name, s, role, nullable)
    if pd.api.types.is_bool_dtype(s):
        return Column(name, role, ColumnType.CATEGORICAL, values=["False", "True"],
                      nullable=nullable)
    if pd.api.types.is_numeric_dtype(s):
        uniq = s.dropna().unique()
        is_int = bool(len(uniq)) and bool(np.all(np.mod(uniq.astype(float), 1) == 0))
        # integer codes with few values, and any id, are categorical
        if role in (Role.ID, Role.CATEGORY) or _ID_PAT.search(name) or (
            is_int and len(uniq) <= 20 and role != Role.TIMESTAMP
        ):
            vals = sorted({to_str(v) for v in uniq}, key=_natural_key)
            return Column(name, role, ColumnType.CATEGORICAL,
                          values=vals if len(vals) <= max_categories else None,
                          nullable=nullable)
        return _numeric(name, s, role, nullable)
    vals = sorted({to_str(v) for v in s.dropna().unique()}, key=_natural_key)
    return Column(name, role, ColumnType.CATEGORICAL,
                  values=vals if len(vals) <= max_categories else None, nullable=nullable)


def _numeric(name: str, s: pd.Series, role: Role, nullable: bool) -> Column:
    x = pd.to_numeric(s, errors="coerce").dropna().to_numpy(dtype=float)
    if len(x) == 0:
        return Column(name, role, ColumnType.NUMERICAL, nullable=True)
    is_int = bool(np.all(np.mod(x, 1) == 0))
    decimals = 0 if is_int else _decimals(x)
    return Column(name, role, ColumnType.NUMERICAL, min=float(x.min()), max=float(x.max()),
                  decimals=decimals, integer=is_int, nullable=nullable)


def _decimals(x: np.ndarray, cap: int = 6) -> int | None:
    """Fewest decimals that represent every value exactly; None when more than ``cap`` are needed."""
    sample = x[: 2000]
    for d in range(cap + 1):
        if np.allclose(np.round(sample, d), sample, rtol=0, atol=10 ** -(cap + 2)):
            return d
    return None


def to_str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (np.floating,)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _natural_key(v: str) -> tuple[int, Any]:
    try:
        return (0, float(v))
    except ValueError:
        return (1, v)


# ======================================================================= overrides
def load_overrides(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON schema-override file (``columns`` and ``entities`` sections).

    ``columns`` may be a mapping ``{name: {role, type, ...}}`` or a list of
    ``{name, role, ...}``; a full saved schema is accepted too.
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"schema file {str(p)!r} does not exist. Fix: pass an existing "
                         "YAML/JSON file to --schema.")
    text = p.read_text()
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # noqa: BLE001 - parser errors vary by format
        raise UsageError(f"schema file {str(p)!r} cannot be parsed: {e}. Fix: write valid "
                         "YAML or JSON.") from e
    if not isinstance(data, dict):
        raise UsageError(f"schema file {str(p)!r} must hold a mapping with a 'columns' section.")
    cols = data.get("columns")
    if isinstance(cols, list):
        data["columns"] = {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in cols}
    return data

