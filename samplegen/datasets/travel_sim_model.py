"""travel-sim rows: exposure draws, structural linear predictors, calibration, label draws.

See :mod:`samplegen.datasets.travel_sim` for the generating equations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samplegen.datasets.travel_sim_world import (
    CATEGORIES,
    HOUR_P,
    LIFE_FAM,
    MEMBER_EFF,
    PLATFORM_CLICK,
    PLATFORM_CONV,
    PLATFORM_P,
    Items,
    Users,
    region_affinity,
)

DAY = 86_400
_CTR_EFF = np.array([c.ctr_eff for c in CATEGORIES], dtype=np.float32)
_CVR_EFF = np.array([c.cvr_eff for c in CATEGORIES], dtype=np.float32)
_FAMILY = np.array([c.family for c in CATEGORIES], dtype=np.float32)
_AFFINITY = region_affinity().astype(np.float32)


@dataclass
class Rows:
    """Drawn rows (impressions or ranked candidates) and their structural predictors.

    ``eta_click``/``eta_conv`` exclude the global intercepts, which are
    calibrated afterwards so that the overall rates match the configuration.
    """

    t: np.ndarray            # seconds since window start, sorted ascending
    user: np.ndarray
    item: np.ndarray
    category: np.ndarray
    platform: np.ndarray
    affinity: np.ndarray
    eta_click: np.ndarray
    eta_conv: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


def draw_rows(n: int, users: Users, items: Items, n_days: int, start_weekday: int,
              launch_s: list[float | None], rng: np.random.Generator) -> Rows:
    """Draw ``n`` exposures in time order: time, category (launch-aware), item, user, platform."""
    # hours come in blocks, but days and seconds are iid, so the pairs are iid after sorting
    t = np.sort(rng.integers(0, n_days, n, dtype=np.int64) * DAY
                + np.repeat(np.arange(24, dtype=np.int64) * 3600, rng.multinomial(n, HOUR_P))
                + rng.integers(0, 3600, n, dtype=np.int64))
    category = _draw_categories(t, launch_s, rng)
    item = np.empty(n, dtype=np.int32)
    for c, pool in enumerate(items.pools):
        rows = np.flatnonzero(category == c)
        if len(rows):
            item[rows] = draw_pool(pool, len(rows), rng)
    user = draw_pool(users.pool, n, rng)
    platform = np.where(rng.random(n) < 0.85, users.platform[user],
                        draw(np.asarray(PLATFORM_P), n, rng)).astype(np.int8)
    hour = (t // 3600) % 24
    weekday = (start_weekday + t // DAY) % 7
    return _predictors(t, user, item, category, platform, hour, weekday, users, items)


def draw(p: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` iid draws of indices with probabilities ``p`` (inverse CDF; for short ``p``)."""
    cdf = np.cumsum(np.asarray(p, dtype=np.float64))
    idx = np.searchsorted(cdf / cdf[-1], rng.random(size), side="right")
    return np.minimum(idx, len(cdf) - 1).astype(np.int32)


