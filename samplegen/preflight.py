"""Checks that run before a generate run writes anything (a bad input is a UsageError, exit 2).

* ``--out`` can be written;
* a generator that copies real rows (oversample) is never asked for labels that its rows
  lack: copying a non-converting row as conversion=1 would fabricate the label;
* an aligner has both classes of the label to learn from;
* a target with fewer distinct rows than asked is repeated, and a warning says so.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.errors import UsageError

__all__ = ["check_align_labels", "check_writable", "label_rows", "mask_rows",
           "require_label_rows", "warn_duplicates"]

log = logging.getLogger(__name__)


def label_rows(source: Source, train: pd.DataFrame, cond: dict[str, Any]) -> int:
    """How many training rows meet ``cond`` (features and labels)."""
    return int(mask_rows(source.schema.coerce(train[list(cond)]), cond).sum())


def require_label_rows(source: Source, train: pd.DataFrame, cond: dict[str, Any]) -> None:
    """UsageError unless some training rows meet ``cond``, labels included."""
    if label_rows(source, train, cond):
        return
    labels = {k: v for k, v in cond.items() if k in source.schema.labels}
    feats = {k: v for k, v in cond.items() if k not in labels}
    where = f"target {_plain(feats)}" if feats else "the table"
    raise UsageError(f"{where} has no training rows with {_plain(labels)}: a generator that "
                     "copies real rows would copy rows without those labels and label them "
                     "falsely. Fix: pick a target with such rows (see `samplegen data describe`)"
                     ", or use a generator that models the labels (e.g. sdv-gaussian-copula).")


def _plain(d: dict[str, Any]) -> str:
    """``{a: 1}`` as ``a=1, ...`` with plain Python values (no numpy reprs)."""
    return ", ".join(f"{k}={v.item() if hasattr(v, 'item') else v}" for k, v in d.items())


def check_align_labels(train: pd.DataFrame, schema: Any, align: str | None) -> None:
    """An aligner learns real conversions from the training rows: it needs both classes."""
    label = schema.conversion or schema.click
    if align is None or label is None or label not in train.columns:
        return
    y = pd.to_numeric(train[label], errors="coerce").fillna(0)
    if y.nunique() < 2:
        raise UsageError(f"--align {align} learns what a real {label} looks like, but every "
                         f"training row has {label}={int(y.iloc[0]) if len(y) else 0}. Fix: "
                         "pass --align none, or use a table with both classes of "
                         f"{label!r}.")


def warn_duplicates(gen: Any, train: pd.DataFrame, schema: Any, targets: list[Any]) -> None:
    """A generator that copies rows repeats them when a target has fewer rows than asked."""
    if not gen.allow_duplicates:
        return
    for t in targets:
        cond = t.conditions
        rows = train.loc[mask_rows(schema.coerce(train[list(cond)]), cond)]
        if len(rows) > 100_000:
            continue
        distinct = len(rows.drop_duplicates())
        if 0 < distinct < t.n:
            log.warning("%s: target %s has %d distinct training row(s) for %d requested rows; "
                        "%d of the written rows repeat them", gen.name, _plain(cond), distinct,
                        t.n, t.n - distinct)


def check_writable(out: Path) -> None:
    """UsageError unless ``out`` (or the folder that would hold it) can be written."""
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"--out {str(out)!r}: {str(probe)!r} is a file, not a folder. Fix: "
                         "pass a directory path.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--out {str(out)!r} cannot be written ({str(probe)!r} is read-only "
                         "or not yours). Fix: pass an --out under a folder you can write.")


def mask_rows(df: pd.DataFrame, cond: dict[str, Any]) -> np.ndarray:
    """Rows of ``df`` whose columns equal every value of ``cond``."""
    m = np.ones(len(df), dtype=bool)
    for k, v in cond.items():
        m &= (df[k] == v).to_numpy()
    return m
