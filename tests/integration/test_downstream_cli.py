"""`samplegen validate`: bad input exits 2 with a clear message; a small real run works."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from samplegen.cli import main


def _run_dir(path: Path, df: pd.DataFrame, schema=None) -> Path:
    path.mkdir()
    df.to_parquet(path / "synthetic.parquet")
    (path / "manifest.json").write_text("{}")
    if schema is not None:
        schema.save(path / "schema.json")
    return path


@pytest.fixture(scope="module")
def sim():
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split

    src = load_travel_sim(20_000)
    train, _, _ = make_split(src).frames(src)
    return src, train


def test_seeds_below_one_exit_2(tmp_path: Path, capsys, sim) -> None:
    src, train = sim
    run = _run_dir(tmp_path / "r", train.head(5), src.schema)
    assert main(["validate", "travel-sim", "--synthetic", str(run), "--seeds", "0"]) == 2
    assert "--seeds 0" in capsys.readouterr().err


def test_missing_click_column_exit_2(tmp_path: Path, capsys) -> None:
    df = pd.DataFrame({"user": ["a", "b"] * 20, "price": range(40), "conversion": [0, 1] * 20})
    df.to_csv(tmp_path / "t.csv", index=False)
    run = _run_dir(tmp_path / "r", df.head(3))
    rc = main(["validate", str(tmp_path / "t.csv"), "--synthetic", str(run), "--seeds", "1"])
    assert rc == 2
    assert "click" in capsys.readouterr().err


def test_synthetic_schema_differs_exit_2(tmp_path: Path, capsys, sim) -> None:
    src, train = sim
    feature = src.schema.features[0]
    run = _run_dir(tmp_path / "r", train.head(20).drop(columns=[feature]))
    rc = main(["validate", "travel-sim", "--n-impressions", "20000", "--synthetic", str(run),
               "--seeds", "1", "--epochs", "1"])
    assert rc == 2
    err = capsys.readouterr().err
    assert feature in err and "synthetic" in err
    other = src.schema.drop([feature])
    run2 = _run_dir(tmp_path / "r2", train.head(20), other)
    rc = main(["validate", "travel-sim", "--n-impressions", "20000", "--synthetic", str(run2),
               "--seeds", "1", "--epochs", "1"])
    assert rc == 2 and "schema different" in capsys.readouterr().err


def test_missing_run_dir_and_nothing_to_compare_exit_2(tmp_path: Path) -> None:
    assert main(["validate", "travel-sim", "--synthetic", str(tmp_path / "nope")]) == 2
    assert main(["validate", "travel-sim"]) == 2


@pytest.mark.slow
def test_validate_end_to_end_writes_tagged_metrics(tmp_path: Path, capsys, sim) -> None:
    src, train = sim
    pos = train[train["conversion"] == 1]
    run = _run_dir(tmp_path / "run", pos.sample(40, replace=True, random_state=0), src.schema)
    rc = main(["validate", "travel-sim", "--n-impressions", "20000", "--synthetic", str(run),
               "--seeds", "2", "--epochs", "1", "--global-conversions", "--out",
               str(tmp_path / "out"), "--json", "--test-conversions", "0"])
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = json.loads(out)
    assert doc["arms"] == ["real-only", "+global", "+run", "+global+run"]
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    metrics = {r["metric"] for r in saved["summary"]}
    assert {"ctr_auc", "cvr_auc@click-space", "cvr_auc@entire-space", "ctcvr_auc",
            "ctcvr_logloss", "ctr_calibration", "ctr_gauc"} <= metrics
    assert any("[cat=" in m for m in metrics)
    for r in saved["summary"]:
        if r["metric"].startswith("cvr_auc"):
            assert r["protocol"] in ("click-space", "entire-space")
        if r["metric"] == "ctr_auc":  # travel-sim has an oracle (CTCVR may lack test positives)
            assert r["oracle"] is not None


@pytest.mark.slow
def test_validate_fresh_real_writes_the_ruler(tmp_path: Path, capsys) -> None:
    """travel-sim: truth lift of each set, level of each arm, >= 1,000 test conversions per
    target, 10 seeds by default, the two ceilings and each set's share of them."""
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split

    targets = ["theme park", "ski trip"]
    src = load_travel_sim(30_000)
    train, _, _ = make_split(src).frames(src)
    pos = train[train["click"] == 1].head(6).copy().assign(conversion=1)
    pos["item_category"] = [targets[i % 2] for i in range(len(pos))]
    run = _run_dir(tmp_path / "r", pos, src.schema)
    rc = main(["validate", "travel-sim", "--n-impressions", "30000", "--synthetic", str(run),
               "--fresh-real", "--epochs", "1", "--batch-size", "8192", "--json",
               "--targets", ",".join(targets), "--out", str(tmp_path / "v")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["seeds"]) == 10
    assert out["arms"] == ["real-only", "+r", "+fresh-positives", "+fresh-impressions"]
    inst = out["config"]["instrument"]
    for t in targets:
        c = inst["counts"][t]
        assert c["split_test_conversions"] + c["drawn_conversions"] >= 1000
        assert inst["ceilings"]["counts"][t]["positives"] == 3
    truth = {r["target"]: r for r in inst["truth"]["r"]}
    assert set(truth) == set(targets) and all(truth[t]["rows"] == 3 for t in targets)
    assert {r["target"]: r["lift"] for r in inst["truth"]["real test clicks"]} == \
        {t: 1.0 for t in targets}
    summ = pd.DataFrame(out["summary"])
    for arm in out["arms"]:
        for t in targets:
            rec = summ[(summ["arm"] == arm) & (summ["metric"] == f"cvr_level@click-space[cat={t}]")]
            assert len(rec) == 1 and rec["mean"].iloc[0] > 0
    per = summ[summ["metric"] == "cvr_auc@click-space[targets]"].set_index("arm")
    assert set(per.loc["+r", ["ci_low", "ci_high"]].index) == {"ci_low", "ci_high"}
    assert per.loc["+r", "resolved"] in ("gain", "loss", "not resolved")
    shares = out["ceiling_shares"]["cvr_auc@click-space[targets]"]["+r"]
    assert set(shares) == {"+fresh-positives", "+fresh-impressions"}
    runs = [r for r in out["runs"] if r["arm"] == "+r"]
    rec = runs[0]["metrics"]["cvr_auc@click-space[cat=theme park]"]
    assert rec["test"] == "enlarged" and rec["positives"] >= 1000


def test_fresh_real_needs_a_simulator(tmp_path: Path, capsys) -> None:
    df = pd.DataFrame({"user": ["a", "b"] * 20, "price": range(40), "click": [0, 1] * 20,
                       "conversion": [0, 1] * 20})
    df.to_csv(tmp_path / "t.csv", index=False)
    rc = main(["validate", str(tmp_path / "t.csv"), "--fresh-real", "--seeds", "1"])
    assert rc == 2
    assert "simulator" in capsys.readouterr().err


def test_level_auto_names_a_target_without_clicks_exit_2(tmp_path: Path, capsys) -> None:
    from tests.downstream_toy import toy_source

    table = toy_source(1500).table.copy()
    table.loc[table.index[:40], "item_category"] = "new"      # rows but no click at all
    table.loc[table.index[:40], ["click", "conversion", "same_category_purchase"]] = 0
    table.to_csv(tmp_path / "t.csv", index=False)
    syn = table[table["conversion"] == 1].head(4).assign(item_category="new")
    run = _run_dir(tmp_path / "r", syn)
    rc = main(["validate", str(tmp_path / "t.csv"), "--synthetic", str(run), "--seeds", "1",
               "--epochs", "1", "--level", "auto", "--targets", "new", "--click", "click",
               "--conversion", "conversion", "--category", "item_category"])
    assert rc == 2
    assert "'new'" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "t.csv"), "--synthetic", str(run),
                 "--level", "2"]) == 2
