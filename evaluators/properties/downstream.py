"""Downstream lift: the ESMM results of ``samplegen validate`` (its ``metrics.json``).

The file is read loosely: the ``summary`` records written by
``downstream.experiment`` (arm, metric, category, mean, std, delta, delta_std,
p_value, ...) when present, otherwise every mapping holding a numeric
``mean`` anywhere in the JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from evaluators.properties.base import PropertyResult
from evaluators.scores import CATEGORY_CVR_AUC_DELTA, category_cvr_auc_delta, category_metric
from samplegen.errors import UsageError

__all__ = ["DownstreamLift", "load_validate_metrics", "downstream_table"]

_COLUMNS = ["arm", "metric", "category", "protocol", "mean", "std", "n_seeds", "delta",
            "delta_std", "p_value", "gap_closed"]
_CAT = re.compile(r"\[cat(?:egory)?=([^\]]+)\]")


def load_validate_metrics(path: str | Path) -> dict[str, Any]:
    """The JSON of a ``samplegen validate`` metrics file, or a clear :class:`UsageError`."""
    p = Path(path)
    if p.is_dir():
        p = p / "metrics.json"
    if not p.is_file():
        raise UsageError(f"validate metrics file {str(p)!r} does not exist. Fix: pass the "
                         "metrics.json written by 'samplegen validate'.")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise UsageError(f"{str(p)!r} is not valid JSON ({e}). Fix: pass the metrics.json "
                         "written by 'samplegen validate'.") from e
    if not isinstance(data, dict):
        raise UsageError(f"{str(p)!r} holds no JSON object. Fix: pass the metrics.json "
                         "written by 'samplegen validate'.")
    return data


def downstream_table(data: dict[str, Any]) -> pd.DataFrame:
    """One row per (arm, metric): mean, std and the paired delta to real-only when given."""
    summary = data.get("summary")
    if isinstance(summary, list) and summary and all(isinstance(r, dict) for r in summary):
        df = pd.DataFrame(summary)
    else:
        df = pd.DataFrame(_walk(data, []))
    if df.empty:
        return pd.DataFrame(columns=_COLUMNS)
    for c in _COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    missing_cat = df["category"].isna()
    df.loc[missing_cat, "category"] = df.loc[missing_cat, "metric"].map(
        lambda m: (_CAT.search(str(m)).group(1) if _CAT.search(str(m)) else None))
    for c in ("mean", "std", "delta", "delta_std", "p_value", "gap_closed", "n_seeds"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df[_COLUMNS].reset_index(drop=True)


def _walk(obj: Any, path: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if isinstance(obj, dict):
        if isinstance(obj.get("mean"), (int, float)):
            names = [p for p in path if p.lower() not in
                     ("sets", "arms", "results", "metrics", "summary", "deltas", "paired")]
            is_delta = any("delta" in p.lower() or "paired" in p.lower() for p in path)
            arm = names[0] if len(names) > 1 else "?"
            metric = "/".join(names[1:] if len(names) > 1 else names)
            rec = {"arm": arm, "metric": metric}
            if is_delta:
                rec.update(delta=obj["mean"], delta_std=obj.get("std"))
            else:
                rec.update({k: obj.get(k) for k in ("mean", "std", "delta", "delta_std",
                                                    "p_value", "n_seeds", "category")})
            rows.append(rec)
        else:
            for k, v in obj.items():
                rows.extend(_walk(v, [*path, str(k)]))
    elif isinstance(obj, list):
        for v in obj:
            rows.extend(_walk(v, path))
    return _merge(rows)


def _merge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        cur = merged.setdefault((r["arm"], r["metric"]), {})
        cur.update({k: v for k, v in r.items() if v is not None})
    return list(merged.values())


class DownstreamLift:
    """Per-category CVR AUC deltas (mean +- std over seeds) from a validate run."""

    name: ClassVar[str] = "downstream"
    title: ClassVar[str] = "Downstream lift (ESMM)"
    description: ClassVar[str] = (
        "ESMM trained on real rows vs real + each synthetic set over several seeds "
        "(samplegen validate); paired AUC deltas to real-only. Informational: not part of "
        "the overall score. " + CATEGORY_CVR_AUC_DELTA.explain())

    def compute(self, data: dict[str, Any] | None, targets: list[str]) -> PropertyResult:
        """Table of every metric; per arm :data:`~evaluators.scores.CATEGORY_CVR_AUC_DELTA`
        (click-space only: the same number as the demo's table)."""
        if not data:
            return PropertyResult(self.name, float("nan"), pd.DataFrame(columns=_COLUMNS),
                                  notes=["no validate metrics given (--validate-metrics)"])
        table = downstream_table(data)
        cats = list(targets) or sorted({str(c) for c in table["category"].dropna()})
        per_cat = table[table["metric"].isin([category_metric(c) for c in cats])]
        summary: dict[str, Any] = {}
        for arm, rec in category_cvr_auc_delta(data, cats).items():
            d = per_cat.loc[per_cat["arm"] == arm, "delta"].dropna()
            summary[arm] = {CATEGORY_CVR_AUC_DELTA.key: rec["mean"], "std": rec["std"],
                            "n_seeds": rec["n_seeds"], "categories": rec["categories"],
                            "categories_improved": int((d > 0).sum()),
                            "protocol": "click-space"}
        notes = ["deltas are paired over seeds against the real-only arm",
                 CATEGORY_CVR_AUC_DELTA.explain()]
        if "protocol" in data and isinstance(data["protocol"], dict):
            notes += [f"{k}: {v}" for k, v in data["protocol"].items()]
        if "seeds" in data:
            notes.append(f"seeds: {data['seeds']}")
        return PropertyResult(self.name, float("nan"), table, summary, notes,
                              artifacts={"per_category": per_cat})
