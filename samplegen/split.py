"""Deterministic train/valid/test splits and the sparse/cold-start category report.

* :func:`make_split` orders by the schema's timestamp when there is one (train
  earliest, test latest), else draws a seeded permutation. The same source and
  arguments always give the same split; the rule that made it is kept in
  ``Split.rule`` and can be re-applied (:meth:`Split.from_dict`).
* :func:`sparse_categories` counts conversions per category on the **training
  rows only** and lists the cold-start and sparse categories (generation targets).
* :func:`row_hashes` / :meth:`Split.train_fingerprint` identify rows by content,
  for leakage and overlap checks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.errors import DataError, UsageError
from samplegen.schema import Schema

__all__ = [
    "Split",
    "SparsityReport",
    "make_split",
    "category_stats",
    "sparse_categories",
    "row_hashes",
]


# ============================================================================ hashing
def row_hashes(df: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
    """One uint64 content hash per row (index ignored, columns taken in sorted name order).

    Values are canonicalised first so that equal rows hash equally across
    sources: categorical/strings by their string value, integer and boolean
    values as int64, other numbers as float64 (``1`` and ``1.0`` hash equally),
    datetimes as datetime64[ns].
    """
    cols = sorted(columns if columns is not None else [str(c) for c in df.columns])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise UsageError(f"row_hashes: column(s) {missing} are not in the frame. Fix: pass "
                         f"columns from {list(df.columns)}.")
    if len(df) == 0:
        return np.zeros(0, dtype=np.uint64)
    acc = np.full(len(df), 0x345678, dtype=np.uint64)
    for c in cols:
        h = pd.util.hash_pandas_object(_canonical(df[c]), index=False).to_numpy(np.uint64)
        acc = (acc * np.uint64(1_000_003)) ^ h
    return acc


def _canonical(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if pd.api.types.is_string_dtype(cats) or pd.api.types.is_object_dtype(cats):
            return s.astype("category")
        return _canonical(s.astype(cats.dtype))
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
        return s.astype("Int64") if s.isna().any() else s.astype("int64")
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("datetime64[ns]") if s.dt.tz is None else s.dt.tz_convert("UTC")
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(x)
        if ok.any() and np.all(np.mod(x[ok], 1) == 0) and np.abs(x[ok]).max() < 2.0**53:
            return pd.Series(x, index=s.index).astype("Int64" if not ok.all() else "int64")
        return pd.Series(x, index=s.index)
    return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))


def _fingerprint(hashes: np.ndarray) -> str:
    return hashlib.sha256(np.sort(hashes).astype("<u8").tobytes()).hexdigest()


# ============================================================================== split
@dataclass
class Split:
    """Positional row indices of train/valid/test and the rule that produced them."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    rule: dict[str, Any] = field(default_factory=dict)

    def frames(self, source: Source | pd.DataFrame,
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(train, valid, test) rows of ``source`` (original index kept)."""
        table = source.table if isinstance(source, Source) else source
        self._check_len(len(table))
        return table.iloc[self.train], table.iloc[self.valid], table.iloc[self.test]

    def oracle_frames(self, source: Source) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(train, valid, test) rows of ``source.oracle``."""
        if source.oracle is None:
            raise UsageError(f"source {source.name!r} has no oracle (only simulators do).")
        self._check_len(len(source.oracle))
        o = source.oracle
        return o.iloc[self.train], o.iloc[self.valid], o.iloc[self.test]

    def train_fingerprint(self, source: Source | pd.DataFrame) -> str:
        """sha256 over the sorted content hashes of the training rows (order-independent)."""
        train, _, _ = self.frames(source)
        return _fingerprint(row_hashes(train))

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}

    def to_dict(self, *, with_indices: bool = False) -> dict[str, Any]:
        """JSON-ready description: the rule and sizes (and the indices when asked)."""
        d: dict[str, Any] = {"rule": dict(self.rule), "sizes": self.sizes()}
        if with_indices:
            d["indices"] = {k: getattr(self, k).tolist() for k in ("train", "valid", "test")}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: Source | pd.DataFrame | None = None) -> Split:
        """Rebuild from :meth:`to_dict`: from stored indices, else by re-applying the rule."""
        rule = dict(d["rule"])
        if "indices" in d:
            idx = d["indices"]
            return cls(*(np.asarray(idx[k], dtype=np.int64) for k in ("train", "valid", "test")),
                       rule=rule)
        if source is None:
            raise UsageError("Split.from_dict: the dict has no indices; pass the source to "
                             "re-apply its rule.")
        table = source.table if isinstance(source, Source) else source
        return _apply_rule(rule, table)

    def _check_len(self, n: int) -> None:
        top = max((int(a.max()) for a in (self.train, self.valid, self.test) if len(a)),
                  default=-1)
        if top >= n:
            raise UsageError(f"split indices go up to {top} but the table has {n} rows. Fix: "
                             "make the split from this same table.")


