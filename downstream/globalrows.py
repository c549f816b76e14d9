"""Global-conversion rows (issue 10; Fliggy's whole-domain conversions) as a training source.

Candidates that reached this scene's ranking but were not exposed here carry a
label "bought in any scene". As training rows they become:

* ``mode="labels"``: a bought candidate is a positive ``click=1, conversion=1``;
  a candidate not bought anywhere is an unexposed negative ``click=0,
  conversion=0``; both with weight ``weight``;
* ``mode="head"``: labels stay as they are (``click=0, conversion=0``); the
  "bought anywhere" label goes to the ``global`` column and trains only the
  model's separate global head (``ESMMConfig(global_mode="head")``).

Every global row has ``domain=1`` (local rows 0). The domain column feeds the
optional domain indicator in training only; evaluation rows are always local.
Where a row appears in both sources, labels merge as ``max(local, global)``
(:func:`merge_labels`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from downstream.data import DOMAIN_COL, GLOBAL_COL, SYNTHETIC_COL, WEIGHT_COL
from samplegen.errors import DataError, UsageError
from samplegen.schema import Schema

__all__ = ["prepare_global_rows", "merge_labels", "global_label_column"]

_LABEL_GUESSES = (GLOBAL_COL, "global_purchase", "bought_elsewhere", "bought_anywhere",
                  "global_purchase", "purchased_elsewhere")


def global_label_column(cands: pd.DataFrame, schema: Schema, label: str | None = None) -> str:
    """The column of ``cands`` that says "bought in any scene"."""
    if label is not None:
        if label not in cands.columns:
            raise DataError(f"global label column {label!r} is not in the candidates table "
                            f"(columns: {list(cands.columns)}).")
        return label
    for name in _LABEL_GUESSES:
        if name in cands.columns:
            return name
    if schema.conversion and schema.conversion in cands.columns:
        return schema.conversion
    raise DataError("the global candidates table has no 'bought in any scene' column. Fix: "
                    f"name it (one of {list(_LABEL_GUESSES)}) or pass label=COLUMN.")


def prepare_global_rows(cands: pd.DataFrame, schema: Schema, *, mode: str = "labels",
                        weight: float = 1.0, label: str | None = None,
                        keep_negatives: bool = True) -> pd.DataFrame:
    """Training rows (schema columns plus ``sample_weight``, ``domain``,
    ``global_conversion``, ``is_synthetic=0``) from global candidates."""
    if mode not in ("labels", "head"):
        raise UsageError(f"global mode {mode!r}: use 'labels' or 'head'.")
    if weight < 0:
        raise UsageError(f"global row weight {weight} must be >= 0.")
    col = global_label_column(cands, schema, label)
    bought = pd.to_numeric(cands[col], errors="coerce").fillna(0).to_numpy() > 0.5
    missing = [c for c in schema.features if c not in cands.columns]
    if missing:
        raise DataError(f"global candidates lack feature column(s) {missing}. Fix: give them "
                        "the same feature columns as the impression table.")
    out = cands[[c for c in schema.names if c in cands.columns]].copy()
    ck, cv = schema.click, schema.conversion
    if mode == "labels":
        out[ck] = bought.astype(int)
        out[cv] = bought.astype(int)
    else:
        out[ck] = 0
        out[cv] = 0
    for a in schema.aux_labels:
        if a not in out.columns:
            out[a] = 0
    out[GLOBAL_COL] = bought.astype(int)
    out[DOMAIN_COL] = 1
    out[WEIGHT_COL] = float(weight)
    out[SYNTHETIC_COL] = 0
    if not keep_negatives:
        out = out.loc[bought]
    return out.reset_index(drop=True)


def merge_labels(local: pd.DataFrame, global_: pd.DataFrame, keys: list[str],
                 schema: Schema, label: str | None = None) -> pd.DataFrame:
    """Local rows with conversion = max(local conversion, global label) where the
    same ``keys`` (e.g. user and item ids) appear in ``global_``; a merged positive
    also gets click = max(click, conversion) so that conversion => click holds.

    Rows turned positive by the global source only are marked ``global_conversion=1``.
    """
    col = global_label_column(global_, schema, label)
    g = global_.groupby(keys, sort=False)[col].max().rename("_g").reset_index()
    merged = local.merge(g, on=keys, how="left")
    gl = merged.pop("_g").fillna(0).astype(int).to_numpy()
    cv, ck = schema.conversion, schema.click
    loc = merged[cv].astype(int).to_numpy()
    merged[cv] = np.maximum(loc, gl)
    merged[ck] = np.maximum(merged[ck].astype(int).to_numpy(), merged[cv].to_numpy())
    merged[GLOBAL_COL] = ((gl == 1) & (loc == 0)).astype(int)
    merged.index = local.index
    return merged
