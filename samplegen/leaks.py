"""Label-leak detection: feature columns that encode click or conversion.

Three kinds of evidence, each reported as a :class:`Leak`:

* ``name``: the column is named like a label or an outcome (``ctcvr``, ``revenue``,
  ``gmv``, ``pay_amount``, ``order_*``, ``purchase_*``, ``is_click`` ...);
* ``single_column_auc``: the column alone ranks the label near-perfectly
  (AUC >= ``auc_threshold``, either direction). Numerical columns are scored by their
  raw value; categorical ones by an out-of-fold target-mean encoding (5 folds,
  smoothed), so that a high-cardinality id does not score 1.0 by memorising rows;
* ``nonzero_iff_label``: the column is non-null and non-zero on exactly the rows
  where the label is 1.

Click is checked on all rows; conversion on the rows where it is defined (clicked
rows) when a click column exists. The statistical checks run on distinct rows and
need at least ``min_positives`` positives and negatives. :func:`apply_leak_policy` turns leaky
columns into role ``ignore``; loading never does it by itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from samplegen.datasets.base import Source
from samplegen.errors import UsageError
from samplegen.schema import ColumnType, Schema

__all__ = ["Leak", "LEAK_KINDS", "detect_leaks", "apply_leak_policy", "guard_leaks"]

LEAK_KINDS = ("name", "single_column_auc", "nonzero_iff_label")

_LABEL_TOKENS = {
    "ctcvr", "cvr", "ctr", "click", "clicks", "clicked", "clk", "conversion", "conversions",
    "converted", "convert", "purchase", "purchases", "purchased", "buy", "bought", "order",
    "orders", "ordered", "revenue", "gmv", "pay", "paid", "payment", "booking", "bookings",
    "booked", "spend", "spent", "cart", "label", "outcome",
}
_NAME_PAT = re.compile(r"(pay_?amount|ctcvr|gmv|revenue)", re.I)
_ZERO_STRINGS = {"", "0", "0.0", "false", "none", "nan", "null"}


@dataclass(frozen=True)
class Leak:
    """One suspected leak: the column, the label it leaks, the kind and the evidence."""

    column: str
    label: str
    kind: str
    evidence: str
    score: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def detect_leaks(
    df: pd.DataFrame,
    schema: Schema,
    *,
    auc_threshold: float = 0.98,
    min_positives: int = 5,
    max_rows: int = 200_000,
    seed: int = 0,
) -> list[Leak]:
    """Every feature column of ``df`` that looks like, or alone predicts, a label."""
    if not 0.5 < auc_threshold <= 1.0:
        raise UsageError(f"auc_threshold must be in (0.5, 1] (got {auc_threshold}).")
    if len(df) > max_rows:
        df = df.sample(n=max_rows, random_state=np.random.default_rng(seed).integers(2**31))
    features = [c for c in schema.features if c in df.columns]
    # repeated rows add no evidence (a sample with one negative copied 10 times would
    # make every column that differs on it look perfectly predictive)
    df = df.drop_duplicates(subset=features + [c for c in schema.labels if c in df.columns])
    df = df.reset_index(drop=True)
    labels = _label_masks(df, schema)
    leaks: list[Leak] = []
    for col in features:
        leaks.extend(_name_leak(col, schema))
        for label, (y, rows, where) in labels.items():
            leaks.extend(_stat_leaks(df[col][rows], y, col, label, where, schema[col].type,
                                     auc_threshold, min_positives, seed))
    return leaks


def apply_leak_policy(schema: Schema, leaks: Iterable[Leak], keep: Iterable[str] = ()) -> Schema:
    """Return ``schema`` with every leaky column set to role ``ignore``, except those in ``keep``."""
    keep = set(keep)
    unknown = sorted(keep - set(schema.names))
    if unknown:
        raise UsageError(f"--keep names column(s) {unknown} that are not in the data. Fix: use "
                         f"column names from {schema.names}.")
    cols = {lk.column: {"role": "ignore"} for lk in leaks
            if lk.column not in keep and lk.column in schema}
    return schema.with_overrides({"columns": cols}) if cols else schema


def guard_leaks(source: Source, keep: Iterable[str] = (), **detect_kw: object,
                ) -> tuple[Source, list[Leak]]:
    """Detect leaks in ``source`` and return it with leaky columns ignored (unless kept).

    What ``generate`` and ``validate`` call before fitting; log or show the leaks.
    """
    leaks = detect_leaks(source.table, source.schema, **detect_kw)  # type: ignore[arg-type]
    schema = apply_leak_policy(source.schema, leaks, keep)
    if schema is source.schema:
        return source, leaks
    meta = {**source.meta, "leaks_ignored": sorted({lk.column for lk in leaks} - set(keep))}
    return replace(source, schema=schema, meta=meta), leaks


# ==================================================================== internals
def _label_masks(df: pd.DataFrame,
                 schema: Schema) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """label -> (0/1 values on defined rows, boolean row mask, description of the rows)."""
    out: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
    ck, cv = schema.click, schema.conversion
    if ck and ck in df:
        y = pd.to_numeric(df[ck], errors="coerce")
        ok = y.isin([0, 1]).to_numpy()
        out[ck] = (y[ok].to_numpy(dtype=int), ok, "rows")
    if cv and cv in df:
        y = pd.to_numeric(df[cv], errors="coerce")
        ok = y.isin([0, 1]).to_numpy()
        where = "rows"
        if ck and ck in df:
            ok &= (pd.to_numeric(df[ck], errors="coerce") == 1).to_numpy()
            where = "clicked rows"
        out[cv] = (y[ok].to_numpy(dtype=int), ok, where)
    return out


def _tokens(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return {t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t}


def _name_leak(col: str, schema: Schema) -> list[Leak]:
    hits = sorted(_tokens(col) & _LABEL_TOKENS)
    if not hits and not _NAME_PAT.search(col):
        return []
    word = hits[0] if hits else _NAME_PAT.search(col).group(1).lower()  # type: ignore[union-attr]
    label = schema.click if word in {"click", "clicks", "clicked", "clk", "ctr"} \
        else schema.conversion
    return [Leak(col, str(label), "name", f"the name contains {word!r}, like a label or "
                 "outcome column", None)]


def _present(s: pd.Series) -> np.ndarray:
    """True where a value is non-null and non-zero (0, '', 'false', 'none' count as zero)."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        x = pd.to_numeric(s, errors="coerce")
        return (x.notna() & (x != 0)).to_numpy()
    codes, uniq = pd.factorize(s.astype(object))  # missing -> code -1
    nonzero = np.array([str(u).strip().lower() not in _ZERO_STRINGS for u in uniq], dtype=bool)
    return (codes >= 0) & nonzero[np.maximum(codes, 0)] if len(uniq) else codes >= 0


