"""The Metric layer: a pure ``compute(real, synthetic, ...)`` with a goal and bounds."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, ClassVar

__all__ = ["Goal", "Metric"]


class Goal(StrEnum):
    """Which direction of a metric's raw value is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class Metric:
    """A quality metric: ``compute`` returns a raw value in ``[min_value, max_value]``.

    ``normalize`` maps the raw value to ``[0, 1]`` with 1 best, so that a
    Property can average metrics with different goals. Subclasses implement
    ``compute`` as a classmethod without side effects (SDMetrics' pattern).
    """

    name: ClassVar[str] = "metric"
    goal: ClassVar[Goal] = Goal.MAXIMIZE
    min_value: ClassVar[float] = 0.0
    max_value: ClassVar[float] = 1.0

    @classmethod
    def compute(cls, real_data: Any, synthetic_data: Any, **kwargs: Any) -> float:
        """The raw metric value for ``synthetic_data`` against ``real_data``."""
        raise NotImplementedError

    @classmethod
    def normalize(cls, raw_score: float) -> float:
        """Map a raw value to ``[0, 1]`` (1 best); NaN stays NaN."""
        if raw_score is None or (isinstance(raw_score, float) and math.isnan(raw_score)):
            return float("nan")
        lo, hi = cls.min_value, cls.max_value
        if math.isinf(lo) or math.isinf(hi):
            raise NotImplementedError(f"{cls.__name__} has unbounded values; override normalize")
        x = (float(raw_score) - lo) / (hi - lo)
        x = min(1.0, max(0.0, x))
        return x if cls.goal == Goal.MAXIMIZE else 1.0 - x
