"""Generator throughput and memory on travel-sim: GaussianCopula, CTGAN, TVAE; streaming RSS;
kill -9 + resume of a large run.

    .venv/bin/python bench/bench_generators.py [--quick] [--n-impressions N] [--rows 100000]
        [--big 1000000] [--kill-rows 200000] [--epochs 5] [--threads 1] [--only gc,neural,...]

Defaults: travel-sim at its default size (``DEFAULT_N_IMPRESSIONS``, 3M impressions; 200k
with ``--quick``), one thread (torch and the BLAS/OpenMP pools of every child process).

Sections (each measured in a fresh process, so peak RSS is its own):

* gc       GaussianCopula: fit on the training split (it models the clicked rows), raw SDV
           sampling rows/s, and the full pipeline (validation, entities, dedupe, chunked
           writing) for ``--rows`` positives of the sparse categories.
* neural   CTGAN and TVAE: seconds per epoch (fit time / epochs) and sampling rows/s, raw and
           validated.
* memory   peak RSS of ``generate`` for ``--rows`` vs ``--big`` rows with GaussianCopula
           (chunks stream to disk; target ratio <= 1.5x).
* kill     ``--kill-rows`` rows with GaussianCopula, SIGKILL after a third of the chunks, then
           ``resume=True``: exact count, unique rows.

Writes only under a temporary folder; prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(threads: int) -> dict[str, str]:
    """Child environment: the package on the path, offline, ``threads`` for every thread pool."""
    # LOKY_MAX_CPU_COUNT: CTGAN's data transformer runs joblib Parallel(n_jobs=-1) on >= 500 rows
    pools = {k: str(threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                        "OPENBLAS_NUM_THREADS", "LOKY_MAX_CPU_COUNT")}
    return {**os.environ, **pools, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def _child(code: str, *args: object, timeout: float = 7200) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                         text=True, env=_env(int(args[0])), cwd=ROOT, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


PRELUDE = """
import json, resource, sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
from samplegen.datasets.travel_sim import load_travel_sim
from samplegen.split import make_split, sparse_categories
src = load_travel_sim(n_impressions=int(sys.argv[2]), seed=0)
split = make_split(src)
train = src.table.iloc[split.train].reset_index(drop=True)
S = src.schema
targets = [t for t in sparse_categories(train, S).targets if t in set(train[S.category])]
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

GC = PRELUDE + """
import sdv.single_table  # imported before any timing
from samplegen.generators import get_generator
from samplegen.pipeline import generate
rows, out = int(sys.argv[3]), sys.argv[4]
t = time.perf_counter(); g = get_generator("sdv-gaussian-copula").fit(train, S, seed=0)
fit = time.perf_counter() - t
t = time.perf_counter(); raw = g._synth.sample(num_rows=rows); raw_s = time.perf_counter() - t
t = time.perf_counter()
r = generate(src, "sdv-gaussian-copula", out=out, n=rows, chunk_rows=10000,
             generator_params={"batch_size": 5000}, split=split)
gen_s = time.perf_counter() - t
c = r.manifest["counts"]
print(json.dumps({"fit_s": fit, "fit_rows": g.fit_rows, "clicked": int((train[S.click]==1).sum()),
                  "raw_rows_s": rows / raw_s, "pipeline_s": gen_s, "pipeline_rows_s": rows / gen_s,
                  "written": c["written"], "rejected": c["rejected_total"],
                  "repaired": c["repaired"], "targets": len(targets),
                  "pipeline_fit_s": r.manifest["timings"].get("fit_s"),
                  "pipeline_generate_s": r.manifest["timings"].get("generate_s")}))
"""

