"""Choose a variant's weight on the validation split (never on test).

:func:`choose_rank_alpha` trains ESMM once per grid value and seed on the
training rows, scores each on the validation rows and keeps the weight with the
highest mean validation metric (ties go to the smaller weight, so 0 wins unless
the rank loss helps).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from downstream.fit import ModelOptions, fit_esmm
from downstream.trainer import TrainConfig
from samplegen.errors import UsageError
from samplegen.schema import Schema

__all__ = ["RANK_GRID", "RankAlphaChoice", "choose_rank_alpha"]

log = logging.getLogger(__name__)
RANK_GRID: tuple[float, ...] = (0.0, 0.1, 0.3, 1.0)
SELECT_METRIC = "cvr_auc@click-space"


@dataclass
class RankAlphaChoice:
    """The chosen weight, the grid, the selection metric and, per weight, the
    validation scores (mean and per seed; global and per target category)."""

    alpha: float
    grid: list[float]
    metric: str
    seeds: list[int]
    split: str = "validation"
    scores: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_rank_alpha(train: pd.DataFrame, valid: pd.DataFrame, schema: Schema, *,
                      grid: Sequence[float] = RANK_GRID, seeds: Sequence[int] = (0,),
                      targets: list[str] | None = None, options: ModelOptions | None = None,
                      train_config: TrainConfig | None = None,
                      metric: str = SELECT_METRIC) -> RankAlphaChoice:
    """Pick ``rank_alpha`` from ``grid`` by the mean validation ``metric`` over
    ``seeds`` (``valid`` also early-stops each fit, as in any run).

    Every score record holds ``alpha``, ``mean``, ``per_seed`` and
    ``per_target`` (mean click-space CVR AUC of each target category on the
    validation rows; NaN where a target has no positive-negative pair there).
    """
    values = sorted({float(a) for a in grid})
    if not values or values[0] < 0:
        raise UsageError(f"rank-alpha grid {list(grid)!r}: give one or more weights >= 0.")
    if valid is None or len(valid) == 0:
        raise UsageError("choosing rank_alpha needs validation rows. Fix: use --valid-frac > 0 "
                         "or pass --valid FILE.")
    base = options or ModelOptions()
    tc0 = train_config or TrainConfig()
    targets = list(targets or [])
    scores: list[dict[str, Any]] = []
    for alpha in values:
        opts = ModelOptions.from_dict({**base.__dict__, "rank_alpha": alpha})
        per_seed, per_target = [], {t: [] for t in targets}
        for seed in seeds:
            tc = TrainConfig(**{**tc0.__dict__, "seed": int(seed)})
            m = fit_esmm(train, schema, valid=valid, options=opts, train_config=tc).evaluate(
                valid, targets=targets)
            per_seed.append(float(m[metric]["value"]))
            for t in targets:
                per_target[t].append(float(m[f"cvr_auc@click-space[cat={t}]"]["value"]))
        scores.append({"alpha": alpha, "mean": float(np.mean(per_seed)), "per_seed": per_seed,
                       "per_target": {t: _nanmean(v) for t, v in per_target.items()}})
        log.info("rank_alpha %.3g: validation %s %.4f", alpha, metric, scores[-1]["mean"])
    finite = [s for s in scores if np.isfinite(s["mean"])]
    if not finite:
        raise UsageError(f"no grid value has a finite validation {metric}: the validation rows "
                         "hold no positive-negative pair. Fix: pass a fixed --rank-alpha.")
    best = max(finite, key=lambda s: (s["mean"], -s["alpha"]))
    return RankAlphaChoice(best["alpha"], values, metric, [int(s) for s in seeds], scores=scores)


def _nanmean(v: list[float]) -> float:
    a = np.asarray(v, dtype=float)
    return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")
