"""A sparse category's conversion level, and synthetic-row weights that reach it.

:func:`estimate_levels` estimates each target category's P(conversion | click)
with a 95% interval from the TRAINING rows only, by empirical Bayes over
categories: the target's own clicks and conversions update a beta prior whose
mean comes from the *other* categories (their pooled rate, or a weighted
regression of their logit CVR on denser per-category signals where the data
has them: auxiliary labels such as same-category purchase, global conversions)
and whose strength comes from how much the categories' rates really differ
(beta-binomial, by moments). It is an estimate: it rests on the target
resembling the other categories in the way the signals say, and a category with
few clicks gets mostly the prior.

:func:`level_weight` / :func:`weigh_synthetic` choose the weight of a target's
synthetic rows so that the weighted click-space conversion rate of its training
rows (real + synthetic) equals the estimate exactly.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import DataError, UsageError
from samplegen.schema import Schema

__all__ = ["LevelEstimate", "estimate_levels", "category_signals", "level_weight",
           "weigh_synthetic", "parse_level", "level_record", "global_rows_before",
           "WEIGHT_COL"]

log = logging.getLogger(__name__)

#: the per-row loss weight column read by ``downstream`` (same name as downstream.data)
WEIGHT_COL = "sample_weight"
_MAX_STRENGTH = 1e5  # prior strength (alpha + beta) when categories do not differ at all
_MIN_STRENGTH = 2.0


@dataclass(frozen=True)
class LevelEstimate:
    """Estimated P(conversion | click) of one category, its 95% interval and what it used."""

    category: str
    rate: float
    low: float
    high: float
    clicks: int
    conversions: int
    prior_rate: float
    prior_strength: float
    signals: tuple[str, ...] = ()
    source: str = "empirical-bayes"

    @property
    def observed(self) -> float:
        """The category's own training CVR (NaN without clicks)."""
        return self.conversions / self.clicks if self.clicks else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["signals"] = list(self.signals)
        d["observed"] = None if math.isnan(self.observed) else self.observed
        return d


@dataclass
class _Signals:
    table: pd.DataFrame                      # per category: clicks, conversions, signal rates
    names: list[str] = field(default_factory=list)


def category_signals(train: pd.DataFrame, schema: Schema, *,
                     global_rows: pd.DataFrame | None = None,
                     global_label: str = "global_purchase", use_aux: bool = True
                     ) -> pd.DataFrame:
    """Per category (string index): ``clicks``, ``conversions``, and the rate of each
    denser signal: ``aux:<label>`` (positives per training impression) and, with
    ``global_rows``, ``global`` (global-conversion rate per candidate row)."""
    return _signals(train, schema, global_rows, global_label, use_aux).table


def _signals(train: pd.DataFrame, schema: Schema, global_rows: pd.DataFrame | None,
             global_label: str, use_aux: bool) -> _Signals:
    cat, ck, cv = schema.category, schema.click, schema.conversion
    for role, name in (("category", cat), ("click", ck), ("conversion", cv)):
        if name is None or name not in train.columns:
            raise DataError(f"the training rows have no {role} column. Fix: name it with "
                            f"--{role} COL or role: {role} in the schema file.")
    key = _keys(train[cat])
    click = _num(train[ck])
    conv = _num(train[cv]) * (click > 0)
    g = pd.DataFrame({"c": key, "clicks": click, "conversions": conv}).groupby("c", sort=True)
    table = g[["clicks", "conversions"]].sum()
    table["rows"] = g.size()
    names: list[str] = []
    if use_aux:
        for a in schema.aux_labels:
            if a in train.columns:
                s = pd.Series(_num(train[a])).groupby(key).mean()
                table[f"aux:{a}"] = s
                names.append(f"aux:{a}")
    if global_rows is not None and len(global_rows):
        if global_label not in global_rows.columns or cat not in global_rows.columns:
            raise DataError(f"global-conversion rows need columns {cat!r} and "
                            f"{global_label!r}. Fix: pass the source's global candidates.")
        s = pd.Series(_num(global_rows[global_label])).groupby(_keys(global_rows[cat])).mean()
        table["global"] = s
        names.append("global")
    return _Signals(table, names)


