"""Taobao UserBehavior logs -> user-item rows with click and conversion labels.

The log (Tianchi dataset 649, ``UserBehavior.csv``, no header) has one line per
event: ``user_id,item_id,category_id,behavior_type,timestamp`` with behaviour in
``pv`` (page view), ``cart``, ``fav`` and ``buy``. It records no unclicked
impressions, so every user-item pair is a click (``click=1`` for any behaviour);
``conversion`` is 1 when the pair has a ``buy``; ``cart`` and ``fav`` are kept as
auxiliary labels; ``timestamp`` is the pair's first event (unix seconds).
"""

from __future__ import annotations

import pandas as pd

from samplegen.errors import DataError

__all__ = ["TAOBAO_COLUMNS", "TAOBAO_BEHAVIORS", "is_taobao_columns", "taobao_to_user_item"]

TAOBAO_COLUMNS = ["user_id", "item_id", "category_id", "behavior_type", "timestamp"]
TAOBAO_BEHAVIORS = ("pv", "buy", "cart", "fav")
_ALIASES = {
    "user_id": ("user_id", "user", "userid"),
    "item_id": ("item_id", "item", "itemid"),
    "category_id": ("category_id", "category", "cate_id", "categoryid"),
    "behavior_type": ("behavior_type", "behavior", "behaviour", "behavior_type_name", "type"),
    "timestamp": ("timestamp", "ts", "time"),
}


def _canonical(columns: list[str]) -> dict[str, str]:
    low = {c.lower(): c for c in columns}
    out = {}
    for canon, names in _ALIASES.items():
        hit = next((low[n] for n in names if n in low), None)
        if hit is not None:
            out[hit] = canon
    return out


def is_taobao_columns(columns: list[str]) -> bool:
    """True when a header names the five UserBehavior columns (common spellings accepted)."""
    return len(columns) == 5 and len(_canonical(columns)) == 5


def taobao_to_user_item(log: pd.DataFrame) -> pd.DataFrame:
    """Aggregate an event log into one row per (user, item), sorted by first event time."""
    df = log.rename(columns=_canonical([str(c) for c in log.columns]))
    missing = [c for c in TAOBAO_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"Taobao log lacks column(s) {missing}. Fix: provide "
                        f"{TAOBAO_COLUMNS} (header optional).")
    beh = df["behavior_type"].astype(str).str.strip().str.lower()
    unknown = sorted(set(beh) - set(TAOBAO_BEHAVIORS))
    if unknown:
        raise DataError(f"column 'behavior_type' has unknown value(s) {unknown[:5]}. Fix: use "
                        f"only {list(TAOBAO_BEHAVIORS)}.")
    keys = [df["user_id"].astype(str), df["item_id"].astype(str)]
    g = df.assign(_b=beh).groupby(keys, sort=False)
    out = pd.DataFrame({
        "category_id": g["category_id"].first().astype(str),
        "click": 1,
        "conversion": g["_b"].agg(lambda s: int((s == "buy").any())),
        "cart": g["_b"].agg(lambda s: int((s == "cart").any())),
        "fav": g["_b"].agg(lambda s: int((s == "fav").any())),
        "timestamp": g["timestamp"].min().astype("int64"),
    })
    out.index.names = ["user_id", "item_id"]
    out = out.reset_index()
    out = out.sort_values(["timestamp", "user_id", "item_id"], kind="stable")
    return out.reset_index(drop=True)[["user_id", "item_id", "category_id", "click",
                                        "conversion", "cart", "fav", "timestamp"]]
