"""A JSON-ready description of a loaded source (what ``samplegen data describe`` shows).

Rows, columns with role/type/domain size, label rates (click rate, conversion rate
per click, CTCVR rate, auxiliary label rates), per-category rows/clicks/conversions,
the default split with its sparse and cold-start categories (computed on the
training part only), and suspected label leaks with their evidence.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.leaks import detect_leaks
from samplegen.schema import ColumnType
from samplegen.split import category_stats, make_split, sparse_categories

__all__ = ["describe_source"]

log = logging.getLogger(__name__)


def describe_source(source: Source, *, leaks: bool = True, split: bool = True,
                    seed: int = 0) -> dict[str, Any]:
    """Summarise ``source``; every value is a plain Python type (json.dumps-able)."""
    df, sch = source.table, source.schema
    n = len(df)
    ck, cv = sch.click, sch.conversion
    clicks = int(df[ck].sum()) if ck else None
    convs = int(df[cv].sum()) if cv else None
    out: dict[str, Any] = {
        "name": source.name,
        "format": source.meta.get("format", source.name),
        "path": source.meta.get("path"),
        "rows": n,
        "labels": {"click": ck, "conversion": cv, "aux_labels": sch.aux_labels,
                   "category": sch.category, "timestamp": sch.timestamp},
        "clicks": clicks,
        "conversions": convs,
        "click_rate": _ratio(clicks, n),
        "conversion_rate_per_click": _ratio(convs, clicks),
        "ctcvr_rate": _ratio(convs, n),
        "aux_label_rates": {a: _ratio(int(df[a].sum()), n) for a in sch.aux_labels},
        "columns": [_column(df, c) for c in sch.columns],
        "features": sch.features,
        "entities": [{"name": e.name, "key": e.key, "attributes": e.attributes}
                     for e in sch.entities],
    }
    cfg = source.meta.get("config") or {}
    if "click_rate" in cfg or "cvr" in cfg:
        out["configured"] = {"click_rate": cfg.get("click_rate"),
                             "conversion_rate_per_click": cfg.get("cvr")}
    out.update(_categories_and_split(source, seed, split))
    out["leaks"] = [lk.to_dict() for lk in detect_leaks(df, sch, seed=seed)] if leaks else []
    for key in ("invalid_conversions", "notes", "schema_file"):
        if key in source.meta:
            out[key] = source.meta[key]
    return _plain(out)


def _categories_and_split(source: Source, seed: int, split: bool) -> dict[str, Any]:
    """Per-category counts (all rows), the default split and the training-only sparsity."""
    sch = source.schema
    part: dict[str, Any] = {"categories": [], "split": None, "sparsity": None,
                            "sparse_categories": [], "cold_start_categories": []}
    if sch.category:
        stats = category_stats(source.table, sch)
        part["categories"] = [{"category": k, **v} for k, v in stats.to_dict("index").items()]
    if not split:
        return part
    sp = make_split(source, seed=seed)
    part["split"] = {**sp.to_dict(), "train_fingerprint": sp.train_fingerprint(source)}
    if sch.category:
        train, _, _ = sp.frames(source)
        rep = sparse_categories(train, sch)
        status = rep.table["status"].to_dict()
        train_conv = rep.table["conversions"].to_dict()
        for row in part["categories"]:
            row["train_conversions"] = train_conv.get(row["category"], 0)
            row["status"] = status.get(row["category"], "unknown")
        part.update(sparsity=rep.rule, sparse_categories=list(rep.sparse),
                    cold_start_categories=list(rep.cold_start))
    return part


def _ratio(a: int | None, b: int | None) -> float | None:
    return None if a is None or not b else a / b


def _column(df: pd.DataFrame, c: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"name": c.name, "role": c.role.value, "type": c.type.value,
                         "feature": c.is_feature, "key": c.key, "nullable": c.nullable}
    if c.type == ColumnType.CATEGORICAL:
        d["domain_size"] = len(c.values) if c.values is not None else int(df[c.name].nunique())
    elif c.type == ColumnType.NUMERICAL:
        d["min"], d["max"] = c.min, c.max
    d["missing"] = int(df[c.name].isna().sum())
    return d


def _plain(o: Any) -> Any:
    """Recursively turn numpy/pandas scalars into JSON-safe Python values (NaN -> None)."""
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.ndarray):
        return [_plain(v) for v in o.tolist()]
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (np.floating, float)):
        f = float(o)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    return o
