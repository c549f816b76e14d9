"""samplegen: synthetic positives for sparse and cold-start CVR data.

The few names users need; heavier ones (the generate pipeline, generators) load on
first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from samplegen.datasets.base import Source
from samplegen.errors import SamplegenError, SchemaError, UsageError
from samplegen.schema import Column, ColumnType, Role, Schema, infer_schema

__version__ = "0.1.0"

_LAZY = {
    "load_source": "samplegen.sources",
    "make_split": "samplegen.split",
    "sparse_categories": "samplegen.split",
    "generate": "samplegen.pipeline",
    "get_generator": "samplegen.generators.registry",
    "list_generators": "samplegen.generators.registry",
}

__all__ = [
    "Column",
    "ColumnType",
    "Role",
    "SamplegenError",
    "Schema",
    "SchemaError",
    "Source",
    "UsageError",
    "__version__",
    "generate",
    "get_generator",
    "infer_schema",
    "list_generators",
    "load_source",
    "make_split",
    "sparse_categories",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'samplegen' has no attribute {name!r}")
