"""The README's quick start runs as printed: every command of its code blocks, at small sizes.

The commands are read from README.md (so the test follows the text); only sizes shrink:
``--n-impressions``, ``--n``, ``--seeds`` and ``--epochs`` get small values.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
SMALL = {"--n-impressions": "60000", "--seeds": "2", "--epochs": "1"}


def quick_start_commands(readme: str) -> list[list[str]]:
    """argv of every line in the ```bash blocks of the "Quick start: the CLI" section."""
    section = readme.split("## Quick start: the CLI", 1)[1].split("\n## ", 1)[0]
    out = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv:
                out.append(argv)
    return out


def smaller(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, a in enumerate(out[:-1]):
        if a in SMALL:
            out[i + 1] = SMALL[a]
        elif a == "--n":
            out[i + 1] = str(max(2, int(out[i + 1]) // 20))
    if out[1] == "validate" and "--epochs" not in out:
        out += ["--epochs", "1"]
    return out


def _my_csv(path: Path) -> None:
    from samplegen.sources import load_source

    table = load_source("travel-sim", n_impressions=60000).table
    table.rename(columns={"click": "clicked", "conversion": "bought"}).to_csv(path, index=False)


@pytest.mark.slow
def test_every_quick_start_command_runs(tmp_path, monkeypatch, capsys) -> None:
    from samplegen.cli import main

    cmds = quick_start_commands((REPO / "README.md").read_text())
    assert cmds[0] == [".", ".venv/bin/activate"]  # the Makefile's VENV
    assert "VENV ?= .venv" in (REPO / "Makefile").read_text()
    runs = cmds[1:]
    assert all(c[0] == "samplegen" for c in runs) and len(runs) >= 9
    cache = os.environ.get("SAMPLEGEN_CACHE_DIR") or str(Path.home() / ".cache" / "samplegen")
    monkeypatch.setenv("SAMPLEGEN_CACHE_DIR", cache)  # the dequantised model, made once
    home = tmp_path / "home"  # what the commands write under $HOME (SDV's usage-log config)
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _my_csv(work / "my.csv")
    for argv in runs:
        t0 = time.perf_counter()
        rc = main(smaller(argv)[1:])
        out = capsys.readouterr()
        print(f"{time.perf_counter() - t0:6.1f} s  {shlex.join(smaller(argv))}",
              file=sys.__stderr__)
        assert rc == 0, f"{shlex.join(argv)} exited {rc}:\n{out.err[-2000:]}"
    for name in ("gc", "fs", "mine"):
        assert len(pd.read_parquet(work / "runs" / name / "synthetic.parquet")) > 0
    assert (work / "runs" / "val" / "metrics.json").is_file()
    assert (work / "runs" / "report" / "report.html").is_file()
    assert sorted(p.name for p in work.iterdir()) == ["my.csv", "runs"]
    assert [str(p.relative_to(home)) for p in home.rglob("*")] == []


def test_quick_start_is_parsed_from_the_readme() -> None:
    cmds = quick_start_commands((REPO / "README.md").read_text())
    subcommands = {tuple(c[1:3]) if c[1] == "data" else (c[1],) for c in cmds[1:]}
    assert {("data", "list"), ("data", "describe"), ("generate",), ("validate",),
            ("report",)} <= subcommands
    assert smaller(["samplegen", "generate", "x", "--n", "900", "--epochs", "5"]) == \
        ["samplegen", "generate", "x", "--n", "45", "--epochs", "1"]
