"""Machine-learning utility: train on synthetic (or real + synthetic), test on real.

Synthetic augmentation sets usually hold positives only (click=1,
conversion=1). Train-on-synthetic then has a single class; :func:`tstr_frame`
fills the missing class with the real training rows of that class, so TSTR
here means "synthetic positives + real negatives" and says so in its note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from evaluators.encoding import TableEncoder, split_types
from evaluators.metrics.base import Goal, Metric

__all__ = ["TSTRAUC", "AugmentedAUC", "fit_model", "auc", "tstr_frame"]


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC over all rows, NaN when only one class is present."""
    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def fit_model(x: pd.DataFrame, y: np.ndarray, *, classifier: str = "lightgbm", seed: int = 0):  # noqa: ANN201
    """A fitted binary classifier with ``predict_proba`` (LightGBM or logistic)."""
    if classifier == "logistic":
        return LogisticRegression(max_iter=1000).fit(x.to_numpy(dtype=float), y)
    import lightgbm as lgb

    model = lgb.LGBMClassifier(n_estimators=100, learning_rate=0.05, num_leaves=15,
                               min_child_samples=20, random_state=seed, n_jobs=1, verbose=-1)
    return model.fit(x, y)


def predict(model, x: pd.DataFrame) -> np.ndarray:  # noqa: ANN001
    """Positive-class probability for each row of ``x``."""
    arr = x if hasattr(model, "booster_") else x.to_numpy(dtype=float)
    return model.predict_proba(arr)[:, 1]


def tstr_frame(real: pd.DataFrame, synthetic: pd.DataFrame, target: str
               ) -> tuple[pd.DataFrame, str]:
    """The TSTR training rows: synthetic rows, plus real rows of any class they lack."""
    classes = {_plain(v) for v in pd.unique(synthetic[target].dropna())}
    missing = [_plain(c) for c in pd.unique(real[target].dropna()) if _plain(c) not in classes]
    if not missing:
        return synthetic, "trained on synthetic rows only"
    filler = real[real[target].isin(missing)]
    note = (f"synthetic rows hold only {target}={sorted(classes)}; the training set adds the "
            f"{len(filler)} real rows with {target}={sorted(missing)}")
    return pd.concat([synthetic, filler], ignore_index=True), note


def _score(train: pd.DataFrame, test: pd.DataFrame, features: list[str], target: str,
           real: pd.DataFrame, classifier: str, seed: int) -> float:
    num, cat = split_types(real, features)
    enc = TableEncoder(num, cat).fit(real)
    encode = enc.model_frame if classifier == "lightgbm" else (
        lambda df: pd.DataFrame(enc.distance_matrix(df)))
    y = train[target].to_numpy(dtype=int)
    if len(np.unique(y)) < 2 or len(test) == 0:
        return float("nan")
    model = fit_model(encode(train), y, classifier=classifier, seed=seed)
    return auc(test[target].to_numpy(dtype=int), predict(model, encode(test)))


class TSTRAUC(Metric):
    """Test AUC of a model trained on synthetic rows (real rows fill a missing class)."""

    name = "TSTR_AUC"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data: pd.DataFrame, synthetic_data: pd.DataFrame, *,
                test_data: pd.DataFrame, target: str, features: list[str] | None = None,
                classifier: str = "lightgbm", seed: int = 0, **kwargs: object) -> float:
        feats = features or [c for c in real_data.columns if c != target]
        train, _ = tstr_frame(real_data, synthetic_data, target)
        return _score(train, test_data, feats, target, real_data, classifier, seed)


class AugmentedAUC(Metric):
    """Test AUC of a model trained on the real rows plus the synthetic rows."""

    name = "Augmented_AUC"
    goal = Goal.MAXIMIZE

    @classmethod
    def compute(cls, real_data: pd.DataFrame, synthetic_data: pd.DataFrame, *,
                test_data: pd.DataFrame, target: str, features: list[str] | None = None,
                classifier: str = "lightgbm", seed: int = 0, **kwargs: object) -> float:
        feats = features or [c for c in real_data.columns if c != target]
        train = pd.concat([real_data, synthetic_data], ignore_index=True)
        return _score(train, test_data, feats, target, real_data, classifier, seed)


def _plain(v: object) -> object:
    """numpy scalars as Python values (readable in notes)."""
    return v.item() if hasattr(v, "item") else v
