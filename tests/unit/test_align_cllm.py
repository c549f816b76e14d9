"""CLLM curation: confidence and aleatoric uncertainty over boosting checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from samplegen.align import CLLMAligner, get_aligner
from samplegen.errors import UsageError
from tests.align_toy import toy


@pytest.fixture(scope="module")
def fitted():
    real, schema, pool, planted = toy()
    return get_aligner("cllm", n_estimators=60).fit(real, schema, seed=0), pool, planted


def test_confident_rows_are_kept_and_planted_rows_dropped(fitted):
    aligner, pool, planted = fitted
    conf, alea = aligner.dynamics(pool)
    assert conf.shape == alea.shape == (len(pool),)
    assert np.all((alea >= 0) & (alea <= 0.25))
    assert conf[planted].max() < conf[~planted].mean()
    sel, rep = aligner.select(pool, 200, seed=0)
    assert len(sel) == 200 and planted[sel.index.to_numpy()].sum() == 0
    kept_conf = conf[sel.index.to_numpy()]
    assert kept_conf.min() >= rep.thresholds["confidence"]
    assert rep.selected + sum(rep.dropped.values()) == rep.pool_size
    assert rep.dropped["low_confidence"] >= int(planted.sum())


def test_thresholds_calibrated_on_held_out_real_positives(fitted):
    aligner, *_ = fitted
    assert aligner.calibration.startswith("calibrated")
    assert 0.6 <= aligner.real_holdout_pass_share <= 0.9  # pass_share 0.8 per threshold


def test_fixed_thresholds_are_used_as_given():
    real, schema, pool, _ = toy()
    a = CLLMAligner(confidence_threshold=0.99, uncertainty_threshold=0.01,
                    n_estimators=30).fit(real, schema)
    assert a.score(pool).max() == 0.0   # nothing is that confident
    sel, rep = a.select(pool, 50)
    assert len(sel) == 50 and rep.refilled == 50 and rep.passed_filter == 0


def test_strict_mode_refuses_to_refill():
    real, schema, pool, _ = toy()
    a = CLLMAligner(confidence_threshold=0.99, n_estimators=30, strict=True).fit(real, schema)
    with pytest.raises(UsageError, match="pass CLLM curation"):
        a.select(pool, 50)


def test_bad_thresholds():
    with pytest.raises(UsageError):
        CLLMAligner(uncertainty_threshold=0.5)
