"""Does alignment help downstream? Unaligned vs aligned synthetic sets, ESMM, several seeds.

    .venv/bin/python bench/bench_align_downstream.py [--n-impressions 400000]
        [--generators sdv-gaussian-copula] [--methods none,shap,cllm] [--seeds 5]
        [--per-category 200] [--pool-factor 3] [--epochs 3] [--json out.json]
        [--targets "cruise,visa"] [--gen-param threads=1 ...]

``--generators`` takes registry names and ``be_great`` (GReaT from the bench
extra, see ``great_pool.py``), so the same run gives the utility table of every
generator (``--methods none``) and the aligned-vs-unaligned comparison.

LLM generators are slow on a CPU: give them few targets and a small
``--per-category`` (e.g. ``--generators llm-fewshot,llm-finetune --targets
cruise,visa --per-category 50 --pool-factor 2 --gen-param threads=1``).

For each generator, ONE pool of ``pool-factor x per-category`` positives
(click=1, conversion=1) per target (sparse and cold-start) category is sampled
from the generator fitted on the training split. Every method then selects the
same number of rows (``per-category`` per target) from that pool: ``none`` draws
uniformly, ``shap`` and ``cllm`` align. So the arms differ only in the
selection. ESMM is trained on real training rows plus each set (5 seeds by
default) and evaluated on the real test rows. Prints the per-arm means and the
paired difference of each aligned arm against the unaligned arm of the same
generator.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

METRICS = ("cvr_auc@click-space", "cvr_auc@entire-space", "ctcvr_auc", "ctr_auc")


def _metric_frame(runs: list[dict]) -> pd.DataFrame:
    rows = []
    for r in runs:
        for name, rec in r["metrics"].items():
            if isinstance(rec, dict) and "value" in rec:
                rows.append({"arm": r["arm"], "seed": r["seed"], "metric": name,
                             "value": rec["value"]})
    return pd.DataFrame(rows)


def _add_target_means(long: pd.DataFrame) -> pd.DataFrame:
    """Per run, the mean over target categories of the per-category CVR AUCs."""
    extra = []
    for proto in ("click-space", "entire-space"):
        part = long[long["metric"].str.startswith(f"cvr_auc@{proto}[")]
        g = part.groupby(["arm", "seed"])["value"].mean().reset_index()
        g["metric"] = f"mean target cvr_auc@{proto}"
        extra.append(g)
    return pd.concat([long, *extra], ignore_index=True)


def _target_metric_names(long: pd.DataFrame) -> list[str]:
    names = sorted(set(long["metric"]))
    return ["mean target cvr_auc@click-space", "mean target cvr_auc@entire-space"] + [
        m for m in names if m.startswith("cvr_auc@entire-space[")]


def _experiment(src, split, sets: dict[str, pd.DataFrame], targets: list[str], args,
                progress_path: str | None) -> list[dict]:
    """ESMM on real training rows (+ each set), seeds 0..S-1; runs saved as they finish."""
    from downstream.experiment import load_synthetic
    from downstream.fit import ModelOptions, fit_esmm
    from downstream.trainer import TrainConfig

    schema = src.schema
    tr, va, te = (schema.coerce(x).reset_index(drop=True) for x in split.frames(src))
    oracle = src.oracle.iloc[np.asarray(split.test)].reset_index(drop=True) \
        if src.oracle is not None else None
    arms = {"real-only": tr}
    for name, df in sets.items():
        syn = load_synthetic(df, schema, name)
        arms[f"+{name}"] = pd.concat([tr, syn], ignore_index=True, sort=False)
    runs = []
    for seed in range(args.seeds):
        for arm, rows in arms.items():
            t = time.perf_counter()
            fitted = fit_esmm(rows, schema, valid=va, options=ModelOptions(neg_rate=args.neg_rate),
                              train_config=TrainConfig(epochs=args.epochs, seed=seed))
            metrics = fitted.evaluate(te, targets=targets, oracle=oracle)
            runs.append({"arm": arm, "seed": seed, "metrics": metrics,
                         "seconds": round(time.perf_counter() - t, 1)})
            print(f"  seed {seed} {arm}: ctcvr {metrics['ctcvr_auc']['value']:.4f} "
                  f"[{runs[-1]['seconds']}s]", flush=True)
            if progress_path:
                with open(progress_path + ".partial", "w") as f:
                    json.dump(runs, f, default=str)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-impressions", type=int, default=400_000)
    ap.add_argument("--click-rate", type=float, default=0.05)
    ap.add_argument("--cvr", type=float, default=0.05)
    ap.add_argument("--generators", default="sdv-gaussian-copula")
    ap.add_argument("--methods", default="none,shap,cllm")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--per-category", type=int, default=200)
    ap.add_argument("--pool-factor", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--neg-rate", type=float, default=0.1,
                    help="share of non-clicked training rows ESMM keeps (corrected at eval)")
    ap.add_argument("--json", default=None, help="write all runs and tables here")
    ap.add_argument("--targets", default=None,
                    help="comma-separated target categories (default: sparse + cold-start)")
    ap.add_argument("--gen-param", action="append", default=[],
                    help="KEY=VALUE for every generator that has the parameter, GEN:KEY=VALUE "
                         "for one (repeatable)")
    args = ap.parse_args()

    from scipy import stats

    from samplegen.align import get_aligner
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.generators import get_generator
    from samplegen.split import make_split, sparse_categories

    t0 = time.perf_counter()
    src = load_travel_sim(args.n_impressions, click_rate=args.click_rate, cvr=args.cvr)
    split = make_split(src)
    train = src.table.iloc[split.train].reset_index(drop=True)
    schema = src.schema
    targets = (args.targets.split(",") if args.targets
               else sparse_categories(train, schema).targets)
    n_pos = int(train[schema.conversion].sum())
    print(f"travel-sim {len(src.table)} rows, train {len(train)} ({n_pos} conversions), "
          f"targets {targets} [{time.perf_counter() - t0:.0f}s]")
    methods = args.methods.split(",")
    aligners = {}
    for m in methods:
        t = time.perf_counter()
        aligners[m] = get_aligner(m).fit(train, schema, seed=0)
        print(f"fit aligner {m}: {time.perf_counter() - t:.1f}s")
    sets: dict[str, pd.DataFrame] = {}
    align_info: dict[str, dict] = {}
    for g in args.generators.split(","):
        t = time.perf_counter()
        extra = {}  # KEY=VALUE for every generator, GEN:KEY=VALUE for one
        for kv in args.gen_param:
            key, value = kv.split("=", 1)
            who, _, key = key.rpartition(":")
            if who in ("", g):
                extra[key] = value
        if g == "be_great":  # the peer package, validated the samplegen way (bench extra)
            from great_pool import GreatPool

            gen = GreatPool(**{k: int(v) for k, v in extra.items()
                               if k in ("threads", "epochs", "train_rows", "rounds", "max_draws")})
        else:
            gen = get_generator(g)
            known = {k: type(gen.params[k])(v) if gen.params.get(k) is not None else v
                     for k, v in extra.items() if k in gen.params}
            if known:
                gen = get_generator(g, **known)
        gen.fit(train, schema, seed=0)
        pools = []
        for i, c in enumerate(targets):
            cond = {schema.category: c, schema.click: 1, schema.conversion: 1}
            pools.append(gen.sample(args.pool_factor * args.per_category, cond, seed=100 + i))
        pool = pd.concat(pools, ignore_index=True)
        print(f"{g}: pool {len(pool)} rows [{time.perf_counter() - t:.0f}s]"
              + (f"; GReaT drew {gen.drawn}, rejected {dict(gen.rejected)}"
                 if g == "be_great" else ""), flush=True)
        n = min(len(pool), args.per_category * len(targets))
        if n == 0:  # nothing valid to add: the set would equal real-only
            print(f"{g}: no valid row, no arm to train", flush=True)
            align_info[g] = {"pool_size": 0, "drawn": getattr(gen, "drawn", None)}
            continue
        for m in methods:
            t = time.perf_counter()
            sel, rep = aligners[m].select(pool, n, seed=0)
            name = f"{g}/{m}"
            sets[name] = sel.reset_index(drop=True)
            align_info[name] = {k: rep.to_dict()[k] for k in
                                ("pool_size", "selected", "passed_filter", "refilled",
                                 "dropped", "ess", "ess_fraction", "validation_auc")}
            align_info[name]["select_s"] = round(time.perf_counter() - t, 2)
            print(f"  {name}: {json.dumps(align_info[name])}")
    t = time.perf_counter()
    runs = _experiment(src, split, sets, targets, args, progress_path=args.json)
    print(f"experiment: {time.perf_counter() - t:.0f}s")
    long = _add_target_means(_metric_frame(runs))
    metrics = [m for m in METRICS if m in set(long["metric"])] + _target_metric_names(long)
    wide = long.pivot_table(index=["metric", "seed"], columns="arm", values="value")
    lines = ["| metric | arm | mean | std | delta vs real-only | delta vs unaligned (paired) | p |",
             "|---|---|---|---|---|---|---|"]
    for met in metrics:
        if met not in set(wide.index.get_level_values(0)):
            continue
        w = wide.loc[met]
        for arm in w.columns:
            v = w[arm].to_numpy(float)
            d_real = (w[arm] - w["real-only"]).mean()
            gen = arm[1:].split("/")[0] if arm.startswith("+") else None
            ref = f"+{gen}/none"
            if gen and ref in w.columns and arm != ref:
                diff = (w[arm] - w[ref]).to_numpy(float)
                ok = ~np.isnan(diff)
                p = stats.ttest_rel(w[arm][ok], w[ref][ok]).pvalue if ok.sum() > 1 else np.nan
                d_un, p_txt = f"{np.nanmean(diff):+.4f} +- {np.nanstd(diff):.4f}", f"{p:.3f}"
            else:
                d_un, p_txt = "", ""
            lines.append(f"| {met} | {arm} | {np.nanmean(v):.4f} | {np.nanstd(v):.4f} | "
                         f"{d_real:+.4f} | {d_un} | {p_txt} |")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "align": align_info, "table": lines,
                       "runs": runs}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
