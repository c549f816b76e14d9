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
