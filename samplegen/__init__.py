"""samplegen: synthetic positives for sparse and cold-start CVR data."""

from __future__ import annotations

from samplegen.datasets.base import Source
from samplegen.errors import SamplegenError, SchemaError, UsageError
from samplegen.schema import Column, ColumnType, Role, Schema, infer_schema

__version__ = "0.1.0"

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
    "infer_schema",
]
