"""The Property layer: a group of metrics over columns, pairs or rows, with a details table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from evaluators.context import EvalContext

__all__ = ["Property", "PropertyResult", "mean_score", "to_jsonable"]


@dataclass
class PropertyResult:
    """One property of one synthetic set: score in [0, 1] (NaN: not computable), details.

    ``summary`` holds the headline numbers (all in report.json), ``notes``
    explains choices and fallbacks, ``artifacts`` holds arrays for the plots
    (not serialised).
    """

    name: str
    score: float
    details: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN -> None)."""
        return {
            "score": to_jsonable(self.score),
            "summary": to_jsonable(self.summary),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
            "details": to_jsonable(self.details.to_dict(orient="records")),
        }


class Property:
    """Base class: ``compute`` validates its inputs and delegates to ``_compute``."""

    name: ClassVar[str] = "property"
    title: ClassVar[str] = "Property"
    description: ClassVar[str] = ""

    def compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        """Score ``synthetic`` (already coerced to the schema) against the real data."""
        if len(synthetic) == 0:
            return self._empty("the synthetic set has no rows")
        return self._compute(ctx, synthetic)

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        raise NotImplementedError

    def _empty(self, why: str) -> PropertyResult:
        return PropertyResult(self.name, float("nan"), pd.DataFrame(), notes=[why])


def mean_score(values: Any) -> float:
    """Mean of the finite values, NaN when there are none."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if len(arr) else float("nan")


def to_jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars as Python values and NaN/inf as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj
