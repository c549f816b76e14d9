"""Fidelity metrics: column shapes and column-pair trends (SDMetrics underneath).

The SDMetrics implementations are used as they are; the wrappers here only
drop missing values, return NaN when a side is empty and add the association
measures used by the correlation-difference heatmap.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sdmetrics.column_pairs import ContingencySimilarity as _Contingency
from sdmetrics.column_pairs import CorrelationSimilarity as _Correlation
from sdmetrics.single_column import KSComplement as _KS
from sdmetrics.single_column import TVComplement as _TV

from evaluators.metrics.base import Goal, Metric

__all__ = [
    "KSComplement",
    "TVComplement",
    "CorrelationSimilarity",
    "ContingencySimilarity",
    "association",
    "discretize",
    "PairCodes",
]


def _quiet(fn, *args, **kwargs) -> float:  # noqa: ANN001 - thin shim over SDMetrics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(*args, **kwargs))


class KSComplement(Metric):
    """1 - Kolmogorov-Smirnov statistic of a numerical column (1: same distribution)."""

    name = "KSComplement"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data: pd.Series, synthetic_data: pd.Series, **kwargs: object) -> float:
        r = pd.to_numeric(pd.Series(real_data), errors="coerce").dropna()
        s = pd.to_numeric(pd.Series(synthetic_data), errors="coerce").dropna()
        if r.empty or s.empty:
            return float("nan")
        return _quiet(_KS.compute, r.astype(float), s.astype(float))


class TVComplement(Metric):
    """1 - total variation distance of category frequencies (missing is a category)."""

    name = "TVComplement"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data: pd.Series, synthetic_data: pd.Series, **kwargs: object) -> float:
        r, s = _cat(pd.Series(real_data)), _cat(pd.Series(synthetic_data))
        if r.empty or s.empty:
            return float("nan")
        return _quiet(_TV.compute, r, s)


class CorrelationSimilarity(Metric):
    """1 - |Pearson(real) - Pearson(synthetic)| / 2 for two numerical columns."""

    name = "CorrelationSimilarity"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data: pd.DataFrame, synthetic_data: pd.DataFrame,
                **kwargs: object) -> float:
        r, s = real_data.dropna().astype(float), synthetic_data.dropna().astype(float)
        if len(r) < 2 or len(s) < 2 or _constant(r) or _constant(s):
            return float("nan")
        return _quiet(_Correlation.compute, r, s, coefficient="Pearson")


class ContingencySimilarity(Metric):
    """1 - total variation distance of the two-way contingency table.

    Numerical columns named in ``continuous_columns`` are cut into
    ``bins`` equal-width bins fitted on the real data; ``prepared=True`` skips
    that step for frames already passed through :func:`discretize`.
    """

    name = "ContingencySimilarity"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data: pd.DataFrame, synthetic_data: pd.DataFrame, *,
                continuous_columns: list[str] | None = None, bins: int = 10,
                prepared: bool = False, **kwargs: object) -> float:
        if real_data.empty or synthetic_data.empty:
            return float("nan")
        if not prepared:
            real_data, synthetic_data = discretize(real_data, synthetic_data,
                                                   continuous_columns or [], bins)
        return _quiet(_Contingency.compute, real_data, synthetic_data)


def _constant(df: pd.DataFrame) -> bool:
    return bool((df.nunique() <= 1).any())


def _cat(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "__nan__").astype(str)


def discretize(real: pd.DataFrame, syn: pd.DataFrame, continuous: list[str],
               bins: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both frames as strings: continuous columns binned on the real range, missing = a value."""
    r, s = real.copy(), syn.copy()
    for c in r.columns:
        if c in continuous:
            x = pd.to_numeric(r[c], errors="coerce")
            lo, hi = x.min(), x.max()
            edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.array([lo - 0.5, lo + 0.5])
            edges[0], edges[-1] = -np.inf, np.inf
            r[c] = pd.cut(x, edges, labels=False).astype("Int64").astype(str)
            s[c] = pd.cut(pd.to_numeric(s[c], errors="coerce"), edges,
                          labels=False).astype("Int64").astype(str)
        else:
            r[c], s[c] = _cat(r[c]), _cat(s[c])
    return r, s


def association(df: pd.DataFrame, columns: list[str], numerical: list[str],
                bins: int = 10) -> pd.DataFrame:
    """Pairwise association matrix: Pearson for two numerical columns, else Cramer's V
    (bias-corrected).

    Numerical columns are binned (``bins`` equal-width bins) for Cramer's V.
    The diagonal is 1; pairs with a constant column are NaN.
    """
    binned = {}
    for c in columns:
        if c in numerical:
            binned[c] = pd.cut(pd.to_numeric(df[c], errors="coerce"), bins,
                               labels=False).astype("Int64").astype(str)
        else:
            binned[c] = _cat(df[c])
    out = pd.DataFrame(np.eye(len(columns)), index=columns, columns=columns)
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            if a in numerical and b in numerical:
                x = df[[a, b]].dropna().astype(float)
                v = (float(np.corrcoef(x[a], x[b])[0, 1])
                     if len(x) > 1 and not _constant(x) else float("nan"))
            else:
                v = _cramers_v(binned[a].to_numpy(), binned[b].to_numpy())
            out.loc[a, b] = out.loc[b, a] = v
    return out


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Bias-corrected Cramer's V (Bergsma 2013) of two label arrays.

    The correction keeps sets of different sizes comparable (the plain V of a
    small sample is biased upward).
    """
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    n = len(a)
    if len(ua) < 2 or len(ub) < 2 or n < 2:
        return float("nan")
    table = np.zeros((len(ua), len(ub)))
    np.add.at(table, (ia, ib), 1.0)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    phi2 = float(((table - expected) ** 2 / expected).sum()) / n
    r, k = table.shape
    phi2c = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    rc, kc = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denom = min(kc - 1, rc - 1)
    return float(np.sqrt(phi2c / denom)) if denom > 0 else float("nan")


class PairCodes:
    """Fast ContingencySimilarity for many pairs of already discretized columns.

    Each column is factorised once over real and synthetic rows together; a
    pair's score is then 1 - total variation distance of the joint code
    frequencies (the same number as SDMetrics' ContingencySimilarity, which
    the tests check).
    """

    def __init__(self, real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
        self._n_real = len(real)
        self._codes: dict[str, tuple[np.ndarray, int]] = {}
        for c in real.columns:
            codes, uniq = pd.factorize(pd.concat([real[c], synthetic[c]], ignore_index=True))
            self._codes[c] = (codes.astype(np.int64), len(uniq))

    def similarity(self, a: str, b: str) -> float:
        """1 - TVD of the (a, b) contingency tables; NaN when a side is empty."""
        ca, na = self._codes[a]
        cb, nb = self._codes[b]
        joint = ca * nb + cb
        r, s = joint[: self._n_real], joint[self._n_real:]
        if len(r) == 0 or len(s) == 0:
            return float("nan")
        size = na * nb
        p = np.bincount(r, minlength=size) / len(r)
        q = np.bincount(s, minlength=size) / len(s)
        return float(1.0 - 0.5 * np.abs(p - q).sum())
