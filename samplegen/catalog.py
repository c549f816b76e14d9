"""Entity catalogs: every synthetic row must describe a real user / a real item.

An entity (a key column plus the attribute columns that describe it, e.g.
``item_id`` -> ``item_category``, ``item_price``) has a catalog built from the
real training rows: the set of observed ``(key, attributes...)`` tuples. A row
is consistent when its tuple was observed. Inconsistent rows are either
*reused* (policy ``"reuse"``: key and attributes are replaced by the closest
real entity that still meets the sampling conditions) or rejected (policy
``"reject"``, or when no real entity meets the conditions).

Entities come from ``schema.entities``; without any, they are inferred: each
``user``/``item`` key column with the same-role columns (for items also the
category column) that the key determines in the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import Problem, UsageError
from samplegen.schema import ColumnType, Entity, Role, Schema

__all__ = ["EntityCatalog", "build_catalogs", "infer_entities", "resolve_entities",
           "consistency_problems", "POLICIES"]

POLICIES = ("reuse", "reject")


def infer_entities(table: pd.DataFrame, schema: Schema) -> list[Entity]:
    """``schema.entities`` when declared, else entities inferred from key columns."""
    if schema.entities:
        return list(schema.entities)
    out = []
    for col in schema.columns:
        if not col.key or col.role not in (Role.USER, Role.ITEM) or col.name not in table:
            continue
        roles = (Role.USER,) if col.role == Role.USER else (Role.ITEM, Role.CATEGORY)
        attrs = []
        for other in schema.columns:
            if other.name == col.name or other.key or other.role not in roles:
                continue
            nun = table.groupby(col.name, dropna=True, observed=True)[other.name].nunique()
            if len(nun) and int(nun.max()) <= 1:
                attrs.append(other.name)
        out.append(Entity(col.role.value, col.name, attrs))
    return out


@dataclass
class EntityCatalog:
    """The observed ``(key, attributes)`` tuples of one entity."""

    entity: Entity
    cat_attrs: list[str]
    num_attrs: list[str]
    tuples: pd.DataFrame  # unique rows of [key, *attributes]
    _keys: set[int] = field(default_factory=set, repr=False)
    _scale: np.ndarray | None = field(default=None, repr=False)
    _codes: np.ndarray | None = field(default=None, repr=False)  # tuples' categorical codes
    _maps: list[dict[Any, int]] = field(default_factory=list, repr=False)
    _exact: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def columns(self) -> list[str]:
        return [self.entity.key, *self.entity.attributes]

    @classmethod
    def from_table(cls, table: pd.DataFrame, schema: Schema, entity: Entity) -> EntityCatalog:
        cols = [entity.key, *entity.attributes]
        tuples = table[cols].drop_duplicates().reset_index(drop=True)
        num = [a for a in entity.attributes if schema[a].type == ColumnType.NUMERICAL]
        cat = [a for a in entity.attributes if a not in num]
        cat_obj = cls(entity, cat, num, tuples)
        cat_obj._keys = set(_hash(tuples, cols))
        if num:
            x = tuples[num].to_numpy(dtype=float)
            span = np.nanmax(x, axis=0) - np.nanmin(x, axis=0)
            cat_obj._scale = np.where(span > 0, span, 1.0)
        if cat:
            codes = np.empty((len(tuples), len(cat)), dtype=np.int64)
            for j, a in enumerate(cat):
                vals, inv = np.unique(tuples[a].astype(str).to_numpy(), return_inverse=True)
                cat_obj._maps.append({v: i for i, v in enumerate(vals.tolist())})
                codes[:, j] = inv
            cat_obj._codes = codes
            groups = pd.DataFrame(codes).groupby(list(range(len(cat))), sort=False).indices
            cat_obj._exact = {(k if isinstance(k, tuple) else (k,)): v for k, v in groups.items()}
        return cat_obj

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Categorical attribute codes of ``df``'s rows (-1 for values no real entity has)."""
        out = np.empty((len(df), len(self.cat_attrs)), dtype=np.int64)
        for j, a in enumerate(self.cat_attrs):
            m = self._maps[j]
            out[:, j] = [m.get(v, -1) for v in df[a].astype(str).tolist()]
        return out

    def consistent(self, df: pd.DataFrame) -> np.ndarray:
        """Boolean mask: the row's key/attribute tuple was observed in real data."""
        if len(df) == 0:
            return np.zeros(0, dtype=bool)
        h = _hash(df[self.columns], self.columns)
        return np.fromiter((x in self._keys for x in h), dtype=bool, count=len(h))


def build_catalogs(table: pd.DataFrame, schema: Schema) -> list[EntityCatalog]:
    """One catalog per entity (declared or inferred), from the coerced ``table``."""
    return [EntityCatalog.from_table(table, schema, e) for e in infer_entities(table, schema)
            if e.key in table.columns and all(a in table.columns for a in e.attributes)]


