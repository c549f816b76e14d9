"""The quality report on small seeded tables: copies fail privacy, noise fails fidelity,
bad input gives a UsageError, the HTML is self-contained and JSON holds every number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluators import Detection, PrecisionRecall, Privacy, QualityReport, ReportOptions
from evaluators.context import EvalContext
from evaluators.html import SECTION_IDS
from samplegen.errors import UsageError
from samplegen.schema import infer_schema

TARGETS = ["cruise", "visa"]


def toy(n: int, seed: int) -> pd.DataFrame:
    """An impression log: segment, category, price, hour; conversion depends on them."""
    rng = np.random.default_rng(seed)
    seg = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    cat = rng.choice(["hotel", "flight", "cruise", "visa"], n, p=[0.4, 0.35, 0.15, 0.1])
    price = np.round(rng.lognormal(5, 0.6, n), 2)
    hour = np.clip(np.round(rng.normal(19, 3, n)), 0, 23).astype(int)
    click = rng.binomial(1, 0.5, n)
    logit = -1.0 + 1.2 * (seg == "a") - 0.004 * (price - 150) + 0.6 * (cat == "cruise")
    conv = click * rng.binomial(1, 1 / (1 + np.exp(-logit)))
    return pd.DataFrame({"segment": seg, "item_category": cat, "item_price": price,
                         "hour": hour, "click": click, "conversion": conv})


def noise_like(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Same columns, every value drawn uniformly at random."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    out["segment"] = rng.choice(["a", "b", "c"], len(df))
    out["item_category"] = rng.choice(["hotel", "flight", "cruise", "visa"], len(df))
    out["item_price"] = np.round(rng.uniform(0, 5000, len(df)), 2)
    out["hour"] = rng.integers(0, 24, len(df))
    out["click"] = rng.binomial(1, 0.5, len(df))
    out["conversion"] = out["click"] * rng.binomial(1, 0.5, len(df))
    return out


@pytest.fixture(scope="module")
def data():  # noqa: ANN201
    train, holdout = toy(600, 0), toy(600, 1)
    schema = infer_schema(train, click="click", conversion="conversion",
                          category="item_category")
    return train, holdout, schema


@pytest.fixture(scope="module")
def report(data) -> QualityReport:  # noqa: ANN001
    train, holdout, schema = data
    positives = train[train["conversion"] == 1]
    sets = {"copy": train.copy(), "noise": noise_like(train, 2), "positives": positives}
    return QualityReport(strict=True, max_rows=600).generate(
        train, holdout, sets, schema, targets=TARGETS)


def test_copy_of_training_data_scores_perfect_fidelity_and_fails_privacy(report) -> None:  # noqa: ANN001
    s = report.get_properties().set_index(["synthetic", "property"])["score"]
    assert s["copy", "column_shapes"] == pytest.approx(1.0)
    assert s["copy", "column_shapes_targets"] == pytest.approx(1.0)
    assert s["copy", "column_pair_trends"] == pytest.approx(1.0)
    assert s["copy", "detection"] > 0.8
    assert s["copy", "precision_recall"] == pytest.approx(1.0)
    priv = report.results["copy"]["privacy"].summary
    assert priv["exact_copy_rate"] == 1.0
    assert priv["dcr_share_closer_to_train"] == pytest.approx(1.0)
    assert s["copy", "privacy"] < 0.05


def test_noise_scores_low_fidelity_and_no_copies(report) -> None:  # noqa: ANN001
    s = report.get_properties().set_index(["synthetic", "property"])["score"]
    assert s["noise", "column_shapes"] < 0.7
    assert s["noise", "detection"] < 0.3
    assert s["noise", "precision_recall"] < 0.5
    assert report.results["noise"]["privacy"].summary["exact_copy_rate"] == 0.0
    assert report.get_score("noise") < report.get_score("copy") - 0.2


def test_positive_only_set_is_compared_with_real_positives(report) -> None:  # noqa: ANN001
    res = report.results["positives"]
    shapes = res["column_shapes"]
    assert "click=1, conversion=1" in " ".join(shapes.notes)
    assert shapes.score == pytest.approx(1.0)  # the positives themselves
    assert set(shapes.details["column"]) == {"segment", "item_category", "item_price", "hour"}
    util = res["utility"]
    assert "real rows with conversion=[0]" in " ".join(util.notes).replace("np.int64(0)", "0")
    assert list(util.details["subset"]) == ["all", "targets", "cruise", "visa"]
    assert 0.5 < util.summary["auc_real_only"] <= 1.0
    assert res["attribution"].summary["spearman"] > 0.0


def test_readers(report) -> None:  # noqa: ANN001
    props = report.get_properties()
    assert set(props["synthetic"]) == {"copy", "noise", "positives"}
    assert len(props) == 3 * 9
    det = report.get_details("column_shapes", "noise")
    assert list(det.columns) == ["column", "metric", "score", "synthetic"]
    assert set(report.get_details("detection")["synthetic"]) == {"copy", "noise", "positives"}
    with pytest.raises(UsageError, match="several sets"):
        report.get_score()
    with pytest.raises(UsageError, match="unknown property"):
        report.get_details("nope")
    assert report.meta["targets"] == TARGETS


def test_save_writes_self_contained_html_and_complete_json(report, tmp_path: Path) -> None:  # noqa: ANN001
    jpath, hpath = report.save(tmp_path)
    doc = json.loads(jpath.read_text())
    assert set(doc["sets"]) == {"copy", "noise", "positives"}
    assert doc["sets"]["copy"]["properties"]["privacy"]["summary"]["exact_copy_rate"] == 1.0
    json.dumps(doc, allow_nan=False)  # NaN became null
    html = hpath.read_text()
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) >= 6
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r'(src|href)="https?:', html)
    assert "<script" not in html and "<link" not in html
    for sid in SECTION_IDS:
        assert f'<section id="{sid}">' in html
    assert html.count("<figure>") == len(srcs)


def test_bad_input_gives_usage_errors(data) -> None:  # noqa: ANN001
    train, holdout, schema = data
    rep = QualityReport(strict=True)
    with pytest.raises(UsageError, match="empty"):
        rep.generate(train, holdout, {"x": train.iloc[:0]}, schema)
    with pytest.raises(UsageError, match=r"lacks real column\(s\) \['item_price'\]"):
        rep.generate(train, holdout, {"x": train.drop(columns="item_price")}, schema)
    with pytest.raises(UsageError, match=r"\['mystery'\]"):
        rep.generate(train, holdout, {"x": train.assign(mystery=1)}, schema)
    with pytest.raises(UsageError, match="holdout has 10 rows"):
        rep.generate(train, holdout.iloc[:10], {"x": train}, schema)
    with pytest.raises(UsageError, match="no synthetic set"):
        rep.generate(train, holdout, {}, schema)
    with pytest.raises(UsageError, match="atlantis"):
        rep.generate(train, holdout, {"x": train}, schema, targets=["atlantis"])
    with pytest.raises(UsageError, match="generate"):
        QualityReport().get_scores()
    # flags and weights may travel with a set
    ok = QualityReport(ReportOptions(max_rows=200)).generate(
        train, holdout, {"x": train.assign(is_synthetic=1)}, schema, targets=TARGETS)
    assert ok.get_score() > 0


def test_same_seed_same_numbers(data) -> None:  # noqa: ANN001
    train, holdout, schema = data
    syn = schema.coerce(noise_like(train[train["click"] == 1], 5))
    opts = ReportOptions(max_rows=300, knn_rows=200, seed=3)
    ctx = EvalContext(schema.coerce(train), schema.coerce(holdout), schema, TARGETS, opts)
    for prop in (Detection(), Privacy(), PrecisionRecall()):
        a, b = prop.compute(ctx, syn), prop.compute(ctx, syn)
        assert a.to_dict()["summary"] == b.to_dict()["summary"]
        assert a.to_dict()["details"] == b.to_dict()["details"]
