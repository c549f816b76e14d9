"""Candidate rows that transfer, and the data model that weighs them (``llm-judge``'s parts).

:class:`Proposal` builds candidate positives of a target from REAL entities and
contexts, drawn like real clicks: an item of the target weighted by its
training clicks (+ ``smoothing``), a user who clicked in training weighted by
her clicks in any category, and a context (every column that belongs to no
entity: weekday, hour, platform, time) copied jointly from a real clicked row
of the target (of any category when the target has fewer than
``min_context`` clicked rows). Users: ``target_share`` of the mass on the
users who clicked the target in training (when any), the rest on all clickers. So ``q(x)`` approximates P(x | click, target).

:class:`DataModel` is P(conversion | click, x): an L2 logistic regression on the
clicked training rows of every category, on one-hot attributes and contexts,
user x item attribute crosses (home region x destination, life stage x
category), and each entity's smoothed leave-one-out conversion rate (its
history). The target's own category effect is a constant within the target, so
what transfers from warm categories is everything else.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import GeneratorError
from samplegen.schema import ColumnType, Role, Schema

__all__ = ["Proposal", "DataModel"]

log = logging.getLogger(__name__)


class Proposal:
    """Candidate rows for a target: real entities weighted like real clicks, real contexts."""

    def __init__(self, table: pd.DataFrame, schema: Schema, catalogs: list[Any], *,
                 smoothing: float = 0.5, min_context: int = 20,
                 target_share: float = 0.5) -> None:
        if schema.click is None or schema.conversion is None:
            raise GeneratorError("llm-judge needs click and conversion columns in the schema.")
        self.schema, self.catalogs = schema, catalogs
        self.smoothing, self.min_context = float(smoothing), int(min_context)
        self.target_share = float(target_share)
        self.clicked = table[table[schema.click] == 1].reset_index(drop=True)
        self.positives = self.clicked[self.clicked[schema.conversion] == 1]
        owned = {c for cat in catalogs for c in cat.columns}
        self.context = [c.name for c in schema.columns if c.name not in owned
                        and not c.is_label and c.role not in (Role.ID, Role.IGNORE)]
        self.clicks = {cat.entity.key: self.clicked[cat.entity.key].astype(str).value_counts()
                       for cat in catalogs}
        cat = schema.category
        self.by_category = {} if cat is None else {
            (v, cat_.entity.key): g[cat_.entity.key].astype(str).value_counts()
            for v, g in self.clicked.groupby(cat, observed=True) for cat_ in catalogs}

    def candidates(self, m: int, conditions: dict[str, Any],
                   rng: np.random.Generator) -> pd.DataFrame:
        """``m`` candidate rows meeting ``conditions`` (labels set to the asked values)."""
        parts = [self._entities(cat, m, conditions, rng) for cat in self.catalogs]
        parts.append(self._contexts(m, conditions, rng))
        out = pd.concat(parts, axis=1)
        pos = self.positives if len(self.positives) else self.clicked
        for c in self.schema.labels:
            out[c] = conditions[c] if c in conditions else \
                pos[c].to_numpy()[rng.integers(0, len(pos), m)]
        for c in self.schema.columns:
            if c.name not in out.columns:  # row ids: fresh values
                out[c.name] = [f"cand-{int(x)}" for x in rng.integers(0, 2**62, m)]
        return out[self.schema.names]

    def _entities(self, cat: Any, m: int, conditions: dict[str, Any],
                  rng: np.random.Generator) -> pd.DataFrame:
        t = cat.tuples
        mask = np.ones(len(t), dtype=bool)
        for col, val in conditions.items():
            if col in t.columns:
                mask &= (t[col] == val).to_numpy()
        key = cat.entity.key
        keys = t[key].astype(str)
        clicks = keys.map(self.clicks[key]).fillna(0.0).to_numpy(float)
        conditioned = any(c in t.columns for c in conditions)
        if conditioned:  # the target's items (smoothed: one never clicked may still be shown)
            w = np.where(mask, clicks + self.smoothing, 0.0)
        else:  # a real, active entity: half the mass on the target's own clickers, if any
            w = clicks / clicks.sum()
            mine = self.by_category.get((conditions.get(self.schema.category), key))
            if mine is not None and len(mine) and self.target_share > 0:
                own = keys.map(mine).fillna(0.0).to_numpy(float)
                w = (1 - self.target_share) * w + self.target_share * own / own.sum()
        if w.sum() <= 0:
            raise GeneratorError(f"llm-judge: no real {cat.entity.name} meets {conditions}. Fix: "
                                 "pick a target whose entities appear in the training rows.")
        idx = rng.choice(len(t), size=m, p=w / w.sum())
        return t.iloc[idx].reset_index(drop=True)

    def _contexts(self, m: int, conditions: dict[str, Any],
                  rng: np.random.Generator) -> pd.DataFrame:
        pool = self.clicked
        cat = self.schema.category
        if cat is not None and cat in conditions:
            mine = pool[pool[cat] == conditions[cat]]
            if len(mine) >= self.min_context:
                pool = mine
        idx = rng.integers(0, len(pool), m)
        return pool[self.context].iloc[idx].reset_index(drop=True)


class DataModel:
    """P(conversion | click, x): logistic regression on attributes, crosses and histories."""

    def __init__(self, schema: Schema, catalogs: list[Any], *, c: float = 0.3,
                 prior: float = 5.0, max_cross: int = 400) -> None:
        self.schema, self.c, self.prior, self.max_cross = schema, float(c), float(prior), max_cross
        self.keys = [cat.entity.key for cat in catalogs]
        cats = [n for n in schema.names if schema[n].type == ColumnType.CATEGORICAL
                and not schema[n].is_label and n not in self.keys
                and schema[n].role not in (Role.ID, Role.IGNORE, Role.TIMESTAMP)]
        self.numeric = [n for n in schema.names if schema[n].type == ColumnType.NUMERICAL
                        and not schema[n].is_label and schema[n].role != Role.ID
                        and n not in self.keys]
        self.categorical = cats
        groups = [[a for a in cat.entity.attributes if a in cats] for cat in catalogs]
        self.crosses = [(a, b) for g, h in itertools.combinations(groups, 2)
                        for a, b in itertools.product(g, h)]

    def fit(self, table: pd.DataFrame) -> DataModel:
        """Fit on the clicked rows of ``table``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import OneHotEncoder

        s = self.schema
        clicked = table[table[s.click] == 1]
        y = clicked[s.conversion].to_numpy(int)
        if len(np.unique(y)) < 2:
            raise GeneratorError("llm-judge: the clicked training rows need both converted and "
                                 "non-converted rows to fit its data model.")
        self.base = float(y.mean())
        self.history = {k: (clicked.groupby(clicked[k].astype(str), observed=True)[s.conversion]
                            .agg(["sum", "count"])) for k in self.keys}
        self.crosses = [(a, b) for a, b in self.crosses
                        if clicked[a].nunique() * clicked[b].nunique() <= self.max_cross]
        self.scale = {n: (float(np.nanmean(self._num(clicked, n))),
                          float(np.nanstd(self._num(clicked, n))) or 1.0) for n in self.numeric}
        self.enc = OneHotEncoder(handle_unknown="ignore", min_frequency=5)
        xc = self.enc.fit_transform(self._cat_frame(clicked))
        self.model = LogisticRegression(C=self.c, max_iter=300)
        self.model.fit(self._design(clicked, xc, y), y)
        return self

    def log_prob(self, rows: pd.DataFrame) -> np.ndarray:
        """log P(conversion = 1 | click, row) per row."""
        x = self._design(rows, self.enc.transform(self._cat_frame(rows)), None)
        return self.model.predict_log_proba(x)[:, 1]

    # ------------------------------------------------------------ features
    def _num(self, rows: pd.DataFrame, n: str) -> np.ndarray:
        x = pd.to_numeric(rows[n], errors="coerce").to_numpy(float)
        return np.log1p(np.clip(x, 0, None)) if np.nanmin(x, initial=0) >= 0 else x

    def _cat_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        cols = {n: rows[n].astype(str).to_numpy() for n in self.categorical}
        for a, b in self.crosses:
            cols[f"{a}*{b}"] = rows[a].astype(str).to_numpy() + "|" + rows[b].astype(str).to_numpy()
        return pd.DataFrame(cols)

    def _design(self, rows: pd.DataFrame, xc: Any, y: np.ndarray | None) -> Any:
        from scipy import sparse

        dense = [(self._num(rows, n) - mu) / sd for n, (mu, sd) in self.scale.items()]
        for k in self.keys:
            h = self.history[k].reindex(rows[k].astype(str).to_numpy())
            conv = h["sum"].fillna(0).to_numpy(float)
            cnt = h["count"].fillna(0).to_numpy(float)
            if y is not None:  # leave the row itself out (its label is the target)
                conv, cnt = conv - y, cnt - 1
            rate = (conv + self.prior * self.base) / (cnt + self.prior)
            dense.append(np.log(rate / (1 - rate)) - np.log(self.base / (1 - self.base)))
        d = np.nan_to_num(np.column_stack(dense)) if dense else np.zeros((len(rows), 0))
        return sparse.hstack([xc, sparse.csr_matrix(d)]).tocsr()