def estimate_levels(train: pd.DataFrame, schema: Schema, targets: list[str], *,
                    global_rows: pd.DataFrame | None = None,
                    global_label: str = "global_purchase", use_aux: bool = True,
                    level: float = 0.95) -> dict[str, LevelEstimate]:
    """Empirical-Bayes estimate of each target's P(conversion | click) (training rows only).

    The prior of target ``t`` is fitted on the other categories with at least one
    click: its mean from a click-weighted least-squares fit of their logit CVR on
    the logit rates of the denser signals (intercept only without signals, or
    when fewer than ``signals + 3`` categories have clicks), its strength
    ``alpha + beta`` from the between-category variance left by that fit
    (moments). Raises :class:`~samplegen.errors.DataError` naming a target that
    has no training click at all (there is no click-space rate to correct).
    """
    if not targets:
        raise UsageError("no target category to estimate. Fix: pass --targets.")
    sig = _signals(train, schema, global_rows, global_label, use_aux)
    table = sig.table
    no_click = [t for t in targets if t not in table.index or table.loc[t, "clicks"] <= 0]
    if no_click:
        raise DataError(f"target categor{'y' if len(no_click) == 1 else 'ies'} {no_click} "
                        f"ha{'s' if len(no_click) == 1 else 've'} no click in the training "
                        "rows, so its conversion level cannot be estimated. Fix: drop it from "
                        "--targets or pass --level RATE.")
    from scipy.stats import beta as beta_dist

    out: dict[str, LevelEstimate] = {}
    for t in targets:
        others = table[(table.index != t) & (table["clicks"] > 0)]
        names = _select(others, [n for n in sig.names
                                 if np.isfinite(table.loc[t, n]) and table.loc[t, n] > 0])
        m, strength = _prior(others, table.loc[t], names)
        a, b = m * strength, (1 - m) * strength
        k, y = float(table.loc[t, "clicks"]), float(table.loc[t, "conversions"])
        pa, pb = a + y, b + k - y
        lo, hi = beta_dist.ppf([(1 - level) / 2, (1 + level) / 2], pa, pb)
        used = ("own clicks/conversions", f"{len(others)} other categories", *names)
        out[t] = LevelEstimate(t, float(pa / (pa + pb)), float(lo), float(hi), int(k), int(y),
                               float(m), float(strength), tuple(used))
        log.info("level %s: %.4f [%.4f, %.4f] (own %d/%d, prior %.4f x %.0f, signals %s)",
                 t, out[t].rate, lo, hi, int(y), int(k), m, strength, names)
    return out


def _select(others: pd.DataFrame, names: list[str]) -> list[str]:
    """The signal (or none) whose prior mean best predicts each other category's
    conversions when that category is left out (binomial deviance)."""
    others = others[np.isfinite(others[names]).all(axis=1) & (others[names] > 0).all(axis=1)] \
        if names else others
    best, best_dev = [], math.inf
    for cand in ([], *[[n] for n in names]):
        if len(others) < len(cand) + 4:
            continue
        dev = 0.0
        for c in others.index:
            rest = others.drop(index=c)
            m = _fit(rest, others.loc[c], cand)[0]
            k, y = float(others.loc[c, "clicks"]), float(others.loc[c, "conversions"])
            dev -= y * math.log(m) + (k - y) * math.log1p(-m)
        if dev < best_dev - 1e-9:
            best, best_dev = list(cand), dev
    return best


def _fit(others: pd.DataFrame, target: pd.Series, names: list[str]
         ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Click-weighted least squares of the categories' logit CVR on the signals'
    logit rates: the target's prior mean, the fitted rates, X, x_target, z."""
    k = others["clicks"].to_numpy(float)
    y = others["conversions"].to_numpy(float)
    X = np.column_stack([np.ones(len(others))] + [_logit(others[n].to_numpy(float))
                                                  for n in names])
    xt = np.array([1.0, *[_logit(np.array([float(target[n])]))[0] for n in names]])
    z = _logit((y + 0.5) / (k + 1.0))
    sw = np.sqrt(k)
    coef, *_ = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)
    m_t = float(np.clip(_sigmoid(np.array([xt @ coef]))[0], 1e-6, 1 - 1e-6))
    return m_t, _sigmoid(X @ coef), X, xt, z - X @ coef


def _prior(others: pd.DataFrame, target: pd.Series, names: list[str]) -> tuple[float, float]:
    """Prior mean for ``target`` and the prior strength, from the other categories."""
    k = others["clicks"].to_numpy(float)
    y = others["conversions"].to_numpy(float)
    p = y / k
    K = k.sum()
    if len(others) == 0 or K <= 0:
        raise DataError("no other category has clicks: nothing to shrink toward. Fix: pass "
                        "--level RATE.")
    m_t, fitted, X, xt, resid = _fit(others, target, names)
    # uncertainty of the prior mean itself (weighted least squares on the logit scale)
    dof = len(others) - X.shape[1]
    sigma2 = float(np.sum(k * resid ** 2)) / dof if dof > 0 else 0.0
    xtx = np.linalg.pinv((X * k[:, None]).T @ X)
    var_mean = (m_t * (1 - m_t)) ** 2 * float(xt @ xtx @ xt) * sigma2
    # between-category variance of the true rates around the fit, by moments
    s = float(np.sum(k * (p - fitted) ** 2))
    noise = float(np.sum(fitted * (1 - fitted) * (1 - k / K)))
    denom = K - float(np.sum(k ** 2)) / K
    var_b = max((s - noise) / denom, 0.0) if denom > 0 else 0.0
    var_t = var_b + var_mean
    strength = m_t * (1 - m_t) / var_t - 1 if var_t > 0 else _MAX_STRENGTH
    return m_t, float(np.clip(strength, _MIN_STRENGTH, _MAX_STRENGTH))