NEURAL = PRELUDE + """
import sdv.single_table  # imported before any timing
from samplegen.generators import get_generator
name, epochs, rows = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
get_generator(name, epochs=1).fit(train, S, seed=0)  # warm-up (first-call costs), untimed
t = time.perf_counter(); get_generator(name, epochs=1).fit(train, S, seed=0)
fit1 = time.perf_counter() - t
t = time.perf_counter(); g = get_generator(name, epochs=epochs).fit(train, S, seed=0)
fit = time.perf_counter() - t
t = time.perf_counter(); g._synth.sample(num_rows=rows); raw = time.perf_counter() - t
cond = {S.category: targets[-1], S.click: 1, S.conversion: 1}
k = max(rows // 10, 100)
g.sample(10, cond, seed=0)  # probes SDV's conditional modes once (cached)
t = time.perf_counter(); out = g.sample(k, cond, seed=1); val = time.perf_counter() - t
per_epoch = (fit - fit1) / (epochs - 1) if epochs > 1 else fit
print(json.dumps({"epochs": epochs, "fit_s": fit, "s_per_epoch": per_epoch,
                  "fit_rows": int((train[S.click] == 1).sum()), "raw_rows_s": rows / raw,
                  "valid_rows_s": len(out) / val, "valid_rows": len(out),
                  "target": targets[-1]}))
"""

MEM = PRELUDE + """
from samplegen.pipeline import generate
rows, out = int(sys.argv[3]), sys.argv[4]
base = rss_mb()
t = time.perf_counter()
r = generate(src, "sdv-gaussian-copula", out=out, n=rows, chunk_rows=10000,
             generator_params={"batch_size": 5000}, split=split)
print(json.dumps({"rows": rows, "written": r.manifest["counts"]["written"],
                  "peak_rss_mb": rss_mb(), "rss_before_generate_mb": base,
                  "seconds": time.perf_counter() - t}))
"""

KILL_WORKER = PRELUDE + """
from samplegen.pipeline import generate
generate(src, "sdv-gaussian-copula", out=sys.argv[4], n=int(sys.argv[3]), chunk_rows=5000,
         generator_params={"batch_size": 5000}, split=split, resume=True)
print(json.dumps({}))
"""

KILL_CHECK = PRELUDE + """
from samplegen.pipeline import generate
t = time.perf_counter()
r = generate(src, "sdv-gaussian-copula", out=sys.argv[4], n=int(sys.argv[3]), chunk_rows=5000,
             generator_params={"batch_size": 5000}, split=split, resume=True)
df = r.to_pandas()
print(json.dumps({"written": len(df), "unique": int((~df.duplicated()).sum()),
                  "status": r.manifest["status"], "add_up": r.manifest["counts"]["add_up"],
                  "chunks": r.manifest["chunks"], "resume_s": time.perf_counter() - t}))
"""


