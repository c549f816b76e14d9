"""Privacy: DCR share (train vs holdout), exact-copy rate, nearest-neighbour distance ratio."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from evaluators.context import EvalContext, match
from evaluators.metrics.privacy import DCRShare, copy_rate, dcr_share, nearest, nndr
from evaluators.properties.base import Property, PropertyResult, mean_score
from evaluators.scores import DCR
from samplegen.errors import UsageError

__all__ = ["Privacy", "check_holdout"]


def check_holdout(holdout: pd.DataFrame, min_rows: int) -> None:
    """Raise :class:`UsageError` when the holdout is too small for DCR."""
    if len(holdout) < min_rows:
        raise UsageError(
            f"the real holdout has {len(holdout)} rows; the privacy metrics (DCR) need at "
            f"least {min_rows}. Fix: use a bigger source or test fraction, or lower "
            f"min_holdout_rows (--min-holdout) knowing the DCR share gets noisy.")


class Privacy(Property):
    """Does the synthetic set sit closer to the training rows than to unseen real rows?"""

    name: ClassVar[str] = "privacy"
    title: ClassVar[str] = "Privacy"
    description: ClassVar[str] = (
        DCR.explain() + " Also exact copies of training rows and the nearest-neighbour "
        "distance ratio. Score = mean of 1 - 2*max(0, DCR - 0.5) (so any DCR <= 0.5 scores 1) "
        "and 1 - (copy rate - the holdout's chance copy rate).")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        opts = ctx.options
        check_holdout(ctx.holdout, opts.min_holdout_rows)
        levels = ctx.condition_levels(synthetic)
        for cond in levels:
            hold_pool = match(ctx.holdout, cond)
            if len(hold_pool) >= opts.min_holdout_rows or not cond:
                break
        train_pool = match(ctx.train, cond)
        notes = []
        if cond:
            desc = ", ".join(f"{k}={v}" for k, v in cond.items())
            notes.append(f"pools: real rows with {desc} (like the synthetic rows)")
        else:
            notes.append("pools: all real rows (too few holdout rows share the synthetic "
                         "rows' labels)")
        n = min(len(train_pool), len(hold_pool), opts.max_rows)
        train_s = ctx.sample(train_pool, n, salt=3)
        hold_s = ctx.sample(hold_pool, n, salt=4)
        syn_s = ctx.sample(synthetic, opts.max_rows, salt=1)
        notes.append(f"DCR: train and holdout pools of {n} rows each (equal sizes, seeded; "
                     f"{len(train_pool)} train rows qualify), {len(syn_s)} synthetic rows; "
                     "distances on the features")
        if ctx.schema.timestamp is not None:
            notes.append("the holdout is later in time than train: drift alone can push the "
                         "DCR share above 50%; read it with the exact-copy rates")
        enc = ctx.encoder(ctx.features, train_s)
        tx, hx, sx = (enc.distance_matrix(d) for d in (train_s, hold_s, syn_s))
        d_train = nearest(tx, sx, k=2)
        d_hold = nearest(hx, sx, k=1)[:, 0]
        share = dcr_share(d_train[:, 0], d_hold)
        base = nearest(tx, hx, k=2)
        copy_cols = [c for c in ctx.features + ctx.schema.labels
                     if c in synthetic.columns and c in ctx.train.columns]
        copy_syn = copy_rate(ctx.train, synthetic, copy_cols)
        copy_base = copy_rate(ctx.train, ctx.sample(hold_pool, opts.max_rows, salt=5), copy_cols)
        excess = max(0.0, copy_syn - copy_base)
        summary = {
            "dcr_share_closer_to_train": share,
            "median_dcr_train": float(np.median(d_train[:, 0])),
            "median_dcr_holdout": float(np.median(d_hold)),
            "exact_copy_rate": copy_syn,
            "exact_copy_rate_holdout_baseline": copy_base,
            "excess_copy_rate": excess,
            "nndr_synthetic_mean": float(nndr(d_train).mean()) if n > 1 else None,
            "nndr_holdout_mean": float(nndr(base).mean()) if n > 1 else None,
            "pool_rows": n,
            "synthetic_rows": len(syn_s),
        }
        details = pd.DataFrame({"metric": list(summary), "value": list(summary.values())})
        score = mean_score([DCRShare.normalize(share), 1.0 - excess])
        notes.append(f"exact copies: synthetic rows equal to a training row on {copy_cols}; "
                     "baseline: the same rate for real holdout rows of the pool (chance collisions)")
        notes.append("NNDR: nearest / second-nearest training distance (low = close to one "
                     "particular row); baseline: holdout rows")
        return PropertyResult(self.name, score, details, summary, notes,
                              artifacts={"dcr_train": d_train[:, 0], "dcr_holdout": d_hold,
                                         "dcr_holdout_rows_to_train": base[:, 0]})
