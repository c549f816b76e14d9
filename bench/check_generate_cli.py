"""Issue #3 "Done when" check through the CLI: every registered non-LLM generator writes
exactly ``--n`` valid positives of the target categories, with a manifest whose counts add up.

    .venv/bin/python bench/check_generate_cli.py [--n 2000] [--epochs 5] [--out-root DIR]
        [--generators a,b,...] [--source travel-sim] [--threads 1] [--n-impressions N]

For each generator it runs (timed, one at a time)

    samplegen generate SOURCE --generator NAME --n N --out OUT_ROOT/NAME [--epochs K]

(``--epochs`` only for the generators that train epochs) and reads the run directory back:
the row count of ``synthetic.parquet``, click = conversion = 1 on every row (columns found
through the run's ``schema.json`` roles), every category among the manifest's targets and
each target's rows as planned, and ``counts.add_up`` with written = requested. A folder
``OUT_ROOT/NAME`` left by an earlier run of this script (it holds a manifest.json) is removed
first. Prints a table; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLEGEN = Path(sys.executable).with_name("samplegen")


def _generators() -> list[str]:
    from samplegen.generators import list_generators

    return [g for g in list_generators() if not g.startswith("llm-")]


def _trains_epochs(name: str) -> bool:
    from samplegen.generators import generator_class

    return "epochs" in generator_class(name).default_params


def _check(out: Path, n: int) -> dict[str, object]:
    from samplegen.schema import Schema

    manifest = json.loads((out / "manifest.json").read_text())
    schema = Schema.load(out / "schema.json")
    df = pd.read_parquet(out / "synthetic.parquet")
    labels = [c for c in (schema.click, schema.conversion) if c is not None]
    positive = bool(all((df[c].astype(int) == 1).all() for c in labels))
    cat = schema.category
    wanted = {str(t["conditions"][cat]) for t in manifest["targets"] if cat in t["conditions"]}
    got = set(df[cat].astype(str)) if cat else set()
    per_target_ok = all(t["written"] == t["requested"] for t in manifest["per_target"])
    if cat:
        have = df[cat].astype(str).value_counts()
        per_target_ok &= all(int(have.get(str(t["conditions"][cat]), 0)) == t["written"]
                             for t in manifest["per_target"] if cat in t["conditions"])
    c = manifest["counts"]
    add_up = bool(c["add_up"] and c["written"] == c["requested"] == n == len(df)
                  and manifest["status"] == "complete"
                  and sum(t["written"] for t in manifest["per_target"]) == n)
    return {"rows": len(df), "positive": positive, "in_targets": bool(got <= wanted) and
            per_target_ok, "add_up": add_up, "targets": len(wanted),
            "rejected": c["rejected_total"], "fit_s": manifest["timings"].get("fit_s")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="travel-sim")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=5, help="for CTGAN, TVAE, CopulaGAN")
    ap.add_argument("--out-root", type=Path, default=Path("/tmp/sg/benchgen"))
    ap.add_argument("--generators", default=None, help="comma list (default: all but llm-*)")
    ap.add_argument("--threads", type=int, default=1, help="OMP/MKL/OpenBLAS/loky threads")
    ap.add_argument("--n-impressions", type=int, default=None,
                    help="travel-sim size (default: its own default)")
    a = ap.parse_args()
    names = a.generators.split(",") if a.generators else _generators()
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           **{k: str(a.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                          "OPENBLAS_NUM_THREADS", "LOKY_MAX_CPU_COUNT")}}
    load = os.getloadavg()
    print(f"# check_generate_cli — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — "
          f"threads {a.threads} — load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    rows = ["| generator | rows | all positive | in targets | counts add up | seconds | command |",
            "|---|---|---|---|---|---|---|"]
    failed = False
    for name in names:
        out = a.out_root / name
        if out.exists():
            if not (out / "manifest.json").is_file():
                sys.exit(f"{out} exists and is not a run directory; remove it or pick --out-root")
            shutil.rmtree(out)
        cmd = [str(SAMPLEGEN), "generate", a.source, "--generator", name, "--n", str(a.n),
               "--out", str(out)] + (["--epochs", str(a.epochs)] if _trains_epochs(name) else [])
        if a.n_impressions:
            cmd += ["--n-impressions", str(a.n_impressions)]
        shown = " ".join(["samplegen", *cmd[1:]])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            failed = True
            why = " ".join(proc.stderr.split())[-300:].replace("|", "/")
            rows.append(f"| {name} | exit {proc.returncode}: {why} | - | - | - | {took:.0f} | "
                        f"`{shown}` |")
        else:
            try:
                r = _check(out, a.n)
            except Exception as e:  # noqa: BLE001 - reported in the table
                failed = True
                rows.append(f"| {name} | check failed: {e} | - | - | - | {took:.0f} | "
                            f"`{shown}` |")
            else:
                ok = r["rows"] == a.n and r["positive"] and r["in_targets"] and r["add_up"]
                failed |= not ok
                rows.append(f"| {name} | {r['rows']:,} | {r['positive']} | {r['in_targets']} "
                            f"({r['targets']} targets) | {r['add_up']} | {took:.0f} | "
                            f"`{shown}` |")
        print(rows[-1], file=sys.stderr, flush=True)
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
