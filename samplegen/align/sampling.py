"""Drawing rows without replacement in proportion to weights, stratified by category."""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_draw", "stratified_quotas", "stratified_draw"]


def weighted_draw(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``n`` rows drawn without replacement with probability proportional to weights.

    Efraimidis-Spirakis keys ``log(u) / w``: the ``n`` largest keys form the draw.
    Rows with weight 0 come last (only drawn when nothing else is left).
    """
    w = np.asarray(weights, dtype=float)
    if n <= 0:
        return np.zeros(0, dtype=int)
    if n > len(w):
        raise ValueError(f"cannot draw {n} rows from {len(w)}")
    u = rng.random(len(w))
    pos = w > 0
    keys = np.full(len(w), -np.inf)
    keys[pos] = np.log(np.maximum(u[pos], 1e-300)) / w[pos]
    # zero-weight rows: ordered among themselves by a second random key, below every positive row
    order = np.lexsort((u, keys))[::-1]
    return np.sort(order[:n])


def stratified_quotas(pool_counts: dict[str, int], available: dict[str, int],
                      n: int) -> dict[str, int]:
    """Rows to draw per stratum: ``n`` split by pool shares (largest remainder), capped by
    ``available``; what a stratum cannot supply goes to the others in proportion."""
    keys = sorted(pool_counts)
    total = sum(pool_counts.values())
    quota = {k: 0 for k in keys}
    if n <= 0 or total == 0:
        return quota
    need = n
    share = {k: pool_counts[k] / total for k in keys}
    while need > 0:
        room = {k: available.get(k, 0) - quota[k] for k in keys}
        open_keys = [k for k in keys if room[k] > 0]
        if not open_keys:
            break
        s = sum(share[k] for k in open_keys) or 1.0
        raw = {k: need * share[k] / s for k in open_keys}
        add = {k: min(int(np.floor(raw[k])), room[k]) for k in open_keys}
        left = need - sum(add.values())
        for k in sorted(open_keys, key=lambda k: (-(raw[k] - np.floor(raw[k])), k)):
            if left <= 0:
                break
            if add[k] < room[k]:
                add[k] += 1
                left -= 1
        if sum(add.values()) == 0:
            break
        for k in open_keys:
            quota[k] += add[k]
        need = n - sum(quota.values())
    return quota


def stratified_draw(weights: np.ndarray, strata: np.ndarray, n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Weighted draw of ``n`` positive-weight rows keeping each stratum's share of the pool."""
    w = np.asarray(weights, dtype=float)
    strata = np.asarray(strata).astype(str)
    keys, counts = np.unique(strata, return_counts=True)
    pool_counts = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    available = {k: int(np.sum((strata == k) & (w > 0))) for k in pool_counts}
    quota = stratified_quotas(pool_counts, available, n)
    out = []
    for k in sorted(quota):
        if quota[k] == 0:
            continue
        members = np.flatnonzero((strata == k) & (w > 0))
        out.append(members[weighted_draw(w[members], quota[k], rng)])
    return np.sort(np.concatenate(out)) if out else np.zeros(0, dtype=int)
