"""Fault injection, fast part: a misbehaving OpenAI-compatible server, unwritable --out, a
failed run that the corrected command reuses, label fabrication refused, and the input fixes
of issue 19 (semicolons, no header, Latin-1, repeated names, quoted targets, integers,
--resume mistakes, progress counts, rejects.jsonl). Each asserts the exit code, that no
traceback is printed, and that the message names the fix."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from samplegen.cli import main
from tests.fake_openai import fake_server

SIM = ["travel-sim", "--n-impressions", "20000"]
LLM = ["generate", *SIM, "-g", "llm-fewshot", "--backend", "openai", "--model", "fake",
       "--target", "item_category=hotel", "--n", "4", "--align", "none"]


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# ------------------------------------------------------------------ server faults (backend)
@pytest.mark.parametrize("mode, words", [
    ("500", ["HTTP 500", "failed on every attempt", "Fix:"]),
    ("400", ["HTTP 400", "refused the request", "Fix:"]),
    ("malformed", ["not JSON", "expected an OpenAI completion", "Fix:"]),
    ("shape", ["another shape", "['foo']", "choices[0].text", "Fix:"]),
    ("garbage", ["not JSON", "<html>hello</html>", "Fix:"]),
    ("hang", ["unreachable after", "gives up after 1 s", "Fix:"]),
])
def test_backend_names_each_server_fault(mode, words) -> None:
    from samplegen.errors import BackendError
    from samplegen.llm.backends.openai_backend import OpenAIBackend
    from samplegen.llm.base import SamplingParams

    with fake_server(mode) as url:
        b = OpenAIBackend("fake", base_url=url, backoff=0.01, give_up_s=1.0)
        t0 = time.monotonic()
        with pytest.raises(BackendError) as e:
            b.generate(["p"], SamplingParams(stop=()))
        assert time.monotonic() - t0 < 10
    for w in words:
        assert w in str(e.value), str(e.value)


def test_default_give_up_is_at_most_a_minute() -> None:
    from samplegen.llm.backends.openai_backend import OpenAIBackend

    b = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1")
    assert b.give_up_s <= 60 and b.describe()["give_up_s"] == b.give_up_s


# ------------------------------------------------------- server faults (CLI, failed runs)
def test_wrong_shaped_server_exits_2_and_corrected_command_reuses_the_run(tmp_path,
                                                                         capsys) -> None:
    out = tmp_path / "run"
    with fake_server("shape") as url:
        assert main([*LLM, "--base-url", url, "--out", str(out)]) == 2
    err = _err(capsys)
    assert "another shape" in err and "Fix:" in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "another shape" in m["failure"]["reason"]
    # the corrected command (another server) may use the same --out: no "holds another run"
    with fake_server("hang") as url:
        t0 = time.monotonic()
        rc = main([*LLM, "--base-url", url, "--param", "give_up_s=1", "--out", str(out)])
        assert time.monotonic() - t0 < 60
    err = _err(capsys)
    assert rc == 2 and "gives up after 1 s" in err and "holds another run" not in err


def test_unwritable_out_exits_2(tmp_path, capsys, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["generate", *SIM, "-g", "smote", "--n", "5", "--out",
                 str(blocker / "run")]) == 2
    assert "is a file" in _err(capsys)
    import os

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path)
                        else real(p, mode))
    assert main(["generate", *SIM, "-g", "smote", "--n", "5", "--out",
                 str(tmp_path / "ro" / "run")]) == 2
    err = _err(capsys)
    assert "cannot be written" in err and "Fix:" in err
    assert not (tmp_path / "ro").exists()


def test_permission_error_mid_run_exits_2_and_marks_the_run_failed(tmp_path, capsys,
                                                                   monkeypatch) -> None:
    from samplegen.rundir import RunDir

    def refuse(self, index, df, report):
        raise PermissionError(13, "Permission denied", str(self.chunk_path(index)))

    monkeypatch.setattr(RunDir, "write_chunk", refuse)
    out = tmp_path / "run"
    rc = main(["generate", *SIM, "-g", "smote", "--n", "5", "--target", "item_category=hotel",
               "--out", str(out)])
    err = _err(capsys)
    assert rc == 2 and "Permission denied" in err and "Fix:" in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and "PermissionError" in m["failure"]["reason"]


# -------------------------------------------------------------------- label fabrication
@pytest.fixture
def no_conversions(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"item_category": rng.choice(["a", "b"], n),
                       "price": rng.integers(50, 900, n), "click": rng.integers(0, 2, n)})
    df["conversion"] = 0
    path = tmp_path / "noconv.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("extra, words", [
    (["--align", "none", "--target", "item_category=a"], ["no training rows with", "label"]),
    (["--align", "none"], ["with the asked labels", "sdv-gaussian-copula"]),
    ([], ["with the asked labels"]),
])
def test_oversample_never_fabricates_conversions(no_conversions, tmp_path, capsys, extra,
                                                 words) -> None:
    out = tmp_path / "run"
    assert main(["generate", str(no_conversions), "-g", "oversample", "--n", "10", *extra,
                 "--out", str(out)]) == 2
    err = _err(capsys)
    assert all(w in err for w in words) and "Fix:" in err
    assert not out.exists()


def test_aligner_without_conversions_blames_the_data_not_the_model(no_conversions, tmp_path,
                                                                   capsys) -> None:
    out = tmp_path / "run"
    assert main(["generate", str(no_conversions), "-g", "sdv-gaussian-copula", "--n", "10",
                 "--out", str(out)]) == 2
    err = _err(capsys)
    assert "every training row has conversion=0" in err and "--align none" in err
    assert "attribution model" not in err and not out.exists()


def test_oversample_on_a_one_row_target_warns_about_repeats(tmp_path, capsys, caplog) -> None:
    path = tmp_path / "tiny.csv"
    n = 40  # category a: one converting row; b: the rest
    pd.DataFrame({"item_category": ["a"] + ["b"] * (n - 1), "price": [875, *range(100, 139)],
                  "click": [1] + [1, 0] * ((n - 1) // 2) + [0],
                  "conversion": [1] + [1, 0] * ((n - 1) // 2) + [0]}).to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["generate", str(path), "-g", "oversample", "--target", "item_category=a",
                 "--n", "20", "--align", "none", "--out", str(out)]) == 0
    _err(capsys)
    assert "1 distinct training row(s) for 20 requested rows" in caplog.text
    df = pd.read_parquet(out / "synthetic.parquet")
    assert df["price"].dtype.kind == "i" and set(df["price"]) == {875}  # an int stays an int


# ------------------------------------------------------------------------------ inputs
def _log(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city": rng.choice(["Paris, France", "Lyon"], n),
                       "price": rng.integers(50, 900, n), "click": rng.integers(0, 2, n)})
    df["conversion"] = ((rng.random(n) < 0.5) & (df["click"] == 1)).astype(int)
    return df


def test_semicolon_file_is_read_as_columns(tmp_path, capsys) -> None:
    path = tmp_path / "semi.csv"
    _log().to_csv(path, sep=";", index=False)
    assert main(["data", "describe", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"city", "price", "click", "conversion"} <= {c["name"] for c in doc["columns"]}


def test_headerless_file_error_names_no_header(tmp_path, capsys) -> None:
    path = tmp_path / "nohdr.csv"
    df = _log().drop(columns="city")
    df["price"] = np.arange(len(df)) + 100  # unique numbers: the first row cannot be a header
    df.to_csv(path, header=False, index=False)
    assert main(["data", "describe", str(path)]) == 2
    assert "--no-header" in _err(capsys)
    assert main(["data", "describe", str(path), "--no-header", "--click", "1",
                 "--conversion", "2"]) == 0


def test_latin1_file_error_names_the_encoding(tmp_path, capsys) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("city,click,conversion\nMünchen,1,0\nParis,0,0\n".encode("latin-1"))
    assert main(["data", "describe", str(path)]) == 2
    err = _err(capsys)
    assert "not UTF-8" in err and "iconv" in err


def test_repeated_column_names_are_refused(tmp_path, capsys) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("price,click,price,conversion\n1,1,2,0\n3,0,4,0\n")
    assert main(["data", "describe", str(path)]) == 2
    err = _err(capsys)
    assert "['price'] appear more than once" in err and "unique name" in err


def test_quoted_target_value_with_a_comma(tmp_path, capsys) -> None:
    path = tmp_path / "log.csv"
    _log().to_csv(path, index=False)
    out = tmp_path / "run"
    assert main(["generate", str(path), "-g", "smote", "--n", "6", "--align", "none",
                 "--target", 'city="Paris, France"', "--out", str(out)]) == 0
    df = pd.read_parquet(out / "synthetic.parquet")
    assert set(df["city"]) == {"Paris, France"} and df["price"].dtype.kind == "i"
    assert main(["generate", str(path), "-g", "smote", "--target", 'city="Paris',
                 "--out", str(tmp_path / "r2")]) == 2
    assert "unclosed quote" in _err(capsys)


def test_label_errors_show_plain_numbers(tmp_path, capsys) -> None:
    path = tmp_path / "bad.csv"
    df = _log()
    df.loc[3, "click"] = 2
    df.to_csv(path, index=False)
    assert main(["data", "describe", str(path)]) == 2
    err = _err(capsys)
    assert "value 2)" in err and "np.int64" not in err


def test_resume_mistakes_are_named(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    base = ["generate", *SIM, "-g", "smote", "--target", "item_category=hotel", "--n", "4",
            "--align", "none", "--out", str(out)]
    assert main([*base, "--resume"]) == 2
    assert "holds no run to resume" in _err(capsys) and not out.exists()
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--seed", "7", "--resume"]) == 2
    assert "differs in --seed (run: 0, now: 7)" in _err(capsys)


def test_progress_counts_rows_written_and_rejects_hold_the_aligner_drops(tmp_path) -> None:
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.pipeline import generate

    seen: list[tuple[int, int]] = []
    src = load_travel_sim(n_impressions=20000, seed=0)
    res = generate(src, "smote", out=tmp_path / "run", n=20, chunk_rows=10, align="cllm",
                   targets=[{"item_category": "hotel", "conversion": 0}],
                   progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (20, 20) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    lines = (tmp_path / "run" / "rejects.jsonl").read_text().splitlines()
    dropped = res.manifest["counts"]["rejected"]["not_selected_by_aligner"]
    assert dropped > 0 and lines
    assert sum(json.loads(x)["reason"] == "not_selected_by_aligner" for x in lines) \
        == min(dropped, 40)
