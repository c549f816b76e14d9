"""Fault injection, signals: SIGINT / SIGTERM / kill -9 at each phase of `generate` (fit,
alignment, sampling, merge) and at random points, each followed by the printed resume command.

One run directory is interrupted again and again; every stop must give its exit code (130,
143, or death by SIGKILL), a one-line message with the exact resume command (no traceback),
and the finished run must hold exactly the asked rows, no duplicates, and the very rows of an
uninterrupted run. The number of interrupt points tried is printed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
N, CHUNK = 300, 10
TARGETS = [{"item_category": "hotel", "conversion": "0"},
           {"item_category": "flight", "conversion": "0"}]
ARGS = ["generate", "travel-sim", "--n-impressions", "20000", "-g", "smote", "--n", str(N),
        "--chunk-rows", str(CHUNK), "--seed", "1", "--align", "cllm",
        *[x for t in TARGETS for x in ("--target", ",".join(f"{k}={v}" for k, v in t.items()))]]
EXIT = {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -signal.SIGKILL}


def _start(args: list[str], failpoint: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("SAMPLEGEN_FAILPOINT", None)
    if failpoint:
        env["SAMPLEGEN_FAILPOINT"] = failpoint
    return subprocess.Popen([sys.executable, "-m", "samplegen", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _resume_command(err: str) -> list[str]:
    line = next(x for x in err.splitlines() if "Resume with:" in x)
    return shlex.split(line.split("Resume with:", 1)[1])


def _chunks(out: Path) -> int:
    return len(list((out / "chunks").glob("part-*.parquet"))) if (out / "chunks").is_dir() else 0


def _check_stop(rc: int, err: str, sig: str, out: Path, expected_resume: list[str]) -> None:
    assert rc == EXIT[sig], (rc, err[-2000:])
    if sig == "SIGKILL":
        return  # nothing can run after kill -9: the manifest stays "running"
    assert "Traceback" not in err, err[-2000:]
    assert f"interrupted by {sig}" in err and "is resumable" in err
    assert _resume_command(err) == expected_resume
    status = json.loads((out / "manifest.json").read_text())["status"]
    assert status == "interrupted"


@pytest.mark.slow
def test_signals_at_every_phase_then_resume_give_exact_unique_rows(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    first = [*ARGS, "--out", str(out)]
    resume = ["samplegen", *first, "--resume"]
    tried: list[str] = []

    # named phases first: fit (fresh run), alignment, sampling (kill -9 after a chunk)
    for i, (point, sig) in enumerate([("fit", "SIGINT"), ("align", "SIGTERM"),
                                      ("sample", "SIGKILL")]):
        rc, err = _finish(_start(first if i == 0 else resume[1:], f"{point}:{sig}"))
        _check_stop(rc, err, sig, out, resume)
        tried.append(f"{point}/{sig}")
    assert _chunks(out) >= 1

    # random points while sampling: after 1-3 new chunks plus a random pause, a random signal
    rng = np.random.default_rng(int(os.environ.get("SAMPLEGEN_FAULT_SEED", "0")))
    for _ in range(3):
        before = _chunks(out)
        sig = str(rng.choice(["SIGINT", "SIGTERM", "SIGKILL"]))
        wait_for = before + int(rng.integers(1, 4))
        proc = _start(resume[1:])
        deadline = time.monotonic() + 240
        while _chunks(out) < wait_for and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(float(rng.uniform(0, 0.3)))
        proc.send_signal(getattr(signal, sig))
        rc, err = _finish(proc)
        _check_stop(rc, err, sig, out, resume)
        tried.append(f"random({_chunks(out)} chunks)/{sig}")
    assert _chunks(out) < N // CHUNK, "the random stops must leave work for the merge stop"

    # merge: every chunk is written, synthetic.parquet is not
    rc, err = _finish(_start(resume[1:], "merge:SIGTERM"))
    _check_stop(rc, err, "SIGTERM", out, resume)
    tried.append("merge/SIGTERM")
    assert not (out / "synthetic.parquet").exists()

    rc, err = _finish(_start(resume[1:]))
    assert rc == 0 and "Traceback" not in err, err[-2000:]
    df = pd.read_parquet(out / "synthetic.parquet")
    assert len(df) == N and not df.duplicated().any()
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["counts"]["written"] == N and m["counts"]["add_up"]

    # the same rows as an uninterrupted run
    clean = tmp_path / "clean"
    rc, err = _finish(_start([*ARGS, "--out", str(clean)]))
    assert rc == 0, err[-2000:]
    pd.testing.assert_frame_equal(df, pd.read_parquet(clean / "synthetic.parquet"))
    with capsys.disabled():
        print(f"\nfault-injection: {len(tried)} interrupt points tried: {', '.join(tried)}")
