"""Aggregate per-seed metrics: mean +- std, paired difference to a baseline arm with
a paired test and a 95% confidence interval, and the share of the baseline -> oracle
gap closed. A difference whose interval covers 0 is *not resolved*: it is not a gain
or a loss, whatever its sign."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["summarize", "paired_test", "paired_ci", "verdict", "ceiling_shares", "CEILINGS"]

#: the real-data ceiling arms of a travel-sim experiment (see downstream.ruler)
CEILINGS = ("+fresh-positives", "+fresh-impressions")


def paired_test(a: np.ndarray, b: np.ndarray, test: str = "ttest") -> float:
    """Two-sided p-value of a paired test of ``a`` vs ``b`` (``ttest`` = scipy
    ``ttest_rel``, ``wilcoxon``); NaN with fewer than two pairs or no variation."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if len(a) < 2 or np.allclose(a - b, 0):
        return math.nan
    if test == "wilcoxon":
        return float(stats.wilcoxon(a, b).pvalue)
    return float(stats.ttest_rel(a, b).pvalue)


def paired_ci(d: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """t-interval of the mean of paired differences ``d`` (NaN with < 2 pairs)."""
    from scipy import stats

    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    if len(d) < 2:
        return math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return float(d.mean()) - half, float(d.mean()) + half


def verdict(low: float, high: float) -> str:
    """``"gain"`` / ``"loss"`` when the interval excludes 0, else ``"not resolved"``."""
    if math.isnan(low) or math.isnan(high) or low <= 0 <= high:
        return "not resolved"
    return "gain" if low > 0 else "loss"


def summarize(runs: list[dict[str, Any]], baseline: str = "real-only",
              test: str = "ttest") -> pd.DataFrame:
    """One row per (arm, metric) from ``runs`` (``{"arm", "seed", "metrics"}``).

    Columns: arm, metric, task, protocol, category, mean, std, n_seeds, delta,
    delta_std, ci_low, ci_high, resolved, p_value, oracle, gap_closed. ``delta``
    pairs seeds with the baseline arm; ``ci_low``/``ci_high`` is its 95%
    t-interval and ``resolved`` says whether it excludes 0 (see :func:`verdict`:
    for levels and losses "gain" only means "higher"); ``gap_closed`` = delta /
    (oracle - baseline mean) for AUCs with an oracle.
    """
    rows = []
    for r in runs:
        for name, rec in r["metrics"].items():
            rows.append({"arm": r["arm"], "seed": r["seed"], "metric": name,
                         "task": rec.get("task"), "protocol": rec.get("protocol"),
                         "category": rec.get("category"), "value": rec["value"],
                         "oracle": rec.get("oracle", math.nan)})
    long = pd.DataFrame(rows)
    if long.empty:
        return long
    out = []
    arms = list(dict.fromkeys(long["arm"]))
    metrics = list(dict.fromkeys(long["metric"]))
    base = long[long["arm"] == baseline].set_index(["metric", "seed"])["value"]
    for arm in arms:
        for m in metrics:
            part = long[(long["arm"] == arm) & (long["metric"] == m)].sort_values("seed")
            if part.empty:
                continue
            v = part["value"].to_numpy(float)
            first = part.iloc[0]
            rec = {"arm": arm, "metric": m, "task": first["task"],
                   "protocol": first["protocol"], "category": first["category"],
                   "mean": _nanmean(v), "std": _nanstd(v), "n_seeds": int(len(v)),
                   "oracle": _nanmean(part["oracle"].to_numpy(float)),
                   "delta": math.nan, "delta_std": math.nan, "ci_low": math.nan,
                   "ci_high": math.nan, "resolved": "", "p_value": math.nan,
                   "gap_closed": math.nan}
            if arm != baseline and m in base.index.get_level_values(0):
                b = base.loc[m].reindex(part["seed"]).to_numpy(float)
                d = v - b
                rec["delta"], rec["delta_std"] = _nanmean(d), _nanstd(d)
                rec["ci_low"], rec["ci_high"] = paired_ci(d)
                rec["resolved"] = verdict(rec["ci_low"], rec["ci_high"])
                rec["p_value"] = paired_test(v, b, test)
                gap = rec["oracle"] - _nanmean(b)
                if not math.isnan(gap) and abs(gap) > 1e-9:
                    rec["gap_closed"] = rec["delta"] / gap
            out.append(rec)
    return pd.DataFrame(out)


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if len(x) else math.nan


def _nanstd(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.std(ddof=1)) if len(x) > 1 else (0.0 if len(x) == 1 else math.nan)


def ceiling_shares(summary: pd.DataFrame, metric: str) -> dict[str, dict[str, float]]:
    """Per non-ceiling arm: its delta on ``metric`` as a share of each ceiling arm's delta
    (NaN when the ceiling's own delta is not resolved: a share of noise means nothing)."""
    part = summary[summary["metric"] == metric].set_index("arm")
    ceil = {c: part.loc[c] for c in CEILINGS if c in part.index}
    out: dict[str, dict[str, float]] = {}
    for arm, r in part.iterrows():
        if arm in ceil or pd.isna(r["delta"]) or not ceil:
            continue
        out[str(arm)] = {c: (float(r["delta"] / cr["delta"]) if cr["resolved"] == "gain"
                             else math.nan) for c, cr in ceil.items()}
    return out