def make_split(source: Source, *, valid_frac: float = 0.1, test_frac: float = 0.2,
               seed: int = 0) -> Split:
    """Split ``source`` deterministically: by time when its schema has a timestamp, else seeded.

    Time rule: rows sorted by timestamp; ``cut_valid`` / ``cut_test`` are the
    timestamps at the ``1 - valid_frac - test_frac`` and ``1 - test_frac``
    quantile positions; train = ts < cut_valid, valid = cut_valid <= ts <
    cut_test, test = ts >= cut_test (ties stay together, so sizes are approximate).
    """
    for name, v in (("valid_frac", valid_frac), ("test_frac", test_frac)):
        if not 0.0 <= v < 1.0:
            raise UsageError(f"{name}={v} must be in [0, 1). Fix: use e.g. 0.1.")
    if valid_frac + test_frac >= 1.0:
        raise UsageError(f"valid_frac + test_frac = {valid_frac + test_frac} leaves no training "
                         "rows. Fix: make their sum < 1.")
    table, schema = source.table, source.schema
    if len(table) == 0:
        raise DataError(f"source {source.name!r} has no rows to split.")
    ts = schema.timestamp
    if ts is not None and ts in table.columns:
        split = _time_split(table, ts, valid_frac, test_frac)
    else:
        split = _seeded_split(len(table), valid_frac, test_frac, seed)
    if len(split.train) == 0:
        raise DataError(f"the split of {source.name!r} has no training rows (rule "
                        f"{split.rule}). Fix: use a larger table or smaller fractions.")
    return split


def _ts_values(s: pd.Series, column: str) -> np.ndarray:
    if not (pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_numeric_dtype(s)):
        # text timestamps ("2026-01-01 08:00"), or numbers stored as text
        num = pd.to_numeric(s, errors="coerce")
        if num.notna().sum() < s.notna().sum():
            s = pd.to_datetime(s.astype(object), errors="coerce", utc=True)
        else:
            s = num
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        v = s.astype("datetime64[ns]").to_numpy()
        bad = np.isnat(v)
    else:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"column {column!r}, row {i}: missing or unparsable timestamp in "
                        f"{int(bad.sum())} row(s). Fix: fill or drop those rows, or set the "
                        "column's role to 'ignore' for a seeded split.")
    return v


def _cut_to_json(v: Any) -> Any:
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v).isoformat()
    return float(v)


def _time_split(table: pd.DataFrame, column: str, valid_frac: float, test_frac: float) -> Split:
    v = _ts_values(table[column], column)
    n = len(v)
    srt = np.sort(v)
    n_test = int(round(n * test_frac))
    n_valid = int(round(n * valid_frac))
    cut_test = srt[n - n_test] if n_test > 0 else None
    cut_valid = srt[n - n_test - n_valid] if n_valid > 0 else cut_test
    rule = {"kind": "time", "column": column,
            "cut_valid": None if cut_valid is None else _cut_to_json(cut_valid),
            "cut_test": None if cut_test is None else _cut_to_json(cut_test),
            "valid_frac": valid_frac, "test_frac": test_frac}
    return _apply_time(rule, v)


def _apply_time(rule: dict[str, Any], v: np.ndarray) -> Split:
    def cut(x: Any) -> Any:
        if x is None:
            return None
        return np.datetime64(pd.Timestamp(x).as_unit("ns").to_datetime64()) \
            if np.issubdtype(v.dtype, np.datetime64) else float(x)

    c_valid, c_test = cut(rule["cut_valid"]), cut(rule["cut_test"])
    is_test = v >= c_test if c_test is not None else np.zeros(len(v), bool)
    is_valid = ((v >= c_valid) & ~is_test) if c_valid is not None else np.zeros(len(v), bool)
    is_train = ~(is_test | is_valid)
    return Split(np.flatnonzero(is_train), np.flatnonzero(is_valid), np.flatnonzero(is_test),
                 rule=rule)


def _seeded_split(n: int, valid_frac: float, test_frac: float, seed: int) -> Split:
    rule = {"kind": "seeded", "seed": int(seed),
            "fractions": {"valid": valid_frac, "test": test_frac}, "n_rows": n}
    return _apply_seeded(rule)


def _apply_seeded(rule: dict[str, Any]) -> Split:
    n = int(rule["n_rows"])
    perm = np.random.default_rng(int(rule["seed"])).permutation(n)
    n_test = int(round(n * rule["fractions"]["test"]))
    n_valid = int(round(n * rule["fractions"]["valid"]))
    test = np.sort(perm[:n_test])
    valid = np.sort(perm[n_test:n_test + n_valid])
    train = np.sort(perm[n_test + n_valid:])
    return Split(train, valid, test, rule=rule)


