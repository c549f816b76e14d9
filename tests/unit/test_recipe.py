"""Level-matched synthetic rows in the augmentation experiment (issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from downstream.experiment import run_experiment
from downstream.fit import ModelOptions, fit_esmm
from downstream.metrics import auc
from downstream.recipe import LevelOffset, level_model, plan_level
from downstream.trainer import TrainConfig
from samplegen.errors import UsageError
from samplegen.split import make_split
from tests.downstream_toy import toy_source

TC = TrainConfig(epochs=1, batch_size=512, threads=1)


@pytest.fixture(scope="module")
def toy():
    src = toy_source(3000)
    split = make_split(src)
    train, valid, test = split.frames(src)
    syn = train[(train["conversion"] == 1)].head(12).copy()
    syn["item_category"] = "ski"
    return src, split, train, valid, test, syn


def _values(res) -> list:
    return [(r["arm"], r["seed"], {k: v["value"] for k, v in r["metrics"].items()})
            for r in res.runs]


def test_level_none_reproduces_todays_numbers(toy) -> None:
    src, split, *_, syn = toy
    kw = dict(seeds=2, targets=["ski"], options=ModelOptions(), train_config=TC)
    today = run_experiment(src, split, {"s": syn}, **kw)
    none = run_experiment(src, split, {"s": syn}, level="none", **kw)
    assert _values(today) == _values(none)
    assert "level" not in none.config
    weighted = run_experiment(src, split, {"s": syn}, level=0.9, **kw)
    assert _values(weighted) != _values(today)


def test_given_level_weights_and_valid_check(toy) -> None:
    src, split, train, *_, syn = toy
    res = run_experiment(src, split, {"s": syn}, seeds=1, targets=["ski"], level=0.6,
                         train_config=TC)
    w = res.config["level"]["weights"]["s"]["ski"]
    assert w["reached"] and w["train_rate_after"] == pytest.approx(0.6)
    names = {m for r in res.runs for m in r["metrics"]}
    assert "cvr_level@valid[cat=ski]" in names


def test_offset_reaches_the_rate_and_keeps_the_ranking_inside_the_category(toy) -> None:
    src, split, train, valid, test, _ = toy
    fitted = fit_esmm(train, src.schema, valid=valid, train_config=TC)
    rec = {"fix": "offset", "rates": {"ski": 0.5}}
    shifted = level_model(fitted, valid, src.schema, rec)
    assert isinstance(shifted, LevelOffset)
    vs = valid[(valid["item_category"] == "ski") & (valid["click"] == 1)]
    assert float(np.mean(shifted.predict(vs)["p_cvr"])) == pytest.approx(0.5, abs=1e-6)
    ts = test[(test["click"] == 1)]
    a, b = fitted.predict(ts)["p_cvr"], shifted.predict(ts)["p_cvr"]
    ski = (ts["item_category"] == "ski").to_numpy()
    y = ts["conversion"].to_numpy()
    assert auc(y[ski], a[ski]) == pytest.approx(auc(y[ski], b[ski]))  # same order inside
    assert np.array_equal(a[~ski], b[~ski])                            # others untouched
    m = shifted.evaluate(test, targets=["ski"])
    assert m["cvr_auc@click-space[cat=ski]"]["value"] == pytest.approx(
        fitted.evaluate(test, targets=["ski"])["cvr_auc@click-space[cat=ski]"]["value"])
    assert level_model(fitted, valid, src.schema, {"fix": "weights", "rates": {}}) is fitted


def test_auto_level_names_a_target_without_clicks(toy) -> None:
    src, split, train, valid, _, syn = toy
    with pytest.raises(UsageError, match="'nowhere'"):
        plan_level("auto", {"s": syn}, train, valid, src.schema, ["nowhere"])
    with pytest.raises(UsageError, match="level fix"):
        plan_level("auto", {"s": syn}, train, valid, src.schema, ["ski"], fix="magic")
    out, rec = plan_level("auto", {"s": syn}, train, valid, src.schema, ["ski"])
    est = rec["estimates"]["ski"]
    assert est["low"] <= est["rate"] <= est["high"] and rec["rates"]["ski"] == est["rate"]
    assert "sample_weight" in out["s"].columns and isinstance(out["s"], pd.DataFrame)
