"""Attribution filter: drop synthetic positives whose SHAP profile is far from real positives.

For each category, the *reference* is the real training positives of that
category, topped up with the positives of its nearest categories (by the
distance between category centroids in SHAP space) until it holds at least
``min_reference`` rows; a category the real data never saw uses every real
positive. A row's distance is the mean Euclidean distance of its SHAP vector to
its ``k`` nearest reference rows, divided by the reference's own scale (the
median leave-one-out k-NN distance inside the reference), so that small and
large references are comparable. The category's own SHAP component is left out
of the vectors: it is constant within a category, so against a neighbouring
category's positives it would only add a fixed offset (and push a whole
cold-start category out).

The threshold is calibrated on *held-out* real positives (rows the attribution
model and the reference never saw): it is the ``pass_share`` quantile of their
relative distances, so that share of real positives would pass. With fewer than
``min_calibration`` held-out positives the leave-one-out distances inside the
references are used instead (stated in ``calibration``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from samplegen.align.attribution import AttributionModel, as_strings
from samplegen.errors import DataError, UsageError
from samplegen.schema import Schema

__all__ = ["AttributionFilter"]

log = logging.getLogger(__name__)
_ALL = "\x00all"


class AttributionFilter:
    """Distance-to-real-positives filter in SHAP space with a calibrated threshold."""

    def __init__(self, *, pass_share: float = 0.95, k: int = 5, min_reference: int = 30,
                 min_calibration: int = 20, centroid_rows: int = 300):
        if not 0.0 < pass_share <= 1.0:
            raise UsageError(f"pass_share={pass_share} must be in (0, 1].")
        self.pass_share, self.k, self.min_reference = pass_share, k, min_reference
        self.min_calibration, self.centroid_rows = min_calibration, centroid_rows
        self.threshold = float("inf")
        self.calibration = ""
        self.calibration_pass_share: float | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, real: pd.DataFrame, schema: Schema, model: AttributionModel, *,
            seed: int = 0) -> AttributionFilter:
        """Build references from ``real`` positives outside ``model.holdout``; calibrate."""
        label = schema.conversion if model.target == "conversion" else schema.click
        y = pd.to_numeric(real[label], errors="coerce").fillna(0).to_numpy().astype(int)
        held = np.zeros(len(real), dtype=bool)
        held[model.holdout] = True
        ref_rows = np.flatnonzero((y == 1) & ~held)
        if len(ref_rows) < 2:
            raise DataError(f"only {len(ref_rows)} real positive(s) ({label}=1) to compare "
                            "synthetic rows with. Fix: use a larger training split, or "
                            "--align cllm/none.")
        self.model, self.schema = model, schema
        self.category = schema.category if schema.category in real.columns else None
        self._cols = np.array([j for j, f in enumerate(model.features) if f != self.category])
        rng = np.random.default_rng(seed)
        ref = real.iloc[ref_rows]
        self._ref_shap = self._shap(ref)
        self._ref_cat = self._cats(ref)
        self._neighbours = self._category_order(real, rng)
        self._pools: dict[str, tuple[NearestNeighbors, float, int]] = {}
        cal_rows = np.flatnonzero((y == 1) & held)
        if len(cal_rows) >= self.min_calibration:
            cal = real.iloc[cal_rows]
            rel = self._relative(self._shap(cal), self._cats(cal))
            self.calibration = f"{len(cal_rows)} held-out real positives"
        else:
            rel = self._loo_relative()
            self.calibration = (f"leave-one-out on {len(ref_rows)} reference positives "
                                f"(only {len(cal_rows)} held out)")
        self.threshold = float(np.quantile(rel, self.pass_share, method="higher"))
        self.calibration_pass_share = float(np.mean(rel <= self.threshold))
        log.info("attribution filter threshold %.3f (%s)", self.threshold, self.calibration)
        return self

    def distances(self, df: pd.DataFrame) -> np.ndarray:
        """Relative distance of each row's SHAP vector to its category's real positives."""
        if len(df) == 0:
            return np.zeros(0)
        return self._relative(self._shap(df), self._cats(df))

    def passes(self, df: pd.DataFrame) -> np.ndarray:
        """True for rows within the calibrated threshold."""
        return self.distances(df) <= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "pass_share": self.pass_share, "k": self.k,
                "calibration": self.calibration,
                "calibration_pass_share": self.calibration_pass_share,
                "n_reference": int(len(self._ref_shap))}

    # ------------------------------------------------------------ internals
    def _shap(self, df: pd.DataFrame) -> np.ndarray:
        """SHAP vectors without the category's own component."""
        return self.model.shap_values(df)[:, self._cols]

    def _cats(self, df: pd.DataFrame) -> np.ndarray:
        if self.category is None:
            return np.full(len(df), _ALL, dtype=object)
        s = as_strings(self.schema, df[self.category])
        return s.astype(object).where(s.notna(), "<NA>").astype(str).to_numpy()

    def _category_order(self, real: pd.DataFrame, rng: np.random.Generator) -> dict[str, list[str]]:
        """For each real category, the other categories ordered by centroid distance."""
        if self.category is None:
            return {}
        cats = self._cats(real)
        names = sorted(set(cats.tolist()))
        take = []
        for c in names:
            idx = np.flatnonzero(cats == c)
            if len(idx) > self.centroid_rows:
                idx = np.sort(rng.choice(idx, self.centroid_rows, replace=False))
            take.append(idx)
        sv = self._shap(real.iloc[np.concatenate(take)])
        cent, start = [], 0
        for idx in take:
            cent.append(sv[start:start + len(idx)].mean(axis=0))
            start += len(idx)
        cent_arr = np.array(cent)
        out = {}
        for i, c in enumerate(names):
            d = np.linalg.norm(cent_arr - cent_arr[i], axis=1)
            out[c] = [names[j] for j in np.lexsort((np.arange(len(names)), d)) if j != i]
        return out

    def _members(self, cat: str) -> np.ndarray:
        """Reference positions for ``cat``: own positives, then nearest categories' positives."""
        if cat == _ALL or cat not in self._neighbours:
            return np.arange(len(self._ref_shap))
        chosen = np.flatnonzero(self._ref_cat == cat)
        for other in self._neighbours[cat]:
            if len(chosen) >= self.min_reference:
                break
            chosen = np.concatenate([chosen, np.flatnonzero(self._ref_cat == other)])
        if len(chosen) < 2:
            return np.arange(len(self._ref_shap))
        return np.sort(chosen)

    def _pool(self, cat: str) -> tuple[NearestNeighbors, float, int]:
        if cat not in self._pools:
            members = self._members(cat)
            x = self._ref_shap[members]
            k = min(self.k, len(x) - 1)
            nn = NearestNeighbors(n_neighbors=k + 1).fit(x)
            d, _ = nn.kneighbors(x)
            scale = float(np.median(d[:, 1:].mean(axis=1)))
            self._pools[cat] = (nn, max(scale, 1e-9), k)
        return self._pools[cat]

    def _relative(self, shap: np.ndarray, cats: np.ndarray) -> np.ndarray:
        out = np.empty(len(shap))
        for cat in np.unique(cats):
            rows = np.flatnonzero(cats == cat)
            nn, scale, k = self._pool(str(cat))
            d, _ = nn.kneighbors(shap[rows], n_neighbors=k)
            out[rows] = d.mean(axis=1) / scale
        return out

    def _loo_relative(self) -> np.ndarray:
        out = []
        for cat in np.unique(self._ref_cat):
            nn, scale, k = self._pool(str(cat))
            own = np.flatnonzero(self._ref_cat == cat)
            d, _ = nn.kneighbors(self._ref_shap[own], n_neighbors=k + 1)
            out.append(d[:, 1:].mean(axis=1) / scale)
        return np.concatenate(out)
