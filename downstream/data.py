"""Feature encoding and in-memory torch batches.

A :class:`FeatureEncoder` is fitted on training rows (found through the schema's
roles: features = ``schema.features``, labels by name) and turns any frame with
the same columns into an :class:`EncodedTable`: one int64 matrix of categorical
codes, one float32 matrix of numeric features, and named label vectors. Batches
are slices of those tensors taken with a seeded ``torch.Generator`` permutation,
so there is no per-row Python in the training loop.

Conventions of the encoded batch (a ``dict[str, Tensor]``):

* ``cat`` (N x C int64; 0 = out-of-vocabulary or missing), ``num`` (N x D float32);
* labels by name: ``click``, ``conversion``, ``ctcvr`` (= click * conversion),
  ``aux:<column>`` for each auxiliary label, ``global`` (bought in any scene,
  global-conversion rows only);
* ``weight`` (per-row loss weight), ``is_synthetic`` (analysis only, never an
  input), ``domain`` (0 = this scene, 1 = global-conversion source; every
  evaluation row has 0, see :mod:`downstream.globalrows`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from samplegen.errors import DataError, UsageError
from samplegen.schema import ColumnType, Role, Schema

__all__ = [
    "FeatureEncoder",
    "EncodedTable",
    "iter_batches",
    "subsample_nonclicks",
    "correct_probability",
    "WEIGHT_COL",
    "SYNTHETIC_COL",
    "DOMAIN_COL",
    "GLOBAL_COL",
]

log = logging.getLogger(__name__)

WEIGHT_COL = "sample_weight"
SYNTHETIC_COL = "is_synthetic"
DOMAIN_COL = "domain"
GLOBAL_COL = "global_conversion"


@dataclass
class EncodedTable:
    """Pre-encoded tensors of one table; ``take(idx)`` returns a batch dict."""

    tensors: dict[str, torch.Tensor]
    category: np.ndarray | None = None  # item category per row (strings), for metrics
    user: np.ndarray | None = None  # user key per row, for GAUC

    def __len__(self) -> int:
        return int(self.tensors["cat"].shape[0])

    def take(self, idx: torch.Tensor | slice) -> dict[str, torch.Tensor]:
        """The rows ``idx`` of every tensor, as a batch dict."""
        if isinstance(idx, slice):
            return {k: v[idx] for k, v in self.tensors.items()}
        return {k: v.index_select(0, idx) for k, v in self.tensors.items()}

    def labels(self) -> dict[str, np.ndarray]:
        """Every label vector as numpy (for metrics)."""
        skip = {"cat", "num"}
        return {k: v.numpy() for k, v in self.tensors.items() if k not in skip}


@dataclass
class FeatureEncoder:
    """Vocabularies and numeric scalers fitted on training rows.

    ``numeric="normalize"`` standardises numeric features (missing -> 0 after
    scaling); ``numeric="bucketize"`` turns them into ``n_buckets`` quantile
    buckets encoded like categoricals. Categorical values seen fewer than
    ``min_count`` times in training map to the out-of-vocabulary index 0.
    """

    numeric: str = "normalize"
    n_buckets: int = 16
    min_count: int = 1
    cat_columns: list[str] = field(default_factory=list)
    num_columns: list[str] = field(default_factory=list)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, list[float]] = field(default_factory=dict)  # mean, std or bucket edges
    click: str = ""
    conversion: str = ""
    aux: list[str] = field(default_factory=list)
    category_col: str | None = None
    user_col: str | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, schema: Schema) -> FeatureEncoder:
        """Learn vocabularies and scalers from training rows ``df``."""
        if self.numeric not in ("normalize", "bucketize"):
            raise UsageError(f"numeric={self.numeric!r} is not known. Fix: use 'normalize' "
                             "or 'bucketize'.")
        if schema.click is None or schema.conversion is None:
            raise DataError("the schema has no click or no conversion column. Fix: name them "
                            "with --click/--conversion or roles in the schema file.")
        feats = [c for c in schema.features if c in df.columns]
        if not feats:
            raise DataError(f"no feature column in the table (schema features: "
                            f"{schema.features}). Fix: give columns a feature role.")
        missing = [c for c in (schema.click, schema.conversion, *schema.aux_labels)
                   if c not in df.columns]
        if missing:
            raise DataError(f"label column(s) {missing} are missing from the table. Fix: add "
                            "them or correct the schema.")
        self.click, self.conversion = schema.click, schema.conversion
        self.aux = list(schema.aux_labels)
        self.category_col = schema.category if schema.category in df.columns else None
        self.user_col = _user_column(schema, df)
        self.cat_columns, self.num_columns = [], []
        for name in feats:
            col = schema[name]
            if col.type == ColumnType.NUMERICAL and self.numeric == "normalize":
                x = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype="float64")
                mean = float(np.nanmean(x)) if np.isfinite(x).any() else 0.0
                std = float(np.nanstd(x)) if np.isfinite(x).any() else 1.0
                self.stats[name] = [mean, std if std > 1e-12 else 1.0]
                self.num_columns.append(name)
            elif col.type == ColumnType.NUMERICAL:
                x = pd.to_numeric(df[name], errors="coerce").dropna().to_numpy(dtype="float64")
                qs = np.linspace(0, 1, self.n_buckets + 1)[1:-1]
                edges = np.unique(np.quantile(x, qs)) if len(x) else np.array([])
                self.stats[name] = [float(e) for e in edges]
                self.cat_columns.append(name)
            else:
                s = _as_str(df[name])
                counts = s.value_counts()
                keep = counts[counts >= self.min_count].index
                self.vocab[name] = sorted(str(v) for v in keep)
                self.cat_columns.append(name)
        return self

    @property
    def cardinalities(self) -> list[int]:
        """Embedding rows per categorical column (index 0 is out-of-vocabulary)."""
        return [len(self.vocab[c]) + 1 if c in self.vocab else len(self.stats[c]) + 2
                for c in self.cat_columns]

    # ------------------------------------------------------------ transform
    def transform(self, df: pd.DataFrame, *, weight: float | np.ndarray | None = None
                  ) -> EncodedTable:
        """Encode ``df`` (same feature columns as at fit) into tensors."""
        if not self.click:
            raise UsageError("the encoder is not fitted. Fix: call fit(train_df, schema) first.")
        n = len(df)
        cat = np.zeros((n, len(self.cat_columns)), dtype=np.int64)
        for j, name in enumerate(self.cat_columns):
            if name not in df.columns:
                raise DataError(f"column {name!r} is missing from the table to encode. Fix: "
                                "pass a table with the training columns.")
            if name in self.vocab:
                codes = pd.Categorical(_as_str(df[name]), categories=self.vocab[name]).codes
                cat[:, j] = codes.astype(np.int64) + 1
            else:
                x = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype="float64")
                b = np.searchsorted(np.asarray(self.stats[name]), x, side="right") + 1
                cat[:, j] = np.where(np.isnan(x), 0, b)
        num = np.zeros((n, len(self.num_columns)), dtype=np.float32)
        for j, name in enumerate(self.num_columns):
            mean, std = self.stats[name]
            x = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype="float64")
            num[:, j] = np.nan_to_num((x - mean) / std, nan=0.0)
        t: dict[str, torch.Tensor] = {"cat": torch.from_numpy(cat), "num": torch.from_numpy(num)}
        click = _label(df, self.click)
        conv = _label(df, self.conversion) * click  # conversion => click
        t["click"], t["conversion"], t["ctcvr"] = _f(click), _f(conv), _f(conv)
        for a in self.aux:
            t[f"aux:{a}"] = _f(_label(df, a) if a in df.columns else np.zeros(n))
        w = np.ones(n) if weight is None else np.broadcast_to(np.asarray(weight, float), (n,))
        if WEIGHT_COL in df.columns:
            w = w * pd.to_numeric(df[WEIGHT_COL], errors="coerce").fillna(1.0).to_numpy()
        t["weight"] = _f(w)
        t["is_synthetic"] = _f(_label(df, SYNTHETIC_COL) if SYNTHETIC_COL in df.columns
                               else np.zeros(n))
        t["domain"] = torch.from_numpy(
            (_label(df, DOMAIN_COL) if DOMAIN_COL in df.columns else np.zeros(n)).astype(np.int64))
        t["global"] = _f(_label(df, GLOBAL_COL) if GLOBAL_COL in df.columns else np.zeros(n))
        cats = _as_str(df[self.category_col]).to_numpy() if self.category_col else None
        users = df[self.user_col].to_numpy() if self.user_col else None
        return EncodedTable(t, cats, users)

    def fit_transform(self, df: pd.DataFrame, schema: Schema) -> EncodedTable:
        return self.fit(df, schema).transform(df)

    # ---------------------------------------------------------- save/load
    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureEncoder:
        return cls(**d)


def iter_batches(table: EncodedTable, batch_size: int, *, shuffle: bool = True,
                 generator: torch.Generator | None = None,
                 shard: tuple[int, int] | None = None) -> Iterator[dict[str, torch.Tensor]]:
    """Yield batch dicts; a seeded permutation when ``shuffle``.

    ``shard=(rank, world)`` keeps every ``world``-th row of the permutation
    (distributed training); every shard has the same number of batches.
    """
    n = len(table)
    idx = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    if shard is not None:
        rank, world = shard
        per = n // world
        idx = idx[rank: per * world: world]
        n = len(idx)
    for start in range(0, n, batch_size):
        yield table.take(idx[start: start + batch_size])


def subsample_nonclicks(df: pd.DataFrame, click: str, rate: float, seed: int) -> pd.DataFrame:
    """Keep every clicked row and a seeded share ``rate`` of non-clicked rows.

    Used on training rows only, never on validation or test. The model then
    over-predicts clicks by the up-sampling factor ``k = 1 / rate``; undo it with
    :func:`correct_probability` (pCVR needs no correction: clicked rows are all kept).
    """
    if not 0 < rate <= 1:
        raise UsageError(f"non-click sampling rate {rate} must be in (0, 1].")
    if rate >= 1:
        return df
    rng = np.random.default_rng(seed)
    keep = (df[click].to_numpy() == 1) | (rng.random(len(df)) < rate)
    return df.loc[keep]


def correct_probability(p: np.ndarray, k: float) -> np.ndarray:
    """Calibration correction for positives up-sampled by ``k``: q = p / (p + k (1 - p))."""
    p = np.asarray(p, dtype="float64")
    return p / (p + k * (1.0 - p))


# ----------------------------------------------------------------- helpers
def _user_column(schema: Schema, df: pd.DataFrame) -> str | None:
    users = [c for c in schema.by_role(Role.USER) if c.name in df.columns]
    keyed = [c for c in users if c.key]
    pick = keyed or users
    return pick[0].name if pick else None


def _as_str(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):  # map the categories once, not every row
        names = _as_str(pd.Series(np.asarray(s.cat.categories, dtype=object))).to_numpy()
        codes = s.cat.codes.to_numpy()
        arr = np.asarray(names, dtype=object)[np.where(codes < 0, 0, codes)] if len(names) \
            else np.full(len(s), None, dtype=object)
        arr[codes < 0] = None
        return pd.Series(arr, index=s.index, dtype=object)
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        return s.astype(object).where(s.notna(), None).map(
            lambda v: v if v is None or isinstance(v, str) else _fmt(v))
    if pd.api.types.is_float_dtype(s):
        return s.map(lambda v: None if pd.isna(v) else _fmt(v))
    return s.astype(str).where(s.notna(), None)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _label(df: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(df[name], errors="coerce").fillna(0).to_numpy(dtype="float64")


def _f(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
