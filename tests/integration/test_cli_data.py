"""`samplegen data list|describe` end to end through samplegen.cli.main (exit codes, JSON, messages)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from samplegen.cli import main

# file -> (flags, rows, click rate, conversion rate per click); counts hand-checked with awk
DESCRIBE = {
    "ali-ccp/ali_ccp_train_sample.csv": ([], 100, 7 / 100, 1 / 7),
    "ali-ccp/ali_ccp_val_sample.csv": ([], 50, 3 / 50, 1 / 3),
    "ali-ccp/ali_ccp_test_sample.csv": ([], 50, 2 / 50, 1 / 2),
    "aliexpress/aliexpress_train_sample.csv": ([], 100, 60 / 100, 2 / 60),
    "aliexpress/aliexpress_test_sample.csv": ([], 20, 10 / 20, 2 / 10),
    "paddlerec-ali-ccp/aitm_train.csv": (["--invalid-conversions", "drop"], 46, 3 / 46, 1 / 3),
    "paddlerec-ali-ccp/aitm_test_noheader.csv": (["--invalid-conversions", "fix-click"], 50,
                                                 6 / 50, 3 / 6),
    "paddlerec-ali-ccp/esmm_train_small.txt": ([], 10, 2 / 10, 1 / 2),
    "paddlerec-ali-ccp/esmm_test_small.txt": ([], 10, 1 / 10, 0 / 1),
}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("rel", sorted(DESCRIBE))
def test_describe_json_reports_true_label_rates(shared_data, capsys, rel):
    flags, rows, ctr, cvr = DESCRIBE[rel]
    code, out, err = _run(capsys, "data", "describe", str(shared_data / rel), *flags, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["rows"] == rows
    assert doc["click_rate"] == pytest.approx(ctr, abs=1e-12)
    assert doc["conversion_rate_per_click"] == pytest.approx(cvr, abs=1e-12)
    cats = doc["categories"]
    assert sum(c["rows"] for c in cats) == rows
    assert sum(c["clicks"] for c in cats) == round(ctr * rows)
    assert {c["role"] for c in doc["columns"]} >= {"click", "conversion", "category"}
    assert "leaks" in doc and "split" in doc


def test_describe_rich_tables(shared_data, capsys):
    code, out, _ = _run(capsys, "data", "describe",
                        str(shared_data / "ali-ccp/ali_ccp_train_sample.csv"))
    assert code == 0
    assert "conversion rate per click" in out and "14.29%" in out and "7.00%" in out
    assert "categories (206" in out


def test_aitm_trap_exits_2_with_column_row_and_fix(shared_data, capsys):
    code, out, err = _run(capsys, "data", "describe",
                          str(shared_data / "paddlerec-ali-ccp/aitm_train.csv"))
    assert code == 2 and out == ""
    assert "'purchase'" in err and "row 7" in err and "--invalid-conversions drop" in err
    assert "Traceback" not in err


def test_bad_inputs_exit_2_with_problem_and_fix(tmp_path, capsys):
    good = pd.DataFrame({"item_category": ["a", "b"] * 5, "click": [1, 0] * 5,
                         "purchase": [1, 0] * 5})
    cases = []
    cases.append(([str(tmp_path / "missing.csv")], ["missing.csv", "does not exist", "Fix"]))
    (tmp_path / "empty.csv").write_text("")
    cases.append(([str(tmp_path / "empty.csv")], ["empty.csv", "is empty", "Fix"]))
    good.drop(columns=["click"]).to_csv(tmp_path / "noclick.csv", index=False)
    cases.append(([str(tmp_path / "noclick.csv")], ["no click label column", "'purchase'",
                                                          "--click"]))
    bad = good.copy()
    bad.loc[4, "click"] = 3
    bad.to_csv(tmp_path / "nonbinary.csv", index=False)
    cases.append(([str(tmp_path / "nonbinary.csv")], ["'click'", "row 4", "not 0/1", "Fix"]))
    good.to_csv(tmp_path / "good.csv", index=False)
    (tmp_path / "s.yaml").write_text("columns:\n  revenue: {role: context}\n")
    cases.append(([str(tmp_path / "good.csv"), "--schema", str(tmp_path / "s.yaml")],
                  ["'revenue'", "the data lacks", "Fix"]))
    (tmp_path / "r.yaml").write_text("columns:\n  item_category: {role: brand}\n")
    cases.append(([str(tmp_path / "good.csv"), "--schema", str(tmp_path / "r.yaml")],
                  ["'item_category'", "unknown role 'brand'", "Fix"]))
    cases.append(([str(tmp_path / "good.csv"), "--category", "nope"], ["'nope'", "Fix"]))
    (tmp_path / "t.xlsx").write_text("x")
    cases.append(([str(tmp_path / "t.xlsx")], ["unknown file type", "Fix"]))
    for argv, needles in cases:
        code, out, err = _run(capsys, "data", "describe", *argv)
        assert code == 2, (argv, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        for needle in needles:
            assert needle in err, (argv, needle, err)


def test_describe_flags_a_planted_leak(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 300
    click = (rng.random(n) < 0.4).astype(int)
    conv = click * (rng.random(n) < 0.4).astype(int)
    pd.DataFrame({"item_category": rng.choice(["hotel", "visa", "cruise"], n),
                  "amount_x": np.where(conv == 1, rng.integers(100, 900, n), 0),
                  "hour": rng.integers(0, 24, n),
                  "click": click, "conversion": conv}).to_csv(tmp_path / "t.csv", index=False)
    code, out, _ = _run(capsys, "data", "describe", str(tmp_path / "t.csv"), "--json")
    assert code == 0
    leaks = json.loads(out)["leaks"]
    assert {lk["column"] for lk in leaks} == {"amount_x"}
    iff = next(lk for lk in leaks if lk["kind"] == "nonzero_iff_label")
    assert iff["label"] == "conversion" and f"{int(conv.sum())}/{int(conv.sum())}" in \
        iff["evidence"]
    code, out, _ = _run(capsys, "data", "describe", str(tmp_path / "t.csv"))
    assert "suspected label leaks" in out and "amount_x" in out


def test_data_list(capsys):
    code, out, _ = _run(capsys, "data", "list", "--json")
    doc = json.loads(out)
    assert code == 0 and "travel-sim" in doc["builtin"]
    assert {"ali-ccp", "aitm", "esmm-txt", "aliexpress", "taobao-userbehavior", "csv",
            "parquet", "jsonl", "hf-dataset"} <= set(doc["formats"])
    code, out, _ = _run(capsys, "data", "list")
    assert code == 0 and "travel-sim" in out and "taobao-userbehavior" in out


def test_describe_travel_sim_small(capsys):
    code, out, err = _run(capsys, "data", "describe", "travel-sim", "--n-impressions",
                          "200000", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["rows"] == 200_000
    conf = doc["configured"]
    assert abs(doc["click_rate"] / conf["click_rate"] - 1) < 0.3
    assert abs(doc["conversion_rate_per_click"] / conf["conversion_rate_per_click"] - 1) < 0.3
    assert doc["split"]["rule"]["kind"] == "time"
    assert doc["leaks"] == []
    code, _, err = _run(capsys, "data", "describe", "x.csv", "--n-impressions", "5")
    assert code == 2 and "built-in datasets only" in err
