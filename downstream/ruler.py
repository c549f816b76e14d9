"""The travel-sim instrument for an augmentation experiment: enough test conversions per
target, real-data ceilings, and the truth score of every set.

Built from a travel-sim source and its split (see
:class:`samplegen.datasets.travel_sim_truth.SimWorld`):

* ``target_test``: the targets' clicked test rows of the split plus clicked
  same-world draws in the *test* window, until each target has
  ``min_test_conversions`` conversions. Per-target metrics (click-space CVR AUC,
  level) come from it; global metrics stay on the split's own test rows. Drawn
  rows are new impressions (never a training or validation row).
* ceilings, drawn in the *training* window: ``+fresh-positives`` (real positives
  of each target, as many as the largest synthetic set has rows there: the shape
  of a synthetic set, trained like one) and ``+fresh-impressions`` (the
  impressions, clicked and not, with their true labels, that hold those positives:
  what more real data would do).
* ``truth``: truth lift and structural truth lift of each set per target against
  the targets' real clicked test rows (1.0 = a random click), with the reference
  rows real training positives and real test positives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from downstream.data import SYNTHETIC_COL
from samplegen.datasets.base import Source
from samplegen.datasets.travel_sim_truth import SimWorld

__all__ = ["Instrument", "FRESH_POSITIVES", "FRESH_IMPRESSIONS", "MIN_TEST_CONVERSIONS",
           "largest_set_rows"]

log = logging.getLogger(__name__)

FRESH_POSITIVES = "+fresh-positives"
FRESH_IMPRESSIONS = "+fresh-impressions"
#: default test conversions per target behind per-target metrics
MIN_TEST_CONVERSIONS = 1_000


@dataclass
class Instrument:
    """Enlarged per-target test, fresh-real arms and truth scoring for one split."""

    world: SimWorld
    targets: list[str]
    target_test: pd.DataFrame
    target_oracle: pd.DataFrame
    reference: pd.DataFrame                       # the targets' real clicked test rows
    train_positives: pd.DataFrame                 # the targets' real training positives
    arms: dict[str, pd.DataFrame] = field(default_factory=dict)
    protocol: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, source: Source, split: Any, targets: list[str], *,
              min_test_conversions: int = MIN_TEST_CONVERSIONS,
              fresh_positives: int | dict[str, int] | None = None, seed: int = 0
              ) -> Instrument:
        """Draw the enlarged test (and, with ``fresh_positives``, the ceilings)."""
        world = SimWorld.from_source(source)
        schema = source.schema
        cat, click, conv, ts = schema.category, schema.click, schema.conversion, schema.timestamp
        train, valid, test = split.frames(source)
        _, _, test_oracle = split.oracle_frames(source)
        test_start = pd.Timestamp(test[ts].min())
        train_end = pd.Timestamp(valid[ts].min() if len(valid) else test_start)
        parts, oracles, counts = [], [], {}
        for i, t in enumerate(targets):
            mine = ((test[cat].astype(str) == t) & (test[click] == 1)).to_numpy()
            own, own_o = test[mine], test_oracle[mine]
            have = int(own[conv].sum())
            need = max(0, int(min_test_conversions) - have)
            drawn = world.draw_until(t, positives=need, window=(test_start, world.n_days * 86_400),
                                     seed=seed * 100 + i, clicked_only=True) if need else None
            parts += [own, *([drawn.table] if drawn is not None else [])]
            oracles += [own_o, *([drawn.oracle] if drawn is not None else [])]
            counts[t] = {"split_test_clicks": len(own), "split_test_conversions": have,
                         "drawn_clicks": 0 if drawn is None else len(drawn),
                         "drawn_conversions": need}
        table = schema.coerce(pd.concat(parts, ignore_index=True)[schema.names])
        oracle = pd.concat(oracles, ignore_index=True)[["p_click", "p_conversion"]]
        tr_mask = (train[cat].astype(str).isin(targets) & (train[conv] == 1)).to_numpy()
        ref_mask = (test[cat].astype(str).isin(targets) & (test[click] == 1)).to_numpy()
        inst = cls(world, list(targets), table, oracle.reset_index(drop=True), test[ref_mask],
                   train[tr_mask])
        inst.protocol = {
            "per_target_test": f"the targets' clicked test rows of the split plus clicked "
                               f"same-world draws in the test window (from {test_start}) "
                               f"until >= {min_test_conversions} conversions per target",
            "global_test": "the split's own test rows",
            "counts": counts}
        if fresh_positives is not None:
            inst._add_ceilings(schema, fresh_positives, (0, train_end), seed)
        return inst

    def _add_ceilings(self, schema: Any, fresh: int | dict[str, int], window: tuple[Any, Any],
                      seed: int) -> None:
        pos_parts, imp_parts, counts = [], [], {}
        for i, t in enumerate(self.targets):
            n = int(fresh.get(t, 0) if isinstance(fresh, dict) else fresh)
            if n <= 0:
                continue
            d = self.world.draw_until(t, positives=n, window=window, seed=10_000 + seed * 100 + i)
            imp = d.table
            pos_parts.append(imp[imp[schema.conversion] == 1])
            imp_parts.append(imp)
            counts[t] = {"positives": n, "impressions": len(imp),
                         "clicks": int(imp[schema.click].sum())}
        if not pos_parts:
            return
        pos = schema.coerce(pd.concat(pos_parts, ignore_index=True)[schema.names])
        pos[SYNTHETIC_COL] = 1   # trained exactly like a synthetic set of the same shape
        imp = schema.coerce(pd.concat(imp_parts, ignore_index=True)[schema.names])
        self.arms = {FRESH_POSITIVES: pos, FRESH_IMPRESSIONS: imp}
        self.protocol["ceilings"] = {
            "window": f"training window (before {window[1]})",
            FRESH_POSITIVES: "same-world real positives of each target, as many as the "
                             "largest synthetic set has rows there, trained like a synthetic set",
            FRESH_IMPRESSIONS: "the same-world impressions (clicked and not, true labels) "
                               "that hold those positives",
            "counts": counts}

    def truth(self, sets: dict[str, pd.DataFrame]) -> dict[str, list[dict[str, Any]]]:
        """Truth lift per set and target, plus the reference rows' own lift."""
        rows = {"real training positives": self.train_positives,
                "real test positives": self.reference[self.reference["conversion"] == 1],
                "real test clicks": self.reference, **sets}
        return {name: self.world.lift(df, self.reference, self.targets).to_dict("records")
                for name, df in rows.items()}


def largest_set_rows(sets: dict[str, pd.DataFrame], category: str,
                        targets: list[str]) -> dict[str, int]:
    """The largest number of rows any set has in each target (the ceilings' size)."""
    out = {t: 0 for t in targets}
    for df in sets.values():
        vc = df[category].astype(str).value_counts()
        for t in targets:
            out[t] = max(out[t], int(vc.get(t, 0)))
    return out
