"""Column shapes and column-pair trends, overall and for the target categories."""

from __future__ import annotations

from itertools import combinations
from typing import ClassVar

import numpy as np
import pandas as pd

from evaluators.context import EvalContext
from evaluators.metrics.fidelity import (
    ContingencySimilarity,
    CorrelationSimilarity,
    KSComplement,
    PairCodes,
    TVComplement,
    association,
    discretize,
)
from evaluators.properties.base import Property, PropertyResult, mean_score
from samplegen.schema import ColumnType

__all__ = ["ColumnShapes", "ColumnPairTrends"]

_SCOPES = ("all", "targets")


def _continuous(ctx: EvalContext, columns: list[str]) -> list[str]:
    """Columns compared as continuous: numerical or datetime, labels excluded."""
    out = []
    for c in columns:
        col = ctx.schema[c]
        if not col.is_label and col.type in (ColumnType.NUMERICAL, ColumnType.DATETIME):
            out.append(c)
    return out


def _as_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("int64").where(s.notna())
    return pd.to_numeric(s, errors="coerce")


class _Scoped(Property):
    def __init__(self, scope: str = "all") -> None:
        if scope not in _SCOPES:
            raise ValueError(f"scope must be one of {_SCOPES}, not {scope!r}")
        self.scope = scope

    @property
    def key(self) -> str:
        return self.name if self.scope == "all" else f"{self.name}_targets"

    def _frames(self, ctx: EvalContext, synthetic: pd.DataFrame, cap: int):  # noqa: ANN202
        ref = ctx.reference(synthetic, targets_only=self.scope == "targets")
        return ref, ctx.sample(ref.real, cap), ctx.sample(ref.synthetic, cap, salt=1)

    def _scope_note(self, ctx: EvalContext) -> str:
        if self.scope == "all":
            return "scope: every category"
        return f"scope: target categories {ctx.targets}"


class ColumnShapes(_Scoped):
    """Per-column marginal similarity: KSComplement (continuous) or TVComplement."""

    name: ClassVar[str] = "column_shapes"
    title: ClassVar[str] = "Column shapes"
    description: ClassVar[str] = ("How closely each column's distribution matches the real one "
                                  "(1 - KS statistic or 1 - total variation distance).")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        ref, real, syn = self._frames(ctx, synthetic, ctx.options.fidelity_rows)
        if real.empty or syn.empty:
            side = "real" if real.empty else "synthetic"
            return self._empty(f"no {side} rows in scope ({self._scope_note(ctx)})")
        cont = _continuous(ctx, ref.columns)
        rows = [self._row(c, real, syn, c in cont) for c in ref.columns]
        details = pd.DataFrame(rows, columns=["column", "metric", "score"])
        summary: dict = {"real_rows": len(real), "synthetic_rows": len(syn)}
        if self.scope == "targets" and ctx.category is not None:
            per_cat = {}
            for cat in ctx.targets:
                r, s = real[real[ctx.category] == cat], syn[syn[ctx.category] == cat]
                if len(r) and len(s):
                    per_cat[cat] = mean_score(self._row(c, r, s, c in cont)[2]
                                              for c in ref.columns if c != ctx.category)
                else:
                    per_cat[cat] = float("nan")
            summary["per_category"] = per_cat
        return PropertyResult(
            self.key, mean_score(details["score"]), details, summary,
            notes=[self._scope_note(ctx), f"reference: {ref.note}"],
            artifacts={"real": real, "synthetic": syn, "columns": ref.columns,
                       "continuous": cont},
        )

    @staticmethod
    def _row(c: str, real: pd.DataFrame, syn: pd.DataFrame, continuous: bool) -> tuple:
        if continuous:
            return (c, KSComplement.name, KSComplement.compute(_as_number(real[c]),
                                                               _as_number(syn[c])))
        return (c, TVComplement.name, TVComplement.compute(real[c], syn[c]))


class ColumnPairTrends(_Scoped):
    """Per-pair similarity: CorrelationSimilarity (two continuous) or ContingencySimilarity."""

    name: ClassVar[str] = "column_pair_trends"
    title: ClassVar[str] = "Column pair trends"
    description: ClassVar[str] = ("How well pairwise relations (correlation, contingency "
                                  "tables) are kept.")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        ref, real, syn = self._frames(ctx, synthetic, ctx.options.max_rows)
        if real.empty or syn.empty:
            side = "real" if real.empty else "synthetic"
            return self._empty(f"no {side} rows in scope ({self._scope_note(ctx)})")
        cols = list(ref.columns)
        if self.scope == "targets" and ctx.category in cols and len(ctx.targets) < 2:
            cols.remove(ctx.category)
        cont = _continuous(ctx, cols)
        real_n = real[cols].copy()
        syn_n = syn[cols].copy()
        for c in cont:
            real_n[c], syn_n[c] = _as_number(real_n[c]), _as_number(syn_n[c])
        pairs = list(combinations(cols, 2))
        notes = [self._scope_note(ctx), f"reference: {ref.note}"]
        if len(pairs) > ctx.options.max_pairs:
            notes.append(f"{len(pairs)} pairs; the first {ctx.options.max_pairs} are scored")
            pairs = pairs[: ctx.options.max_pairs]
        real_d, syn_d = discretize(real_n, syn_n, cont)
        fast = PairCodes(real_d, syn_d)
        rows = []
        for a, b in pairs:
            if a in cont and b in cont:
                v = CorrelationSimilarity.compute(real_n[[a, b]], syn_n[[a, b]])
                rows.append((a, b, CorrelationSimilarity.name, v))
            else:
                v = fast.similarity(a, b)
                rows.append((a, b, ContingencySimilarity.name, v))
        details = pd.DataFrame(rows, columns=["column_1", "column_2", "metric", "score"])
        summary: dict = {"pairs": len(rows)}
        artifacts = {}
        if self.scope == "all":  # the heatmap (first 25 columns)
            heat_cols = cols[:25]
            assoc_real = association(real_n, heat_cols, cont)
            assoc_syn = association(syn_n, heat_cols, cont)
            diff = assoc_syn - assoc_real
            off = diff.to_numpy()[~np.eye(len(heat_cols), dtype=bool)]
            summary["mean_abs_association_difference"] = (
                float(np.nanmean(np.abs(off))) if np.isfinite(off).any() else float("nan"))
            artifacts = {"association_real": assoc_real, "association_synthetic": assoc_syn,
                         "association_difference": diff}
        return PropertyResult(self.key, mean_score(details["score"]), details, summary, notes,
                              artifacts=artifacts)
