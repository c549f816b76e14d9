"""The "shap" aligner: attribution filter, then SampleLLM-style importance sampling.

1. A LightGBM model of conversion is fitted on the real training rows
   (:class:`AttributionModel`); 20 % of them are held out for its validation
   AUC and for calibrating the filter.
2. Filter: synthetic rows whose SHAP vector is far from the real positives of
   their (or neighbouring) categories are dropped (:class:`AttributionFilter`,
   threshold set so that ``pass_share`` of held-out real positives pass).
3. Importance sampling: features are grouped by mean |SHAP interaction| on real
   rows; the surviving rows are weighted by
   :class:`~samplegen.align.importance.ImportanceWeighter` and ``n`` are drawn
   without replacement in proportion to their weights, keeping each category's
   share of the pool (the generation targets are never re-balanced).

When fewer than ``n`` rows pass the filter, the rows closest to real positives
among the dropped ones fill the gap (counted as ``refilled``); ``strict=True``
raises instead.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from samplegen.align.attribution import AttributionModel, as_strings
from samplegen.align.base import Aligner, AlignReport, effective_sample_size
from samplegen.align.filter import AttributionFilter
from samplegen.align.importance import FeatureBinner, ImportanceWeighter, group_features
from samplegen.align.sampling import stratified_draw
from samplegen.errors import UsageError
from samplegen.schema import Schema

__all__ = ["ShapAligner"]

log = logging.getLogger(__name__)


class ShapAligner(Aligner):
    """SHAP attribution filter plus SampleLLM-style importance sampling."""

    name = "shap"

    def __init__(self, *, use_filter: bool = True, use_weights: bool = True, pass_share: float = 0.95,
                 interaction_threshold: float = 0.3, max_group_size: int = 3,
                 interaction_rows: int = 500, n_bins: int = 5, label_power: float = 1.0,
                 max_weight_ratio: float = 100.0, prior_strength: float = 20.0,
                 alpha: float = 1.0, k: int = 5, min_reference: int = 30,
                 min_cell_rows: float = 5.0, density_rows: int = 50_000, n_estimators: int = 200, n_jobs: int = 1,
                 strict: bool = False):
        super().__init__(use_filter=use_filter, use_weights=use_weights, pass_share=pass_share,
                         interaction_threshold=interaction_threshold,
                         max_group_size=max_group_size, interaction_rows=interaction_rows,
                         n_bins=n_bins, label_power=label_power,
                         max_weight_ratio=max_weight_ratio, prior_strength=prior_strength,
                         alpha=alpha, k=k, min_reference=min_reference, min_cell_rows=min_cell_rows,
                         density_rows=density_rows,
                         n_estimators=n_estimators, n_jobs=n_jobs, strict=strict)
        if not (use_filter or use_weights):
            raise UsageError("the shap aligner needs use_filter=True or use_weights=True. Fix: use "
                             "--align none to skip alignment.")
        self.model: AttributionModel | None = None
        self.filter: AttributionFilter | None = None
        self.weighter: ImportanceWeighter | None = None
        self.interactions: np.ndarray | None = None
        self.groups: list[list[str]] = []

    # ------------------------------------------------------------------ fit
    def _fit(self, real: pd.DataFrame, schema: Schema, seed: int) -> None:
        p = self.params
        t = time.perf_counter()
        self.model = AttributionModel(n_estimators=p["n_estimators"], n_jobs=p["n_jobs"]).fit(
            real, schema, seed=seed)
        self._seconds = {"model": time.perf_counter() - t}
        label = schema.conversion
        if p["use_weights"]:
            t = time.perf_counter()
            rows = _balanced_rows(real[label].to_numpy(), p["interaction_rows"],
                                  np.random.default_rng(seed))
            self.interactions = self.model.interaction_matrix(
                real.iloc[rows], max_rows=p["interaction_rows"], seed=seed)
            exclude = (schema.category,) if schema.category else ()
            y = pd.to_numeric(real[label], errors="coerce").fillna(0).to_numpy()
            positives = real.iloc[np.flatnonzero(y == 1)]
            card = FeatureBinner(schema, self.model.features, p["n_bins"]).fit(
                positives).cardinality(positives)
            self.groups = group_features(self.interactions, self.model.features,
                                         threshold=p["interaction_threshold"],
                                         max_group_size=p["max_group_size"], exclude=exclude,
                                         cardinality=card,
                                         max_cells=max(len(positives) / p["min_cell_rows"], 4))
            self._seconds["interactions"] = time.perf_counter() - t
            t = time.perf_counter()
            dens = _balanced_rows(real[label].to_numpy(), p["density_rows"],
                                  np.random.default_rng(seed), all_positives=True)
            self.weighter = ImportanceWeighter(
                n_bins=p["n_bins"], alpha=p["alpha"], prior_strength=p["prior_strength"],
                label_power=p["label_power"], max_weight_ratio=p["max_weight_ratio"],
            ).fit(real.iloc[dens], schema, self.model, self.groups)
            self._seconds["densities"] = time.perf_counter() - t
        if p["use_filter"]:
            t = time.perf_counter()
            self.filter = AttributionFilter(pass_share=p["pass_share"], k=p["k"],
                                            min_reference=p["min_reference"]).fit(
                real, schema, self.model, seed=seed)
            self._seconds["filter_fit"] = time.perf_counter() - t

    # -------------------------------------------------------------- scoring
    def weights(self, synthetic: pd.DataFrame) -> np.ndarray:
        """Importance weights of every row (mean 1; all ones when weighting is off)."""
        if self.weighter is None or len(synthetic) == 0:
            return np.ones(len(synthetic))
        return self.weighter.weights(synthetic)[0]

    def distances(self, synthetic: pd.DataFrame) -> np.ndarray:
        """Relative attribution distances (0 everywhere when the filter is off)."""
        if self.filter is None:
            return np.zeros(len(synthetic))
        return self.filter.distances(synthetic)

    def _score(self, synthetic: pd.DataFrame) -> np.ndarray:
        passed = np.ones(len(synthetic), dtype=bool)
        if self.filter is not None:
            passed = self.filter.distances(synthetic) <= self.filter.threshold
        w = np.zeros(len(synthetic))
        if passed.any():
            w[passed] = self.weights(synthetic.iloc[np.flatnonzero(passed)])
        return w

    # ------------------------------------------------------------ selection
    def _select(self, synthetic: pd.DataFrame, n: int,
                seed: int) -> tuple[np.ndarray, AlignReport]:
        assert self.model is not None
        rng = np.random.default_rng(seed)
        rep = AlignReport(method=self.name, validation_auc=self.model.validation_auc,
                          groups=[list(g) for g in self.groups])
        t = time.perf_counter()
        dist = self.distances(synthetic)
        passed = np.ones(len(synthetic), dtype=bool)
        if self.filter is not None:
            passed = dist <= self.filter.threshold
            rep.thresholds["attribution_distance"] = self.filter.threshold
            rep.notes.append(f"filter calibrated on {self.filter.calibration}; "
                             f"{self.filter.calibration_pass_share:.3f} of them pass")
        rep.seconds["filter"] = round(time.perf_counter() - t, 3)
        keep = np.flatnonzero(passed)
        rep.passed_filter = int(len(keep))
        t = time.perf_counter()
        w = np.zeros(len(synthetic))
        if len(keep):
            w[keep] = self.weights(synthetic.iloc[keep])
        rep.seconds["weights"] = round(time.perf_counter() - t, 3)
        if self.weighter is not None:
            rep.thresholds["interaction"] = self.params["interaction_threshold"]
            rep.notes.append(f"label term: {self.weighter.info.get('label_term', 'n/a')}")
        rep.ess = effective_sample_size(w[keep]) if len(keep) else 0.0
        rep.ess_fraction = rep.ess / len(keep) if len(keep) else 0.0
        strata = _strata(synthetic, self._schema)
        drawn = stratified_draw(w, strata, min(n, len(keep)), rng)
        refill = np.zeros(0, dtype=int)
        if len(drawn) < n:
            short = n - len(drawn)
            if self.params["strict"]:
                raise UsageError(f"only {len(keep)} of {len(synthetic)} synthetic rows pass the "
                                 f"attribution filter; {n} were asked for. Fix: generate a "
                                 "larger pool or lower pass_share.")
            dropped = np.flatnonzero(~passed)
            refill = dropped[np.argsort(dist[dropped], kind="stable")[:short]]
            rep.notes.append(f"{short} rows refilled from filtered rows (closest first)")
            log.warning("alignment: only %d rows passed the filter; refilled %d", len(keep), short)
        positions = np.sort(np.concatenate([drawn, refill]).astype(int))
        rep.refilled = int(len(refill))
        n_filtered = int((~passed).sum())
        rep.dropped = {"attribution_distance": n_filtered - rep.refilled,
                       "not_drawn": int(len(keep) - len(drawn))}
        rep.per_category = _per_category(strata, passed, positions)
        rep.seconds.update({k: round(v, 3) for k, v in self._seconds.items()})
        return positions, rep


def _balanced_rows(y: np.ndarray, max_rows: int, rng: np.random.Generator, *,
                   all_positives: bool = False) -> np.ndarray:
    """Positions of at most ``max_rows`` rows, half positives (every positive when
    ``all_positives``), the rest negatives, drawn with ``rng``."""
    y = pd.to_numeric(pd.Series(y), errors="coerce").fillna(0).to_numpy().astype(int)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    half = len(pos) if all_positives else max_rows // 2
    a = rng.choice(pos, min(len(pos), half), replace=False)
    b = rng.choice(neg, min(len(neg), max_rows - len(a)), replace=False)
    return np.sort(np.concatenate([a, b]))


def _strata(df: pd.DataFrame, schema: Schema) -> np.ndarray:
    cat = schema.category
    if cat is None or cat not in df.columns:
        return np.full(len(df), "", dtype=object)
    s = as_strings(schema, df[cat])
    return s.astype(object).where(s.notna(), "<NA>").astype(str).to_numpy()


def _per_category(strata: np.ndarray, passed: np.ndarray,
                  positions: np.ndarray) -> dict[str, dict[str, int]]:
    sel = np.zeros(len(strata), dtype=bool)
    sel[positions] = True
    out = {}
    for c in sorted(set(strata.tolist())):
        m = strata == c
        out[c] = {"pool": int(m.sum()), "passed": int((m & passed).sum()),
                  "selected": int((m & sel).sum())}
    return out
