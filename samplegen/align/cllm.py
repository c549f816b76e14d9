"""CLLM-style curation (Seedat et al., ICML'24): keep confident, low-uncertainty rows.

A class-balanced LightGBM model of conversion is fitted on the real training
rows. For every synthetic row, the probability of the row's *own* label is read
at ``n_checkpoints`` evenly spaced boosting iterations (the learning dynamics of
the booster): ``confidence`` is its mean, ``aleatoric`` uncertainty the mean of
``p (1 - p)``. Rows with ``confidence >= confidence_threshold`` and
``aleatoric <= uncertainty_threshold`` are kept; ``n`` of them are drawn
uniformly, keeping each category's share of the pool.

The model is class-balanced because conversion is rare: without balancing every
synthetic positive would have a confidence near the base rate and nothing would
pass. CLLM's fixed thresholds (confidence 0.5, aleatoric 0.2) assume a model
that separates the classes well; on sparse conversion data (validation AUC
~0.6) even real positives hover at p ~ 0.5 and almost none pass them. So by
default (thresholds ``None``) both are calibrated on held-out real positives:
the confidence threshold is their ``1 - pass_share`` quantile and the
aleatoric threshold their ``pass_share`` quantile. Numbers given explicitly are
used as they are. The share of held-out real positives that pass is recorded
(``thresholds["real_holdout_pass_share"]``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.align.attribution import AttributionModel
from samplegen.align.base import Aligner, AlignReport
from samplegen.align.sampling import stratified_draw
from samplegen.align.shap_align import _per_category, _strata
from samplegen.errors import UsageError
from samplegen.schema import Schema

__all__ = ["CLLMAligner"]


class CLLMAligner(Aligner):
    """Curation by confidence and aleatoric uncertainty over boosting checkpoints."""

    name = "cllm"

    def __init__(self, *, confidence_threshold: float | None = None,
                 uncertainty_threshold: float | None = None, pass_share: float = 0.8,
                 n_checkpoints: int = 10, n_estimators: int = 200, n_jobs: int = 1,
                 strict: bool = False):
        if (confidence_threshold is not None and not 0.0 <= confidence_threshold <= 1.0) or (
                uncertainty_threshold is not None and not 0.0 <= uncertainty_threshold <= 0.25):
            raise UsageError("confidence_threshold must be in [0, 1] and uncertainty_threshold "
                             "in [0, 0.25] (the largest p(1-p)).")
        if not 0.0 < pass_share <= 1.0:
            raise UsageError(f"pass_share={pass_share} must be in (0, 1].")
        super().__init__(confidence_threshold=confidence_threshold,
                         uncertainty_threshold=uncertainty_threshold, pass_share=pass_share,
                         n_checkpoints=n_checkpoints, n_estimators=n_estimators, n_jobs=n_jobs,
                         strict=strict)
        self.model: AttributionModel | None = None
        self.conf_threshold = 0.5 if confidence_threshold is None else confidence_threshold
        self.alea_threshold = 0.2 if uncertainty_threshold is None else uncertainty_threshold
        self.calibration = "fixed"
        self.real_holdout_pass_share: float | None = None

    def _fit(self, real: pd.DataFrame, schema: Schema, seed: int) -> None:
        p = self.params
        self.model = AttributionModel(balanced=True, n_estimators=p["n_estimators"],
                                      n_jobs=p["n_jobs"]).fit(real, schema, seed=seed)
        label = schema.conversion
        hold = real.iloc[self.model.holdout]
        pos = hold[pd.to_numeric(hold[label], errors="coerce").fillna(0) == 1]
        if len(pos):
            conf, alea = self.dynamics(pos)
            share = p["pass_share"]
            if p["confidence_threshold"] is None:
                self.conf_threshold = float(np.quantile(conf, 1.0 - share, method="lower"))
                self.calibration = f"calibrated on {len(pos)} held-out real positives"
            if p["uncertainty_threshold"] is None:
                self.alea_threshold = float(np.quantile(alea, share, method="higher"))
                self.calibration = f"calibrated on {len(pos)} held-out real positives"
            self.real_holdout_pass_share = float(np.mean(self._keep(conf, alea)))

    def dynamics(self, synthetic: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(confidence, aleatoric uncertainty) of each row's own label over the checkpoints."""
        assert self.model is not None and self.schema is not None
        path = self.model.predict_path(synthetic, self.params["n_checkpoints"])
        label = self.schema.conversion
        if label in synthetic.columns:
            y = pd.to_numeric(synthetic[label], errors="coerce").fillna(1).to_numpy()
        else:
            y = np.ones(len(synthetic))
        p_own = np.where(y[:, None] == 1, path, 1.0 - path)
        return p_own.mean(axis=1), (p_own * (1.0 - p_own)).mean(axis=1)

    def _keep(self, conf: np.ndarray, alea: np.ndarray) -> np.ndarray:
        return (conf >= self.conf_threshold) & (alea <= self.alea_threshold)

    def _score(self, synthetic: pd.DataFrame) -> np.ndarray:
        conf, alea = self.dynamics(synthetic)
        return np.where(self._keep(conf, alea), conf, 0.0)

    def _select(self, synthetic: pd.DataFrame, n: int,
                seed: int) -> tuple[np.ndarray, AlignReport]:
        assert self.model is not None
        conf, alea = self.dynamics(synthetic)
        keep = self._keep(conf, alea)
        low_conf = conf < self.conf_threshold
        rep = AlignReport(method=self.name, validation_auc=self.model.validation_auc,
                          passed_filter=int(keep.sum()))
        rep.thresholds = {"confidence": self.conf_threshold, "aleatoric": self.alea_threshold}
        rep.notes.append(f"thresholds {self.calibration}")
        if self.real_holdout_pass_share is not None:
            rep.thresholds["real_holdout_pass_share"] = self.real_holdout_pass_share
        strata = _strata(synthetic, self._schema)
        drawn = stratified_draw(keep.astype(float), strata, min(n, int(keep.sum())),
                                np.random.default_rng(seed))
        refill = np.zeros(0, dtype=int)
        if len(drawn) < n:
            if self.params["strict"]:
                raise UsageError(f"only {int(keep.sum())} of {len(synthetic)} synthetic rows "
                                 f"pass CLLM curation; {n} were asked for. Fix: generate a "
                                 "larger pool or relax the thresholds.")
            dropped = np.flatnonzero(~keep)
            refill = dropped[np.argsort(-conf[dropped], kind="stable")[: n - len(drawn)]]
            rep.notes.append(f"{len(refill)} rows refilled from curated-out rows "
                             "(most confident first)")
        positions = np.sort(np.concatenate([drawn, refill]).astype(int))
        refilled = np.zeros(len(synthetic), dtype=bool)
        refilled[refill] = True
        rep.refilled = int(len(refill))
        rep.dropped = {"low_confidence": int((low_conf & ~refilled).sum()),
                       "high_uncertainty": int((~keep & ~low_conf & ~refilled).sum()),
                       "not_drawn": int(keep.sum() - len(drawn))}
        rep.ess = float(keep.sum())  # uniform weights over the kept rows
        rep.ess_fraction = 1.0 if keep.any() else 0.0
        rep.per_category = _per_category(strata, keep, positions)
        if len(conf):  # an empty pool has no mean (numpy warns "Mean of empty slice")
            rep.notes.append(f"mean confidence of the pool {float(conf.mean()):.3f}")
        return positions, rep