def _stat_leaks(s: pd.Series, y: np.ndarray, col: str, label: str, where: str,
                ctype: ColumnType, threshold: float, min_pos: int, seed: int) -> list[Leak]:
    n_pos, n = int(y.sum()), len(y)
    if n_pos < min_pos or n - n_pos < min_pos:
        return []
    out = []
    present = _present(s)
    if present.any() and not present.all() and np.array_equal(present, y == 1):
        out.append(Leak(col, label, "nonzero_iff_label",
                        f"non-null and non-zero in {n_pos}/{n_pos} rows with {label}=1 and in "
                        f"0/{n - n_pos} rows with {label}=0 (distinct {where})", 1.0))
    score = _single_column_auc(s, y, ctype, seed)
    if score is not None and score >= threshold:
        how = "raw value" if ctype == ColumnType.NUMERICAL else "out-of-fold target encoding"
        out.append(Leak(col, label, "single_column_auc",
                        f"alone predicts {label} with AUC {score:.3f} ({how}; {n} distinct "
                        f"{where}, {n_pos} positives)", round(score, 6)))
    return out


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    r = rankdata(score)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    return float((r[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _single_column_auc(s: pd.Series, y: np.ndarray, ctype: ColumnType,
                       seed: int) -> float | None:
    """max(AUC, 1 - AUC) of the column alone, or None when it cannot be scored."""
    if ctype == ColumnType.NUMERICAL or ctype == ColumnType.DATETIME:
        x = pd.to_numeric(s, errors="coerce") if ctype == ColumnType.NUMERICAL \
            else pd.to_datetime(s, errors="coerce").astype("int64").astype(float)
        x = x.to_numpy(dtype=float)
        if np.isnan(x).all():
            return None
        x = np.where(np.isnan(x), np.nanmin(x) - 1.0, x)
    else:
        x = _oof_target_encoding(s, y, seed)
    if np.all(x == x[0]):
        return None
    a = _auc(x, y)
    return max(a, 1.0 - a)


def _oof_target_encoding(s: pd.Series, y: np.ndarray, seed: int, folds: int = 5,
                         smoothing: float = 1.0) -> np.ndarray:
    """Each row's category mean of ``y`` over the other folds, smoothed toward the prior."""
    codes, uniq = pd.factorize(s, use_na_sentinel=False)  # missing is a level of its own
    n, k = len(s), len(uniq)
    fold = np.random.default_rng(seed).permutation(n) % folds
    enc = np.empty(n, dtype=float)
    yf = y.astype(float)
    for f in range(folds):
        tr, te = fold != f, fold == f
        prior = yf[tr].mean() if tr.any() else yf.mean()
        sums = np.bincount(codes[tr], weights=yf[tr], minlength=k)
        counts = np.bincount(codes[tr], minlength=k)
        enc[te] = (sums[codes[te]] + smoothing * prior) / (counts[codes[te]] + smoothing)
    return enc
