"""The Aligner contract: registry, pass-through aligner, bad input, report bookkeeping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from samplegen.align import AlignReport, NoAligner, effective_sample_size, get_aligner
from samplegen.errors import DataError, UsageError
from tests.align_toy import toy


def test_registry_names():
    assert type(get_aligner("none")).__name__ == "NoAligner"
    assert type(get_aligner(None)).__name__ == "NoAligner"
    assert type(get_aligner("SHAP")).__name__ == "ShapAligner"
    assert type(get_aligner("cllm")).__name__ == "CLLMAligner"
    with pytest.raises(UsageError, match="unknown aligner"):
        get_aligner("magic")
    with pytest.raises(UsageError, match="bad parameter"):
        get_aligner("shap", nonsense=1)


def test_none_aligner_draws_uniformly_and_counts():
    real, schema, pool, _ = toy()
    a = NoAligner().fit(real, schema)
    assert a.score(pool).tolist() == [1.0] * len(pool)
    sel, rep = a.select(pool, 100, seed=1)
    assert len(sel) == 100 and sel.index.is_unique
    assert rep.to_dict()["dropped"] == {"not_drawn": 500}
    again, _ = a.select(pool, 100, seed=1)
    assert again.index.tolist() == sel.index.tolist()


def test_bad_input_errors():
    real, schema, pool, _ = toy()
    a = NoAligner()
    with pytest.raises(UsageError, match="not fitted"):
        a.select(pool, 10)
    a.fit(real, schema)
    with pytest.raises(UsageError, match="larger than the synthetic pool"):
        a.select(pool, len(pool) + 1)
    extra = pool.assign(hotel_wifi="yes")
    with pytest.raises(UsageError, match="hotel_wifi"):
        a.select(extra, 10)
    with pytest.raises(UsageError, match="lacks feature"):
        a.select(pool.drop(columns=["device"]), 10)
    with pytest.raises(UsageError, match="non-negative"):
        a.select(pool, -1)
    with pytest.raises(DataError, match="lacks schema column"):
        NoAligner().fit(real.drop(columns=["device"]), schema)


def test_is_synthetic_flag_column_is_allowed():
    real, schema, pool, _ = toy()
    sel, _ = NoAligner().fit(real, schema).select(pool.assign(is_synthetic=True), 5)
    assert len(sel) == 5


def test_report_check_and_json():
    rep = AlignReport(method="x", pool_size=10, selected=4, dropped={"a": 5, "b": 1},
                      ess=np.float64(3.5), thresholds={"t": np.float32(0.25)})
    rep.check()
    d = rep.to_dict()
    assert json.loads(json.dumps(d))["ess"] == 3.5 and d["thresholds"]["t"] == 0.25
    bad = AlignReport(method="x", pool_size=10, selected=4, dropped={"a": 5})
    with pytest.raises(AssertionError, match="do not add up"):
        bad.check()


def test_effective_sample_size():
    assert effective_sample_size(np.ones(8)) == pytest.approx(8.0)
    assert effective_sample_size(np.array([1.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert effective_sample_size(np.zeros(3)) == 0.0


def test_shap_aligner_shortfall_refills_or_raises():
    real, schema, pool, planted = toy()
    a = get_aligner("shap", n_estimators=60, use_weights=False).fit(real, schema)
    sel, rep = a.select(pool, 590, seed=0)
    assert len(sel) == 590 and rep.refilled == 590 - rep.passed_filter
    assert rep.selected + sum(rep.dropped.values()) == 600
    strict = get_aligner("shap", n_estimators=60, use_weights=False, strict=True).fit(
        real, schema)
    with pytest.raises(UsageError, match="attribution filter"):
        strict.select(pool, 590)


@pytest.mark.parametrize("method", ["shap", "cllm"])
def test_tables_without_a_category_column(method):
    from samplegen.schema import infer_schema

    real, _, pool, planted = toy()
    real, pool = real.drop(columns=["item_category"]), pool.drop(columns=["item_category"])
    schema = infer_schema(real)
    assert schema.category is None
    sel, rep = get_aligner(method, n_estimators=40).fit(real, schema).select(pool, 100, seed=0)
    assert len(sel) == 100 and planted[sel.index.to_numpy()].mean() < 0.05
    assert list(rep.per_category) == [""]
