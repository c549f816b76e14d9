"""Attribution model: LightGBM on real training rows with TreeSHAP values and interactions.

Categorical features are encoded as *target-ordered codes*: categories are
ranked by their smoothed label rate on the training rows (ties broken by click
rate, then frequency, then name) and the rank is the code; unseen values become
missing. LightGBM's own categorical splits would be a little more flexible, but
``shap`` computes wrong interaction values for them (row sums of the
interaction matrix stop matching the SHAP values), so ordered codes with
numeric splits keep both SHAP values and interaction values exact.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from samplegen.errors import DataError, UsageError
from samplegen.schema import ColumnType, Schema

__all__ = ["AttributionModel", "FeatureEncoder", "as_strings", "coerce_features"]

log = logging.getLogger(__name__)


def as_strings(schema: Schema, s: pd.Series) -> pd.Series:
    """Categorical column ``s`` in the schema's storage form (strings, None), fast on big tables.

    Only the distinct values go through :meth:`Schema.coerce`; the rest is a take.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series([None] * len(s), index=s.index, dtype=object)
    conv = schema.coerce(pd.DataFrame({s.name: np.asarray(uniques, dtype=object)}))[s.name]
    table = np.append(conv.to_numpy(dtype=object), None)
    return pd.Series(table[codes], index=s.index, dtype=object)


