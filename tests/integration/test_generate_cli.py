"""`samplegen generate` end to end: CLI, bad inputs (exit 2, output untouched), kill -9 + resume,
and two worker processes racing over one run directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from samplegen.cli import main

ROOT = Path(__file__).resolve().parents[2]
SIM = ["travel-sim", "--n-impressions", "20000"]
WORKER = """
import sys
from samplegen.datasets.travel_sim import load_travel_sim
from samplegen.pipeline import generate
gen, out, n, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
src = load_travel_sim(n_impressions=20000, seed=0)
generate(src, gen, out=out, n=n, chunk_rows=chunk, seed=0, resume=True,
         targets=[{"item_category": "hotel"}, {"item_category": "flight"}])
"""


def _listing(path: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in sorted(path.rglob("*"))}


def _worker(*args: object) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", WORKER, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _unique_rows(df: pd.DataFrame) -> int:
    return int((~df.duplicated()).sum())


def test_cli_generate_writes_exact_valid_rows(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    rc = main(["generate", *SIM, "--generator", "smote", "--n", "40", "--target",
               "item_category=hotel", "--target", "item_category=cruise", "--seed", "2",
               "--chunk-rows", "15", "--out", str(out), "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "complete" and doc["counts"]["written"] == 40
    df = pd.read_parquet(out / "synthetic.parquet")
    assert len(df) == 40 and set(df["item_category"]) == {"hotel", "cruise"}
    assert (df["click"] == 1).all() and (df["conversion"] == 1).all()
    m = json.loads((out / "manifest.json").read_text())
    c = m["counts"]
    assert c["drawn"] == c["written"] + c["rejected_total"] + c["surplus"]
    assert m["config"]["targets"][1]["conditions"] == {"item_category": "cruise", "click": 1,
                                                      "conversion": 1}


def test_cli_summary_table(tmp_path, capsys) -> None:
    rc = main(["generate", *SIM, "--generator", "oversample", "--per-category", "3",
               "--target", "item_category=visa,conversion=0", "--out", str(tmp_path / "r")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "item_category=visa" in text and "written" in text and "synthetic.parquet" in text


@pytest.fixture
def csv_source(tmp_path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"item_category": rng.choice(["a", "b"], n),
                       "hour": rng.integers(0, 24, n), "click": (rng.random(n) < .5).astype(int)})
    df["conversion"] = ((rng.random(n) < .5) & (df.click == 1)).astype(int)
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  item_category:\n    role: category\n    values: [a, b, z]\n")
    return path, schema


@pytest.mark.parametrize("args, message", [
    (["--generator", "nope"], "unknown generator"),
    (["--generator", "oversample", "--target", "item_category=mars"], "not in the column's"),
    (["--generator", "oversample", "--target", "item_category=z"], "no real rows at all"),
    (["--generator", "oversample", "--n", "0"], "positive integer"),
    (["--generator", "oversample", "--n", "-5"], "positive integer"),
    (["--generator", "oversample", "--target", "cruise"], "COL=VALUE"),
    (["--generator", "oversample", "--epochs", "2"], "does not apply"),
])
def test_cli_bad_inputs_exit_2(csv_source, tmp_path, capsys, args, message) -> None:
    path, schema = csv_source
    out = tmp_path / "out"
    rc = main(["generate", str(path), "--schema", str(schema), "--out", str(out), *args])
    assert rc == 2
    assert message in capsys.readouterr().err.replace("\n", " ")
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--model", "/nonexistent/model.gguf"], "does not exist"),
    (["--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
     "unreachable after"),
    (["--param", "template=BAD"], "syntax error at line 1"),
])
def test_cli_bad_llm_inputs_exit_2(csv_source, tmp_path, capsys, args, message) -> None:
    path, schema = csv_source
    bad = tmp_path / "bad.j2"
    bad.write_text("{% for x in %}")
    args = [a.replace("BAD", str(bad)) for a in args]
    rc = main(["generate", str(path), "--schema", str(schema), "--out", str(tmp_path / "out"),
               "--generator", "llm-fewshot", "--n", "2", *args])
    assert rc == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_cli_out_dir_holding_another_run_exit_2_untouched(csv_source, tmp_path, capsys) -> None:
    path, schema = csv_source
    out = tmp_path / "out"
    base = ["generate", str(path), "--schema", str(schema), "--generator", "oversample", "--n",
            "10", "--target", "item_category=a", "--out", str(out)]
    assert main(base) == 0
    before = _listing(out)
    assert main([*base, "--seed", "4", "--resume"]) == 2
    assert "holds another run" in capsys.readouterr().err.replace("\n", " ")
    assert main(base) == 2
    assert "--resume" in capsys.readouterr().err.replace("\n", " ")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert main([*base[:-1], str(tmp_path / "mine")]) == 2
    assert _listing(out) == before
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_gives_exact_unique_rows(tmp_path) -> None:
    out = tmp_path / "run"
    n, chunk = 1500, 50
    proc = _worker("smote", out, n, chunk)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "chunks").glob("part-*.parquet"))) < 5:
        assert proc.poll() is None, proc.stdout.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((out / "chunks").glob("part-*.parquet")))
    assert 5 <= done_before < n // chunk
    assert not (out / "synthetic.parquet").exists()
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.pipeline import generate

    src = load_travel_sim(n_impressions=20000, seed=0)
    res = generate(src, "smote", out=out, n=n, chunk_rows=chunk, seed=0, resume=True,
                   targets=[{"item_category": "hotel"}, {"item_category": "flight"}])
    df = res.to_pandas()
    assert len(df) == n and _unique_rows(df) == n
    m = res.manifest
    assert m["status"] == "complete" and m["counts"]["add_up"]
    assert m["chunks"]["written"] == n // chunk + m["chunks"]["top_up"]
    assert not list((out / "chunks").glob(".*.tmp")) and not list((out / "locks").iterdir())
    assert sum(m["chunks"]["by_worker_pid"].values()) == m["chunks"]["written"]
    assert str(proc.pid) in m["chunks"]["by_worker_pid"]


@pytest.mark.slow
def test_two_workers_race_without_duplicates(tmp_path) -> None:
    out = tmp_path / "run"
    n, chunk = 800, 20
    procs = [_worker("smote", out, n, chunk) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stdout.read().decode()[-3000:]
    m = json.loads((out / "manifest.json").read_text())
    df = pd.read_parquet(out / "synthetic.parquet")
    assert len(df) == n and _unique_rows(df) == n
    assert m["status"] == "complete" and m["counts"]["add_up"]
    assert m["chunks"]["planned"] == n // chunk
    assert set(m["chunks"]["by_worker_pid"]) == {str(p.pid) for p in procs}
    assert sum(m["chunks"]["by_worker_pid"].values()) == m["chunks"]["written"]
    reports = [pq_meta(p) for p in sorted((out / "chunks").glob("part-*.parquet"))]
    assert sorted(r["index"] for r in reports) == list(range(len(reports)))


@pytest.mark.slow
def test_workers_option_spawns_a_second_process(tmp_path) -> None:
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.pipeline import generate

    src = load_travel_sim(n_impressions=20000, seed=0)
    res = generate(src, "smote", out=tmp_path / "r", n=200, chunk_rows=10, seed=0, workers=2,
                   targets=[{"item_category": "hotel"}])
    df = res.to_pandas()
    assert len(df) == 200 and _unique_rows(df) == 200 and res.manifest["status"] == "complete"


def pq_meta(path: Path) -> dict:
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[b"samplegen.chunk"])
