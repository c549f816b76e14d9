"""The Aligner contract, its JSON-ready report, and the pass-through aligner ("none").

An aligner is fitted on the real *training* rows (never test rows), scores a
synthetic pool and selects ``n`` rows from it. Every pool row is accounted for:
``pool_size == selected + sum(dropped.values())``.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import DataError, UsageError
from samplegen.schema import Schema

__all__ = ["AlignReport", "Aligner", "NoAligner", "check_synthetic", "effective_sample_size"]

log = logging.getLogger(__name__)


@dataclass
class AlignReport:
    """What an aligner did to a pool: counts, reasons, thresholds, weights' ESS, model AUC.

    ``dropped`` maps a reason to the number of pool rows dropped for it
    (``"attribution_distance"``, ``"low_confidence"``, ``"high_uncertainty"``,
    ``"not_drawn"``); ``refilled`` counts rows that failed a filter but were
    taken anyway because too few rows passed (they are part of ``selected``).
    """

    method: str
    pool_size: int = 0
    n_requested: int = 0
    selected: int = 0
    passed_filter: int = 0
    refilled: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    ess: float | None = None
    ess_fraction: float | None = None
    validation_auc: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    groups: list[list[str]] = field(default_factory=list)
    per_category: dict[str, dict[str, int]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Raise AssertionError when the counts do not add up (pool = selected + dropped)."""
        total = self.selected + sum(self.dropped.values())
        if total != self.pool_size:
            raise AssertionError(f"align counts do not add up: selected {self.selected} + "
                                 f"dropped {self.dropped} != pool {self.pool_size}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (plain ints, floats, strings, lists)."""
        return _plain(asdict(self))


class Aligner(ABC):
    """Fit on real training rows; score and select synthetic rows.

    Public methods validate and delegate to ``_fit``, ``_score`` and ``_select``.
    ``score`` returns one finite, non-negative number per row: higher is better
    and 0 means the row would be dropped.
    """

    name = "base"

    def __init__(self, **params: Any):
        self.params = params
        self.schema: Schema | None = None
        self.real_columns: list[str] = []
        self.report: AlignReport | None = None

    def fit(self, real: pd.DataFrame, schema: Schema, *, seed: int = 0) -> Aligner:
        """Fit on ``real`` (the training split) described by ``schema``; returns ``self``."""
        if not isinstance(real, pd.DataFrame) or len(real) == 0:
            raise DataError("the real training table is empty. Fix: pass the training split "
                            "of a table with rows.")
        missing = [c for c in schema.features + schema.labels if c not in real.columns]
        if missing:
            raise DataError(f"the real table lacks schema column(s) {missing}. Fix: pass the "
                            "table the schema was inferred from.")
        self.schema = schema
        self.real_columns = list(real.columns)
        t = time.perf_counter()
        from samplegen.progress import waiting

        with waiting(f"aligner {self.name}: fit ({len(real):,} training rows)"):
            self._fit(real, schema, seed)
        self._fit_seconds = time.perf_counter() - t
        return self

    def score(self, synthetic: pd.DataFrame) -> np.ndarray:
        """One finite, non-negative score per synthetic row (0 = would be dropped)."""
        self._check_fitted()
        check_synthetic(synthetic, self.real_columns, self._schema)
        if len(synthetic) == 0:
            return np.zeros(0)
        s = np.asarray(self._score(synthetic), dtype=float)
        return np.where(np.isfinite(s), np.maximum(s, 0.0), 0.0)

    def select(self, synthetic: pd.DataFrame, n: int, *,
               seed: int = 0) -> tuple[pd.DataFrame, AlignReport]:
        """Choose ``n`` rows of ``synthetic`` (index kept) and report what was dropped and why."""
        self._check_fitted()
        check_synthetic(synthetic, self.real_columns, self._schema)
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise UsageError(f"n={n!r} must be a non-negative integer.")
        if n > len(synthetic):
            raise UsageError(f"n={n} is larger than the synthetic pool ({len(synthetic)} rows). "
                             "Fix: ask for at most the pool size, or generate a larger pool.")
        t = time.perf_counter()
        positions, report = self._select(synthetic, int(n), seed)
        report.seconds.setdefault("fit", round(getattr(self, "_fit_seconds", 0.0), 3))
        report.seconds["select"] = round(time.perf_counter() - t, 3)
        report.pool_size, report.n_requested, report.selected = len(synthetic), int(n), len(
            positions)
        report.params = {**self.params, **report.params}
        if len(positions) != n or len(np.unique(positions)) != n:
            raise AssertionError(f"{self.name} selected {len(positions)} rows, asked for {n}")
        report.check()
        self.report = report
        return synthetic.iloc[np.sort(positions)], report

    # ----------------------------------------------------------- helpers
    @property
    def _schema(self) -> Schema:
        assert self.schema is not None
        return self.schema

    def _check_fitted(self) -> None:
        if self.schema is None:
            raise UsageError(f"the {self.name!r} aligner is not fitted. Fix: call "
                             "fit(real_train, schema) first.")

    @abstractmethod
    def _fit(self, real: pd.DataFrame, schema: Schema, seed: int) -> None: ...

    @abstractmethod
    def _score(self, synthetic: pd.DataFrame) -> np.ndarray: ...

    @abstractmethod
    def _select(self, synthetic: pd.DataFrame, n: int,
                seed: int) -> tuple[np.ndarray, AlignReport]: ...


class NoAligner(Aligner):
    """Pass-through: every row scores 1; ``select`` draws ``n`` rows uniformly (seeded)."""

    name = "none"

    def _fit(self, real: pd.DataFrame, schema: Schema, seed: int) -> None:
        return None

    def _score(self, synthetic: pd.DataFrame) -> np.ndarray:
        return np.ones(len(synthetic))

    def _select(self, synthetic: pd.DataFrame, n: int,
                seed: int) -> tuple[np.ndarray, AlignReport]:
        rng = np.random.default_rng(seed)
        pos = np.sort(rng.choice(len(synthetic), n, replace=False)) if n else np.zeros(0, int)
        rep = AlignReport(method=self.name, passed_filter=len(synthetic),
                          dropped={"not_drawn": len(synthetic) - n},
                          ess=float(len(synthetic)), ess_fraction=1.0)
        return pos, rep


def check_synthetic(synthetic: pd.DataFrame, real_columns: list[str], schema: Schema) -> None:
    """Raise UsageError when ``synthetic`` has columns the real data lacks or lacks features."""
    if not isinstance(synthetic, pd.DataFrame):
        raise UsageError(f"the synthetic set must be a DataFrame, got {type(synthetic).__name__}.")
    extra = [c for c in synthetic.columns if c not in real_columns and c != "is_synthetic"]
    if extra:
        raise UsageError(f"the synthetic set has column(s) {extra} that the real data lacks. "
                         "Fix: drop them or pass the real table they were generated from.")
    need = [c for c in schema.features if c in real_columns]
    missing = [c for c in need if c not in synthetic.columns]
    if missing:
        raise UsageError(f"the synthetic set lacks feature column(s) {missing}. Fix: generate "
                         "rows with every feature of the real table.")


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 (0 for no positive weight)."""
    w = np.asarray(weights, dtype=float)
    s2 = float(np.sum(w * w))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def _plain(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return round(v, 6) if np.isfinite(v) else None
    if isinstance(o, np.ndarray):
        return _plain(o.tolist())
    if isinstance(o, np.bool_):
        return bool(o)
    return o
