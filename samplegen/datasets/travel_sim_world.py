"""travel-sim world: categories, destinations, structural effects, and the user/item catalogues.

Everything here is fixed data or a seeded draw of the catalogues (users, items);
the impression rows and their labels are drawn in :mod:`travel_sim_model`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ------------------------------------------------------------------ regions / places
HOME_REGIONS = ["North China", "Northeast China", "East China", "South China",
                "Central China", "Southwest China", "Northwest China"]
DEST_REGIONS = [*HOME_REGIONS, "East Asia", "Southeast Asia", "Europe"]
OVERSEAS = {"East Asia", "Southeast Asia", "Europe"}

DESTINATIONS: dict[str, str] = {
    "Beijing": "North China", "Chongli": "North China",
    "Harbin": "Northeast China", "Changbaishan": "Northeast China",
    "Shanghai": "East China", "Hangzhou": "East China", "Xiamen": "East China",
    "Huangshan": "East China",
    "Sanya": "South China", "Guangzhou": "South China", "Guilin": "South China",
    "Zhangjiajie": "Central China", "Wuhan": "Central China",
    "Chengdu": "Southwest China", "Lijiang": "Southwest China", "Chongqing": "Southwest China",
    "Xi'an": "Northwest China", "Dunhuang": "Northwest China", "Altay": "Northwest China",
    "Tokyo": "East Asia", "Hokkaido": "East Asia", "Seoul": "East Asia",
    "Bangkok": "Southeast Asia", "Bali": "Southeast Asia", "Singapore": "Southeast Asia",
    "Paris": "Europe", "Zermatt": "Europe",
}
DEST_NAMES = list(DESTINATIONS)
_CITIES = ["Beijing", "Harbin", "Shanghai", "Hangzhou", "Xiamen", "Sanya", "Guangzhou",
           "Guilin", "Wuhan", "Chengdu", "Lijiang", "Chongqing", "Xi'an", "Tokyo", "Seoul",
           "Bangkok", "Singapore", "Paris", "Hokkaido", "Bali"]
_DOMESTIC = [d for d, r in DESTINATIONS.items() if r not in OVERSEAS]
_ABROAD = [d for d, r in DESTINATIONS.items() if r in OVERSEAS]

# --------------------------------------------------------------------- user attributes
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
AGE_P = [0.17, 0.33, 0.25, 0.14, 0.11]
AGE_SENS = np.array([0.5, 0.1, -0.2, -0.2, 0.2])           # price sensitivity shift
CITY_TIERS = ["tier-1", "tier-2", "tier-3", "tier-4+"]
TIER_P = [0.22, 0.30, 0.28, 0.20]
TIER_SENS = np.array([-0.5, -0.15, 0.2, 0.5])
HOME_P = [0.16, 0.08, 0.26, 0.17, 0.12, 0.14, 0.07]
MEMBERSHIPS = ["none", "silver", "gold", "platinum"]
MEMBER_P = [0.55, 0.25, 0.14, 0.06]
MEMBER_EFF = np.array([0.0, 0.15, 0.35, 0.6])               # conversion effect
LIFE_STAGES = ["single", "couple", "family", "senior"]
LIFE_FAM = np.array([-0.5, 0.0, 1.0, 0.3])                  # family orientation
# P(life stage | age band)
LIFE_P = np.array([[0.85, 0.13, 0.02, 0.00],
                   [0.40, 0.35, 0.25, 0.00],
                   [0.12, 0.23, 0.65, 0.00],
                   [0.08, 0.37, 0.45, 0.10],
                   [0.05, 0.25, 0.10, 0.60]])
PLATFORMS = ["iOS app", "Android app", "Alipay mini program", "web"]
PLATFORM_P = [0.38, 0.36, 0.18, 0.08]
PLATFORM_CLICK = np.array([0.1, 0.0, 0.05, -0.2])
PLATFORM_CONV = np.array([0.1, 0.0, 0.15, -0.3])
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
HOUR_P = np.array([1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.6, 2.4, 2.8, 3.0, 3.2,
                   3.4, 3.2, 3.0, 3.0, 3.1, 3.3, 3.6, 4.2, 4.8, 5.0, 4.2, 2.4])
HOUR_P = HOUR_P / HOUR_P.sum()

# ------------------------------------------------------------------------ item attributes
PRICE_BANDS = ["budget", "mid-range", "premium", "luxury"]
PRICE_CUTS = np.array([300.0, 1000.0, 4000.0])               # CNY band edges
STARS = ["2-star", "3-star", "4-star", "5-star"]


@dataclass(frozen=True)
class CategorySpec:
    """One item category: traffic share, catalogue size, price and structural effects."""

    name: str
    share: float            # impression share (after launch, for late categories)
    n_items: int
    price_median: float     # CNY, domestic
    price_sigma: float
    ctr_eff: float          # per-category click effect (logit)
    cvr_eff: float          # per-category conversion effect (logit)
    family: float           # family-friendliness of the item type
    places: tuple[str, ...]
    launch: float | None = None   # fraction of the time window when it launches


CATEGORIES: list[CategorySpec] = [
    CategorySpec("hotel", 0.255, 600, 600, 0.7, 0.0, 0.72, 0.3, tuple(DEST_NAMES)),
    CategorySpec("flight", 0.20, 300, 1100, 0.5, -0.1, 1.27, 0.0, tuple(_CITIES)),
    CategorySpec("attraction ticket", 0.13, 400, 150, 0.6, 0.1, -0.59, 0.8, tuple(DEST_NAMES)),
    CategorySpec("train ticket", 0.10, 150, 300, 0.5, -0.2, 0.5, 0.0,
                 tuple(d for d in _CITIES if d in _DOMESTIC)),
    CategorySpec("homestay", 0.08, 300, 450, 0.6, 0.1, 0.38, 0.5,
                 (*_DOMESTIC, "Bali", "Hokkaido")),
    CategorySpec("tour package", 0.07, 200, 3500, 0.6, 0.0, 1.07, 1.0, tuple(DEST_NAMES)),
    CategorySpec("car rental", 0.05, 100, 400, 0.5, -0.1, 0.57, 0.6,
                 ("Sanya", "Lijiang", "Hokkaido", "Xiamen", "Chengdu", "Dunhuang", "Altay",
                  "Bali", "Harbin")),
    CategorySpec("airport transfer", 0.045, 80, 180, 0.4, -0.3, 0.45, 0.2, tuple(_CITIES)),
    CategorySpec("visa", 0.03, 40, 500, 0.4, -0.2, 1.4, 0.0, tuple(_ABROAD)),
    CategorySpec("cruise", 0.04, 60, 7000, 0.5, 0.3, 1.0, 1.0,
                 ("Shanghai", "Xiamen", "Sanya", "Singapore", "Tokyo")),
    CategorySpec("ski trip", 0.16, 80, 1800, 0.5, 0.4, 1.85, 0.6,
                 ("Harbin", "Changbaishan", "Altay", "Chongli", "Hokkaido", "Zermatt"),
                 launch=0.675),
    CategorySpec("theme park", 0.16, 60, 450, 0.35, 0.4, 1.0, 1.2,
                 ("Shanghai", "Beijing", "Guangzhou", "Tokyo", "Singapore", "Hangzhou"),
                 launch=0.685),
]
CATEGORY_NAMES = [c.name for c in CATEGORIES]


def region_affinity() -> np.ndarray:
    """Home region x destination region preference (logit units), shared by all categories."""
    a = np.zeros((len(HOME_REGIONS), len(DEST_REGIONS)))
    idx = {r: i for i, r in enumerate(DEST_REGIONS)}
    for h, home in enumerate(HOME_REGIONS):
        a[h, idx[home]] += 0.3                                   # short trips near home
        if home in ("North China", "Northeast China", "Northwest China"):
            a[h, idx["South China"]] += 0.6                      # escape the winter
            a[h, idx["Southeast Asia"]] += 0.5
        else:
            a[h, idx["Northeast China"]] += 0.6                  # see the snow
            a[h, idx["East Asia"]] += 0.3
        if home in ("East China", "North China"):
            a[h, idx["Europe"]] += 0.4
        if home in ("Southwest China", "Central China"):
            a[h, idx["Southwest China"]] += 0.2
    return a


@dataclass
class Users:
    """User catalogue: visible attribute codes plus latent traits (never columns)."""

    age: np.ndarray
    tier: np.ndarray
    home: np.ndarray
    member: np.ndarray
    life: np.ndarray
    platform: np.ndarray       # preferred platform
    pool: np.ndarray           # user index repeated by its integer activity weight
    sensitivity: np.ndarray    # latent price sensitivity
    click_re: np.ndarray       # latent click propensity
    conv_re: np.ndarray        # latent purchase propensity

    def __len__(self) -> int:
        return len(self.age)


@dataclass
class Items:
    """Item catalogue: category, destination, price, star, popularity, latent quality."""

    category: np.ndarray
    dest: np.ndarray
    region: np.ndarray
    price: np.ndarray
    band: np.ndarray
    star: np.ndarray
    pools: list[np.ndarray]    # per category: item index repeated by its integer popularity
    click_re: np.ndarray
    conv_re: np.ndarray
    by_category: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.category)


def make_users(n: int, rng: np.random.Generator) -> Users:
    """Draw ``n`` users with fixed attributes and latent traits."""
    age = rng.choice(len(AGE_BANDS), n, p=AGE_P).astype(np.int8)
    tier = rng.choice(len(CITY_TIERS), n, p=TIER_P).astype(np.int8)
    home = rng.choice(len(HOME_REGIONS), n, p=HOME_P).astype(np.int8)
    # richer cities hold more members
    member_p = np.array(MEMBER_P)[None, :] * np.array([[1, 1.3, 1.5, 1.8], [1, 1.1, 1.1, 1.1],
                                                      [1, 0.9, 0.8, 0.7], [1, 0.7, 0.5, 0.4]])
    member_p /= member_p.sum(1, keepdims=True)
    member = _choice_rows(member_p[tier], rng).astype(np.int8)
    life = _choice_rows(LIFE_P[age], rng).astype(np.int8)
    sens = (0.8 * rng.standard_normal(n) + TIER_SENS[tier] + AGE_SENS[age] - 0.3 * member)
    sens = (sens - sens.mean()) / sens.std()
    return Users(
        age=age, tier=tier, home=home, member=member, life=life,
        platform=rng.choice(len(PLATFORMS), n, p=PLATFORM_P).astype(np.int8),
        pool=_pool(np.ceil(3.0 * rng.lognormal(0.0, 1.0, n))),
        sensitivity=sens.astype(np.float32),
        click_re=(0.5 * rng.standard_normal(n)).astype(np.float32),
        conv_re=(0.4 * rng.standard_normal(n)).astype(np.float32),
    )


def make_items(rng: np.random.Generator) -> Items:
    """Draw the item catalogue (fixed attributes per item_id, grouped by category)."""
    cats, dests, prices, stars, pops = [], [], [], [], []
    dest_index = {d: i for i, d in enumerate(DEST_NAMES)}
    for ci, spec in enumerate(CATEGORIES):
        n = spec.n_items
        places = np.array([dest_index[p] for p in spec.places])
        d = rng.choice(places, n)
        abroad = np.array([DESTINATIONS[DEST_NAMES[i]] in OVERSEAS for i in d])
        mult = np.where(abroad & (spec.name != "visa"), 1.6, 1.0)
        price = spec.price_median * mult * rng.lognormal(0.0, spec.price_sigma, n)
        price = np.maximum(np.round(price / 10.0) * 10.0, 10.0)
        # star tier follows price rank within the category, with noise
        rank = (np.argsort(np.argsort(np.log(price) + 0.4 * rng.standard_normal(n))) + 0.5) / n
        star = np.minimum((rank * 4).astype(int), 3)
        cats.append(np.full(n, ci))
        dests.append(d)
        prices.append(price)
        stars.append(star)
        pop = np.ceil(200.0 / (np.arange(n) + 1.0) ** 0.8)   # Zipf-like integer weights
        pops.append(rng.permutation(pop))
    category = np.concatenate(cats).astype(np.int8)
    dest = np.concatenate(dests).astype(np.int8)
    region_of = np.array([DEST_REGIONS.index(DESTINATIONS[d]) for d in DEST_NAMES])
    price = np.concatenate(prices)
    n_all = len(category)
    items = Items(
        category=category, dest=dest, region=region_of[dest].astype(np.int8),
        price=price.astype(np.int32), band=np.searchsorted(PRICE_CUTS, price, "right")
        .astype(np.int8), star=np.concatenate(stars).astype(np.int8),
        pools=[],
        click_re=(0.4 * rng.standard_normal(n_all)).astype(np.float32),
        conv_re=(0.4 * rng.standard_normal(n_all)).astype(np.float32),
        by_category=[np.flatnonzero(category == c) for c in range(len(CATEGORIES))],
    )
    weights = np.concatenate(pops)
    items.pools = [m[_pool(weights[m])] for m in items.by_category]
    return items


def _pool(weights: np.ndarray) -> np.ndarray:
    """Positions 0..n-1, each repeated by its integer weight."""
    return np.repeat(np.arange(len(weights), dtype=np.int32), weights.astype(np.int64))


def _choice_rows(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of the probability matrix ``p``."""
    u = rng.random(len(p))[:, None]
    return (u > np.cumsum(p, axis=1)).sum(axis=1).clip(0, p.shape[1] - 1)
