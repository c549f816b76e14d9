"""Progress bars and log routing: plain throttled lines off a terminal, silence when quiet,
library warnings in the log file only."""

from __future__ import annotations

import logging
import time
import warnings

import pytest

from samplegen import progress
from samplegen.logs import log_file, setup_cli_logging


@pytest.fixture(autouse=True)
def _fast_lines(monkeypatch):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.05)
    progress.set_quiet(None)
    monkeypatch.delenv("SAMPLEGEN_QUIET", raising=False)
    yield
    progress.set_quiet(None)


def test_off_a_terminal_each_refresh_is_one_plain_line(capsys) -> None:
    with progress.bar(total=10, desc="rows", unit=" rows", delay=0) as b:
        for _ in range(5):
            time.sleep(0.06)
            b.set_postfix({"drawn": 7, "rejected": 2}, refresh=False)
            b.update(2)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "\r" not in err and len(lines) >= 3
    assert lines[-1].startswith("rows: ") and "drawn=7, rejected=2" in lines[-1]
    assert "/10" in lines[-1] and "rows/s" in lines[-1]


def test_quiet_prints_nothing(capsys, monkeypatch) -> None:
    monkeypatch.setenv("SAMPLEGEN_QUIET", "1")
    with progress.bar(total=3, desc="rows", delay=0) as b:
        b.update(3)
    with progress.quieted(False):  # does not switch an environment's quiet off
        with progress.waiting("fit"):
            time.sleep(0.12)
    assert capsys.readouterr().err == ""


def test_waiting_ticks_while_the_body_reports_nothing(capsys, monkeypatch) -> None:
    monkeypatch.setattr(progress, "_tty", lambda: False)
    done = {"n": 0}
    with progress.waiting("fit", total=4, unit=" epochs", poll=lambda: done["n"]) as b:
        b.delay = 0
        for k in range(1, 5):
            time.sleep(0.1)
            done["n"] = k
        time.sleep(0.1)
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("fit")]
    assert len(lines) >= 3 and any("/4" in ln for ln in lines)


def test_heartbeat_refreshes_the_innermost_bar(capsys) -> None:
    with progress.bar(total=2, desc="outer", delay=0), \
            progress.bar(total=5, desc="inner", delay=0):
        time.sleep(0.06)
        progress.heartbeat(tokens=123)
    assert "tokens=123" in capsys.readouterr().err
    progress.heartbeat()  # no bar open: nothing to do


def test_library_warnings_go_to_the_log_file_only(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SAMPLEGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SAMPLEGEN_LOG_FILE", raising=False)
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        logging.captureWarnings(False)  # an earlier test's hook may be stale under pytest
        setup_cli_logging()
        logging.getLogger("transformers.modeling_utils").warning("pass dtype=float32")
        logging.getLogger("samplegen.pipeline").warning("patience ran out")
        logging.getLogger("SingleTableSynthesizer").info("usage record")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=1)
        for h in root.handlers:
            h.flush()
        err = capsys.readouterr().err
        assert "patience ran out" in err
        assert "dtype" not in err and "empty slice" not in err
        text = log_file().read_text()
        assert "usage record" not in text
        assert log_file().parent == tmp_path / "logs"
        assert all(s in text for s in ("pass dtype=float32", "patience ran out", "empty slice"))
    finally:
        logging.captureWarnings(False)
        for h in list(root.handlers):
            if h not in before[0]:
                root.removeHandler(h)
                h.close()
        root.setLevel(before[1])
