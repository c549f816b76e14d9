"""A small seeded impression table with known probabilities, for downstream tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.schema import Column, ColumnType, Role, Schema


def toy_schema() -> Schema:
    cat = ColumnType.CATEGORICAL
    lab = dict(type=ColumnType.NUMERICAL, min=0.0, max=1.0, decimals=0, integer=True)
    return Schema([
        Column("user_id", Role.USER, cat, key=True),
        Column("user_age", Role.USER, cat),
        Column("item_category", Role.CATEGORY, cat),
        Column("item_price", Role.ITEM, ColumnType.NUMERICAL),
        Column("context_hour", Role.CONTEXT, cat),
        Column("click", Role.CLICK, **lab),
        Column("conversion", Role.CONVERSION, **lab),
        Column("same_category_purchase", Role.AUX_LABEL, **lab),
        Column("ts", Role.TIMESTAMP, ColumnType.NUMERICAL),
    ])


def toy_source(n: int = 3000, seed: int = 0) -> Source:
    """Impressions whose click/conversion depend on age, category and price."""
    rng = np.random.default_rng(seed)
    cats = np.array(["hotel", "flight", "cruise", "ski"])
    age = rng.integers(0, 4, n)
    cat = rng.choice(4, n, p=[0.5, 0.3, 0.1, 0.1])
    price = rng.lognormal(6, 1, n)
    hour = rng.integers(0, 24, n)
    z_click = -1.5 + 0.5 * age - 0.3 * cat + 0.2 * (hour > 18)
    p_click = 1 / (1 + np.exp(-z_click))
    z_conv = -1.0 + 0.8 * (age >= 2) - 0.4 * (np.log(price) - 6) + 0.3 * (cat == 0)
    p_conv = 1 / (1 + np.exp(-z_conv))
    click = (rng.random(n) < p_click).astype(int)
    conv = click * (rng.random(n) < p_conv).astype(int)
    aux = np.maximum(conv, (rng.random(n) < 0.05).astype(int))
    table = pd.DataFrame({
        "user_id": [f"u{i}" for i in rng.integers(0, 200, n)],
        "user_age": [f"a{a}" for a in age],
        "item_category": cats[cat],
        "item_price": price.round(2),
        "context_hour": [str(h) for h in hour],
        "click": click, "conversion": conv, "same_category_purchase": aux,
        "ts": np.arange(n, dtype=float),
    })
    oracle = pd.DataFrame({"p_click": p_click, "p_conversion": p_conv})
    g = min(n // 3, 1000)
    gc = table.sample(g, random_state=seed).reset_index(drop=True)
    gc = gc.drop(columns=["click", "conversion", "same_category_purchase"])
    gc["global_conversion"] = (rng.random(g) < 0.1).astype(int)
    return Source("toy", table, toy_schema(), oracle=oracle, extras={"global_candidates": gc})
