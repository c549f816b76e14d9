"""Sample-level fidelity and diversity: k-NN precision/recall and density/coverage.

Precision and recall follow Kynkaanniemi et al. (2019), density and coverage
Naeem et al. (2020): each real row's support is a ball whose radius is the
distance to its k-th nearest real neighbour. "Within" means distance <= radius,
so that an exact copy of a real row lies in that row's support even when the
radius is 0 (tabular data has many duplicate rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import pairwise_distances

from evaluators.encoding import TableEncoder, split_types
from evaluators.metrics.base import Goal, Metric

__all__ = ["KNNPrecision", "KNNRecall", "Density", "Coverage", "prdc", "encode_pair"]


def encode_pair(real: pd.DataFrame | np.ndarray, synthetic: pd.DataFrame | np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Both sides in the distance space of an encoder fitted on ``real``."""
    if isinstance(real, pd.DataFrame):
        num, cat = split_types(real)
        enc = TableEncoder(num, cat).fit(real)
        return enc.distance_matrix(real), enc.distance_matrix(synthetic[enc.columns])
    return np.asarray(real, dtype=float), np.asarray(synthetic, dtype=float)


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    d = pairwise_distances(x, x)
    return np.partition(d, k, axis=1)[:, k]


def prdc(real: pd.DataFrame | np.ndarray, synthetic: pd.DataFrame | np.ndarray, *,
         k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage (NaN when a side has <= k rows)."""
    r, s = encode_pair(real, synthetic)
    nan = float("nan")
    if len(r) <= k or len(s) <= k:
        return {"precision": nan, "recall": nan, "density": nan, "coverage": nan}
    real_radii = _radii(r, k)
    syn_radii = _radii(s, k)
    d = pairwise_distances(r, s)  # real x synthetic
    inside_real = d <= real_radii[:, None]
    return {
        "precision": float(inside_real.any(axis=0).mean()),
        "recall": float((d <= syn_radii[None, :]).any(axis=1).mean()),
        "density": float(inside_real.sum(axis=0).mean() / k),
        "coverage": float((d.min(axis=1) <= real_radii).mean()),
    }


class KNNPrecision(Metric):
    """Share of synthetic rows inside the k-NN support of the real rows."""

    name = "KNNPrecision"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data, synthetic_data, *, k: int = 5, **kwargs: object) -> float:  # noqa: ANN001
        return prdc(real_data, synthetic_data, k=k)["precision"]


class KNNRecall(Metric):
    """Share of real rows inside the k-NN support of the synthetic rows."""

    name = "KNNRecall"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data, synthetic_data, *, k: int = 5, **kwargs: object) -> float:  # noqa: ANN001
        return prdc(real_data, synthetic_data, k=k)["recall"]


class Density(Metric):
    """Mean number of real supports holding a synthetic row, over k (1 ~ real-like; unbounded)."""

    name = "Density"
    goal = Goal.MAXIMIZE
    max_value = float("inf")

    @classmethod
    def compute(cls, real_data, synthetic_data, *, k: int = 5, **kwargs: object) -> float:  # noqa: ANN001
        return prdc(real_data, synthetic_data, k=k)["density"]

    @classmethod
    def normalize(cls, raw_score: float) -> float:
        return float("nan") if np.isnan(raw_score) else float(min(1.0, max(0.0, raw_score)))


class Coverage(Metric):
    """Share of real rows whose own k-NN support holds at least one synthetic row."""

    name = "Coverage"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data, synthetic_data, *, k: int = 5, **kwargs: object) -> float:  # noqa: ANN001
        return prdc(real_data, synthetic_data, k=k)["coverage"]
