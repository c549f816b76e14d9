"""Alignment of synthetic rows with real data: SHAP filter + importance sampling, CLLM, none.

``get_aligner(name, **params).fit(real_train, schema).select(pool, n)`` returns
the chosen rows and an :class:`AlignReport` (``to_dict()`` goes into manifests).
"""

from __future__ import annotations

from typing import Any

from samplegen.align.attribution import AttributionModel
from samplegen.align.base import Aligner, AlignReport, NoAligner, effective_sample_size
from samplegen.align.cllm import CLLMAligner
from samplegen.align.filter import AttributionFilter
from samplegen.align.importance import ImportanceWeighter, group_features
from samplegen.align.shap_align import ShapAligner
from samplegen.errors import UsageError

__all__ = [
    "ALIGNERS",
    "AlignReport",
    "Aligner",
    "AttributionFilter",
    "AttributionModel",
    "CLLMAligner",
    "ImportanceWeighter",
    "NoAligner",
    "ShapAligner",
    "effective_sample_size",
    "get_aligner",
    "group_features",
]

ALIGNERS: dict[str, type[Aligner]] = {"shap": ShapAligner, "cllm": CLLMAligner,
                                      "none": NoAligner}


def get_aligner(name: str | None, **params: Any) -> Aligner:
    """A new aligner by name: "shap", "cllm" or "none" (``None`` means "none")."""
    key = "none" if name is None else str(name).lower()
    if key not in ALIGNERS:
        raise UsageError(f"unknown aligner {name!r}. Fix: use one of {sorted(ALIGNERS)}.")
    try:
        return ALIGNERS[key](**params)
    except TypeError as e:
        raise UsageError(f"bad parameter for aligner {key!r}: {e}") from e
