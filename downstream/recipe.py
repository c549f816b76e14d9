"""Level-matched synthetic rows for an augmentation experiment (issue 17).

``level`` is ``"auto"`` (each target's P(conversion | click) estimated from the
training rows by :func:`samplegen.level.estimate_levels`, with the source's
global-conversion candidates of the training window as a signal when it has
them), a rate for every target, or ``{target: rate}``. Every synthetic set's
rows of a target then get the weight that makes the target's weighted training
CVR (real + synthetic clicked rows) equal that rate
(:func:`samplegen.level.weigh_synthetic`), and every trained model's level is
checked on the *validation* rows (never the test): ``cvr_level@valid[cat=X]`` =
mean predicted pCVR on the target's clicked validation rows / the rate.

Two ways to fix the level (``fix``):

* ``"weights"``: the synthetic rows' weights, as above (the model still learns
  the level; a category the model shrinks hard stays under it);
* ``"offset"``: a per-target shift of the CVR logit at inference, solved so that
  the mean predicted pCVR on the target's clicked *validation* rows equals the
  rate (their features only, never their labels; training clicks would not do:
  a model predicts high on the rows it fitted, e.g. the originals of oversampled
  copies) (:class:`LevelOffset`); the synthetic rows keep their weights. The
  validation level of an offset model is then 1.0 by construction: the test level
  is the check. A shift inside a
  category does not change the order of its rows: its click-space CVR AUC is
  untouched, only its level (and the global metrics) move.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import UsageError
from samplegen.level import estimate_levels, global_rows_before, weigh_synthetic
from samplegen.schema import Schema

__all__ = ["plan_level", "valid_level", "LevelOffset", "level_model", "FIXES"]

#: ways to bring a target to its level
FIXES = ("weights", "offset")

log = logging.getLogger(__name__)


def plan_level(level: str | float | dict[str, float], synth: dict[str, pd.DataFrame],
               train: pd.DataFrame, valid: pd.DataFrame, schema: Schema, targets: list[str],
               extras: dict[str, Any] | None = None, fix: str = "weights"
               ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Weighted copies of the synthetic sets (``fix="weights"``; unchanged with
    ``"offset"``) and the config record (rates, their source and interval, weights)."""
    if fix not in FIXES:
        raise UsageError(f"level fix {fix!r}: use one of {FIXES}.")
    record: dict[str, Any] = {"mode": level if isinstance(level, str) else "given", "fix": fix}
    if level == "auto":
        glob = global_rows_before(extras, train, schema)
        est = estimate_levels(train, schema, list(targets), global_rows=glob)
        rates = {t: e.rate for t, e in est.items()}
        record["estimates"] = {t: e.to_dict() for t, e in est.items()}
        record["source"] = ("empirical Bayes over categories on the training rows "
                            "(see samplegen.level)")
    elif isinstance(level, dict):
        rates = {t: float(level[t]) for t in targets if t in level}
        record["source"] = "given per target"
    else:
        rates = {t: float(level) for t in targets}
        record["source"] = "given"
    record["rates"] = rates
    if fix == "offset":
        return dict(synth), record
    out, weights = {}, {}
    for name, df in synth.items():
        out[name], weights[name] = weigh_synthetic(df, train, schema, rates)
    record["weights"] = weights
    return out, record


@dataclass
class LevelOffset:
    """A fitted ESMM whose CVR logit is shifted by ``offsets[category]`` at inference."""

    fitted: Any
    offsets: dict[str, float]

    def __getattr__(self, name: str) -> Any:  # history, encoder, ... of the wrapped model
        return getattr(self.fitted, name)

    def predict(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        table = self.fitted.encoder.transform(df)
        return self._shift(self.fitted.trainer.predict(table), table.category)

    def evaluate(self, df: pd.DataFrame, *, targets: list[str] | None = None,
                 oracle: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
        from downstream.metrics import evaluate

        table = self.fitted.encoder.transform(df)
        pred = self._shift(self.fitted.trainer.predict(table), table.category)
        return evaluate(pred, table, targets=targets, oracle=oracle,
                        k_click=self.fitted.k_click)

    def _shift(self, pred: dict[str, np.ndarray], category: np.ndarray | None
               ) -> dict[str, np.ndarray]:
        if category is None or not self.offsets:
            return pred
        p = np.asarray(pred["p_cvr"], dtype="float64").copy()
        for t, d in self.offsets.items():
            m = category == t
            p[m] = 1.0 / (1.0 + np.exp(-(_logit(p[m]) + d)))
        out = dict(pred)
        out["p_cvr"] = p
        out["p_ctcvr"] = np.asarray(pred["p_ctr"], dtype="float64") * out["p_cvr"]
        return out


def level_model(fitted: Any, valid: pd.DataFrame, schema: Schema, record: dict[str, Any]
                ) -> Any:
    """``fitted`` itself (``fix="weights"``) or wrapped in a :class:`LevelOffset`
    whose shifts put the mean predicted pCVR of each target's clicked validation
    rows at its rate."""
    if record.get("fix") != "offset":
        return fitted
    cat = valid[schema.category].astype(str).to_numpy()
    clicked = pd.to_numeric(valid[schema.click], errors="coerce").fillna(0).to_numpy() > 0
    offsets = {}
    for t, r in record["rates"].items():
        rows = valid[(cat == t) & clicked]
        if len(rows):
            offsets[t] = _solve_shift(fitted.predict(rows)["p_cvr"], r)
    return LevelOffset(fitted, offsets)


def _solve_shift(p: np.ndarray, rate: float) -> float:
    """d with mean(sigmoid(logit(p) + d)) == rate (bisection; the mean rises with d)."""
    z = _logit(np.asarray(p, dtype="float64"))
    lo, hi = -20.0, 20.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if float(np.mean(1.0 / (1.0 + np.exp(-(z + mid))))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def valid_level(fitted: Any, valid: pd.DataFrame, schema: Schema, rates: dict[str, float]
                ) -> dict[str, dict[str, Any]]:
    """``cvr_level@valid[cat=X]``: mean predicted pCVR on X's clicked validation rows
    over the level rate (1.0 = the model sits at the estimate)."""
    out: dict[str, dict[str, Any]] = {}
    if not len(valid) or schema.category is None:
        return out
    cat = valid[schema.category].astype(str).to_numpy()
    clicked = pd.to_numeric(valid[schema.click], errors="coerce").fillna(0).to_numpy() > 0
    for t, r in rates.items():
        rows = valid[(cat == t) & clicked]
        pred = float(np.mean(fitted.predict(rows)["p_cvr"])) if len(rows) else math.nan
        obs = float(pd.to_numeric(rows[schema.conversion]).mean()) if len(rows) else math.nan
        out[f"cvr_level@valid[cat={t}]"] = {
            "value": pred / r, "task": "cvr", "protocol": "click-space", "kind": "level",
            "category": t, "n": int(len(rows)), "rate": r, "observed_valid_cvr": obs}
    return out
