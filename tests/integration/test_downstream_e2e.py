"""End to end on small data: ESMM and every variant train one epoch; the experiment;
save/load; determinism."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest

from downstream import ModelOptions, TrainConfig, fit_esmm, load_esmm, run_experiment
from tests.downstream_toy import toy_source

VARIANTS = {
    "esmm": {},
    "aux": {"aux": True},
    "rank-cvr": {"rank_alpha": 0.5},
    "rank-ctcvr": {"rank_alpha": 0.5, "rank_target": "ctcvr"},
    "guard": {"guard_no_positive": True},
    "route": {"route": True, "aux": True},
    "nise": {"nise": True},
    "global-head": {"global_mode": "head", "domain_indicator": True},
    "bucketize+neg-sampling": {"numeric": "bucketize", "neg_rate": 0.5},
}


@pytest.fixture(scope="module")
def data():
    src = toy_source(3000)
    t = src.table
    return src, t.iloc[:2000], t.iloc[2000:2400], t.iloc[2400:].reset_index(drop=True)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_trains_one_epoch(data, name: str) -> None:
    src, tr, va, te = data
    if name == "global-head":
        import pandas as pd

        from downstream.globalrows import prepare_global_rows

        g = prepare_global_rows(src.extras["global_candidates"], src.schema, mode="head")
        tr = pd.concat([tr, g], ignore_index=True)
    f = fit_esmm(tr, src.schema, valid=va, options=ModelOptions(**VARIANTS[name]),
                 train_config=TrainConfig(epochs=1, threads=1, batch_size=256))
    assert len(f.history.train_loss) == 1 and np.isfinite(f.history.train_loss[0])
    m = f.evaluate(te, targets=["cruise"])
    for key in ("ctr_auc", "cvr_auc@click-space", "cvr_auc@entire-space", "ctcvr_auc"):
        assert 0.0 <= m[key]["value"] <= 1.0
    if VARIANTS[name].get("neg_rate"):
        assert f.k_click == pytest.approx(2.0)


def test_checkpoint_round_trip_and_determinism(data, tmp_path: Path) -> None:
    src, tr, va, te = data
    opts = ModelOptions(aux=True, rank_alpha=0.2)
    f1 = fit_esmm(tr, src.schema, valid=va, options=opts, train_config=TrainConfig(epochs=2, threads=1, batch_size=256, seed=7))
    f2 = fit_esmm(tr, src.schema, valid=va, options=opts, train_config=TrainConfig(epochs=2, threads=1, batch_size=256, seed=7))
    p1, p2 = f1.predict(te), f2.predict(te)
    assert np.array_equal(p1["p_ctcvr"], p2["p_ctcvr"])  # same seed, same model
    f1.save(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "model.safetensors").exists()
    cfg = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert cfg["model"]["aux_labels"] == ["same_category_purchase"]
    again = load_esmm(tmp_path / "ckpt")
    assert np.allclose(again.predict(te)["p_ctcvr"], p1["p_ctcvr"])


def test_experiment_four_way_with_run_dir(data, tmp_path: Path) -> None:
    src, *_ = data
    n = len(src.table)
    idx = np.arange(n)
    split = types.SimpleNamespace(train=idx[:2000], valid=idx[2000:2400], test=idx[2400:],
                                  rule={"kind": "test"})
    train = src.table.iloc[:2000]
    syn = train[train["conversion"] == 1].sample(60, replace=True, random_state=0)
    run = tmp_path / "run"
    run.mkdir()
    syn.to_parquet(run / "synthetic.parquet")
    (run / "manifest.json").write_text("{}")
    src.schema.save(run / "schema.json")
    res = run_experiment(src, split, {"dup": run}, seeds=2, targets=["cruise", "ski"],
                         global_rows=True, train_config=TrainConfig(epochs=1, threads=1, batch_size=256))
    assert res.arms == ["real-only", "+global", "+dup", "+global+dup"]
    assert res.config["rows"]["test"] == 600 and res.config["rows"]["valid"] == 400
    rows = {(r["arm"], r["seed"]): r["train_rows"] for r in res.runs}
    assert rows[("+dup", 0)] == rows[("real-only", 0)] + 60  # synthetic only in training
    s = res.summary
    assert set(s["arm"]) == set(res.arms) and len(s) == 4 * len(res.runs[0]["metrics"])
    assert s[s["arm"] == "+dup"]["delta"].notna().any()
    assert s[(s["metric"] == "ctcvr_auc")]["oracle"].notna().all()
    path = res.save(tmp_path / "metrics.json")
    doc = json.loads(path.read_text())  # strict JSON (no NaN)
    assert doc["summary"] and all(
        r["protocol"] in ("click-space", "entire-space")
        for r in doc["summary"] if r["metric"].startswith("cvr_auc"))
    again = run_experiment(src, split, {"dup": run}, seeds=[1], targets=["cruise"],
                           train_config=TrainConfig(epochs=1, threads=1, batch_size=256))
    first = next(r for r in res.runs if r["arm"] == "+dup" and r["seed"] == 1)
    second = next(r for r in again.runs if r["arm"] == "+dup")
    assert first["metrics"]["ctcvr_auc"]["value"] == second["metrics"]["ctcvr_auc"]["value"]
