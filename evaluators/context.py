"""What every property needs: the real frames, the schema, targets, options and caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluators.encoding import TableEncoder, split_types, subsample
from samplegen.schema import ColumnType, Schema

__all__ = ["ReportOptions", "EvalContext", "Reference", "match"]


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """Sizes, seeds and model choices of a quality report.

    ``max_rows`` caps each side of the detection and privacy computations,
    ``knn_rows`` each side of precision/recall, ``fidelity_rows`` the column
    shapes and pair trends (rows drawn without replacement, seeded).
    """

    seed: int = 0
    max_rows: int = 5000
    knn_rows: int = 2000
    fidelity_rows: int = 20000
    k: int = 5
    detection_classifier: str = "lightgbm"
    folds: int = 3
    min_reference_rows: int = 20
    min_holdout_rows: int = 50
    utility_rows: int = 100_000
    shap_rows: int = 400
    interaction_rows: int = 80
    max_pairs: int = 300
    max_plot_columns: int = 12
    strict: bool = False


@dataclass
class Reference:
    """Real rows that a synthetic set should resemble, and how they were chosen."""

    real: pd.DataFrame
    synthetic: pd.DataFrame
    conditions: dict[str, Any]
    note: str
    columns: list[str] = field(default_factory=list)


@dataclass
class EvalContext:
    """Prepared real data shared by the properties of one report (coerced frames)."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    targets: list[str]
    options: ReportOptions
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [c for c in self.schema.features if c in self.train.columns]

    @property
    def numerical(self) -> list[str]:
        return [c for c in self.features
                if self.schema[c].type == ColumnType.NUMERICAL]

    @property
    def category(self) -> str | None:
        c = self.schema.category
        return c if c is not None and c in self.train.columns else None

    def in_targets(self, df: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``df`` whose category is a target category (all rows without a category)."""
        if self.category is None:
            return df
        return df[df[self.category].isin(self.targets)]

    def conditions(self, synthetic: pd.DataFrame) -> dict[str, Any]:
        """Label values that are constant in the synthetic set (e.g. click=1, conversion=1)."""
        out = {}
        for lab in self.schema.labels:
            if lab in synthetic.columns and lab in self.train.columns:
                vals = pd.unique(synthetic[lab].dropna())
                if len(vals) == 1:
                    out[lab] = vals[0]
        return out

    def condition_levels(self, synthetic: pd.DataFrame) -> list[dict[str, Any]]:
        """Label conditions from strictest to none: all constant labels, then click and
        conversion, then click, then nothing."""
        full = self.conditions(synthetic)
        keep = [[k for k in full],
                [k for k in full if k in (self.schema.click, self.schema.conversion)],
                [k for k in full if k == self.schema.click], []]
        levels: list[dict[str, Any]] = []
        for ks in keep:
            cond = {k: full[k] for k in ks}
            if cond not in levels:
                levels.append(cond)
        return levels

    def reference(self, synthetic: pd.DataFrame, *, targets_only: bool = False) -> Reference:
        """Real training rows matching the synthetic set's constant labels (and targets).

        Label conditions are relaxed (see :meth:`condition_levels`) until at
        least ``min_reference_rows`` real rows match; the note says which.
        Labels constant in the synthetic set are never compared column-wise.
        """
        levels = self.condition_levels(synthetic)
        real = self.in_targets(self.train) if targets_only else self.train
        syn = self.in_targets(synthetic) if targets_only else synthetic
        where = " in the target categories" if targets_only else ""
        columns = self.features + [c for c in self.schema.labels if c in self.train.columns
                                    and c in synthetic.columns and c not in levels[0]]
        for cond in levels:
            matched = match(real, cond)
            if len(matched) >= self.options.min_reference_rows or not cond:
                break
        desc = ", ".join(f"{k}={v}" for k, v in cond.items())
        if cond:
            note = f"the {len(matched)} real training rows{where} with {desc}"
        else:
            note = f"all {len(matched)} real training rows{where}"
        if cond != levels[0]:
            wanted = ", ".join(f"{k}={v}" for k, v in levels[0].items())
            note += (f" (fewer than {self.options.min_reference_rows} real rows have "
                     f"{wanted}, so the condition was relaxed)")
        return Reference(matched, syn, cond, note, columns)

    def encoder(self, columns: list[str], fit_on: pd.DataFrame) -> TableEncoder:
        """A :class:`TableEncoder` for ``columns`` typed by the schema, fitted on ``fit_on``."""
        num = [c for c in columns if c in self.schema and
               self.schema[c].type == ColumnType.NUMERICAL]
        if any(c not in self.schema for c in columns):
            num = split_types(fit_on, columns)[0]
        cat = [c for c in columns if c not in num]
        return TableEncoder(num, cat).fit(fit_on)

    def sample(self, df: pd.DataFrame, n: int, salt: int = 0) -> pd.DataFrame:
        """Seeded subsample of at most ``n`` rows."""
        return subsample(df, n, self.options.seed + salt)


def match(df: pd.DataFrame, cond: dict[str, Any]) -> pd.DataFrame:
    """Rows of ``df`` whose columns equal the values in ``cond``."""
    mask = pd.Series(True, index=df.index)
    for k, v in cond.items():
        mask &= df[k] == v
    return df[mask]
