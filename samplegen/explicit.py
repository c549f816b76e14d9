"""Splits that users made themselves: ``--train FILE --test FILE [--valid FILE]``.

The files are loaded with the same flags, checked to share columns, and joined
into one :class:`Source` whose :class:`Split` points at each file's rows (rule
``{"kind": "files", ...}``). Rows that appear in more than one file are counted
and reported: an overlap between train and test is a leak.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.errors import DataError, UsageError
from samplegen.sources import load_source
from samplegen.split import Split, make_split, row_hashes

__all__ = ["load_split_files", "file_overlaps"]

log = logging.getLogger(__name__)


def load_split_files(train: str | Path, test: str | Path, valid: str | Path | None = None, *,
                     valid_frac: float = 0.1, seed: int = 0, **load_kw: Any) -> tuple[Source, Split]:
    """Load user-split files into one Source and the Split that keeps them apart.

    Without ``valid``, the validation rows are carved from the training file by the
    default rule (the latest ``valid_frac`` by time, else a seeded share).
    """
    parts = {"train": load_source(train, **load_kw)}
    if valid is not None:
        parts["valid"] = load_source(valid, **load_kw)
    parts["test"] = load_source(test, **load_kw)
    schema = parts["train"].schema
    for name, src in parts.items():
        if list(src.table.columns) != list(parts["train"].table.columns):
            missing = sorted(set(parts["train"].table.columns) - set(src.table.columns))
            extra = sorted(set(src.table.columns) - set(parts["train"].table.columns))
            raise DataError(f"the {name} file's columns differ from the train file's (missing "
                            f"{missing}, extra {extra}). Fix: give all split files the same "
                            "columns.")
    if valid is None:
        inner = make_split(parts["train"], valid_frac=valid_frac, test_frac=0.0, seed=seed)
        tr_part = parts["train"].table.iloc[np.sort(inner.train)]
        va_part = parts["train"].table.iloc[np.sort(inner.valid)]
        frames = {"train": tr_part, "valid": va_part, "test": parts["test"].table}
    else:
        frames = {k: parts[k].table for k in ("train", "valid", "test")}
    sizes = [len(frames[k]) for k in ("train", "valid", "test")]
    if sizes[0] == 0 or sizes[2] == 0:
        raise UsageError("the train and test files need at least one row each.")
    table = pd.concat([frames[k] for k in ("train", "valid", "test")], ignore_index=True)
    table = schema.coerce(table)
    bounds = np.cumsum([0, *sizes])
    idx = [np.arange(bounds[i], bounds[i + 1], dtype=np.int64) for i in range(3)]
    overlaps = file_overlaps(frames)
    for pair, n in overlaps.items():
        if n:
            log.warning("%d row(s) appear in both the %s files", n, pair.replace("&", " and "))
    rule = {"kind": "files", "train": str(train), "valid": str(valid) if valid else None,
            "test": str(test), "valid_from_train": valid is None, "overlap": overlaps}
    source = Source(f"files:{Path(str(train)).name}", table, schema,
                    meta={"files": {"train": str(train), "valid": str(valid) if valid else None,
                                    "test": str(test)}, "overlap": overlaps})
    return source, Split(*idx, rule=rule)


def file_overlaps(frames: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Rows (by content) shared by each pair of split parts, e.g. ``{"train&test": 3}``."""
    hashes = {k: np.unique(row_hashes(v)) for k, v in frames.items()}
    keys = list(frames)
    return {f"{a}&{b}": int(np.isin(hashes[a], hashes[b]).sum())
            for i, a in enumerate(keys) for b in keys[i + 1:]}
