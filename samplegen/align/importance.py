"""SampleLLM-style importance weights from SHAP interaction groups.

Features that interact (mean |SHAP interaction value| of the real-data model
above ``threshold`` x the largest off-diagonal entry) are grouped; each
synthetic row gets the weight

    w(x, y) = prod_groups p_real(g(x) | y, c) / p_syn(g(x) | y, c)  x  [p_real(y|x) / p_syn(y|x)]^power

where ``c`` is the row's item category (the generation target, kept out of
the groups so that weighting never moves rows between categories) and ``y`` is
the row's conversion label. Numeric features are binned on real quantiles.

Smoothing: ``p_real(g | y, c)`` shrinks the category's counts toward the
category-free distribution ``p_real(g | y)`` with ``prior_strength``
pseudo-rows (a cold-start category with no real positives falls back to all
real positives); ``p_real(g | y)`` and ``p_syn`` use additive smoothing
``alpha`` over the combinations seen in either table plus one unseen slot.
A combination never seen in real data therefore gets a small, non-zero
numerator and is pushed down; nothing is ever divided by zero.

Label term: SampleLLM fits a second model on the synthetic pool for
``p_syn(y|x)``. Generated pools here are usually all positives (click=1,
conversion=1), where such a model is degenerate (it predicts 1 everywhere).
When the pool holds at least ``min_class`` rows of each class, the second
model is fitted as in SampleLLM; otherwise ``p_syn(y|x)`` is the pool's label
share (a constant), so the term reduces to the real model's label
consistency ``p_real(y|x)``: a synthetic positive whose features make a
conversion implausible on real data is pushed down. ``label_power`` tempers it
(0 switches it off). Log-weights are clipped to ``median +- log(max_weight_ratio)``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from samplegen.align.attribution import AttributionModel, as_strings, coerce_features
from samplegen.schema import ColumnType, Schema

__all__ = ["group_features", "FeatureBinner", "ImportanceWeighter"]

log = logging.getLogger(__name__)
_NA = "<NA>"


def group_features(matrix: np.ndarray, features: list[str], *, threshold: float = 0.3,
                   max_group_size: int = 3, exclude: tuple[str, ...] = (),
                   cardinality: dict[str, int] | None = None,
                   max_cells: float | None = None) -> list[list[str]]:
    """Partition ``features`` into groups of interacting features.

    Pairs whose interaction is at least ``threshold`` x the largest off-diagonal
    entry are edges; edges join groups strongest first (connected components)
    unless the merged group would exceed ``max_group_size`` features or, with
    ``cardinality`` (distinct values per feature) and ``max_cells``, a joint
    table of more than ``max_cells`` cells (too sparse to estimate). Features in
    ``exclude`` are left out; every other feature is in exactly one group.
    """
    m = np.asarray(matrix, dtype=float)
    keep = [i for i, f in enumerate(features) if f not in exclude]
    parent = {i: i for i in keep}
    size = {i: 1 for i in keep}
    cells = {i: float((cardinality or {}).get(features[i], 1)) for i in keep}
    cap = float("inf") if max_cells is None else max_cells

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [(m[i, j] + m[j, i], i, j) for a, i in enumerate(keep) for j in keep[a + 1:]]
    top = max((v for v, _, _ in pairs), default=0.0)
    if top > 1e-12:
        for v, i, j in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
            if v < threshold * top:
                break
            ri, rj = root(i), root(j)
            if ri != rj and size[ri] + size[rj] <= max_group_size and (
                    cells[ri] * cells[rj] <= cap):
                parent[rj] = ri
                size[ri] += size[rj]
                cells[ri] *= cells[rj]
    groups: dict[int, list[str]] = {}
    for i in keep:
        groups.setdefault(root(i), []).append(features[i])
    return sorted(groups.values(), key=lambda g: features.index(g[0]))


class FeatureBinner:
    """Turns features into string tokens: categorical values as-is, numbers in quantile bins."""

    def __init__(self, schema: Schema, features: list[str], n_bins: int = 5):
        self.schema, self.features, self.n_bins = schema, list(features), n_bins
        self.edges: dict[str, np.ndarray] = {}

    def fit(self, real: pd.DataFrame) -> FeatureBinner:
        x = coerce_features(self.schema, real, self.features)
        for f in self.features:
            if self.schema[f].type == ColumnType.CATEGORICAL:
                continue
            v = _numeric(x[f])
            v = v[np.isfinite(v)]
            qs = np.quantile(v, np.linspace(0, 1, self.n_bins + 1)[1:-1]) if len(v) else []
            self.edges[f] = np.unique(np.asarray(qs, dtype=float))
        return self

    def cardinality(self, df: pd.DataFrame) -> dict[str, int]:
        """Distinct tokens per feature in ``df``."""
        tok = self.transform(df)
        return {f: int(tok[f].nunique()) for f in self.features}

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        x = coerce_features(self.schema, df, self.features)
        out = {}
        for f in self.features:
            if f in self.edges:
                v = _numeric(x[f])
                b = np.searchsorted(self.edges[f], v, side="right").astype(object)
                b[~np.isfinite(v)] = _NA
                out[f] = pd.Series(b, index=df.index).astype(str)
            else:
                out[f] = x[f].astype(object).where(x[f].notna(), _NA).astype(str)
        return pd.DataFrame(out, index=df.index)


class ImportanceWeighter:
    """Fits real-data group densities; ``weights(pool)`` returns SampleLLM-style weights."""

    def __init__(self, *, n_bins: int = 5, alpha: float = 1.0, prior_strength: float = 20.0,
                 label_power: float = 1.0, max_weight_ratio: float = 100.0, min_class: int = 20):
        self.n_bins, self.alpha, self.prior_strength = n_bins, alpha, prior_strength
        self.label_power, self.max_weight_ratio, self.min_class = (label_power,
                                                                   max_weight_ratio, min_class)
        self.groups: list[list[str]] = []
        self.info: dict[str, Any] = {}

    def fit(self, real: pd.DataFrame, schema: Schema, model: AttributionModel,
            groups: list[list[str]]) -> ImportanceWeighter:
        """Count group combinations among real rows, per label and category."""
        self.schema, self.model, self.groups = schema, model, [list(g) for g in groups]
        self.label = schema.conversion if model.target == "conversion" else schema.click
        self.category = schema.category if schema.category in real.columns else None
        feats = [f for g in self.groups for f in g]
        self.binner = FeatureBinner(schema, feats, self.n_bins).fit(real)
        y = _labels(real, self.label)
        cat = _cats(real, self.category, schema)
        self.real_y: list[pd.Series] = []
        self.real_yc: list[pd.Series] = []
        self.real_support: list[dict[int, set[str]]] = []
        for k in self._keys(real):
            tab = pd.DataFrame({"y": y, "c": cat, "k": k})
            self.real_y.append(tab.groupby(["y", "k"]).size())
            self.real_yc.append(tab.groupby(["y", "c", "k"]).size())
            self.real_support.append({int(yy): set(g["k"]) for yy, g in tab.groupby("y")})
        self.real_n_y = pd.Series(y).value_counts()
        self.real_n_yc = pd.DataFrame({"y": y, "c": cat}).groupby(["y", "c"]).size()
        return self

    def weights(self, pool: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Weights (mean 1 over rows with weight > 0) and their log components per term."""
        n = len(pool)
        if n == 0:
            return np.zeros(0), {}
        keys = self._keys(pool)
        y = _labels(pool, self.label, default=1)
        cat = _cats(pool, self.category, self.schema)
        logw = np.zeros(n)
        for gi, k in enumerate(keys):
            logw += self._group_log_ratio(gi, k, y, cat)
        log_groups = logw.copy()
        log_label = self._label_log_ratio(pool, y) * self.label_power
        logw = logw + log_label
        med = float(np.median(logw))
        cap = float(np.log(self.max_weight_ratio))
        logw = np.clip(logw, med - cap, med + cap)
        w = np.exp(logw - logw.max())
        w = w / w.mean()
        return w, {"log_groups": log_groups, "log_label": log_label}

    # ------------------------------------------------------------ internals
    def _keys(self, df: pd.DataFrame) -> list[np.ndarray]:
        tok = self.binner.transform(df)
        out = []
        for g in self.groups:
            k = tok[g[0]].to_numpy(dtype=object)
            for f in g[1:]:
                k = k + "\x1f" + tok[f].to_numpy(dtype=object)
            out.append(k.astype(str))
        return out

    def _group_log_ratio(self, gi: int, k: np.ndarray, y: np.ndarray,
                         cat: np.ndarray) -> np.ndarray:
        a, beta = self.alpha, self.prior_strength
        tab = pd.DataFrame({"y": y, "c": cat, "k": k})
        size = np.empty(len(k))
        for yy in np.unique(y):
            seen = self.real_support[gi].get(int(yy), set()) | set(k[y == yy].tolist())
            size[y == yy] = len(seen) + 1
        yk = pd.MultiIndex.from_arrays([y, k])
        yck = pd.MultiIndex.from_arrays([y, cat, k])
        yc = pd.MultiIndex.from_arrays([y, cat])
        n_y = self.real_n_y.reindex(y).fillna(0).to_numpy()
        p_glob = (_look(self.real_y[gi], yk) + a) / (n_y + a * size)
        p_real = (_look(self.real_yc[gi], yck) + beta * p_glob) / (
            _look(self.real_n_yc, yc) + beta)
        syn_yck = tab.groupby(["y", "c", "k"]).size()
        syn_yc = tab.groupby(["y", "c"]).size()
        p_syn = (_look(syn_yck, yck) + a) / (_look(syn_yc, yc) + a * size)
        return np.log(p_real) - np.log(p_syn)

    def _label_log_ratio(self, pool: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        eps = 1e-6
        p1 = np.clip(self.model.predict_proba(pool), eps, 1 - eps)
        p_real = np.where(y == 1, p1, 1 - p1)
        counts = np.bincount(y, minlength=2)
        if counts.min() >= self.min_class:
            syn = AttributionModel(target=self.model.target, valid_frac=0.0, n_estimators=100)
            pool_schema = self.schema
            syn.fit(pool, pool_schema, seed=0)
            q1 = np.clip(syn.predict_proba(pool), eps, 1 - eps)
            self.info["label_term"] = "pool model"
        else:
            q1 = np.full(len(pool), np.clip(counts[1] / max(len(y), 1), eps, 1 - eps))
            self.info["label_term"] = "pool label share (single-class pool)"
        p_syn = np.where(y == 1, q1, 1 - q1)
        return np.log(p_real) - np.log(p_syn)


def _numeric(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(s):
        v = s.to_numpy(dtype="datetime64[s]").astype("int64").astype(float)
        v[s.isna().to_numpy()] = np.nan
        return v
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def _labels(df: pd.DataFrame, label: str | None, default: int = 0) -> np.ndarray:
    if label is None or label not in df.columns:
        return np.full(len(df), default, dtype=int)
    return pd.to_numeric(df[label], errors="coerce").fillna(default).to_numpy().astype(int)


def _cats(df: pd.DataFrame, category: str | None, schema: Schema) -> np.ndarray:
    """Category values as strings (schema storage form); "" when there is no category."""
    if category is None or category not in df.columns:
        return np.full(len(df), "", dtype=object)
    s = as_strings(schema, df[category])
    return s.astype(object).where(s.notna(), _NA).astype(str).to_numpy()


def _look(counts: pd.Series, index: pd.MultiIndex) -> np.ndarray:
    """Counts of ``index`` entries in ``counts`` (0 for unseen)."""
    if len(counts) == 0:
        return np.zeros(len(index))
    return counts.reindex(index).fillna(0).to_numpy(dtype=float)
