"""One definition of each headline number, shared by the CLI tables, report.json and report.html.

Each :class:`Score` names its label (as the tables print it), its protocol (which
rows, which label, how it is aggregated) and which values are good; the functions
below compute it the one way every output uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Score", "CATEGORY_CVR_AUC_DELTA", "DCR", "category_cvr_auc_delta",
           "category_metric", "dcr_share"]


@dataclass(frozen=True)
class Score:
    """A headline number: ``key`` in JSON, ``label`` in tables, and what it means."""

    key: str
    label: str
    protocol: str
    reading: str

    def explain(self) -> str:
        return f"{self.label}: {self.protocol}; {self.reading}."


CATEGORY_CVR_AUC_DELTA = Score(
    key="category_cvr_auc_delta",
    label="cat. CVR AUC Δ",
    protocol="click-space CVR AUC (clicked test rows, label conversion) of each target "
             "category, minus real-only's on the same seed, averaged over the target "
             "categories; mean (± std) over seeds",
    reading="above 0 helps; a difference whose 95% CI covers 0 is not resolved")

DCR = Score(
    key="dcr_share_closer_to_train",
    label="DCR",
    protocol="share of synthetic rows whose closest real row (on the features) is a "
             "training row rather than a holdout row, from equal-size pools of real rows with "
             "the synthetic rows' labels",
    reading="0.5 = no closer to the training rows than to unseen rows (ideal); above 0.5 "
            "leans to the training rows (1.0 = memorised); below 0.5 is no privacy risk "
            "(often drift: the holdout is later in time)")


def category_metric(category: str) -> str:
    """The validate metric a per-category CVR AUC is stored under (click-space)."""
    return f"cvr_auc@click-space[cat={category}]"


def category_cvr_auc_delta(metrics: dict[str, Any], targets: list[str],
                           ) -> dict[str, dict[str, Any]]:
    """Per arm: :data:`CATEGORY_CVR_AUC_DELTA` (mean, std, per-seed values, categories).

    Read from the per-seed ``runs`` of a ``samplegen validate`` metrics.json; without
    them, from its ``summary`` records (mean only: the per-category deltas' mean).
    """
    names = [category_metric(t) for t in targets]
    runs = metrics.get("runs")
    if isinstance(runs, list) and runs:
        return _from_runs(runs, names)
    return _from_summary(metrics.get("summary") or [], names)


def _from_runs(runs: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, Any]]:
    by: dict[tuple[str, Any], np.ndarray] = {}
    for r in runs:
        vals = [(r.get("metrics", {}).get(n) or {}).get("value") for n in names]
        by[(r["arm"], r["seed"])] = np.array([np.nan if v is None else v for v in vals], float)
    out: dict[str, dict[str, Any]] = {}
    for (arm, seed), v in by.items():
        base = by.get(("real-only", seed))
        if arm == "real-only" or base is None:
            continue
        diff = v - base
        rec = out.setdefault(arm, {"per_seed": [], "categories": int(np.isfinite(diff).sum())})
        rec["per_seed"].append(float(np.nanmean(diff)) if np.isfinite(diff).any() else math.nan)
    for rec in out.values():
        d = np.asarray(rec["per_seed"], float)
        rec["mean"] = float(np.mean(d)) if len(d) else math.nan
        rec["std"] = float(np.std(d, ddof=1)) if len(d) > 1 else math.nan
        rec["n_seeds"] = int(len(d))
    return out


def _from_summary(summary: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in summary:
        if not isinstance(r, dict) or r.get("metric") not in names or r.get("delta") is None:
            continue
        rec = out.setdefault(str(r["arm"]), {"deltas": [], "n_seeds": r.get("n_seeds")})
        rec["deltas"].append(float(r["delta"]))
    return {arm: {"mean": float(np.mean(rec["deltas"])), "std": math.nan,
                  "n_seeds": rec["n_seeds"], "categories": len(rec["deltas"]), "per_seed": []}
            for arm, rec in out.items()}


def dcr_share(report: dict[str, Any], synthetic: str) -> float:
    """:data:`DCR` of one set from a report's dict (``report.json``); NaN when absent."""
    try:
        v = report["sets"][synthetic]["properties"]["privacy"]["summary"][DCR.key]
    except (KeyError, TypeError):
        return math.nan
    return math.nan if v is None else float(v)
