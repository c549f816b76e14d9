"""Privacy metrics: distance to closest record, exact copies, nearest-neighbour ratio.

DCR compares each synthetic row's distance to the closest *training* row with
its distance to the closest *holdout* row (real rows the generator never saw).
A generator that does not memorise is as close to the holdout as to the train
set: the share of synthetic rows closer to train is then 50%. Train and
holdout must hold the same number of rows, or the bigger set wins by size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from evaluators.encoding import row_keys
from evaluators.metrics.base import Goal, Metric
from evaluators.metrics.precision_recall import encode_pair

__all__ = ["DCRShare", "ExactCopyRate", "NNDR", "nearest", "dcr_share", "nndr", "copy_rate"]


def nearest(reference: np.ndarray, query: np.ndarray, k: int = 1) -> np.ndarray:
    """Distances from each query row to its ``k`` nearest reference rows (ascending)."""
    k = min(k, len(reference))
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(reference)
    dist, _ = nn.kneighbors(query)
    return dist


def dcr_share(d_train: np.ndarray, d_holdout: np.ndarray) -> float:
    """Share of rows closer to train than to holdout; a tie counts one half."""
    if len(d_train) == 0:
        return float("nan")
    tie = np.isclose(d_train, d_holdout)
    closer = np.where(tie, 0.5, (d_train < d_holdout).astype(float))
    return float(closer.mean())


def nndr(d: np.ndarray) -> np.ndarray:
    """Nearest / second-nearest distance per row; 0/0 (several exact matches) gives 1."""
    d1, d2 = d[:, 0], d[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d2 > 0, d1 / np.where(d2 > 0, d2, 1.0), 1.0)
    return ratio


class DCRShare(Metric):
    """Share of synthetic rows closer to train than to holdout (0.5 ideal, 1 = memorised).

    ``normalize`` gives ``1 - 2 * max(0, share - 0.5)``: a share below 50% is
    no privacy risk.
    """

    name = "DCRShare"
    goal = Goal.MINIMIZE

    @classmethod
    def compute(cls, real_data, synthetic_data, *, holdout_data, **kwargs: object) -> float:  # noqa: ANN001
        train_x, syn_x = encode_pair(real_data, synthetic_data)
        _, hold_x = encode_pair(real_data, holdout_data)
        if len(train_x) == 0 or len(hold_x) == 0 or len(syn_x) == 0:
            return float("nan")
        return dcr_share(nearest(train_x, syn_x)[:, 0], nearest(hold_x, syn_x)[:, 0])

    @classmethod
    def normalize(cls, raw_score: float) -> float:
        if np.isnan(raw_score):
            return float("nan")
        return float(1.0 - 2.0 * max(0.0, raw_score - 0.5))


class ExactCopyRate(Metric):
    """Share of synthetic rows identical (on the given columns) to some real row."""

    name = "ExactCopyRate"
    goal = Goal.MINIMIZE

    @classmethod
    def compute(cls, real_data: pd.DataFrame, synthetic_data: pd.DataFrame, *,
                columns: list[str] | None = None, **kwargs: object) -> float:
        cols = list(real_data.columns) if columns is None else list(columns)
        if len(synthetic_data) == 0:
            return float("nan")
        return copy_rate(real_data, synthetic_data, cols)


def copy_rate(real: pd.DataFrame, query: pd.DataFrame, columns: list[str]) -> float:
    """Share of ``query`` rows equal to some ``real`` row on ``columns`` (same dtypes)."""
    if len(query) == 0:
        return float("nan")
    real = real[columns]
    numeric_first = sorted(columns, key=lambda c: not pd.api.types.is_numeric_dtype(real[c]))
    for c in numeric_first:  # cheap pre-filter on low-cardinality columns (labels first)
        values = pd.unique(query[c])
        if len(values) <= 10 and not pd.isna(values).any():
            real = real[real[c].isin(values)]
    if real.empty:
        return 0.0
    keys = np.unique(row_keys(real, columns))
    return float(np.isin(row_keys(query, columns), keys).mean())


class NNDR(Metric):
    """Mean nearest-neighbour distance ratio of synthetic rows to real rows.

    Low values mean a synthetic row sits next to one particular real row (a
    re-identification risk); compare with the same ratio of holdout rows.
    """

    name = "NNDR"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data, synthetic_data, **kwargs: object) -> float:  # noqa: ANN001
        r, s = encode_pair(real_data, synthetic_data)
        if len(r) < 2 or len(s) == 0:
            return float("nan")
        return float(nndr(nearest(r, s, k=2)).mean())
