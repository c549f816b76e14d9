"""Row encodings shared by the metrics: distance space, model inputs, subsampling."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TableEncoder", "subsample", "split_types", "row_keys"]

_NAN = "__nan__"
_OTHER = "__other__"


def split_types(df: pd.DataFrame, columns: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(numerical, categorical) column names of ``df`` judged by dtype."""
    cols = list(df.columns) if columns is None else list(columns)
    num = [c for c in cols if pd.api.types.is_numeric_dtype(df[c])
           and not pd.api.types.is_bool_dtype(df[c])]
    cat = [c for c in cols if c not in num]
    return num, cat


class TableEncoder:
    """Encode rows for distances (Gower-like Euclidean) and for tree models.

    Distance space: numerical columns scaled by the real min/max (a value at the
    other end of the range is 1 away), categorical columns one-hot divided by
    sqrt(2) so that one differing category adds exactly 1 to the squared
    distance. Categories beyond the ``max_categories`` most frequent real ones
    share one "other" slot; missing values are their own category (numerical
    missing values take the real median).
    """

    def __init__(self, numerical: list[str], categorical: list[str], *,
                 max_categories: int = 50) -> None:
        self.numerical = list(numerical)
        self.categorical = list(categorical)
        self.max_categories = max_categories
        self._lo: dict[str, float] = {}
        self._span: dict[str, float] = {}
        self._fill: dict[str, float] = {}
        self._levels: dict[str, list[str]] = {}

    @property
    def columns(self) -> list[str]:
        return self.numerical + self.categorical

    def fit(self, real: pd.DataFrame) -> TableEncoder:
        """Learn ranges and category levels from the real rows."""
        for c in self.numerical:
            x = pd.to_numeric(real[c], errors="coerce").to_numpy(dtype=float)
            x = x[~np.isnan(x)]
            lo, hi = (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0)
            self._lo[c], self._span[c] = lo, (hi - lo) if hi > lo else 1.0
            self._fill[c] = float(np.median(x)) if len(x) else 0.0
        for c in self.categorical:
            counts = _as_str(real[c]).value_counts(sort=False)
            order = sorted(counts.index, key=lambda v: (-counts[v], v))
            self._levels[c] = order[: self.max_categories]
        return self

    def distance_matrix(self, df: pd.DataFrame) -> np.ndarray:
        """Rows of ``df`` in the distance space (float64, one row per row)."""
        parts = []
        for c in self.numerical:
            x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            x = np.where(np.isnan(x), self._fill[c], x)
            parts.append(((x - self._lo[c]) / self._span[c])[:, None])
        for c in self.categorical:
            levels = self._levels[c]
            codes = _codes(df[c], levels)
            onehot = np.zeros((len(df), len(levels) + 1))
            onehot[np.arange(len(df)), codes] = 1.0 / np.sqrt(2.0)
            parts.append(onehot)
        if not parts:
            return np.zeros((len(df), 0))
        return np.hstack(parts)

    def model_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """Numeric inputs for tree models: numerical as is, categorical as level codes."""
        out = {}
        for c in self.numerical:
            out[c] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        for c in self.categorical:
            out[c] = _codes(df[c], self._levels[c]).astype(float)
        return pd.DataFrame(out, index=df.index)[self.columns]


def _as_str(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), _NAN).astype(str)


def _codes(s: pd.Series, levels: list[str]) -> np.ndarray:
    """Index of each value in ``levels``; unknown values get ``len(levels)`` (other)."""
    lookup = {v: i for i, v in enumerate(levels)}
    return _as_str(s).map(lookup).fillna(len(levels)).to_numpy(dtype=int)


def subsample(df: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """At most ``n`` rows of ``df`` drawn without replacement (order kept), seeded."""
    if n is None or len(df) <= n:
        return df
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(df), size=n, replace=False))
    return df.iloc[idx]


def row_keys(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One uint64 content hash per row over ``columns`` (for exact-match tests).

    Frames must share dtypes (both coerced to the same schema); numbers are
    rounded to 9 decimals so that float noise does not hide a copy.
    """
    acc = np.full(len(df), 0x345678, dtype=np.uint64)
    for c in columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s):
            s = s.round(9)
        h = pd.util.hash_pandas_object(s, index=False).to_numpy(np.uint64)
        acc = (acc * np.uint64(1_000_003)) ^ h
    return acc
