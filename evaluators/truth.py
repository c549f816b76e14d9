"""Row quality against a simulator's truth (travel-sim): truth lift and true-pCVR distributions.

Only sources with a world to score (:class:`samplegen.datasets.travel_sim_truth.SimWorld`)
have it. For each set and target: truth lift = mean true P(conversion | click) of the set's
rows in the target over that of the target's real clicked holdout rows (1.0 = a random
click), and the structural lift without the user and item random effects; reference rows
are the real holdout positives and clicks. Rows outside the catalogue are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TruthResult", "compute_truth", "TRUTH_TITLE", "TRUTH_DESCRIPTION"]

TRUTH_TITLE = "Row quality against the truth (simulator)"
TRUTH_DESCRIPTION = (
    "truth lift = mean true P(conversion | click) of a set's rows in a target / that of the "
    "target's real clicked holdout rows (1.0 = a random click; real positives score about 2); "
    "structural = the same without the user and item random effects (what a model that sees "
    "attributes, not ids, can learn). Rows whose user, item or context is outside the "
    "simulator's catalogue are counted in 'outside'.")


@dataclass
class TruthResult:
    """Per set and target lifts, and the true pCVR of each set's rows in the targets."""

    details: pd.DataFrame
    pcvr: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"details": self.details.to_dict(orient="records"),
                "mean_pcvr": {k: float(np.mean(v)) if len(v) else None
                              for k, v in self.pcvr.items()}}


def compute_truth(world: Any, holdout: pd.DataFrame, sets: dict[str, pd.DataFrame],
                  targets: list[str], category: str, click: str, conversion: str
                  ) -> TruthResult:
    """Lift of each set (and of the real reference rows) per target, plus pCVR samples."""
    in_t = holdout[category].astype(str).isin(targets)
    clicks = holdout[in_t & (holdout[click] == 1)]
    rows = {"real holdout positives": clicks[clicks[conversion] == 1],
            "real holdout clicks": clicks, **sets}
    parts, pcvr = [], {}
    for name, df in rows.items():
        lift = world.lift(df, clicks, targets, category)
        lift.insert(0, "rows of", name)
        parts.append(lift)
        mine = df[df[category].astype(str).isin(targets)]
        t = world.truth(mine)
        pcvr[name] = t.loc[t["known"], "p_conversion"].to_numpy(float)
    return TruthResult(pd.concat(parts, ignore_index=True), pcvr)
