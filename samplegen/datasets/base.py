"""The in-memory form of a loaded source: a table, its schema and optional extras."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from samplegen.schema import Schema

__all__ = ["Source"]


@dataclass
class Source:
    """A table with its schema.

    ``oracle`` (simulators only) holds the true probabilities per row, aligned
    with ``table`` by position: columns ``p_click`` and ``p_conversion``
    (P(conversion | click)). It is never a feature column. ``extras`` holds
    optional side tables (e.g. ``"global_candidates"``); ``meta`` describes the
    origin (path, format, configuration) and goes into manifests.
    """

    name: str
    table: pd.DataFrame
    schema: Schema
    oracle: pd.DataFrame | None = None
    extras: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.table)
