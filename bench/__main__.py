"""Run the benchmarks and save their tables: ``python -m bench [NAME ...] [--quick]``.

Each ``bench/bench_NAME.py`` is run as its own process (so peak-memory figures
are its own); its stdout is printed and saved to ``bench/results/NAME.txt``
together with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _machine() -> str:
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:  # pragma: no cover
        mem = "?"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem}, " \
           f"Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for the saved tables")
    args = ap.parse_args(argv)
    available = sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.stderr.write(f"unknown benchmark(s) {unknown}; available: {available}\n")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names:
        cmd = [sys.executable, str(HERE / f"bench_{name}.py")] + (["--quick"] if args.quick else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                              "HF_HUB_OFFLINE": "1"})
        took = time.perf_counter() - t0
        header = (f"# bench {name} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — "
                  f"{_machine()} — {took:.0f} s — `{' '.join(['python -m bench', name] + (['--quick'] if args.quick else []))}`\n")
        text = header + proc.stdout
        sys.stdout.write(text + "\n")
        if proc.returncode != 0:
            failed.append(name)
            sys.stderr.write(proc.stderr[-4000:])
        else:
            (out / f"{name}.txt").write_text(text)
    if failed:
        sys.stderr.write(f"failed: {failed}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
