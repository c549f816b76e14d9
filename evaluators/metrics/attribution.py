"""Attribution alignment: do models trained on real and on synthetic data rely on the
same features and the same feature interactions?

Importances are mean |SHAP| per feature from ``shap.TreeExplainer`` on a
LightGBM model; interactions are mean |SHAP interaction| per feature pair.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from evaluators.metrics.base import Goal, Metric

__all__ = ["ShapRankCorrelation", "InteractionDistance", "mean_abs_shap",
           "mean_abs_interactions"]


class ShapRankCorrelation(Metric):
    """Spearman rank correlation of two per-feature importance vectors (1: same ranking)."""

    name = "ShapRankCorrelation"
    goal = Goal.MAXIMIZE
    min_value = -1.0
    max_value = 1.0

    @classmethod
    def compute(cls, real_data, synthetic_data, **kwargs: object) -> float:  # noqa: ANN001
        a = np.asarray(real_data, dtype=float)
        b = np.asarray(synthetic_data, dtype=float)
        if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
            return float("nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(spearmanr(a, b).statistic)


class InteractionDistance(Metric):
    """Total-variation distance between two normalised interaction matrices (off-diagonal).

    Each matrix is divided by the sum of its off-diagonal absolute entries;
    the distance is half the L1 difference: 0 same pattern, 1 disjoint.
    """

    name = "InteractionDistance"
    goal = Goal.MINIMIZE

    @classmethod
    def compute(cls, real_data, synthetic_data, **kwargs: object) -> float:  # noqa: ANN001
        a = _offdiag(np.abs(np.asarray(real_data, dtype=float)))
        b = _offdiag(np.abs(np.asarray(synthetic_data, dtype=float)))
        if a.sum() == 0 or b.sum() == 0:
            return float("nan")
        return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def _offdiag(m: np.ndarray) -> np.ndarray:
    return m[~np.eye(m.shape[0], dtype=bool)]


def _explainer(model):  # noqa: ANN001, ANN202
    import shap

    booster = model.booster_ if hasattr(model, "booster_") else model
    return shap.TreeExplainer(booster)


def mean_abs_shap(model, x: pd.DataFrame) -> pd.Series:  # noqa: ANN001
    """Mean |SHAP value| per feature of a tree model over the rows of ``x``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = _explainer(model).shap_values(x)
    if isinstance(values, list):  # older shap: one array per class
        values = values[-1]
    values = np.asarray(values)
    if values.ndim == 3:
        values = values[..., -1]
    return pd.Series(np.abs(values).mean(axis=0), index=list(x.columns))


def mean_abs_interactions(model, x: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    """Mean |SHAP interaction value| per feature pair over the rows of ``x``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = _explainer(model).shap_interaction_values(x)
    if isinstance(values, list):
        values = values[-1]
    values = np.asarray(values)
    if values.ndim == 4:
        values = values[..., -1]
    cols = list(x.columns)
    return pd.DataFrame(np.abs(values).mean(axis=0), index=cols, columns=cols)
