"""Synthetic-row generators: the contract, the registry and the built-in baselines."""

from __future__ import annotations

from samplegen.generators.base import Generator, RowValidator, SampleReport, merge_reports
from samplegen.generators.registry import (
    generator_class,
    get_generator,
    list_generators,
    register_generator,
)

__all__ = [
    "Generator",
    "RowValidator",
    "SampleReport",
    "generator_class",
    "get_generator",
    "list_generators",
    "merge_reports",
    "register_generator",
]
