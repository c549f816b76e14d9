"""LLM generation: backends, model resolution, constrained decoding, the LLM generators."""

from __future__ import annotations

from samplegen.llm.base import BACKENDS, Backend, SamplingParams, get_backend
from samplegen.llm.constrained import NumberSpec, RowConstraint, build_row_constraint
from samplegen.llm.models import ALIASES, ModelRef, resolve_model

__all__ = ["ALIASES", "BACKENDS", "Backend", "ModelRef", "NumberSpec", "RowConstraint",
           "SamplingParams", "build_row_constraint", "get_backend", "resolve_model"]