def coerce_features(schema: Schema, df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``df[names]`` with categorical columns as strings and numbers as floats."""
    out = {}
    for name in names:
        col = schema[name]
        if col.type == ColumnType.CATEGORICAL:
            out[name] = as_strings(schema, df[name])
        elif col.type == ColumnType.DATETIME:
            out[name] = pd.to_datetime(df[name], errors="coerce")
        else:
            out[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
    return pd.DataFrame(out, index=df.index)


class FeatureEncoder:
    """Maps ``schema.features`` to a float matrix: target-ordered codes, numbers, epoch days."""

    def __init__(self, schema: Schema, features: list[str]):
        self.schema = schema
        self.features = list(features)
        self.codes: dict[str, dict[str, float]] = {}

    def fit(self, df: pd.DataFrame, y: np.ndarray, click: np.ndarray | None = None,
            prior: float = 20.0) -> FeatureEncoder:
        """Learn the category order of every categorical feature from ``df`` and labels ``y``."""
        x = coerce_features(self.schema, df, self.features)
        base = float(np.mean(y)) if len(y) else 0.0
        cbase = float(np.mean(click)) if click is not None and len(click) else 0.0
        for name in self.features:
            if self.schema[name].type != ColumnType.CATEGORICAL:
                continue
            frame = pd.DataFrame({"v": x[name].to_numpy(), "y": y,
                                  "c": click if click is not None else np.zeros(len(y))})
            g = frame.dropna(subset=["v"]).groupby("v", sort=True).agg(
                n=("y", "size"), y=("y", "sum"), c=("c", "sum"))
            g["rate"] = (g["y"] + prior * base) / (g["n"] + prior)
            g["crate"] = (g["c"] + prior * cbase) / (g["n"] + prior)
            g = g.reset_index().sort_values(["rate", "crate", "n", "v"], kind="mergesort")
            self.codes[name] = {str(v): float(i) for i, v in enumerate(g["v"])}
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Float matrix (rows x features); unseen categories and missing values are NaN."""
        missing = [c for c in self.features if c not in df.columns]
        if missing:
            raise DataError(f"feature column(s) {missing} are missing from the table. Fix: pass "
                            f"rows with every feature of the schema: {self.features}")
        x = coerce_features(self.schema, df, self.features)
        out = np.empty((len(df), len(self.features)), dtype=float)
        for j, name in enumerate(self.features):
            col = self.schema[name]
            s = x[name]
            if col.type == ColumnType.CATEGORICAL:
                out[:, j] = s.map(self.codes.get(name, {})).astype(float).to_numpy()
            elif col.type == ColumnType.DATETIME:
                t = pd.to_datetime(s, errors="coerce")
                vals = t.to_numpy(dtype="datetime64[s]").astype("int64").astype(float) / 86400.0
                vals[t.isna().to_numpy()] = np.nan
                out[:, j] = vals
            else:
                out[:, j] = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        return out


class AttributionModel:
    """Gradient-boosted model of one label (``target``: "conversion" or "click") on real rows.

    ``fit`` holds out ``valid_frac`` of the rows (stratified by label, seeded) for
    early stopping and the validation AUC; those rows' positions are kept in
    ``holdout`` so that callers can calibrate thresholds on rows the model never saw.
    Tables above ``max_rows`` keep every positive and a seeded sample of negatives
    (positions in ``used``), the negatives weighted up so probabilities stay calibrated.
    """

    def __init__(self, *, target: str = "conversion", n_estimators: int = 200,
                 learning_rate: float = 0.08, num_leaves: int = 15, max_depth: int = 6,
                 min_child_samples: int = 20,
                 valid_frac: float = 0.2, balanced: bool = False, n_jobs: int = 1,
                 early_stopping: int = 25, max_rows: int = 200_000):
        if target not in ("conversion", "click"):
            raise UsageError(f"attribution target {target!r} is unknown. Fix: use 'conversion' "
                             "or 'click'.")
        if not 0.0 <= valid_frac < 0.9:
            raise UsageError(f"valid_frac={valid_frac} is outside [0, 0.9).")
        self.target = target
        self.params = dict(n_estimators=n_estimators, learning_rate=learning_rate,
                           num_leaves=num_leaves, max_depth=max_depth,
                           min_child_samples=min_child_samples,
                           valid_frac=valid_frac, balanced=balanced, n_jobs=n_jobs,
                           early_stopping=early_stopping, max_rows=max_rows)
        self.features: list[str] = []
        self.encoder: FeatureEncoder | None = None
        self.booster: Any = None
        self.validation_auc: float | None = None
        self.holdout = np.array([], dtype=int)
        self.used = np.array([], dtype=int)
        self.negative_weight = 1.0
        self.n_iterations = 0
        self._explainer: Any = None

    # ------------------------------------------------------------------ fit
    def fit(self, real: pd.DataFrame, schema: Schema, *, seed: int = 0) -> AttributionModel:
        """Fit on ``real`` (the training split only); returns ``self``."""
        label = schema.conversion if self.target == "conversion" else schema.click
        if label is None or label not in real.columns:
            raise DataError(f"the real table has no {self.target} label column. Fix: name it "
                            f"with --{self.target} COL or in the schema file.")
        self.features = [f for f in schema.features if f in real.columns]
        if not self.features:
            raise DataError("the schema has no feature columns to attribute. Fix: give "
                            "user/item/context columns a feature role in the schema file.")
        y = pd.to_numeric(real[label], errors="coerce").fillna(0).to_numpy().astype(int)
        if y.min() == y.max():
            raise DataError(f"every real training row has {label}={y[0]}; the attribution "
                            "model needs both classes. Fix: use a larger training split.")
        self._fit(real, schema, y, seed)
        return self

    def _fit(self, real: pd.DataFrame, schema: Schema, y: np.ndarray, seed: int) -> None:
        import lightgbm as lgb

        p = self.params
        rng = np.random.default_rng(seed)
        used = np.arange(len(y))
        n_neg = int((y == 0).sum())
        room = p["max_rows"] - int(y.sum())
        if len(y) > p["max_rows"] and 0 < room < n_neg:
            neg = rng.choice(np.flatnonzero(y == 0), room, replace=False)
            used = np.sort(np.concatenate([np.flatnonzero(y == 1), neg]))
            self.negative_weight = n_neg / room
        self.used = used
        t_idx, v_idx = _stratified_holdout(y[used], p["valid_frac"], rng)
        train_idx, valid_idx = used[t_idx], used[v_idx]
        self.holdout = valid_idx
        click = None
        if schema.click is not None and schema.click in real.columns:
            click = pd.to_numeric(real[schema.click], errors="coerce").fillna(0).to_numpy()
        self.encoder = FeatureEncoder(schema, self.features).fit(
            real.iloc[train_idx], y[train_idx], None if click is None else click[train_idx])
        x = self.encoder.transform(real.iloc[used])  # rows in the order of ``used``
        yu = y[used]
        pos = max(int(y[train_idx].sum()), 1)
        neg = max(int(round((len(train_idx) - pos) * self.negative_weight)), 1)
        params = {
            "objective": "binary", "metric": "auc", "learning_rate": p["learning_rate"],
            "num_leaves": p["num_leaves"], "max_depth": p["max_depth"],
            "min_data_in_leaf": p["min_child_samples"],
            "feature_fraction": 1.0, "bagging_fraction": 1.0, "lambda_l2": 1.0,
            "num_threads": p["n_jobs"], "seed": seed, "deterministic": True,
            "force_row_wise": True, "verbose": -1,
            "scale_pos_weight": neg / pos if p["balanced"] else 1.0,
            # a balanced model starts from p = 0.5, not from the (unweighted) base rate
            "boost_from_average": not p["balanced"],
        }
        wt = np.where(yu[t_idx] == 1, 1.0, self.negative_weight)
        dtrain = lgb.Dataset(x[t_idx], label=yu[t_idx], weight=wt, free_raw_data=False)
        callbacks = []
        valid_sets = []
        has_valid = len(v_idx) > 0 and 0 < yu[v_idx].sum() < len(v_idx)
        if has_valid:
            valid_sets = [lgb.Dataset(x[v_idx], label=yu[v_idx], reference=dtrain)]
            callbacks.append(lgb.early_stopping(p["early_stopping"], verbose=False))
        self.booster = lgb.train(params, dtrain, num_boost_round=p["n_estimators"],
                                 valid_sets=valid_sets, callbacks=callbacks)
        self.n_iterations = int(self.booster.best_iteration or self.booster.current_iteration())
        if has_valid:
            from sklearn.metrics import roc_auc_score

            self.validation_auc = float(roc_auc_score(yu[v_idx], self._raw(x[v_idx])))
        self._explainer = None
        log.info("attribution model (%s): %d trees, validation AUC %s", self.target,
                 self.n_iterations, self.validation_auc)

    # ------------------------------------------------------------- predict
    def _check(self) -> None:
        if self.booster is None or self.encoder is None:
            raise UsageError("the attribution model is not fitted. Fix: call fit(real, schema) "
                             "first.")

    def _raw(self, x: np.ndarray, num_iteration: int | None = None) -> np.ndarray:
        return self.booster.predict(x, raw_score=True,
                                    num_iteration=num_iteration or self.n_iterations)

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The encoded feature matrix of ``df``."""
        self._check()
        assert self.encoder is not None
        return self.encoder.transform(df)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """P(label = 1 | features) for every row of ``df``."""
        return _sigmoid(self._raw(self.transform(df)))

    def predict_path(self, df: pd.DataFrame, n_checkpoints: int = 10) -> np.ndarray:
        """P(label = 1) at ``n_checkpoints`` evenly spaced boosting iterations (rows x checkpoints)."""
        x = self.transform(df)
        k = max(1, min(n_checkpoints, self.n_iterations))
        its = np.unique(np.linspace(1, self.n_iterations, k).round().astype(int))
        return np.column_stack([_sigmoid(self._raw(x, int(i))) for i in its])

    # ---------------------------------------------------------------- SHAP
    def _tree_explainer(self) -> Any:
        if self._explainer is None:
            import shap

            self._explainer = shap.TreeExplainer(self.booster)
        return self._explainer

    def shap_values(self, df: pd.DataFrame, *, batch_size: int = 20000) -> np.ndarray:
        """TreeSHAP values (log-odds contributions), rows x features."""
        x = self.transform(df)
        if len(x) == 0:
            return np.zeros((0, len(self.features)))
        # LightGBM's pred_contrib gives TreeSHAP values (identical to shap's, checked) and
        # uses every thread LightGBM was told to use.
        parts = [self.booster.predict(x[i:i + batch_size], pred_contrib=True,
                                      num_iteration=self.n_iterations)[:, :-1]
                 for i in range(0, len(x), batch_size)]
        return np.vstack(parts)

    def interaction_matrix(self, df: pd.DataFrame, *, max_rows: int = 1000,
                           seed: int = 0) -> np.ndarray:
        """Mean |SHAP interaction value| per feature pair over at most ``max_rows`` rows."""
        x = self.transform(df)
        f = len(self.features)
        if len(x) == 0:
            return np.zeros((f, f))
        if len(x) > max_rows:
            x = x[np.sort(np.random.default_rng(seed).choice(len(x), max_rows, replace=False))]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iv = self._tree_explainer().shap_interaction_values(
                x, tree_limit=self.n_iterations)
        iv = np.asarray(iv)
        if iv.ndim == 4:  # older shap: one array per class
            iv = iv[-1]
        return np.abs(iv).mean(axis=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (target, params, trees, validation AUC)."""
        return {"target": self.target, "params": dict(self.params), "features": self.features,
                "n_iterations": self.n_iterations, "validation_auc": self.validation_auc,
                "n_holdout": int(len(self.holdout)), "n_used": int(len(self.used)),
                "negative_weight": self.negative_weight}


def _stratified_holdout(y: np.ndarray, frac: float,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a stratified (train, holdout) split; holdout empty when frac == 0."""
    idx = np.arange(len(y))
    if frac <= 0:
        return idx, np.array([], dtype=int)
    hold = []
    for cls in (0, 1):
        members = idx[y == cls]
        k = int(round(len(members) * frac))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        else:
            k = 0
        hold.append(rng.choice(members, k, replace=False) if k else np.array([], dtype=int))
    valid = np.sort(np.concatenate(hold)).astype(int)
    train = np.setdiff1d(idx, valid)
    return train, valid


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))
