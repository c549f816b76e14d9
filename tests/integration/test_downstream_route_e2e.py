"""The routed ESMM (#21) end to end on travel-sim and on the real fixtures, and
``validate --route --rank-alpha auto`` recording its validation-only choice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from downstream import ModelOptions, TrainConfig, fit_esmm
from samplegen.cli import main


def _check_fitted(f, test: pd.DataFrame, targets: list[str] | None = None) -> None:
    assert np.isfinite(f.history.train_loss).all()
    counts = f.model.route_counts
    assert counts["positive"] > 0 and counts["negative"] > 0  # both routes were taken
    m = f.evaluate(test, targets=targets)
    assert 0.0 <= m["ctr_auc"]["value"] <= 1.0
    p = f.predict(test)["p_cvr"]
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


def test_route_trains_on_travel_sim() -> None:
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split

    src = load_travel_sim(40_000)
    tr, va, te = make_split(src).frames(src)
    f = fit_esmm(tr, src.schema, valid=va, options=ModelOptions(route=True, aux=True),
                 train_config=TrainConfig(epochs=1, batch_size=512, threads=1))
    _check_fitted(f, te, targets=["ski trip", "theme park"])


@pytest.mark.parametrize("train,valid,test", [
    ("ali-ccp/ali_ccp_train_sample.csv", "ali-ccp/ali_ccp_val_sample.csv",
     "ali-ccp/ali_ccp_test_sample.csv"),
    ("aliexpress/aliexpress_train_sample.csv", None, "aliexpress/aliexpress_test_sample.csv"),
])
def test_route_trains_on_real_fixtures(shared_data: Path, train: str, valid: str | None,
                                       test: str) -> None:
    from samplegen.explicit import load_split_files

    src, split = load_split_files(shared_data / train, shared_data / test,
                                  shared_data / valid if valid else None)
    tr, va, te = split.frames(src)
    f = fit_esmm(tr, src.schema, valid=va, options=ModelOptions(route=True),
                 train_config=TrainConfig(epochs=2, batch_size=8, threads=1))
    _check_fitted(f, te.reset_index(drop=True))


def _run_dir(path: Path, rows: pd.DataFrame) -> Path:
    path.mkdir()
    rows.to_parquet(path / "synthetic.parquet")
    (path / "manifest.json").write_text("{}")
    return path


def _check_selection(doc: dict) -> None:
    assert doc["config"]["options"]["route"] is True
    sel = doc["config"]["rank_alpha_selection"]
    assert sel["grid"] == [0.0, 0.1, 0.3, 1.0] and sel["split"] == "validation"
    assert sel["alpha"] in sel["grid"]
    assert doc["config"]["options"]["rank_alpha"] == sel["alpha"]
    best = max(s["mean"] for s in sel["scores"] if s["mean"] is not None)
    chosen = next(s for s in sel["scores"] if s["alpha"] == sel["alpha"])
    assert chosen["mean"] == best
    assert all(set(s["per_target"]) == set(doc["targets"]) for s in sel["scores"])


def test_validate_route_and_auto_rank_on_travel_sim(tmp_path: Path, capsys) -> None:
    rc = main(["validate", "travel-sim", "--n-impressions", "30000", "--global-conversions",
               "--route", "--rank-alpha", "auto", "--seeds", "1", "--epochs", "1",
               "--test-conversions", "0", "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = json.loads((tmp_path / "metrics.json").read_text())
    _check_selection(doc)
    assert doc["targets"]  # travel-sim's cold-start targets are reported per category


def test_validate_route_and_auto_rank_on_real_fixture(shared_data: Path, tmp_path: Path,
                                                      capsys) -> None:
    d = shared_data / "ali-ccp"
    train = pd.read_csv(d / "ali_ccp_train_sample.csv")
    run = _run_dir(tmp_path / "copies", train[train["purchase"] == 1].sample(
        5, replace=True, random_state=0))
    rc = main(["validate", "--train", str(d / "ali_ccp_train_sample.csv"),
               "--valid", str(d / "ali_ccp_val_sample.csv"),
               "--test", str(d / "ali_ccp_test_sample.csv"), "--synthetic", str(run),
               "--route", "--rank-alpha", "auto", "--seeds", "1", "--epochs", "1",
               "--batch-size", "16", "--out", str(tmp_path / "out"), "--json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    _check_selection(json.loads((tmp_path / "out" / "metrics.json").read_text()))


@pytest.mark.parametrize("value", ["-0.1", "lots"])
def test_bad_rank_alpha_exits_2(value: str, capsys) -> None:
    rc = main(["validate", "travel-sim", "--n-impressions", "1000", "--global-conversions",
               "--rank-alpha", value])
    err = capsys.readouterr().err
    assert rc == 2 and "--rank-alpha" in err and "auto" in err


@pytest.mark.parametrize("flags,expected", [([], True), (["--no-route"], False)])
def test_validate_routes_by_default(tmp_path: Path, capsys, flags: list[str],
                                    expected: bool) -> None:
    rc = main(["validate", "travel-sim", "--n-impressions", "20000", "--global-conversions",
               "--seeds", "1", "--epochs", "1", "--test-conversions", "0", "--out",
               str(tmp_path), "--json", *flags])
    assert rc == 0, capsys.readouterr().out
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert doc["config"]["options"]["route"] is expected
    assert "rank_alpha_selection" not in doc["config"]  # only with --rank-alpha auto
