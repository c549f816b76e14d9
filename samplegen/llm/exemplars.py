"""Diverse exemplar rows for few-shot prompts: K-means over encoded rows (SampleLLM: 5 x 2).

Rows are one-hot encoded (categoricals) and min-max scaled (numbers); K-means
groups them and each prompt takes ``per_cluster`` random rows from each of
``n_clusters`` clusters, so that one prompt shows varied users and items.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from samplegen.schema import ColumnType, Schema

__all__ = ["encode_rows", "ExemplarPicker"]

log = logging.getLogger(__name__)


def encode_rows(df: pd.DataFrame, schema: Schema, columns: Sequence[str]) -> np.ndarray:
    """A numeric matrix of ``df``: one-hot categoricals, min-max scaled numbers."""
    parts = []
    for c in columns:
        col = schema[c]
        s = df[c]
        if col.type == ColumnType.NUMERICAL:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            lo, hi = np.nanmin(x) if len(x) else 0.0, np.nanmax(x) if len(x) else 1.0
            parts.append(np.nan_to_num((x - lo) / (hi - lo if hi > lo else 1.0))[:, None])
        elif col.type == ColumnType.CATEGORICAL:
            parts.append(pd.get_dummies(s.astype(str)).to_numpy(dtype=float))
    if not parts:
        return np.zeros((len(df), 1))
    return np.hstack(parts)


class ExemplarPicker:
    """Clusters a pool of real rows once; draws ``n_clusters x per_cluster`` rows per prompt."""

    def __init__(self, pool: pd.DataFrame, schema: Schema, *, n_clusters: int = 5,
                 per_cluster: int = 2, seed: int = 0) -> None:
        self.pool = pool.reset_index(drop=True)
        self.per_cluster = per_cluster
        self.n_rows = n_clusters * per_cluster
        self.top_up: ExemplarPicker | None = None
        features = [c for c in schema.features if c in pool.columns]
        k = max(1, min(n_clusters, len(self.pool)))
        if len(self.pool) <= k:
            self.labels = np.arange(len(self.pool))
        else:
            from sklearn.cluster import KMeans

            x = encode_rows(self.pool, schema, features)
            self.labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)
        self.clusters = [np.flatnonzero(self.labels == c) for c in np.unique(self.labels)]
        log.debug("exemplar pool of %d rows in %d clusters", len(self.pool), len(self.clusters))

    def draw(self, rng: np.random.Generator) -> pd.DataFrame:
        """``per_cluster`` rows from every cluster (fewer when a cluster is smaller), topped
        up to ``n_clusters x per_cluster`` from :attr:`top_up` when one is set."""
        picks = []
        for members in self.clusters:
            m = min(self.per_cluster, len(members))
            picks.extend(rng.choice(members, size=m, replace=False).tolist())
        rng.shuffle(picks)
        rows = self.pool.iloc[picks]
        need = self.n_rows - len(rows)
        if self.top_up is not None and need > 0:
            rows = pd.concat([rows, self.top_up.draw(rng).iloc[:need]])
            rows = rows.iloc[rng.permutation(len(rows))]
        return rows.reset_index(drop=True)
