"""Attribution filter: threshold calibration on held-out real positives, planted rows dropped."""

from __future__ import annotations

import numpy as np
import pytest

from samplegen.align import AttributionFilter, AttributionModel
from samplegen.errors import DataError
from tests.align_toy import make_real, toy


@pytest.fixture(scope="module")
def model_and_data():
    real, schema, pool, planted = toy()
    model = AttributionModel(n_estimators=60).fit(real, schema, seed=0)
    return model, real, schema, pool, planted


@pytest.mark.parametrize("share", [0.8, 0.95])
def test_threshold_gives_the_stated_pass_share_on_held_out_positives(model_and_data, share):
    model, real, schema, *_ = model_and_data
    flt = AttributionFilter(pass_share=share).fit(real, schema, model, seed=0)
    assert flt.calibration.endswith("held-out real positives")
    held = real.iloc[model.holdout]
    held_pos = held[held["conversion"] == 1]
    passed = flt.passes(held_pos)
    n = len(held_pos)
    # the quantile is taken with method="higher": at least the share, at most one row more
    assert share <= passed.mean() <= share + 1.0 / n + 1e-12
    assert flt.calibration_pass_share == pytest.approx(passed.mean())


def test_fresh_real_positives_pass_at_about_the_stated_share(model_and_data):
    model, real, schema, *_ = model_and_data
    flt = AttributionFilter(pass_share=0.9).fit(real, schema, model, seed=0)
    fresh = make_real(n=6000, seed=11)
    fresh_pos = fresh[fresh["conversion"] == 1]
    assert 0.8 <= flt.passes(fresh_pos).mean() <= 1.0


def test_planted_rows_are_far(model_and_data):
    model, real, schema, pool, planted = model_and_data
    flt = AttributionFilter(pass_share=0.95).fit(real, schema, model, seed=0)
    d = flt.distances(pool)
    assert d[planted].min() > d[~planted].max() * 0.99 or d[planted].mean() > 3 * d[~planted].mean()
    assert flt.passes(pool)[planted].sum() == 0
    assert flt.passes(pool)[~planted].mean() > 0.9


def test_too_few_real_positives_is_a_clear_error():
    real = make_real(n=400, seed=0)
    real["conversion"] = 0
    real.loc[real.index[:3], ["click", "conversion"]] = 1
    from samplegen.schema import infer_schema

    schema = infer_schema(real)
    model = AttributionModel(n_estimators=10, valid_frac=0.5).fit(real, schema)
    with pytest.raises(DataError, match="real positive"):
        AttributionFilter().fit(real, schema, model)


def test_leave_one_out_calibration_when_few_held_out(model_and_data):
    model, real, schema, *_ = model_and_data
    flt = AttributionFilter(pass_share=0.9, min_calibration=10_000).fit(real, schema, model)
    assert flt.calibration.startswith("leave-one-out")
    assert np.isfinite(flt.threshold)
