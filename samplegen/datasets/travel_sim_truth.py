"""travel-sim as a ruler: rebuild a source's world, draw more of it, score any row's truth.

A :class:`SimWorld` is rebuilt from a travel-sim :class:`Source` (its recorded
seed, catalogue sizes, configuration and calibrated intercepts): the same users,
items and equations. From it:

* :meth:`SimWorld.draw` draws new impressions of chosen categories in a chosen
  time window, with labels and oracle probabilities, from a random stream that
  is independent of the source's own rows (deterministic by ``seed``), and only
  for the categories asked (no frame of other categories is built);
* :meth:`SimWorld.truth` gives any rows that use the world's users, items and
  contexts their true P(click) and P(conversion | click), and the *structural*
  versions without the user and item random effects (what a model that sees
  attributes, not ids, can learn). Rows outside the catalogue are flagged
  (``known`` = False), never dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.datasets.travel_sim import (
    TravelSimConfig,
    frame,
    item_ids,
    launch_seconds,
    user_ids,
)
from samplegen.datasets.travel_sim_model import (
    DAY,
    Intercepts,
    Rows,
    _predictors,
    draw,
    draw_labels,
    draw_pool,
    sigmoid,
)
from samplegen.datasets.travel_sim_world import (
    CATEGORIES,
    CATEGORY_NAMES,
    HOUR_P,
    PLATFORM_P,
    PLATFORMS,
    WEEKDAYS,
    Items,
    Users,
    make_items,
    make_users,
)
from samplegen.errors import UsageError

__all__ = ["SimWorld", "Draw", "TRUTH_COLUMNS"]

log = logging.getLogger(__name__)

#: columns of :meth:`SimWorld.truth`
TRUTH_COLUMNS = ["p_click", "p_conversion", "p_click_structural", "p_conversion_structural",
                 "known"]
_DRAW_TAG = 0x5A3E  # separates same-world draw streams from the source's own seed tree


@dataclass
class Draw:
    """Drawn impressions (the source's columns) and their oracle, aligned by position."""

    table: pd.DataFrame
    oracle: pd.DataFrame

    def __len__(self) -> int:
        return len(self.table)

    def clicked(self) -> Draw:
        """Only the clicked impressions."""
        keep = self.table["click"].to_numpy() == 1
        return Draw(self.table[keep].reset_index(drop=True),
                    self.oracle[keep].reset_index(drop=True))


@dataclass
class SimWorld:
    """The users, items, intercepts and time frame of one travel-sim source."""

    users: Users
    items: Items
    intercepts: Intercepts
    start: pd.Timestamp
    n_days: int
    launch_s: list[float | None]
    seed: int

    @classmethod
    def from_source(cls, source: Source) -> SimWorld:
        """Rebuild the world of a travel-sim source from its ``meta``."""
        meta = source.meta or {}
        if not str(meta.get("name", "")).startswith("travel-sim") or "intercepts" not in meta:
            raise UsageError(f"source {source.name!r} is not a travel-sim source: only the "
                             "simulator has a world to draw from and a truth to score. Fix: "
                             "use travel-sim (or travel-sim-cold).")
        cfg = TravelSimConfig(**meta["config"])
        seed = int(meta["seed"])
        ss_items, ss_users, *_ = np.random.SeedSequence(seed).spawn(5)
        items = make_items(np.random.default_rng(ss_items))
        users = make_users(int(meta["n_users"]), np.random.default_rng(ss_users))
        # numpy float64 as at generation (a Python float would round the sum to float32)
        ic = Intercepts(**{k: np.float64(v) for k, v in meta["intercepts"].items()})
        return cls(users, items, ic, pd.Timestamp(cfg.start),
                   cfg.n_days, launch_seconds(cfg), seed)

    # ------------------------------------------------------------------ draws
    def seconds(self, when: Any) -> float:
        """Seconds since the window start of a timestamp (or pass seconds through)."""
        if isinstance(when, (int, float, np.integer, np.floating)):
            return float(when)
        return float((pd.Timestamp(when) - self.start).total_seconds())

    def draw(self, n: int, *, categories: list[str] | None = None,
             window: tuple[Any, Any] | None = None, seed: int = 0) -> Draw:
        """``n`` new impressions of ``categories`` (default: all) in ``window``.

        ``window`` is ``(start, end)`` as timestamps or seconds since the window
        start (end exclusive); a category only appears after its launch. Within
        the requested categories, rows split by traffic share x active time.
        """
        names = list(categories) if categories else list(CATEGORY_NAMES)
        unknown = [c for c in names if c not in CATEGORY_NAMES]
        if unknown:
            raise UsageError(f"travel-sim has no category {unknown}. Fix: use one of "
                             f"{CATEGORY_NAMES}.")
        lo, hi = (0.0, float(self.n_days * DAY)) if window is None else \
            (max(0.0, self.seconds(window[0])), min(self.n_days * DAY, self.seconds(window[1])))
        cats = [CATEGORY_NAMES.index(c) for c in names]
        span = np.array([max(0.0, hi - max(lo, self.launch_s[c] or 0.0)) for c in cats])
        if n < 0 or (n > 0 and span.sum() <= 0):
            raise UsageError(f"no time in window [{lo:.0f}, {hi:.0f}) s where {names} are "
                             "launched. Fix: widen the window.")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _DRAW_TAG, int(seed)]))
        weight = span * np.array([CATEGORIES[c].share for c in cats])
        counts = rng.multinomial(int(n), weight / weight.sum()) if n else np.zeros(len(cats), int)
        parts = [self._draw_category(c, k, max(lo, self.launch_s[c] or 0.0), hi, rng)
                 for c, k in zip(cats, counts, strict=True) if k]
        t, cat = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])) \
            if parts else (np.zeros(0, np.int64), np.zeros(0, np.int8))
        order = np.argsort(t, kind="stable")
        rows = self._rows(t[order], cat[order], rng)
        labels, oracle = draw_labels(rows, self.intercepts, rng)
        return Draw(frame(rows, self.users, self.items, self.start, labels, self._ids()),
                    pd.DataFrame(oracle))

    def _draw_category(self, c: int, k: int, lo: float, hi: float, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
        """``k`` times in [lo, hi) with the diurnal profile (rejection over whole days)."""
        d0, d1 = int(lo // DAY), int(np.ceil(hi / DAY))
        out: list[np.ndarray] = []
        need = k
        while need > 0:
            m = int(need * 1.3) + 16
            t = (rng.integers(d0, d1, m, dtype=np.int64) * DAY
                 + draw(HOUR_P, m, rng).astype(np.int64) * 3600
                 + rng.integers(0, 3600, m, dtype=np.int64))
            t = t[(t >= lo) & (t < hi)][:need]
            out.append(t)
            need -= len(t)
        return np.concatenate(out), np.full(k, c, dtype=np.int8)

    def _rows(self, t: np.ndarray, category: np.ndarray, rng: np.random.Generator) -> Rows:
        n = len(t)
        item = np.empty(n, dtype=np.int32)
        for c in np.unique(category):
            idx = np.flatnonzero(category == c)
            item[idx] = draw_pool(self.items.pools[int(c)], len(idx), rng)
        user = draw_pool(self.users.pool, n, rng)
        platform = np.where(rng.random(n) < 0.85, self.users.platform[user],
                            draw(np.asarray(PLATFORM_P), n, rng)).astype(np.int8)
        hour = (t // 3600) % 24
        weekday = (self.start.weekday() + t // DAY) % 7
        return _predictors(t, user, item, category, platform, hour, weekday, self.users,
                           self.items)

    def draw_until(self, category: str, *, positives: int, window: tuple[Any, Any],
                   seed: int = 0, clicked_only: bool = False, max_rows: int = 50_000_000
                   ) -> Draw:
        """Impressions of ``category`` in ``window`` until they hold ``positives`` conversions.

        Draws in rounds sized from the conversions seen so far; the last round is
        cut right after the ``positives``-th conversion. ``clicked_only`` keeps
        only clicked rows of each round (what click-space metrics need).
        """
        got: list[Draw] = []
        have, drawn, step, r = 0, 0, 200_000, 0
        while have < positives:
            if drawn >= max_rows:
                raise UsageError(f"{category!r}: {have} conversions in {drawn:,} drawn rows, "
                                 f"fewer than {positives}. Fix: ask for fewer or widen the "
                                 "window.")
            d = self.draw(step, categories=[category], window=window,
                          seed=int(seed) * 1_000 + r)
            drawn, r = drawn + step, r + 1
            conv = d.table["conversion"].to_numpy()
            total = have + int(conv.sum())
            if total >= positives:  # cut after the positives-th conversion (no bias in order)
                last = int(np.flatnonzero(conv)[positives - have - 1])
                d = Draw(d.table.iloc[:last + 1].reset_index(drop=True),
                         d.oracle.iloc[:last + 1].reset_index(drop=True))
                total = positives
            got.append(d.clicked() if clicked_only else d)
            rate = max(total, 1) / drawn
            step = int(min(max(1.2 * (positives - total) / rate, 50_000), 5_000_000))
            have = total
        return Draw(pd.concat([g.table for g in got], ignore_index=True),
                    pd.concat([g.oracle for g in got], ignore_index=True))

    # ------------------------------------------------------------------ truth
    def truth(self, rows: pd.DataFrame) -> pd.DataFrame:
        """True probabilities of ``rows`` (by their user_id, item_id, weekday, hour, platform).

        Columns :data:`TRUTH_COLUMNS`; ``known`` is False (probabilities NaN) for a
        row whose user, item or context is outside the world's catalogue.
        """
        n = len(rows)
        u, ku = _index(rows.get("user_id"), "u", len(self.users))
        i, ki = _index(rows.get("item_id"), "i", len(self.items))
        pf, kp = _codes(rows.get("platform"), PLATFORMS)
        wd, kw = _codes(rows.get("weekday"), WEEKDAYS)
        hour = pd.to_numeric(rows.get("hour", pd.Series(np.nan, index=rows.index)),
                             errors="coerce").to_numpy(float)
        kh = np.isfinite(hour) & (hour >= 0) & (hour <= 23) & (np.round(hour) == hour)
        known = ku & ki & kp & kw & kh
        out = pd.DataFrame(np.nan, index=rows.index, columns=TRUTH_COLUMNS[:-1],
                           dtype="float64")
        out["known"] = known
        if known.any():
            k = np.flatnonzero(known)
            h = hour[k].astype(np.int64)
            args = (np.zeros(len(k), np.int64), u[k], i[k], self.items.category[i[k]],
                    pf[k].astype(np.int8), h, wd[k].astype(np.int64))
            full = _predictors(*args, self.users, self.items)
            flat = _predictors(*args, _no_effects(self.users), _no_effects(self.items))
            ic = self.intercepts
            cols = {"p_click": sigmoid(ic.click + full.eta_click),
                    "p_conversion": sigmoid(ic.conv + full.eta_conv),
                    "p_click_structural": sigmoid(ic.click + flat.eta_click),
                    "p_conversion_structural": sigmoid(ic.conv + flat.eta_conv)}
            for name, v in cols.items():
                out.iloc[k, out.columns.get_loc(name)] = v
        log.debug("truth: %d of %d rows in the catalogue", int(known.sum()), n)
        return out

    def lift(self, rows: pd.DataFrame, reference: pd.DataFrame, targets: list[str],
             category: str = "item_category") -> pd.DataFrame:
        """Truth lift of ``rows`` per target: their mean true pCVR over the reference's.

        ``reference`` is the real clicked rows to compare with (the targets' real
        clicked test rows: a random click has lift 1.0). One row per target with
        ``rows`` (in the target), ``known`` (in the catalogue), ``outside`` (not),
        ``mean_pcvr``, ``lift`` and ``structural_lift`` (NaN when no known row).
        """
        mine, ref = self.truth(rows), self.truth(reference)
        rc, fc = rows[category].astype(str), reference[category].astype(str)
        out = []
        for t in targets:
            m, r = mine[(rc == t).to_numpy()], ref[(fc == t).to_numpy()]
            m_known, r_known = m[m["known"]], r[r["known"]]
            rec = {"target": t, "rows": len(m), "known": len(m_known),
                   "outside": len(m) - len(m_known), "reference_rows": len(r_known),
                   "mean_pcvr": _mean(m_known["p_conversion"]), "lift": np.nan,
                   "structural_lift": np.nan}
            base, base_s = _mean(r_known["p_conversion"]), _mean(r_known["p_conversion_structural"])
            if len(m_known) and base > 0:
                rec["lift"] = rec["mean_pcvr"] / base
                rec["structural_lift"] = _mean(m_known["p_conversion_structural"]) / base_s
            out.append(rec)
        return pd.DataFrame(out)

    def _ids(self) -> tuple[pd.CategoricalDtype, pd.CategoricalDtype]:
        return (pd.CategoricalDtype(user_ids(len(self.users))),
                pd.CategoricalDtype(item_ids(len(self.items))))


def _mean(x: pd.Series) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _no_effects(entity: Any) -> Any:
    """A copy of a Users/Items catalogue with its latent random effects set to zero."""
    return dataclasses.replace(entity, click_re=np.zeros_like(entity.click_re),
                               conv_re=np.zeros_like(entity.conv_re))


def _index(col: pd.Series | None, prefix: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Catalogue positions of ids like ``u0000042`` and whether each is known."""
    if col is None:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    codes, uniques = pd.factorize(col.astype(str).to_numpy(), use_na_sentinel=False)
    pos = np.array([int(x[1:]) if x.startswith(prefix) and x[1:].isdigit() else -1
                    for x in uniques], dtype=np.int64)[codes] if len(codes) else codes
    ok = (pos >= 0) & (pos < size)
    return np.where(ok, pos, 0), ok


def _codes(col: pd.Series | None, values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``col`` in ``values`` and whether each value is one of them."""
    if col is None:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    codes = pd.Categorical(col.astype(str), categories=values).codes.astype(np.int64)
    return np.where(codes >= 0, codes, 0), codes >= 0
