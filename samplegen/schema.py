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
        return table_problems(self, df, check_domains)

    def validate(self, df: pd.DataFrame, *, check_domains: bool = False) -> None:
        """Raise :class:`SchemaError` listing every problem of ``df`` at once."""
        problems = self.problems(df, check_domains=check_domains)
        if problems:
            raise SchemaError(problems)

    def coerce(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return ``df`` with the schema's storage types (strings, floats, 0/1 ints)."""
        return coerce_table(self, df)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Enum):
        return o.value
    raise TypeError(type(o))


# inference and checks live in their own modules; re-exported here
from samplegen.schema_checks import coerce_table, table_problems  # noqa: E402
from samplegen.schema_infer import infer_schema, load_overrides  # noqa: E402
