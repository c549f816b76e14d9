"""Integrity guards before training on a synthetic set (issue 9).

:func:`check_synthetic_provenance` is called by :func:`downstream.experiment.run_experiment`
(and so by ``samplegen validate``) for every synthetic set, before any model is
trained:

* a run directory must not have been fitted on rows that this split uses for
  validation or test (:func:`samplegen.integrity.check_provenance` raises
  :class:`~samplegen.errors.LeakageError`, exit 2, otherwise);
* every set is compared with the real test rows: exact and near copies are
  counted, and above the threshold the set is marked *contaminated*
  (:func:`samplegen.integrity.contamination`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from samplegen.datasets.base import Source
from samplegen.integrity import check_provenance, contamination

__all__ = ["check_synthetic_provenance", "CONTAMINATION_THRESHOLD"]

#: share of synthetic rows copying (or nearly copying) test rows above which a set is flagged
CONTAMINATION_THRESHOLD = 0.01


def check_synthetic_provenance(run_dir: str | Path | None, source: Source, split: Any,
                               synthetic: pd.DataFrame | None = None, *,
                               threshold: float = CONTAMINATION_THRESHOLD) -> dict[str, Any]:
    """Refuse a set fitted on validation/test rows; report its test contamination.

    Returns ``{"provenance": {...}, "contamination": {...}}`` for ``metrics.json``.
    """
    out: dict[str, Any] = {}
    if run_dir is not None and Path(run_dir).is_dir():
        out["provenance"] = check_provenance(run_dir, source, split).to_dict()
    else:
        out["provenance"] = {"status": "unknown", "detail": "a table, not a run directory"}
    if synthetic is not None:
        test = source.table.iloc[split.test]
        out["contamination"] = contamination(synthetic, test, source.schema, threshold=threshold,
                                             train=source.table.iloc[split.train]).to_dict()
    return out
