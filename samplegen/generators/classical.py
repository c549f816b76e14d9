"""Classical baselines: random oversampling of real positives, and SMOTE-NC.

Both work per condition: the real training rows meeting the conditions (for
example the positives of the target category) are the pool. When no real row
meets every condition, the label conditions are relaxed (conversion, then
click), the labels are set to the asked values, and a note says so.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from samplegen.generators.base import Generator
from samplegen.generators.registry import register_generator
from samplegen.schema import ColumnType, Role, Schema

__all__ = ["OversampleGenerator", "SmoteGenerator"]

log = logging.getLogger(__name__)


@register_generator("oversample")
class OversampleGenerator(Generator):
    """Duplicates real rows that meet the conditions (the classic OVERSAMPLING baseline).

    Copies of real rows and duplicates are its purpose, so neither is rejected.
    """

    allow_real_copies = True
    allow_duplicates = True

    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self._table = table
        self.fit_note = "keeps the training rows; samples copies of rows meeting the conditions"

    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        pool, relaxed = self._matching_rows(self._table, conditions)
        out = pool.iloc[rng.integers(0, len(pool), size=n)].reset_index(drop=True)
        for col in relaxed:
            out[col] = conditions[col]
        return out


@register_generator("smote")
class SmoteGenerator(Generator):
    """SMOTE-NC (imbalanced-learn): interpolates between real rows meeting the conditions.

    Numerical features are interpolated between a row and one of its
    ``k_neighbors`` nearest pool rows; categorical ones take the neighbours'
    most frequent value (SMOTEN when no numerical feature exists, SMOTE when no
    categorical one). Columns that are not features (ids, timestamps) are
    copied from the seed row; with a single pool row the row is copied.
    """

    default_params = {"k_neighbors": 5}

    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self._table = table
        self.fit_note = ("keeps the training rows; interpolates between rows meeting the "
                         "conditions (SMOTE-NC)")

    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        assert self.schema is not None
        k = int(self.params["k_neighbors"])
        pool, relaxed = self._matching_rows(self._table, conditions, min_rows=k + 1)
        for col in relaxed:
            pool[col] = conditions[col]
        if len(pool) < 2:
            return pool.iloc[np.zeros(n, dtype=int)].reset_index(drop=True)
        return _smote(pool, self._table, self.schema, n, k, rng)


def _smote(pool: pd.DataFrame, table: pd.DataFrame, schema: Schema, n: int, k: int,
           rng: np.random.Generator) -> pd.DataFrame:
    """``n`` new rows interpolated within ``pool`` using imbalanced-learn."""
    from imblearn.over_sampling import SMOTE, SMOTEN, SMOTENC

    varying = [c for c in schema.names if c in pool and pool[c].nunique(dropna=False) > 1
               and schema[c].role not in (Role.ID, Role.TIMESTAMP)]
    feats = [c for c in varying if schema[c].type != ColumnType.DATETIME]
    if not feats:
        return pool.iloc[rng.integers(0, len(pool), size=n)].reset_index(drop=True)
    cats = [c for c in feats if schema[c].type == ColumnType.CATEGORICAL or schema[c].is_label]
    nums = [c for c in feats if c not in cats]
    # the majority class: other rows (imbalanced-learn needs two classes)
    other = table.sample(n=min(len(table), len(pool) + n + 1), replace=len(table) < len(pool) + n
                         + 1, random_state=int(rng.integers(2**31)))
    X = pd.concat([pool[feats], other[feats]], ignore_index=True)
    X[cats] = X[cats].fillna("__nan__").astype(str)
    X[nums] = X[nums].astype(float).fillna(X[nums].astype(float).median())
    y = np.r_[np.ones(len(pool), dtype=int), np.zeros(len(other), dtype=int)]
    kk = max(1, min(k, len(pool) - 1))
    strategy = {1: len(pool) + n, 0: len(other)}
    state = int(rng.integers(2**31))
    if not nums:
        sampler = SMOTEN(sampling_strategy=strategy, k_neighbors=kk, random_state=state)
    elif not cats:
        sampler = SMOTE(sampling_strategy=strategy, k_neighbors=kk, random_state=state)
    else:
        sampler = SMOTENC(categorical_features=[feats.index(c) for c in cats],
                          sampling_strategy=strategy, k_neighbors=kk, random_state=state)
    Xr, _ = sampler.fit_resample(X, y)
    new = pd.DataFrame(Xr).iloc[len(X):].reset_index(drop=True)
    new.columns = feats
    for c in cats:
        new[c] = new[c].replace("__nan__", None)
    base = pool.iloc[rng.integers(0, len(pool), size=len(new))].reset_index(drop=True)
    for c in feats:
        base[c] = new[c].to_numpy()
    return base
