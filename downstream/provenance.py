"""Hook: check a synthetic run directory against the real source and split before training.

:func:`check_synthetic_provenance` is called by :func:`downstream.experiment.run_experiment`
(and so by ``samplegen validate``) for every synthetic set given as a run directory,
before any model is trained. It is the place for the integrity guards of issue 9:
the run directory must have been generated from the training part of *this* split
of *this* source (compare ``split.train_fingerprint(source)`` with the manifest),
and its rows must not copy validation or test rows. It raises
:class:`samplegen.errors.LeakageError` (or :class:`~samplegen.errors.RunDirError`)
when a check fails and returns ``None`` otherwise.

For now it does nothing: issue 9 fills it in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from samplegen.datasets.base import Source

__all__ = ["check_synthetic_provenance"]


def check_synthetic_provenance(run_dir: str | Path, source: Source, split: Any) -> None:
    """Raise when ``run_dir`` was not generated from ``split``'s training rows of
    ``source`` (no-op until the integrity guards land; see the module docstring)."""
    return None
