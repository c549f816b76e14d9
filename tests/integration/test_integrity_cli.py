"""Integrity guards end to end: a set fitted on all of SOURCE is refused, one made by
`samplegen generate SOURCE` is accepted, and copies of test rows are flagged as contaminated."""

from __future__ import annotations

import json

import numpy as np
import pytest

from samplegen.cli import main
from samplegen.integrity import provenance_record, write_fit_rows
from samplegen.sources import load_source
from samplegen.split import Split, make_split

N = ["--n-impressions", "60000"]
FAST = ["--seeds", "1", "--epochs", "1", "--neg-rate", "0.1"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ov"
    rc = main(["generate", "travel-sim", *N, "--generator", "oversample", "--target",
               "item_category=hotel", "--n", "20", "--out", str(out)])
    assert rc == 0
    return out


def test_set_from_generate_is_accepted_and_recorded(generated, tmp_path) -> None:
    rc = main(["validate", "travel-sim", *N, "--synthetic", str(generated), *FAST,
               "--targets", "hotel", "--out", str(tmp_path)])
    assert rc == 0
    integrity = json.loads((tmp_path / "metrics.json").read_text())["config"]["integrity"]
    assert integrity["ov"]["provenance"]["status"] == "disjoint"
    assert integrity["ov"]["contamination"]["contaminated"] is False


def _fitted_on(leaky, run, src, rows, kind: str):
    """A copy of ``run`` whose provenance says its generator was fitted on ``rows``."""
    fit = Split(np.asarray(rows), np.array([], dtype=np.int64), np.array([], dtype=np.int64),
                rule={"kind": kind})
    leaky.mkdir()
    (leaky / "synthetic.parquet").write_bytes((run / "synthetic.parquet").read_bytes())
    (leaky / "manifest.json").write_text(json.dumps({"provenance": provenance_record(src, fit)}))
    write_fit_rows(leaky, src, fit)
    return leaky


def test_set_fitted_on_all_rows_is_refused(generated, tmp_path, capsys) -> None:
    src = load_source("travel-sim", n_impressions=60000)
    leaky = _fitted_on(tmp_path / "leaky", generated, src, np.arange(len(src.table)),
                       "all rows")
    rc = main(["validate", "travel-sim", *N, "--synthetic", str(leaky), *FAST,
               "--targets", "hotel", "--out", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "was fitted on rows that this evaluation uses" in err and "Fix:" in err
    assert not (tmp_path / "v" / "metrics.json").exists()


def test_copies_of_test_rows_are_marked_contaminated(tmp_path) -> None:
    src = load_source("travel-sim", n_impressions=60000)
    split = make_split(src)
    test = src.table.iloc[split.test]
    copies = test[test[src.schema.click] == 1].head(30)
    path = tmp_path / "copies.parquet"
    copies.to_parquet(path)
    rc = main(["validate", "travel-sim", *N, "--synthetic", str(path), *FAST,
               "--targets", "hotel", "--out", str(tmp_path)])
    assert rc == 0
    rec = json.loads((tmp_path / "metrics.json").read_text())["config"]["integrity"]["copies"]
    assert rec["contamination"]["exact"] == 30 and rec["contamination"]["contaminated"]


def test_train_test_files_work_for_generate_validate_report(tmp_path, capsys) -> None:
    src = load_source("travel-sim", n_impressions=60000, with_global=False)
    train_f, test_f = tmp_path / "train.parquet", tmp_path / "test.parquet"
    src.table.iloc[:45000].to_parquet(train_f)
    src.table.iloc[45000:].to_parquet(test_f)
    files = ["--train", str(train_f), "--test", str(test_f)]
    run = tmp_path / "gen"
    assert main(["generate", *files, "--generator", "oversample", "--target",
                 "item_category=hotel", "--n", "10", "--out", str(run)]) == 0
    assert main(["validate", *files, "--synthetic", str(run), *FAST, "--targets", "hotel",
                 "--out", str(tmp_path / "v")]) == 0
    rule = json.loads((tmp_path / "v" / "metrics.json").read_text())["config"]["split"]["rule"]
    assert rule["kind"] == "files" and rule["overlap"]["train&test"] == 0
    assert main(["report", *files, "--synthetic", str(run), "--out", str(tmp_path / "r"),
                 "--json"]) == 0
    assert (tmp_path / "r" / "report.html").is_file()


def test_overlapping_train_and_test_files_are_reported(tmp_path, capsys) -> None:
    src = load_source("travel-sim", n_impressions=60000, with_global=False)
    train_f, test_f = tmp_path / "train.parquet", tmp_path / "test.parquet"
    src.table.iloc[:45000].to_parquet(train_f)
    import pandas as pd

    # 10 early training rows also sit in the test file
    pd.concat([src.table.iloc[:10], src.table.iloc[45000:]]).to_parquet(test_f)
    files = ["--train", str(train_f), "--test", str(test_f)]
    run = tmp_path / "gen"
    assert main(["generate", *files, "--generator", "oversample", "--target",
                 "item_category=hotel", "--n", "10", "--out", str(run)]) == 0
    rc = main(["validate", *files, "--synthetic", str(run), *FAST, "--targets", "hotel",
               "--out", str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert rc == 2 and "shares 10 row(s) with the --test file" in err


def test_a_log_that_repeats_rows_validates_its_own_generated_set(tmp_path, capsys) -> None:
    """Issue 19: a real log repeats 10% of its rows; `generate FILE` then `validate FILE` on the
    same file and default split succeeds, while a set fitted on the test part is refused."""
    import pandas as pd

    rng = np.random.default_rng(0)
    k = 2700
    df = pd.DataFrame({"user_id": rng.integers(0, 400, k).astype(str),
                       "item_category": rng.choice(["hotel", "cruise", "visa"], k),
                       "platform": rng.choice(["ios", "web", "android"], k),
                       "click": (rng.random(k) < 0.4).astype(int)})
    df["conversion"] = ((rng.random(k) < 0.3) & (df["click"] == 1)).astype(int)
    df = pd.concat([df, df.sample(300, random_state=1)]).sample(frac=1.0, random_state=2)
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    run = tmp_path / "gen"
    assert main(["generate", str(path), "-g", "oversample", "--target", "item_category=visa",
                 "--n", "30", "--align", "none", "--out", str(run)]) == 0
    rc = main(["validate", str(path), "--synthetic", str(run), *FAST, "--out",
               str(tmp_path / "v")])
    err = capsys.readouterr().err
    assert rc == 0, err
    rec = json.loads((tmp_path / "v" / "metrics.json").read_text())["config"]["integrity"]["gen"]
    assert rec["provenance"]["status"] == "disjoint" and rec["provenance"]["shared_content"] > 0
    assert not rec["contamination"]["contaminated"]

    src = load_source(str(path))
    split = make_split(src)
    leaky = _fitted_on(tmp_path / "leaky", run, src, split.test, "the test part")
    rc = main(["validate", str(path), "--synthetic", str(leaky), *FAST, "--out",
               str(tmp_path / "v2")])
    err = capsys.readouterr().err
    assert rc == 2 and "was fitted on rows that this evaluation uses" in err