def global_rows_before(extras: dict[str, Any] | None, train: pd.DataFrame, schema: Schema
                       ) -> pd.DataFrame | None:
    """A source's global-conversion candidates no later than the training rows
    (``None`` without candidates or without a timestamp to cut them by)."""
    glob = (extras or {}).get("global_candidates")
    ts = schema.timestamp
    if glob is None or not len(glob) or not ts or ts not in glob.columns \
            or ts not in train.columns:
        return None
    return glob[pd.to_datetime(glob[ts]) <= pd.to_datetime(train[ts]).max()]


def level_record(train: pd.DataFrame, schema: Schema, categories: list[str], *,
                 extras: dict[str, Any] | None = None) -> dict[str, Any]:
    """The level estimate of each category for a manifest: ``{category: estimate
    dict}``, or ``{"error": why}`` for a category that cannot be estimated (no click)."""
    out: dict[str, Any] = {}
    glob = global_rows_before(extras, train, schema)
    for c in categories:
        try:
            out[c] = estimate_levels(train, schema, [c], global_rows=glob)[c].to_dict()
        except UsageError as e:
            out[c] = {"error": str(e)}
    return {"estimates": out, "basis": "training rows only; empirical Bayes over categories "
                                       "(samplegen.level)"}


def level_weight(real_clicks: float, real_conversions: float, syn_clicks: float,
                 syn_conversions: float, rate: float) -> float:
    """Weight ``w`` of the synthetic rows such that
    ``(real_conversions + w * syn_conversions) / (real_clicks + w * syn_clicks) == rate``.

    ``syn_conversions`` may be a sum of soft labels. Returns 0.0 when no
    non-negative weight reaches ``rate`` (the real rows are already at or past it
    in the direction the synthetic rows push).
    """
    if not 0 < rate < 1:
        raise UsageError(f"level rate {rate} must be in (0, 1).")
    den = syn_conversions - rate * syn_clicks
    num = rate * real_clicks - real_conversions
    if syn_clicks <= 0 or den == 0:
        return 0.0
    w = num / den
    return float(w) if w > 0 else 0.0


def weigh_synthetic(synthetic: pd.DataFrame, train: pd.DataFrame, schema: Schema,
                    rates: dict[str, float]) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """``synthetic`` with :data:`WEIGHT_COL` set per target so that each target's
    weighted training CVR (real + synthetic clicked rows) equals ``rates[target]``.

    Rows of other categories keep their weight. Returns the weighted copy and,
    per target, the weight, the rows and the training rate before and after.
    """
    cat, ck, cv = schema.category, schema.click, schema.conversion
    out = synthetic.copy()
    base = _num(out[WEIGHT_COL]) if WEIGHT_COL in out.columns else np.ones(len(out))
    w = base.copy()
    skey, tkey = _keys(out[cat]), _keys(train[cat])
    s_click = _num(out[ck]) if ck in out.columns else np.ones(len(out))
    s_conv = _num(out[cv]) * (s_click > 0)
    t_click, t_conv = _num(train[ck]), _num(train[cv])
    report: dict[str, dict[str, Any]] = {}
    for t, r in rates.items():
        mine, real = skey == t, tkey == t
        k, y = float(t_click[real].sum()), float((t_conv * (t_click > 0))[real].sum())
        sk, sy = float((base * s_click)[mine].sum()), float((base * s_conv)[mine].sum())
        wt = level_weight(k, y, sk, sy, r)
        w[mine] = base[mine] * wt
        after = (y + wt * sy) / (k + wt * sk) if k + wt * sk > 0 else math.nan
        report[t] = {"rate": float(r), "weight": wt, "synthetic_rows": int(mine.sum()),
                     "real_clicks": int(k), "real_conversions": int(y),
                     "train_rate_before": y / k if k else None, "train_rate_after": after,
                     "reached": bool(abs(after - r) < 1e-9) if after == after else False}
    out[WEIGHT_COL] = w
    return out, report


def parse_level(value: str) -> str | dict[str, float] | float:
    """``--level``: ``auto``, ``none``, a rate for every target (``0.03``) or per
    target (``"ski trip=0.04,theme park=0.02"``)."""
    v = value.strip()
    if v in ("auto", "none"):
        return v
    try:
        if "=" not in v:
            return _rate(float(v), v)
        out: dict[str, float] = {}
        for part in v.split(","):
            name, _, num = part.rpartition("=")
            out[name.strip()] = _rate(float(num), part)
        return out
    except ValueError:
        raise UsageError(f"--level {value!r}: use auto, none, a rate in (0, 1) or "
                         "'CATEGORY=RATE,...'.") from None


def _rate(x: float, text: str) -> float:
    if not 0 < x < 1:
        raise UsageError(f"--level {text!r}: a rate must be in (0, 1).")
    return x


def _keys(s: pd.Series) -> np.ndarray:
    return s.astype(object).where(s.notna(), None).map(
        lambda v: None if v is None else str(v)).to_numpy()


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").fillna(0).to_numpy(dtype="float64")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