def resolve_entities(
    df: pd.DataFrame,
    catalogs: list[EntityCatalog],
    conditions: dict[str, Any] | None = None,
    *,
    rng: np.random.Generator,
    policy: str = "reuse",
) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """Make rows consistent with the catalogs.

    Returns ``(df, reasons, repaired)``: a copy of ``df`` with reused entities
    written in, an object array holding a reject reason per row (``None`` when
    the row is consistent), and counts of repairs by ``entity_reused:<name>``.
    """
    if policy not in POLICIES:
        raise UsageError(f"unknown entity policy {policy!r}. Fix: use one of {POLICIES}.")
    conditions = conditions or {}
    df = df.reset_index(drop=True).copy()
    reasons = np.full(len(df), None, dtype=object)
    repaired: dict[str, int] = {}
    for cat in catalogs:
        ok = cat.consistent(df)
        bad = np.flatnonzero(~ok & (reasons == None))  # noqa: E711 - elementwise
        if len(bad) == 0:
            continue
        if policy == "reject":
            reasons[bad] = f"entity_mismatch:{cat.entity.name}"
            continue
        n_fixed = _reuse(df, bad, cat, conditions, rng, reasons)
        if n_fixed:
            repaired[f"entity_reused:{cat.entity.name}"] = n_fixed
    return df, reasons, repaired


def _reuse(df: pd.DataFrame, rows: np.ndarray, cat: EntityCatalog, conditions: dict[str, Any],
           rng: np.random.Generator, reasons: np.ndarray) -> int:
    """Replace key and attributes of ``rows`` by the closest real entity meeting ``conditions``."""
    t = cat.tuples
    allowed = np.ones(len(t), dtype=bool)
    for col, val in conditions.items():
        if col in cat.columns:
            allowed &= (t[col] == val).to_numpy()
    cand = np.flatnonzero(allowed)
    if len(cand) == 0:
        reasons[rows] = f"entity_unknown:{cat.entity.name}"
        return 0
    tc = t.iloc[cand].reset_index(drop=True)
    tcodes = cat._codes[cand] if cat._codes is not None else None
    where = np.full(len(t), -1, dtype=np.int64)
    where[cand] = np.arange(len(cand))
    tnum = tc[cat.num_attrs].to_numpy(dtype=float) / cat._scale if cat.num_attrs else None
    tkey = tc[cat.entity.key].astype(object).to_numpy()
    sub = df.iloc[rows].reset_index(drop=True)
    rnum = sub[cat.num_attrs].to_numpy(dtype=float) / cat._scale if cat.num_attrs else None
    rkey = sub[cat.entity.key].astype(object).to_numpy()
    pick = np.empty(len(rows), dtype=np.int64)
    if tcodes is not None:
        rcodes = cat.encode(sub)
        groups = pd.DataFrame(rcodes).groupby(list(range(rcodes.shape[1])), sort=False).indices
    else:
        groups = {(): np.arange(len(sub))}
    for gkey, pos in groups.items():
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        best = np.zeros(0, dtype=np.int64)
        if gkey in cat._exact:  # a real entity has exactly these attributes
            best = where[cat._exact[gkey]]
            best = best[best >= 0]
        if len(best) == 0:
            score = (tcodes == np.asarray(gkey)).sum(axis=1) if tcodes is not None \
                else np.zeros(len(tc), dtype=np.int64)
            best = np.flatnonzero(score == score.max())
        first: dict[Any, int] = {}
        for j, k in enumerate(tkey[best].tolist()):
            first.setdefault(k, j)
        # the row's own key among the best candidates: keep the key
        hit = np.fromiter((first.get(k, -1) for k in rkey[pos].tolist()), dtype=np.int64,
                          count=len(pos))
        has = hit >= 0
        pick[pos[has]] = best[hit[has]]
        rest = pos[~has]
        if len(rest) == 0:
            continue
        if tnum is not None and len(best) > 1:
            d = np.nan_to_num(np.abs(tnum[best][None, :, :] - rnum[rest][:, None, :]),
                              nan=1.0).sum(axis=2)
            pick[rest] = best[np.argmin(d, axis=1)]
        else:
            pick[rest] = best[rng.integers(len(best), size=len(rest))]
    chosen = tc.iloc[pick]
    for col in cat.columns:
        df.loc[rows, col] = chosen[col].to_numpy()
    return len(rows)


def consistency_problems(df: pd.DataFrame, catalogs: list[EntityCatalog],
                         limit: int = 20) -> list[Problem]:
    """Problems for rows whose entity tuple is not in the catalog (for reports/tests)."""
    out: list[Problem] = []
    for cat in catalogs:
        bad = np.flatnonzero(~cat.consistent(df))
        for i in bad[:limit]:
            out.append(Problem(cat.entity.key, f"{cat.entity.name} {df[cat.entity.key].iloc[i]!r} "
                               f"does not have these attributes in the real data "
                               f"({', '.join(cat.entity.attributes)}).",
                               "reuse a real entity or drop the row", row=int(i)))
    return out


def _hash(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(df[cols].astype(object), index=False).to_numpy()
