"""Every metric on tiny hand-made frames with exact expected values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluators.metrics import (
    NNDR,
    TSTRAUC,
    AugmentedAUC,
    ContingencySimilarity,
    CorrelationSimilarity,
    Coverage,
    DCRShare,
    Density,
    DetectionAUC,
    ExactCopyRate,
    Goal,
    InteractionDistance,
    KNNPrecision,
    KNNRecall,
    KSComplement,
    ShapRankCorrelation,
    TVComplement,
)
from evaluators.metrics.attribution import mean_abs_shap
from evaluators.metrics.fidelity import association
from evaluators.metrics.precision_recall import prdc
from evaluators.metrics.privacy import dcr_share, nndr
from evaluators.metrics.utility import fit_model, tstr_frame


def test_ks_complement_exact() -> None:
    real = pd.Series([1.0, 2.0, 3.0, 4.0])
    syn = pd.Series([1.0, 2.0, 3.0, 5.0])
    assert KSComplement.compute(real, syn) == pytest.approx(0.75)
    assert KSComplement.compute(real, real) == 1.0
    assert math.isnan(KSComplement.compute(real, pd.Series([np.nan])))
    assert KSComplement.goal == Goal.MAXIMIZE and KSComplement.normalize(0.75) == 0.75


def test_tv_complement_exact() -> None:
    real = pd.Series(["a", "a", "b", "c"])
    syn = pd.Series(["a", "b", "b", "b"])
    # real a .5 b .25 c .25 ; syn a .25 b .75 -> TV = (.25 + .5 + .25) / 2 = .5
    assert TVComplement.compute(real, syn) == pytest.approx(0.5)
    assert TVComplement.compute(pd.Series(["x", None]), pd.Series(["x", None])) == 1.0


def test_correlation_similarity_exact() -> None:
    real = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [1.0, 2, 3, 4]})
    syn = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [4.0, 3, 2, 1]})
    assert CorrelationSimilarity.compute(real, syn) == pytest.approx(0.0)
    assert CorrelationSimilarity.compute(real, real) == pytest.approx(1.0)
    const = pd.DataFrame({"x": [1.0, 1, 1, 1], "y": [1.0, 2, 3, 4]})
    assert math.isnan(CorrelationSimilarity.compute(real, const))


def test_contingency_similarity_exact() -> None:
    real = pd.DataFrame({"x": ["a", "a", "b", "b"], "y": ["u", "v", "u", "v"]})
    syn = pd.DataFrame({"x": ["a", "a", "b", "b"], "y": ["u", "u", "v", "v"]})
    assert ContingencySimilarity.compute(real, syn) == pytest.approx(0.5)
    # a numerical column binned on the real range: 1,2 | 3,4 with 2 bins
    real_n = pd.DataFrame({"x": ["a", "a", "b", "b"], "z": [1.0, 2.0, 3.0, 4.0]})
    syn_n = pd.DataFrame({"x": ["a", "a", "b", "b"], "z": [1.1, 1.9, 3.2, 3.9]})
    assert ContingencySimilarity.compute(real_n, syn_n, continuous_columns=["z"],
                                         bins=2) == pytest.approx(1.0)


def test_association_cramers_v() -> None:
    df = pd.DataFrame({"a": ["p", "p", "q", "q"], "b": ["u", "u", "v", "v"],
                       "c": ["u", "v", "u", "v"]})
    m = association(df, ["a", "b", "c"], numerical=[])
    assert m.loc["a", "b"] == pytest.approx(1.0)
    assert m.loc["a", "c"] == pytest.approx(0.0)
    assert m.loc["a", "a"] == 1.0


def test_detection_auc_separable_and_identical() -> None:
    real = pd.DataFrame({"x": ["a"] * 4})
    syn = pd.DataFrame({"x": ["b"] * 4})
    auc = DetectionAUC.compute(real, syn, classifier="logistic", folds=2)
    assert auc == pytest.approx(1.0)
    assert DetectionAUC.normalize(auc) == pytest.approx(0.0)
    same = DetectionAUC.compute(real, real.copy(), classifier="logistic", folds=2)
    assert same == pytest.approx(0.5)
    assert DetectionAUC.normalize(same) == pytest.approx(1.0)
    assert DetectionAUC.normalize(0.3) == 1.0  # below chance counts as chance
    assert math.isnan(DetectionAUC.compute(real.iloc[:1], syn, folds=2))


def test_prdc_exact_one_dimensional() -> None:
    real = np.arange(6.0)[:, None]  # 0..5, 1-NN radius 1 each
    syn = np.array([[0.5], [10.0]])
    out = prdc(real, syn, k=1)
    assert out["precision"] == pytest.approx(0.5)   # 0.5 inside, 10 outside
    assert out["density"] == pytest.approx(1.0)     # (2 + 0) / (1 * 2)
    assert out["coverage"] == pytest.approx(2 / 6)  # reals 0 and 1 see a synthetic row
    assert out["recall"] == pytest.approx(1.0)      # synthetic radii are 9.5
    assert KNNPrecision.compute(real, syn, k=1) == pytest.approx(0.5)
    assert KNNRecall.compute(real, syn, k=1) == pytest.approx(1.0)
    assert Density.compute(real, syn, k=1) == pytest.approx(1.0)
    assert Coverage.compute(real, syn, k=1) == pytest.approx(1 / 3)
    assert math.isnan(prdc(real[:1], syn, k=1)["precision"])


def test_prdc_on_frames_counts_exact_copies() -> None:
    real = pd.DataFrame({"c": ["a", "a", "b", "b", "c", "c"]})
    assert KNNPrecision.compute(real, real.iloc[[0, 2]], k=1) == 1.0
    assert KNNPrecision.compute(real, pd.DataFrame({"c": ["z", "z"]}), k=1) == 0.0


def test_dcr_share_exact() -> None:
    train = np.array([[0.0], [10.0]])
    holdout = np.array([[1.0], [20.0]])
    syn = np.array([[0.0], [11.0], [20.0], [5.5]])
    # 0 -> train, 11 -> train, 20 -> holdout, 5.5 -> tie (4.5 each) = 2.5 / 4
    share = DCRShare.compute(train, syn, holdout_data=holdout)
    assert share == pytest.approx(0.625)
    assert DCRShare.normalize(share) == pytest.approx(0.75)
    assert DCRShare.normalize(0.2) == 1.0
    assert dcr_share(np.array([0.0]), np.array([0.0])) == 0.5


def test_exact_copy_rate_exact() -> None:
    real = pd.DataFrame({"c": ["a", "b", "c"], "n": [1.0, 2.0, 3.0]})
    syn = pd.DataFrame({"c": ["a", "a", "c", "d"], "n": [1.0, 2.0, 3.0, 4.0]})
    assert ExactCopyRate.compute(real, syn) == pytest.approx(0.5)
    assert ExactCopyRate.compute(real, syn, columns=["c"]) == pytest.approx(0.75)
    assert ExactCopyRate.compute(real, real) == 1.0


def test_nndr_exact() -> None:
    real = np.array([[0.0], [1.0], [3.0]])
    syn = np.array([[0.5], [3.0]])
    # 0.5: 0.5 / 0.5 = 1 ; 3: 0 / 2 = 0
    assert NNDR.compute(real, syn) == pytest.approx(0.5)
    assert nndr(np.array([[0.0, 0.0]]))[0] == 1.0  # several exact matches: not distinctive


def test_tstr_fills_missing_class_with_real_rows() -> None:
    real = pd.DataFrame({"x": ["a", "a", "b", "b"], "y": [0, 0, 1, 1]})
    test = pd.DataFrame({"x": ["a", "b", "a", "b"], "y": [0, 1, 0, 1]})
    good = pd.DataFrame({"x": ["b", "b"], "y": [1, 1]})
    bad = pd.DataFrame({"x": ["a", "a"], "y": [1, 1]})
    frame, note = tstr_frame(real, good, "y")
    assert len(frame) == 4 and "real rows" in note
    kw = {"test_data": test, "target": "y", "classifier": "logistic"}
    assert TSTRAUC.compute(real, good, **kw) == pytest.approx(1.0)
    assert TSTRAUC.compute(real, bad, **kw) == pytest.approx(0.5)
    assert AugmentedAUC.compute(real, good, **kw) == pytest.approx(1.0)


def test_shap_rank_correlation_exact() -> None:
    assert ShapRankCorrelation.compute([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert ShapRankCorrelation.compute([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)
    assert ShapRankCorrelation.compute([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert ShapRankCorrelation.normalize(0.0) == pytest.approx(0.5)
    assert math.isnan(ShapRankCorrelation.compute([1, 1, 1], [1, 2, 3]))


def test_interaction_distance_exact() -> None:
    a = np.array([[9, 1, 0], [1, 9, 0], [0, 0, 9]], dtype=float)
    b = np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]], dtype=float)
    disjoint = np.array([[0, 0, 1], [0, 0, 0], [1, 0, 0]], dtype=float)
    assert InteractionDistance.compute(a, a * 3) == pytest.approx(0.0)
    assert InteractionDistance.compute(a, b) == pytest.approx(0.5)
    assert InteractionDistance.compute(a, disjoint) == pytest.approx(1.0)
    assert InteractionDistance.normalize(0.25) == pytest.approx(0.75)


def test_mean_abs_shap_is_zero_for_an_unused_feature() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"signal": rng.normal(size=300), "constant": np.ones(300)})
    y = (x["signal"] > 0).astype(int).to_numpy()
    model = fit_model(x, y, seed=0)
    imp = mean_abs_shap(model, x)
    assert imp["constant"] == 0.0
    assert imp["signal"] > 0.5


def test_fast_pair_codes_match_sdmetrics_contingency() -> None:
    from evaluators.metrics.fidelity import PairCodes, discretize

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.choice(list("xyz"), 200), "b": rng.choice(list("pq"), 200),
                         "n": rng.normal(size=200)})
    syn = pd.DataFrame({"a": rng.choice(list("xyw"), 150), "b": rng.choice(list("pq"), 150),
                        "n": rng.normal(0.5, 1, 150)})
    rd, sd = discretize(real, syn, ["n"])
    fast = PairCodes(rd, sd)
    for a, b in (("a", "b"), ("a", "n"), ("b", "n")):
        slow = ContingencySimilarity.compute(real[[a, b]], syn[[a, b]],
                                             continuous_columns=[c for c in (a, b) if c == "n"])
        assert fast.similarity(a, b) == pytest.approx(slow, abs=1e-12)
