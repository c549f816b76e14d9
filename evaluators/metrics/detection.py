"""Detection: how well a classifier tells synthetic rows from real ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from evaluators.encoding import TableEncoder, split_types
from evaluators.metrics.base import Goal, Metric

__all__ = ["DetectionAUC", "detection_auc"]

CLASSIFIERS = ("lightgbm", "logistic")


class DetectionAUC(Metric):
    """Cross-validated ROC AUC of a real-vs-synthetic classifier (0.5: indistinguishable).

    ``normalize`` gives ``1 - 2 * (max(AUC, 0.5) - 0.5)``: 1 when the classifier
    does no better than chance, 0 when it separates the sets perfectly (an AUC
    below 0.5 is chance noise and counts as 0.5, as in SDMetrics).
    """

    name = "DetectionAUC"
    goal = Goal.MINIMIZE
    min_value = 0.0
    max_value = 1.0

    @classmethod
    def compute(cls, real_data: pd.DataFrame, synthetic_data: pd.DataFrame, *,
                classifier: str = "logistic", folds: int = 3, seed: int = 0,
                **kwargs: object) -> float:
        return detection_auc(real_data, synthetic_data, classifier=classifier, folds=folds,
                             seed=seed)["auc"]

    @classmethod
    def normalize(cls, raw_score: float) -> float:
        if raw_score is None or np.isnan(raw_score):
            return float("nan")
        return float(1.0 - 2.0 * (max(raw_score, 0.5) - 0.5))


def detection_auc(real: pd.DataFrame, synthetic: pd.DataFrame, *, classifier: str = "lightgbm",
                  folds: int = 3, seed: int = 0) -> dict:
    """AUC pooled over out-of-fold predictions, per-fold AUCs and feature importances.

    Returns ``{"auc", "fold_aucs", "importance"}``; ``auc`` is NaN when either
    side has fewer rows than ``folds``.
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {CLASSIFIERS}, not {classifier!r}")
    cols = list(real.columns)
    if len(real) < folds or len(synthetic) < folds or not cols:
        return {"auc": float("nan"), "fold_aucs": [], "importance": {}}
    num, cat = split_types(real, cols)
    enc = TableEncoder(num, cat).fit(pd.concat([real, synthetic], ignore_index=True))
    both = pd.concat([real[cols], synthetic[cols]], ignore_index=True)
    x = enc.model_frame(both) if classifier == "lightgbm" else enc.distance_matrix(both)
    y = np.r_[np.zeros(len(real)), np.ones(len(synthetic))]
    oof = np.zeros(len(y))
    fold_aucs: list[float] = []
    importance = np.zeros(len(enc.columns))
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in skf.split(np.zeros(len(y)), y):
        model = _model(classifier, seed)
        xt = x.iloc[train_idx] if isinstance(x, pd.DataFrame) else x[train_idx]
        xv = x.iloc[test_idx] if isinstance(x, pd.DataFrame) else x[test_idx]
        model.fit(xt, y[train_idx])
        oof[test_idx] = model.predict_proba(xv)[:, 1]
        fold_aucs.append(float(roc_auc_score(y[test_idx], oof[test_idx])))
        if classifier == "lightgbm":
            importance += model.booster_.feature_importance("gain")
    imp = {}
    if classifier == "lightgbm" and importance.sum() > 0:
        imp = {c: float(v) for c, v in zip(enc.columns, importance / importance.sum(),
                                           strict=True)}
    return {"auc": float(roc_auc_score(y, oof)), "fold_aucs": fold_aucs, "importance": imp}


def _model(classifier: str, seed: int):  # noqa: ANN202 - sklearn-style estimator
    if classifier == "logistic":
        return LogisticRegression(max_iter=1000, C=1.0)
    import lightgbm as lgb

    return lgb.LGBMClassifier(n_estimators=100, learning_rate=0.1, num_leaves=15,
                              min_child_samples=10, subsample=1.0, colsample_bytree=1.0,
                              random_state=seed, n_jobs=1, verbose=-1)