def draw_pool(pool: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` iid draws from ``pool`` (an index repeated by its integer weight)."""
    return pool[rng.integers(0, len(pool), size)]


def _draw_categories(t: np.ndarray, launch_s: list[float | None],
                     rng: np.random.Generator) -> np.ndarray:
    """Category per row; late categories take their share only after their launch time."""
    base = np.array([c.share for c in CATEGORIES])
    late = np.array([ls is not None for ls in launch_s])
    bounds = sorted({0.0, *[ls for ls in launch_s if ls is not None]})
    out = np.empty(len(t), dtype=np.int8)
    edges = [*bounds, np.inf]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        a, b = np.searchsorted(t, [lo, hi], side="left")
        if b <= a:
            continue
        active = np.array([(ls is None) or ls <= lo for ls in launch_s])
        p = np.where(active & ~late, base, 0.0)
        late_share = base[active & late].sum()
        p = p / p.sum() * (1.0 - late_share)
        p[active & late] = base[active & late]
        out[a:b] = draw(p / p.sum(), b - a, rng)
    return out


def _predictors(t: np.ndarray, user: np.ndarray, item: np.ndarray, category: np.ndarray,
                platform: np.ndarray, hour: np.ndarray, weekday: np.ndarray, users: Users,
                items: Items) -> Rows:
    """Structural linear predictors (shared across categories plus per-category effects)."""
    f32 = np.float32
    zp = np.log(items.price[item].astype(f32) / f32(600.0))
    sens = users.sensitivity[user]
    fam = (LIFE_FAM.astype(f32)[users.life[user]] * _FAMILY[category])
    aff = _AFFINITY[users.home[user], items.region[item]]
    star = items.star[item].astype(f32) - f32(1.5)
    evening = ((hour >= 19) & (hour <= 23)).astype(f32)
    night = (hour <= 5).astype(f32)
    weekend = (weekday >= 5).astype(f32)
    eta_click = (_CTR_EFF[category] + f32(0.5) * aff + f32(0.4) * fam + f32(0.2) * star
                 - f32(0.1) * zp - f32(0.2) * sens * zp + PLATFORM_CLICK.astype(f32)[platform]
                 + f32(0.15) * evening + users.click_re[user] + items.click_re[item])
    eta_conv = (_CVR_EFF[category] + aff + f32(0.7) * fam
                + MEMBER_EFF.astype(f32)[users.member[user]] + f32(0.25) * star
                - f32(0.6) * zp - f32(0.35) * sens * zp + PLATFORM_CONV.astype(f32)[platform]
                + f32(0.1) * weekend - f32(0.2) * night + users.conv_re[user]
                + items.conv_re[item])
    return Rows(t=t, user=user, item=item, category=category, platform=platform,
                affinity=aff, eta_click=eta_click, eta_conv=eta_conv)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function (float32 in, float32 out; float64 otherwise)."""
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float64)
    return 1 / (1 + np.exp(-x))


def calibrate(eta: np.ndarray, target: float, weights: np.ndarray | None = None,
              max_n: int = 400_000) -> float:
    """Intercept ``a`` with weighted mean of sigmoid(a + eta) equal to ``target`` (Newton).

    Uses a strided subset of at most ``max_n`` rows (rows are in time order, so a
    stride covers the whole window) to keep generation fast.
    """
    step = max(1, len(eta) // max_n)
    e = np.asarray(eta[::step], dtype=np.float64)
    w = np.ones_like(e) if weights is None else np.asarray(weights[::step], dtype=np.float64)
    e = e.astype(np.float64)
    a = float(np.log(target / (1 - target)) - np.average(e, weights=w))
    for _ in range(50):
        p = sigmoid(a + e)
        f = np.average(p, weights=w) - target
        d = np.average(p * (1 - p), weights=w)
        a -= f / max(d, 1e-12)
        if abs(f) < target * 1e-7:
            break
    return a


@dataclass
class Intercepts:
    """Calibrated global intercepts of every equation."""

    click: float
    conv: float
    same_category: float
    same_destination: float

    def to_dict(self) -> dict[str, float]:
        """Full-precision values (a same-world rebuild needs them exactly)."""
        return {k: float(v) for k, v in self.__dict__.items()}


def aux_predictors(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """Predictors of the Fliggy auxiliary labels (same-category / same-destination purchase)."""
    e_sc = 0.6 * rows.eta_conv + 0.4 * rows.eta_click
    e_sd = 0.6 * rows.eta_conv + 0.3 * rows.eta_click + 0.5 * rows.affinity
    return e_sc, e_sd


def fit_intercepts(rows: Rows, click_rate: float, cvr: float, same_category_rate: float,
                   same_destination_rate: float) -> Intercepts:
    """Calibrate all intercepts on the drawn impressions."""
    a_click = calibrate(rows.eta_click, click_rate)
    p_click = sigmoid(a_click + rows.eta_click)
    a_conv = calibrate(rows.eta_conv, cvr, weights=p_click)
    e_sc, e_sd = aux_predictors(rows)
    return Intercepts(a_click, a_conv, calibrate(e_sc, same_category_rate),
                      calibrate(e_sd, same_destination_rate))


def draw_labels(rows: Rows, ic: Intercepts, rng: np.random.Generator,
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Labels (click, conversion, aux) and oracle probabilities for impressions."""
    n = len(rows)
    p_click = sigmoid(ic.click + rows.eta_click)
    p_conv = sigmoid(ic.conv + rows.eta_conv)
    click = rng.random(n) < p_click
    conv = click & (rng.random(n) < p_conv)
    sc, sd = _draw_aux(rows, ic, conv, rng)
    labels = {"click": click, "conversion": conv, "same_category_purchase": sc,
              "same_destination_purchase": sd}
    oracle = {"p_click": p_click, "p_conversion": p_conv, "p_ctcvr": p_click * p_conv}
    return ({k: v.astype(np.int8) for k, v in labels.items()},
            {k: v.astype(np.float32) for k, v in oracle.items()})


def _draw_aux(rows: Rows, ic: Intercepts, bought: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    e_sc, e_sd = aux_predictors(rows)
    n = len(rows)
    sc = (rng.random(n) < sigmoid(ic.same_category + e_sc)) | bought
    sd = (rng.random(n) < sigmoid(ic.same_destination + e_sd)) | bought
    return sc, sd


def global_predictor(rows: Rows) -> np.ndarray:
    """Predictor of a purchase of a ranked-but-unexposed candidate in another scene."""
    return rows.eta_conv + 0.5 * rows.eta_click


def draw_global_labels(rows: Rows, ic: Intercepts, a_global: float, rng: np.random.Generator,
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Labels (global_purchase, aux) and oracle probabilities for ranked candidates."""
    p_global = sigmoid(a_global + global_predictor(rows))
    bought = rng.random(len(rows)) < p_global
    sc, sd = _draw_aux(rows, ic, bought, rng)
    p_click = sigmoid(ic.click + rows.eta_click)
    p_conv = sigmoid(ic.conv + rows.eta_conv)
    labels = {"global_purchase": bought, "same_category_purchase": sc,
              "same_destination_purchase": sd}
    oracle = {"p_global_purchase": p_global, "p_click": p_click, "p_conversion": p_conv,
              "p_ctcvr": p_click * p_conv}
    return ({k: v.astype(np.int8) for k, v in labels.items()},
            {k: v.astype(np.float32) for k, v in oracle.items()})
