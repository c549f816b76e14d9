"""Table schema: column roles, types, value domains, entity groups, constraints.

A :class:`Schema` is inferred from a DataFrame (:func:`infer_schema`), can be
overridden by a YAML/JSON file (:func:`load_overrides`), saved with every run
(:meth:`Schema.save`) and checks a table (:meth:`Schema.validate`), collecting
every problem at once.

Conventions used everywhere in samplegen:

* categorical values are strings (``None`` for missing);
* labels (``click``, ``conversion``, ``aux_label``) are integers 0/1;
* the constraint ``conversion => click`` always holds in valid data;
* ``role == "ignore"`` columns are carried along but never used as features.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import Problem, SchemaError, UsageError

__all__ = ["Role", "ColumnType", "Column", "Entity", "Schema", "infer_schema", "load_overrides"]


class Role(str, Enum):
    """What a column means in a user-item impression log."""

    ID = "id"
    USER = "user"
    ITEM = "item"
    CONTEXT = "context"
    CATEGORY = "category"
    CLICK = "click"
    CONVERSION = "conversion"
    AUX_LABEL = "aux_label"
    TIMESTAMP = "timestamp"
    IGNORE = "ignore"


class ColumnType(str, Enum):
    """Storage type of a column."""

    CATEGORICAL = "categorical"
    NUMERICAL = "numerical"
    DATETIME = "datetime"


LABEL_ROLES = (Role.CLICK, Role.CONVERSION, Role.AUX_LABEL)
NON_FEATURE_ROLES = (*LABEL_ROLES, Role.ID, Role.TIMESTAMP, Role.IGNORE)


@dataclass
class Column:
    """One column: role, type and value domain.

    ``values`` is the categorical domain (strings); ``min``/``max``/``decimals``
    the numerical domain; ``key`` marks the id column of an entity (user id,
    item id), which is never a feature.
    """

    name: str
    role: Role
    type: ColumnType
    values: list[str] | None = None
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    integer: bool = False
    nullable: bool = False
    key: bool = False

    @property
    def is_label(self) -> bool:
        return self.role in LABEL_ROLES

    @property
    def is_feature(self) -> bool:
        """True when a model may use this column as an input."""
        return self.role not in NON_FEATURE_ROLES and not self.key

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["role"] = self.role.value
        d["type"] = self.type.value
        return {k: v for k, v in d.items() if v is not None and v is not False}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Column:
        d = dict(d)
        try:
            d["role"] = Role(d["role"])
        except ValueError:
            raise SchemaError(
                [Problem(d.get("name"), f"unknown role {d['role']!r}.",
                         f"use one of {[r.value for r in Role]}")]
            ) from None
        try:
            d["type"] = ColumnType(d.get("type", "categorical"))
        except ValueError:
            raise SchemaError(
                [Problem(d.get("name"), f"unknown type {d['type']!r}.",
                         f"use one of {[t.value for t in ColumnType]}")]
            ) from None
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise SchemaError([Problem(d.get("name"), f"unknown field(s) {sorted(unknown)}.",
                                       f"use only {sorted(cls.__dataclass_fields__)}")])
        return cls(**d)


@dataclass
class Entity:
    """An entity (user or item) behind an id column and the columns that describe it.

    A catalog maps each key to one combination of attribute values; a row is
    consistent when its attributes match the catalog entry of its key.
    """

    name: str
    key: str
    attributes: list[str] = field(default_factory=list)


@dataclass
class Schema:
    """Columns with roles, types and domains, plus entity groups and constraints."""

    columns: list[Column]
    entities: list[Entity] = field(default_factory=list)
    name: str = "table"

    # ----------------------------------------------------------------- lookup
    def __post_init__(self) -> None:
        self._index = {c.name: c for c in self.columns}

    def __getitem__(self, name: str) -> Column:
        try:
            return self._index[name]
        except KeyError:
            raise UsageError(
                f"column {name!r} is not in the schema; known columns: {self.names}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def by_role(self, role: Role | str) -> list[Column]:
        role = Role(role)
        return [c for c in self.columns if c.role == role]

    def _one(self, role: Role) -> str | None:
        cols = self.by_role(role)
        return cols[0].name if cols else None

    @property
    def click(self) -> str | None:
        """Name of the click label column."""
        return self._one(Role.CLICK)

    @property
    def conversion(self) -> str | None:
        """Name of the conversion label column."""
        return self._one(Role.CONVERSION)

    @property
    def category(self) -> str | None:
        """Name of the item-category column (the unit of sparsity)."""
        return self._one(Role.CATEGORY)

    @property
    def timestamp(self) -> str | None:
        return self._one(Role.TIMESTAMP)

    @property
    def aux_labels(self) -> list[str]:
        return [c.name for c in self.by_role(Role.AUX_LABEL)]

    @property
    def labels(self) -> list[str]:
        return [c.name for c in self.columns if c.is_label]

    @property
    def features(self) -> list[str]:
        """Columns a model may use as inputs (never labels, ids, timestamps or ignored)."""
        return [c.name for c in self.columns if c.is_feature]

    def entity(self, name: str) -> Entity | None:
        return next((e for e in self.entities if e.name == name), None)

    # ------------------------------------------------------------- mutation
    def with_overrides(self, overrides: dict[str, Any]) -> Schema:
        """Return a copy with column fields and entities replaced by ``overrides``.

        ``overrides`` has the file format: ``{"columns": {name: {field: value}},
        "entities": [{"name", "key", "attributes"}]}``.
        """
        problems: list[Problem] = []
        cols = {c.name: Column.from_dict(c.to_dict()) for c in self.columns}
        for name, spec in (overrides.get("columns") or {}).items():
            if name not in cols:
                problems.append(Problem(name, "the schema file names a column the data lacks.",
                                        f"remove it from the file or add it to the data; "
                                        f"data columns: {list(cols)}"))
                continue
            merged = cols[name].to_dict() | dict(spec) | {"name": name}
            if "type" in spec and spec["type"] != cols[name].type.value:
                for k in ("values", "min", "max", "decimals", "integer"):
                    if k not in spec:
                        merged.pop(k, None)
            try:
                cols[name] = Column.from_dict(merged)
            except SchemaError as e:
                problems.extend(e.problems)
        entities = list(self.entities)
        if "entities" in overrides:
            entities = []
            for e in overrides["entities"] or []:
                missing = [c for c in [e.get("key"), *e.get("attributes", [])] if c not in cols]
                if missing:
                    problems.append(Problem(missing[0], f"entity {e.get('name')!r} names missing "
                                            f"column(s) {missing}.", "fix the entities section"))
                    continue
                entities.append(Entity(e["name"], e["key"], list(e.get("attributes", []))))
        unknown = set(overrides) - {"columns", "entities", "name"}
        if unknown:
            problems.append(Problem(None, f"unknown section(s) {sorted(unknown)} in schema file.",
                                    "use only 'columns', 'entities' and 'name'"))
        if problems:
            raise SchemaError(problems)
        out = Schema(list(cols.values()), entities, overrides.get("name", self.name))
        for ent in out.entities:
            out._index[ent.key].key = True
        return out

    def drop(self, names: Iterable[str]) -> Schema:
        names = set(names)
        return Schema([c for c in self.columns if c.name not in names],
                      [e for e in self.entities if e.key not in names], self.name)

    # ------------------------------------------------------------ save/load
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": [c.to_dict() for c in self.columns],
            "entities": [asdict(e) for e in self.entities],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Schema:
        return cls([Column.from_dict(c) for c in d["columns"]],
                   [Entity(**e) for e in d.get("entities", [])], d.get("name", "table"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=_json_default))

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def fingerprint(self) -> str:
        """Stable hash of names, roles and types (not domains): equal for compatible tables."""
        import hashlib

        key = json.dumps([(c.name, c.role.value, c.type.value) for c in self.columns])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    # ----------------------------------------------------------- validation
    def problems(self, df: pd.DataFrame, *, check_domains: bool = False) -> list[Problem]:
        """Every way ``df`` breaks this schema (empty list when it fits)."""
        return _problems(self, df, check_domains)

    def validate(self, df: pd.DataFrame, *, check_domains: bool = False) -> None:
        """Raise :class:`SchemaError` listing every problem of ``df`` at once."""
        problems = self.problems(df, check_domains=check_domains)
        if problems:
            raise SchemaError(problems)

    def coerce(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return ``df`` with the schema's storage types (strings, floats, 0/1 ints)."""
        return _coerce(self, df)