def kill_and_resume(threads: int, n_imp: int, rows: int, tmp: Path) -> dict:
    out = tmp / "kill"
    log = tmp / "kill-worker.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", KILL_WORKER, str(threads), str(n_imp),
                                 str(rows), str(out)], env=_env(threads), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)
    want = max(1, (rows // 5000) // 3)
    t0 = time.perf_counter()
    while len(list((out / "chunks").glob("part-*.parquet"))) < want:
        if proc.poll() is not None:
            raise RuntimeError(f"the run ended (exit {proc.returncode}) before it could be "
                               f"killed: {log.read_text()[-3000:]}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_s = time.perf_counter() - t0
    killed_at = len(list((out / "chunks").glob("part-*.parquet")))
    res = _child(KILL_CHECK, threads, n_imp, rows, out)
    res.update({"killed_after_chunks": killed_at, "first_session_s": killed_s})
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n-impressions", type=int, default=None,
                    help="travel-sim size (default: its DEFAULT_N_IMPRESSIONS; 200k with --quick)")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--big", type=int, default=None)
    ap.add_argument("--kill-rows", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="gc,neural,memory,kill")
    a = ap.parse_args()
    q = a.quick
    from samplegen.datasets.travel_sim import DEFAULT_N_IMPRESSIONS

    n_imp = a.n_impressions or (200_000 if q else DEFAULT_N_IMPRESSIONS)
    rows = a.rows or (10_000 if q else 100_000)
    big = a.big or (100_000 if q else 1_000_000)
    kill_rows = a.kill_rows or (20_000 if q else 200_000)
    epochs = a.epochs or (2 if q else 5)
    only = set(a.only.split(","))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()
    lines = [f"# bench_generators — {started} — {platform.machine()}, {os.cpu_count()} cores — "
             f"`{' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}`",
             f"# travel-sim n_impressions={n_imp:,}, threads={a.threads}, rows={rows:,}, "
             f"big={big:,}, kill_rows={kill_rows:,}, epochs={epochs}, sections={a.only}",
             f"# load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}", "",
             "| measure | value |", "|---|---|"]

    def row(k: str, v: str) -> None:
        lines.append(f"| {k} | {v} |")
        print(lines[-1], file=sys.stderr, flush=True)

    def section(name: str, fn: Callable[[], None]) -> None:
        """Run one section; a failure is a row of the table, not the end of the others."""
        if name not in only:
            return
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - reported in the table
            row(f"{name}: FAILED", " ".join(str(e).split())[-400:].replace("|", "/"))
        row(f"{name}: section wall time", f"{time.perf_counter() - t0:.0f} s")

    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        t = Path(tmp)

        def gc() -> None:
            r = _child(GC, a.threads, n_imp, rows, t / "gc")
            row("GaussianCopula fit (clicked training rows)",
                f"{r['fit_s']:.1f} s on {r['clicked']:,} rows")
            row("GaussianCopula raw SDV sampling", f"{r['raw_rows_s']:,.0f} rows/s")
            gen_s = r["pipeline_generate_s"]
            row(f"GaussianCopula fit + sample {rows:,} validated rows over {r['targets']} targets "
                "(the generate pipeline)",
                f"{r['pipeline_s']:.1f} s ({r['pipeline_rows_s']:,.0f} rows/s overall; fit "
                f"{r['pipeline_fit_s']:.1f} s, sampling {gen_s:.1f} s = "
                f"{rows / gen_s:,.0f} rows/s; {r['rejected']} rejected; repaired "
                f"{r['repaired']})")

        def memory() -> None:
            small = _child(MEM, a.threads, n_imp, rows, t / "m1")
            large = _child(MEM, a.threads, n_imp, big, t / "m2")
            ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
            for r in (small, large):
                row(f"peak RSS, GaussianCopula {r['rows']:,} rows",
                    f"{r['peak_rss_mb']:.0f} MB ({r['seconds']:.0f} s; peak before generate "
                    f"{r['rss_before_generate_mb']:.0f} MB; written {r['written']:,})")
            row("peak RSS ratio (target <= 1.5x)", f"{ratio:.2f}x")

        def kill() -> None:
            r = kill_and_resume(a.threads, n_imp, kill_rows, t)
            ok = (r["written"] == r["unique"] == kill_rows and r["status"] == "complete"
                  and r["add_up"])
            row(f"kill -9 after {r['killed_after_chunks']} chunks, then resume ({kill_rows:,} "
                "rows)", f"{'OK' if ok else 'FAILED'}: {r['written']:,} rows, {r['unique']:,} "
                f"unique, status {r['status']}, counts add up: {r['add_up']}, chunks "
                f"{r['chunks']['written']} of {r['chunks']['planned']} planned; killed after "
                f"{r['first_session_s']:.0f} s, resume {r['resume_s']:.0f} s")

        def neural() -> None:
            for name in ("sdv-ctgan", "sdv-tvae"):
                r = _child(NEURAL, a.threads, n_imp, name, epochs, max(rows // 10, 1000))
                row(f"{name} training", f"{r['s_per_epoch']:.2f} s/epoch ((fit {r['epochs']} "
                    f"epochs - fit 1 epoch) / {r['epochs'] - 1}; {r['fit_rows']:,} clicked "
                    f"rows); fit with {r['epochs']} epochs {r['fit_s']:.1f} s")
                row(f"{name} sampling", f"raw {r['raw_rows_s']:,.0f} rows/s; validated "
                    f"positives of {r['target']!r}: {r['valid_rows_s']:,.0f} rows/s "
                    f"({r['valid_rows']:,} rows)")

        for name, fn in (("gc", gc), ("neural", neural), ("memory", memory), ("kill", kill)):
            section(name, fn)
    load1 = os.getloadavg()
    lines.insert(3, f"# load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