def _apply_rule(rule: dict[str, Any], table: pd.DataFrame) -> Split:
    kind = rule.get("kind")
    if kind == "time":
        return _apply_time(rule, _ts_values(table[rule["column"]], rule["column"]))
    if kind == "seeded":
        if int(rule["n_rows"]) != len(table):
            raise DataError(f"the seeded split was made on {rule['n_rows']} rows but the table "
                            f"has {len(table)}. Fix: use the same table.")
        return _apply_seeded(rule)
    raise UsageError(f"unknown split rule kind {kind!r}; expected 'time' or 'seeded'.")


# ========================================================================= sparsity
@dataclass
class SparsityReport:
    """Cold-start and sparse categories by training conversions (disjoint lists)."""

    cold_start: list[str]
    sparse: list[str]
    table: pd.DataFrame
    rule: dict[str, Any] = field(default_factory=dict)

    @property
    def targets(self) -> list[str]:
        """Cold-start then sparse categories: the default generation targets."""
        return [*self.cold_start, *self.sparse]

    def to_dict(self) -> dict[str, Any]:
        return {"cold_start": list(self.cold_start), "sparse": list(self.sparse),
                "rule": dict(self.rule),
                "table": self.table.reset_index().to_dict(orient="records")}


def category_stats(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Per category: rows, clicks, conversions, click_rate, cvr (= conversions / clicks).

    Indexed by the category value (string); categories of the schema's domain
    with no rows in ``df`` appear with zero counts (rates NaN).
    """
    cat, ck, cv = schema.category, schema.click, schema.conversion
    for role, name in (("category", cat), ("click", ck), ("conversion", cv)):
        if name is None:
            raise UsageError(f"the schema has no {role} column. Fix: name it with "
                             f"--{role} COL or role: {role} in the schema file.")
        if name not in df.columns:
            raise DataError(f"column {name!r} ({role}) is not in the table.")
    frame = pd.DataFrame({"c": df[cat].reset_index(drop=True),
                          "click": pd.to_numeric(df[ck], errors="coerce").fillna(0).to_numpy(),
                          "conv": pd.to_numeric(df[cv], errors="coerce").fillna(0).to_numpy()})
    g = frame.groupby("c", dropna=False, sort=False, observed=True)
    out = pd.DataFrame({"rows": g.size(), "clicks": g["click"].sum(),
                        "conversions": g["conv"].sum()})
    # string keys (1 and "1" are the same category); missing category stays NaN
    out.index = pd.Index([None if _na(v) else _str(v) for v in out.index], dtype=object)
    out = out.groupby(level=0, dropna=False, sort=False).sum()
    domain = schema[cat].values or []
    extra = [c for c in domain if c not in out.index]
    if extra:
        out = pd.concat([out, pd.DataFrame(0, index=extra, columns=out.columns)])
    out = out.astype("int64")
    out["click_rate"] = out["clicks"] / out["rows"].where(out["rows"] > 0)
    out["cvr"] = out["conversions"] / out["clicks"].where(out["clicks"] > 0)
    out.index.name = cat
    return out.sort_values(["conversions", "rows"], ascending=False, kind="stable")


def _na(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def sparse_categories(train_df: pd.DataFrame, schema: Schema, *, cold_max: int = 20,
                      sparse_max: float | None = None) -> SparsityReport:
    """Cold-start and sparse categories from the TRAINING rows only.

    * cold-start: training conversions <= ``cold_max`` — including categories of
      the schema's domain with no training row at all (known at training time
      through the schema); categories absent from both are unknowable and not listed;
    * sparse: ``cold_max`` < training conversions <= ``sparse_max``, where
      ``sparse_max`` defaults to ``max(3 * cold_max, median / 4)`` over the
      categories' training conversions.

    Lists are ordered by conversions, then name. ``table`` is
    :func:`category_stats` plus a ``status`` column (cold-start, sparse, dense).
    """
    if cold_max < 0:
        raise UsageError(f"cold_max={cold_max} must be >= 0.")
    stats = category_stats(train_df, schema)
    stats = stats[stats.index.notna()]
    conv = stats["conversions"]
    if sparse_max is None:
        median = float(conv.median()) if len(conv) else 0.0
        sparse_max = max(3.0 * cold_max, median / 4.0)
    if sparse_max < cold_max:
        raise UsageError(f"sparse_max={sparse_max} is below cold_max={cold_max}.")
    status = np.where(conv <= cold_max, "cold-start",
                      np.where(conv <= sparse_max, "sparse", "dense"))
    table = stats.assign(status=status)

    def pick(s: str) -> list[str]:
        sub = table[table["status"] == s]
        order = sorted(zip(sub["conversions"], sub.index.astype(str), strict=True))
        return [name for _, name in order]

    rule = {"cold_max": cold_max, "sparse_max": _num(sparse_max), "basis": "training rows"}
    return SparsityReport(pick("cold-start"), pick("sparse"), table, rule)


def _num(x: float) -> float | int:
    return int(x) if math.isfinite(x) and float(x).is_integer() else float(x)

