"""`samplegen align SOURCE --synthetic DIR --out DIR2` end to end on a small CSV."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from samplegen.cli import main
from tests.align_toy import make_pool, make_real


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("align")
    real = make_real(n=8000, seed=0)
    real.to_csv(d / "real.csv", index=False)
    pool, planted = make_pool(real, n=400, planted=80)
    run = d / "run"
    run.mkdir()
    pool.to_parquet(run / "synthetic.parquet", index=False)
    (run / "manifest.json").write_text(json.dumps({"generator": "test", "seed": 0}))
    return d, pool, planted


@pytest.mark.parametrize("method", ["shap", "cllm", "none"])
def test_align_writes_a_run_directory(files, method, capsys):
    d, pool, planted = files
    out = d / f"out-{method}"
    rc = main(["align", str(d / "real.csv"), "--synthetic", str(d / "run"), "--out", str(out),
               "--method", method, "--n", "150", "--seed", "3"])
    assert rc == 0, capsys.readouterr()
    sel = pd.read_parquet(out / "synthetic.parquet")
    m = json.loads((out / "manifest.json").read_text())
    assert len(sel) == 150 and list(sel.columns) == list(pool.columns)
    assert m["method"] == method and m["counts"]["pool"] == 400
    assert m["counts"]["selected"] + sum(m["counts"]["dropped"].values()) == 400
    assert m["input_manifest"] == {"generator": "test", "seed": 0}
    assert (out / "schema.json").is_file()
    if method == "shap":
        assert m["align"]["validation_auc"] > 0.5 and m["align"]["ess"] > 0
        assert m["counts"]["dropped"]["attribution_distance"] >= 40
    if method != "none":  # planted rows (wrong price x membership) are not selected
        key = ["user_membership", "item_price_band"]
        bad = (sel[key] == ["basic", "high"]).all(axis=1)
        assert bad.mean() < 0.05
    out_text = capsys.readouterr().out
    assert "selected" in out_text


def test_align_json_output_and_parquet_input(files, capsys):
    d, *_ = files
    rc = main(["align", str(d / "real.csv"), "--synthetic", str(d / "run" / "synthetic.parquet"),
               "--out", str(d / "out-json"), "--method", "none", "--n", "10", "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["counts"]["selected"] == 10


def test_bad_inputs_exit_2(files, capsys, tmp_path):
    d, pool, _ = files
    bad = tmp_path / "bad.parquet"
    pool.assign(spaceship="yes").to_parquet(bad, index=False)
    rc = main(["align", str(d / "real.csv"), "--synthetic", str(bad), "--out",
               str(tmp_path / "o1")])
    err = capsys.readouterr().err
    assert rc == 2 and "spaceship" in err and "real data lacks" in err
    rc = main(["align", str(d / "real.csv"), "--synthetic", str(d / "run"), "--out",
               str(tmp_path / "o2"), "--n", "401"])
    err = capsys.readouterr().err
    assert rc == 2 and "larger than the synthetic pool" in err
    rc = main(["align", str(d / "real.csv"), "--synthetic", str(tmp_path / "nothing"), "--out",
               str(tmp_path / "o3")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    rc = main(["align", str(d / "real.csv"), "--synthetic", str(d / "run"), "--out",
               str(tmp_path / "busy"), "--method", "none"])
    assert rc == 2 and "not empty" in capsys.readouterr().err
