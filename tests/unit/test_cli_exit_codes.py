"""Exit codes of the CLI: 0 ok, 2 usage or bad input (one line, no traceback)."""

from __future__ import annotations

import pytest

from samplegen.cli import main


@pytest.mark.parametrize("argv", [["--help"], ["data", "--help"], ["generate", "--help"],
                                  ["validate", "--help"], ["report", "--help"],
                                  ["demo", "--help"], ["align", "--help"]])
def test_help_exits_zero(argv, capsys) -> None:
    assert main(argv) == 0
    assert "Usage" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["validate", "travel-sim", "--bogus"], ["no-such-command"],
                                  ["generate"]])
def test_usage_errors_exit_two_without_traceback(argv, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip()


# ------------------------------------------------------------- one place, every outcome
GEN = ["generate", "travel-sim", "--n-impressions", "20000", "-g", "smote", "--n", "4",
       "--target", "item_category=hotel"]


def _fake_generate(monkeypatch, action) -> None:
    """Replace the pipeline behind `samplegen generate` by ``action(out)``."""
    import samplegen.pipeline

    def fake(src, generator, *, out, **kw):
        return action(out)

    monkeypatch.setattr(samplegen.pipeline, "generate", fake)


def test_short_run_exits_3(tmp_path, monkeypatch, capsys) -> None:
    from samplegen.pipeline import RunResult

    manifest = {"status": "short", "generator": {"name": "smote"}, "per_target": [],
                "counts": {"requested": 4, "written": 0, "drawn": 0, "rejected": {},
                           "repaired": {}, "surplus": 0}, "timings": {}}
    _fake_generate(monkeypatch, lambda out: RunResult(out, manifest))
    assert main([*GEN, "--out", str(tmp_path / "r")]) == 3
    err = capsys.readouterr().err
    assert "short run: wrote 0 of 4 rows" in err and "--resume" in err and "Traceback" not in err


@pytest.mark.parametrize("sig, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_signals_exit_128_plus_signum_with_the_resume_command(tmp_path, monkeypatch, capsys,
                                                             sig, code) -> None:
    import os
    import signal
    import time

    def stop(out):
        os.kill(os.getpid(), getattr(signal, sig))
        time.sleep(5)  # the handler raises before this ends

    _fake_generate(monkeypatch, stop)
    out = str(tmp_path / "r")
    assert main([*GEN, "--out", out]) == code
    err = capsys.readouterr().err
    assert f"interrupted by {sig}" in err and "Traceback" not in err
    assert err.strip().endswith("samplegen " + " ".join([*GEN, "--out", out, "--resume"]))
    assert signal.getsignal(signal.SIGTERM) is not None  # handlers restored after main()


def test_default_out_is_in_the_resume_command(tmp_path, monkeypatch, capsys) -> None:
    import signal

    def stop(out):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    _fake_generate(monkeypatch, stop)
    assert main(GEN) == 130
    err = capsys.readouterr().err
    assert err.strip().endswith("--out runs/travel-sim-smote-s0 --resume")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_internal_error_exits_1_with_a_log_file(tmp_path, monkeypatch, capsys) -> None:
    def boom(out):
        raise RuntimeError("an unexpected bug")

    monkeypatch.setenv("SAMPLEGEN_CACHE_DIR", str(tmp_path / "cache"))
    _fake_generate(monkeypatch, boom)
    assert main([*GEN, "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: an unexpected bug" in err and "Traceback" not in err
    log = next((tmp_path / "cache" / "logs").glob("samplegen-*.log"))
    assert str(log) in err.replace("\n", "")
    assert "Traceback" in log.read_text() and "an unexpected bug" in log.read_text()


def test_user_os_error_exits_2_not_1(tmp_path, monkeypatch, capsys) -> None:
    def full(out):
        raise OSError(28, "No space left on device", str(out))

    _fake_generate(monkeypatch, full)
    assert main([*GEN, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Fix:" in err and "Traceback" not in err


def test_empty_and_unfinished_sets_exit_3(tmp_path, capsys) -> None:
    import json

    import pandas as pd

    empty = tmp_path / "empty.parquet"
    pd.DataFrame({"a": []}).to_parquet(empty)
    assert main(["validate", "travel-sim", "--synthetic", str(empty)]) == 3
    assert "has 0 rows" in capsys.readouterr().err
    run = tmp_path / "run"
    (run / "chunks").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"status": "failed",
                                                   "failure": {"reason": "BackendError: x"}}))
    for cmd in ("validate", "report"):
        assert main([cmd, "travel-sim", "--synthetic", str(run)]) == 3
        err = capsys.readouterr().err
        assert "is unfinished (status 'failed'; BackendError: x)" in err and "--resume" in err