# ======================================================================= inference
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
            vals = sorted({_to_str(v) for v in uniq}, key=_natural_key)
            return Column(name, role, ColumnType.CATEGORICAL,
                          values=vals if len(vals) <= max_categories else None,
                          nullable=nullable)
        return _numeric(name, s, role, nullable)
    vals = sorted({_to_str(v) for v in s.dropna().unique()}, key=_natural_key)
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


def _to_str(v: Any) -> str:
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


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Enum):
        return o.value
    raise TypeError(type(o))


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


# ====================================================================== validation
def _problems(schema: Schema, df: pd.DataFrame, check_domains: bool) -> list[Problem]:
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
                problems.append(Problem(col.name, f"label is not 0/1 (value {s.iloc[i]!r}).",
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
        strs = s.map(lambda v: None if _isna(v) else _to_str(v))
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
            out.append(Problem(col.name, f"value {s.iloc[i]!r} is outside "
                               f"[{col.min}, {col.max}] or not a number.",
                               "clip or drop the value", row=i))
    if not col.nullable and s.isna().any():
        i = int(np.flatnonzero(s.isna().to_numpy())[0])
        out.append(Problem(col.name, "missing value in a non-nullable column.",
                           "fill it or mark the column nullable", row=i))
    return out


# ========================================================================== coerce
def _coerce(schema: Schema, df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in schema.columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        if col.is_label:
            out[col.name] = pd.to_numeric(s, errors="coerce").fillna(0).astype("int64")
        elif col.type == ColumnType.CATEGORICAL:
            out[col.name] = s.map(lambda v: None if _isna(v) else _to_str(v)).astype(object)
        elif col.type == ColumnType.NUMERICAL:
            x = pd.to_numeric(s, errors="coerce")
            out[col.name] = x.astype("float64")
        elif col.type == ColumnType.DATETIME:
            out[col.name] = pd.to_datetime(s, errors="coerce")
    return out


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT
