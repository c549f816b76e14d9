"""A constructed conversion table with a planted interaction, for the alignment tests.

Real rows: a high price band converts only together with gold membership
(p = 0.35; high price with any other membership never converts). The synthetic
pool is made of real positives, and a planted subset carries the wrong
combination (price band "high" with membership "basic").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from samplegen.schema import Schema, infer_schema

__all__ = ["make_real", "make_pool", "toy"]


def make_real(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Impressions with user/item/context features, click and conversion labels."""
    rng = np.random.default_rng(seed)
    mem = rng.choice(["gold", "silver", "basic"], n, p=[0.2, 0.3, 0.5])
    price = rng.choice(["low", "mid", "high"], n, p=[0.4, 0.4, 0.2])
    cat = rng.choice(["beach", "city", "ski"], n, p=[0.5, 0.4, 0.1])
    age = rng.integers(18, 70, n).astype(float)
    dev = rng.choice(["ios", "android"], n)
    p = np.where(price == "low", 0.10, np.where(price == "mid", 0.05, 0.0))
    p = np.where((price == "high") & (mem == "gold"), 0.35, p)
    conv = (rng.random(n) < p).astype(int)
    click = np.maximum(conv, (rng.random(n) < 0.2).astype(int))
    return pd.DataFrame({"user_membership": mem, "item_price_band": price, "item_category": cat,
                         "user_age": age, "device": dev, "click": click, "conversion": conv})


def make_pool(real: pd.DataFrame, n: int = 600, planted: int = 120,
              seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """Synthetic positives for categories beach and ski; the last ``planted`` rows are wrong."""
    rng = np.random.default_rng(seed)
    pos = real[real["conversion"] == 1]
    good = pos.sample(n - planted, replace=True, random_state=seed).reset_index(drop=True)
    bad = pos.sample(planted, replace=True, random_state=seed + 1).reset_index(drop=True)
    bad["item_price_band"] = "high"
    bad["user_membership"] = "basic"
    pool = pd.concat([good, bad], ignore_index=True)
    pool["item_category"] = rng.choice(["beach", "ski"], len(pool))
    mask = np.r_[np.zeros(n - planted, bool), np.ones(planted, bool)]
    return pool, mask


def toy() -> tuple[pd.DataFrame, Schema, pd.DataFrame, np.ndarray]:
    """(real, schema, pool, planted mask) with the default sizes."""
    real = make_real()
    pool, mask = make_pool(real)
    return real, infer_schema(real), pool, mask
