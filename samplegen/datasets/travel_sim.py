"""travel-sim: a seeded simulator of a Fliggy-like travel funnel (exposure -> click -> purchase).

Default size: 3,000,000 impressions (``DEFAULT_N_IMPRESSIONS``), the smallest
multiple of 0.5M at which, under the default time split (70/10/20), both
late-launched categories ("ski trip", "theme park") have <= 20 training
conversions and >= 50 test conversions for every seed tried (0-5; at 2.5M seed 4
falls to 48). With the default rates that is ~60k clicks and ~840 conversions.
Speed (2-core dev box, shared): ~2-3 s per 1M impressions, ~7 s for the default
with the global-candidate side table; the default table takes ~120 MB
(``python -m bench travel_sim`` prints the figures).

World
-----
* users ``u`` (``n_users = max(2000, n_impressions // 25)``): visible ``user_age_band``,
  ``user_city_tier``, ``user_home_region``, ``user_membership``, ``user_life_stage``
  ("single", "couple", "family", "senior" - family status is a *visible* column);
  latent price sensitivity ``s_u`` (standardised; higher in low-tier cities, for the
  young and for non-members), latent click/purchase propensities
  ``r_u ~ N(0, .5^2)``, ``q_u ~ N(0, .4^2)`` and an activity weight (lognormal).
* items ``i`` (fixed catalogue of 2,370 items over 12 categories, long tail):
  ``item_category``, ``item_destination`` and its ``item_region``, ``item_price``
  (CNY, lognormal per category, x1.6 abroad), ``item_price_band`` (budget < 300 <=
  mid-range < 1000 <= premium < 4000 <= luxury), ``item_star`` (2-5, follows price
  rank), latent click/purchase quality ``v_i ~ N(0,.4^2)``, ``w_i ~ N(0,.4^2)``,
  Zipf popularity within its category.
* context: ``event_time`` over ``n_days`` days from ``start``; ``weekday`` and
  ``hour`` derived from it (diurnal traffic); ``platform`` (the user's usual one
  85% of the time).
* exposure: category ``c`` with share ``pi_c``; "ski trip" and "theme park" are
  launched late (fractions 0.675 and 0.685 of the window) and take 16% of the
  traffic each once launched (cold-start); item by popularity within ``c``; user
  by activity.
* global candidates (``with_global``): ``global_multiple`` x (clicked impressions)
  rows that reached this scene's ranking but were not exposed, drawn like the
  impressions (same users, items, time window, equations); columns as the table
  with click/conversion replaced by ``global_purchase`` (bought in another scene);
  their aux labels are OR-ed with ``global_purchase``. Their oracle
  (``p_global_purchase``, and the would-be ``p_click``/``p_conversion``/``p_ctcvr``)
  is ``extras["global_candidates_oracle"]``, aligned by position.

Generating equations (logits; ``z = log(price / 600)``, ``F = fam(life stage) *
family(c)``, ``A = affinity[home region, destination region]``, ``k = star - 3.5``)::

    eta_click = a_click + ctr_c + 0.5 A + 0.4 F + 0.2 k - 0.1 z - 0.3 s_u z
                + platform_click + 0.15 [19h-23h] + r_u + v_i
    eta_conv  = a_conv + cvr_c + A + 0.7 F + member_eff + 0.25 k - 0.5 z - 0.7 s_u z
                + platform_conv + 0.1 [weekend] - 0.2 [0h-5h] + q_u + w_i
    p_click = sigmoid(eta_click);  p_conversion = P(conversion | click) = sigmoid(eta_conv)
    click ~ Bernoulli(p_click);  conversion = click * Bernoulli(p_conversion)
    same_category_purchase    = conversion OR Bernoulli(sigmoid(a_sc + 0.6 eta_conv' + 0.4 eta_click'))
    same_destination_purchase = conversion OR Bernoulli(sigmoid(a_sd + 0.6 eta_conv' + 0.3 eta_click' + 0.5 A))
    global_purchase (candidates) ~ Bernoulli(sigmoid(a_g + eta_conv' + 0.5 eta_click'))

(``eta'`` = the predictor without its intercept.) Constants: fam = single -0.5,
couple 0, family 1, senior 0.3; member_eff = none 0, silver .15, gold .35,
platinum .6; ``A`` adds .3 for the home region, .6 northern homes -> South China
(.5 -> Southeast Asia), .6 other homes -> Northeast China (.3 -> East Asia), .4
East/North China -> Europe; ``ctr_c``, ``cvr_c``, ``family(c)`` and the shares
are in :data:`travel_sim_world.CATEGORIES`. Everything except ``ctr_c``/
``cvr_c`` is shared by all categories, so dense categories teach sparse ones.
The intercepts are calibrated (Newton, on a strided subset) so that the mean
``p_click`` equals ``click_rate``, the click-weighted mean ``p_conversion``
equals ``cvr``, and the aux and global rates equal theirs.

Storage: string columns use pandas ``category`` dtype (string categories), labels
``int8``, ``hour`` ``int8``, ``item_price`` ``int32``, the oracle ``float32``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.datasets.travel_sim_model import (
    DAY,
    Rows,
    calibrate,
    draw_global_labels,
    draw_labels,
    draw_rows,
    fit_intercepts,
    global_predictor,
)
from samplegen.datasets.travel_sim_world import (
    AGE_BANDS,
    CATEGORIES,
    CATEGORY_NAMES,
    CITY_TIERS,
    DEST_NAMES,
    DEST_REGIONS,
    HOME_REGIONS,
    LIFE_STAGES,
    MEMBERSHIPS,
    PLATFORMS,
    PRICE_BANDS,
    STARS,
    WEEKDAYS,
    Items,
    Users,
    make_items,
    make_users,
)
from samplegen.errors import UsageError
from samplegen.schema import Column, ColumnType, Entity, Role, Schema

__all__ = ["DEFAULT_N_IMPRESSIONS", "TravelSimConfig", "load_travel_sim", "travel_sim_schema"]

log = logging.getLogger(__name__)

DEFAULT_N_IMPRESSIONS = 3_000_000
GLOBAL_LABEL = "global_purchase"


@dataclass(frozen=True)
class TravelSimConfig:
    """Keyword configuration of :func:`load_travel_sim` (all recorded in ``Source.meta``)."""

    click_rate: float = 0.02
    cvr: float = 0.014
    with_global: bool = True
    global_multiple: float = 1.0          # candidates per clicked impression
    global_purchase_rate: float = 0.01    # mean P(bought in another scene) of a candidate
    same_category_rate: float = 0.006
    same_destination_rate: float = 0.004
    n_days: int = 60
    start: str = "2026-01-01"
    users_per_impression: float = 1 / 25
    #: launch time (fraction of the window) per category, overriding the built-in ones;
    #: e.g. ``{"theme park": 0.72}`` launches it after the default training cut (a true
    #: cold start: no training row at all)
    launch: dict[str, float] | None = None

    def check(self) -> None:
        """Raise UsageError on out-of-range values."""
        for name in ("click_rate", "cvr", "global_purchase_rate", "same_category_rate",
                     "same_destination_rate"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise UsageError(f"travel-sim: {name}={v} must be in (0, 1). Fix: pass a rate "
                                 "such as 0.02.")
        for name, frac in (self.launch or {}).items():
            if name not in CATEGORY_NAMES or not 0.0 <= float(frac) < 1.0:
                raise UsageError(f"travel-sim: launch {name!r}={frac}: name a category of "
                                 f"{CATEGORY_NAMES} and a fraction of the window in [0, 1).")
        if self.n_days < 1 or self.global_multiple < 0 or self.users_per_impression <= 0:
            raise UsageError("travel-sim: n_days must be >= 1, global_multiple >= 0 and "
                             "users_per_impression > 0.")


def load_travel_sim(n_impressions: int | None = None, seed: int = 0, *,
                    click_rate: float = 0.02, cvr: float = 0.014, with_global: bool = True,
                    **config: Any) -> Source:
    """Simulate ``n_impressions`` impressions (default ``DEFAULT_N_IMPRESSIONS``) with ``seed``.

    Returns a :class:`Source` with the table, its explicit schema, the oracle
    (``p_click``, ``p_conversion`` = P(conversion | click), ``p_ctcvr``), and,
    when ``with_global``, ``extras["global_candidates"]`` (ranked but unexposed
    candidates labelled ``global_purchase``) with
    ``extras["global_candidates_oracle"]``.
    """
    known = {f.name for f in fields(TravelSimConfig)}
    unknown = set(config) - known
    if unknown:
        raise UsageError(f"travel-sim: unknown option(s) {sorted(unknown)}. Fix: use "
                         f"{sorted(known)}.")
    cfg = TravelSimConfig(click_rate=click_rate, cvr=cvr, with_global=with_global, **config)
    cfg.check()
    n = DEFAULT_N_IMPRESSIONS if n_impressions is None else int(n_impressions)
    if n < 100:
        raise UsageError(f"travel-sim: n_impressions={n} is too small. Fix: use >= 100.")
    return _simulate(n, int(seed), cfg)


def _simulate(n: int, seed: int, cfg: TravelSimConfig) -> Source:
    t0 = time.perf_counter()
    ss_items, ss_users, ss_rows, ss_labels, ss_global = np.random.SeedSequence(seed).spawn(5)
    items = make_items(np.random.default_rng(ss_items))
    users = make_users(max(2000, int(n * cfg.users_per_impression)),
                       np.random.default_rng(ss_users))
    start = pd.Timestamp(cfg.start)
    launch_s = launch_seconds(cfg)
    rows = draw_rows(n, users, items, cfg.n_days, start.weekday(), launch_s,
                     np.random.default_rng(ss_rows))
    ic = fit_intercepts(rows, cfg.click_rate, cfg.cvr, cfg.same_category_rate,
                        cfg.same_destination_rate)
    labels, oracle = draw_labels(rows, ic, np.random.default_rng(ss_labels))
    ids = (pd.CategoricalDtype(user_ids(len(users))), pd.CategoricalDtype(item_ids(len(items))))
    table = frame(rows, users, items, start, labels, ids)
    extras: dict[str, pd.DataFrame] = {}
    meta_global: dict[str, Any] = {}
    if cfg.with_global:
        rng_g = np.random.default_rng(ss_global)
        n_g = int(round(cfg.global_multiple * int(labels["click"].sum())))
        g_rows = draw_rows(max(n_g, 1), users, items, cfg.n_days, start.weekday(), launch_s,
                           rng_g)
        a_g = calibrate(global_predictor(g_rows), cfg.global_purchase_rate)
        g_labels, g_oracle = draw_global_labels(g_rows, ic, a_g, rng_g)
        extras["global_candidates"] = frame(g_rows, users, items, start, g_labels, ids)
        extras["global_candidates_oracle"] = pd.DataFrame(g_oracle)
        meta_global = {"rows": len(g_rows), "label": GLOBAL_LABEL, "intercept": round(a_g, 6)}
    elapsed = time.perf_counter() - t0
    log.info("travel-sim: %d impressions (seed %d) in %.2f s", n, seed, elapsed)
    meta = {
        "name": "travel-sim", "seed": seed, "n_impressions": n, "n_users": len(users),
        "n_items": len(items), "config": asdict(cfg), "intercepts": ic.to_dict(),
        "window": [start.isoformat(), (start + pd.Timedelta(days=cfg.n_days)).isoformat()],
        "category_launch": {c.name: (start + pd.Timedelta(seconds=s)).isoformat()
                            for c, s in zip(CATEGORIES, launch_s, strict=True) if s is not None},
        "category_shares": {c.name: c.share for c in CATEGORIES},
        "global_candidates": meta_global,
    }
    return Source("travel-sim", table, travel_sim_schema(), pd.DataFrame(oracle), extras, meta)


def launch_seconds(cfg: TravelSimConfig) -> list[float | None]:
    """Launch time of every category in seconds since the window start (None: always on)."""
    over = cfg.launch or {}
    fracs = [over.get(c.name, c.launch) for c in CATEGORIES]
    return [None if f is None else float(f) * cfg.n_days * DAY for f in fracs]


def user_ids(n: int) -> list[str]:
    """The user_id strings of a catalogue of ``n`` users (all are categories of the column)."""
    return [f"u{k:07d}" for k in range(n)]


def item_ids(n: int) -> list[str]:
    """The item_id strings of a catalogue of ``n`` items."""
    return [f"i{k:05d}" for k in range(n)]


def _cat(codes: np.ndarray, values: list[str] | pd.CategoricalDtype) -> pd.Categorical:
    if isinstance(values, pd.CategoricalDtype):
        return pd.Categorical.from_codes(codes, dtype=values)
    return pd.Categorical.from_codes(codes, categories=values)


def frame(rows: Rows, users: Users, items: Items, start: pd.Timestamp, labels: dict[str, np.ndarray],
          ids: tuple[pd.CategoricalDtype, pd.CategoricalDtype]) -> pd.DataFrame:
    """Assemble the human-readable table from row codes (string columns as 'category')."""
    u, i = rows.user, rows.item
    data = {
        "user_id": _cat(u, ids[0]),
        "user_age_band": _cat(users.age[u], AGE_BANDS),
        "user_city_tier": _cat(users.tier[u], CITY_TIERS),
        "user_home_region": _cat(users.home[u], HOME_REGIONS),
        "user_membership": _cat(users.member[u], MEMBERSHIPS),
        "user_life_stage": _cat(users.life[u], LIFE_STAGES),
        "item_id": _cat(i, ids[1]),
        "item_category": _cat(items.category[i], CATEGORY_NAMES),
        "item_destination": _cat(items.dest[i], DEST_NAMES),
        "item_region": _cat(items.region[i], DEST_REGIONS),
        "item_price_band": _cat(items.band[i], PRICE_BANDS),
        "item_star": _cat(items.star[i], STARS),
        "item_price": items.price[i],
        "weekday": _cat(((start.weekday() + rows.t // DAY) % 7).astype(np.int8), WEEKDAYS),
        "hour": ((rows.t // 3600) % 24).astype(np.int8),
        "platform": _cat(rows.platform, PLATFORMS),
        "event_time": (np.datetime64(start.as_unit("s").to_datetime64(), "s")
                       + rows.t.astype("timedelta64[s]")).astype("datetime64[ns]"),
    }
    data.update(labels)
    return pd.DataFrame(data)


def travel_sim_schema() -> Schema:
    """The explicit schema of the travel-sim table (roles, types, domains, entities)."""
    C, N = ColumnType.CATEGORICAL, ColumnType.NUMERICAL

    def label(name: str, role: Role) -> Column:
        return Column(name, role, N, min=0.0, max=1.0, decimals=0, integer=True)

    cols = [
        Column("user_id", Role.USER, C, key=True),
        Column("user_age_band", Role.USER, C, values=list(AGE_BANDS)),
        Column("user_city_tier", Role.USER, C, values=list(CITY_TIERS)),
        Column("user_home_region", Role.USER, C, values=list(HOME_REGIONS)),
        Column("user_membership", Role.USER, C, values=list(MEMBERSHIPS)),
        Column("user_life_stage", Role.USER, C, values=list(LIFE_STAGES)),
        Column("item_id", Role.ITEM, C, key=True),
        Column("item_category", Role.CATEGORY, C, values=list(CATEGORY_NAMES)),
        Column("item_destination", Role.ITEM, C, values=list(DEST_NAMES)),
        Column("item_region", Role.ITEM, C, values=list(DEST_REGIONS)),
        Column("item_price_band", Role.ITEM, C, values=list(PRICE_BANDS)),
        Column("item_star", Role.ITEM, C, values=list(STARS)),
        Column("item_price", Role.ITEM, N, min=10.0, max=200_000.0, decimals=0, integer=True),
        Column("weekday", Role.CONTEXT, C, values=list(WEEKDAYS)),
        Column("hour", Role.CONTEXT, N, min=0.0, max=23.0, decimals=0, integer=True),
        Column("platform", Role.CONTEXT, C, values=list(PLATFORMS)),
        Column("event_time", Role.TIMESTAMP, ColumnType.DATETIME),
        label("click", Role.CLICK),
        label("conversion", Role.CONVERSION),
        label("same_category_purchase", Role.AUX_LABEL),
        label("same_destination_purchase", Role.AUX_LABEL),
    ]
    entities = [
        Entity("user", "user_id", ["user_age_band", "user_city_tier", "user_home_region",
                                   "user_membership", "user_life_stage"]),
        Entity("item", "item_id", ["item_category", "item_destination", "item_region",
                                   "item_price_band", "item_star", "item_price"]),
    ]
    return Schema(cols, entities, name="travel-sim")
