"""Truth lift of every registered generator on travel-sim's two cold-start targets (no ESMM).

    python bench/bench_truth.py [--quick] [--n-impressions N] [--rows 200] [--llm-rows 10]
        [--epochs 1] [--threads 1] [--only a,b] [--source travel-sim] [--decompose]
    (or: python -m bench truth)

Truth lift (issue 15) = mean true P(conversion | click) of a set's rows in a target / that of
the target's real clicked TEST rows of the default split (a random click = 1.0); structural
truth lift leaves out the user and item random effects (what an attribute model can learn).
Reference rows: real training positives, real test positives, random real clicked test rows.

Each generator is fitted on the training split (shared validator) and asked for ``--rows``
positives per target (``--llm-rows`` for the LLM generators, SmolLM2 bundled, one thread;
neural SDV with ``--epochs``); no alignment step. Rows outside the catalogue are counted.
The ablations of ``llm-judge`` run as ``llm-judge[data model only]`` (LLM score replaced by
a constant), ``llm-judge[llm only]`` (no data model) and ``llm-judge[proposal only]``; the
two without the LLM get ``--rows`` rows, the others ``--llm-rows``. ``--decompose`` adds, per set, the mean of each term of the conversion logit minus that of
the reference clicks (see :func:`terms`): where a set's lift comes from.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = ["theme park", "ski trip"]
LLM_PARAMS = {"model": "smollm2", "threads": 1}
#: generator -> extra parameters (the neural ones get ``epochs`` from the command line)
PARAMS: dict[str, dict] = {
    "llm-fewshot": {**LLM_PARAMS, "rows_per_prompt": 10, "per_cluster": 1},
    "llm-finetune": {**LLM_PARAMS, "max_train_rows": 48, "train_batch_size": 8},
    "llm-judge": {**LLM_PARAMS, "pool_factor": 4},
}
#: ablations of llm-judge (issue 18: the LLM step replaced by a constant, the data model off)
VARIANTS: dict[str, tuple[str, dict]] = {
    "llm-judge[data model only]": ("llm-judge", {"judge": "none"}),
    "llm-judge[llm only]": ("llm-judge", {"w_data": 0.0}),
    "llm-judge[proposal only]": ("llm-judge", {"judge": "none", "w_data": 0.0}),
    # sharper than sampling-importance-resampling: rows beyond real positives, not like them
    "llm-judge[data model only; sharpness 3; pool x20]": ("llm-judge", {
        "judge": "none", "sharpness": 3.0, "pool_factor": 20}),
}
NEURAL = ("sdv-ctgan", "sdv-tvae", "sdv-copulagan")


def terms(world, rows: pd.DataFrame) -> pd.DataFrame:
    """The conversion logit's terms per row (travel_sim_model._predictors, term by term).

    ``user`` membership; ``item`` star and price level; ``price x sens`` the user's latent
    price sensitivity times the item's log price; ``context`` platform, weekend, night;
    ``affinity`` home region x destination region; ``family`` life stage x category;
    ``user re`` / ``item re`` the random effects (left out of the structural truth).
    """
    from samplegen.datasets.travel_sim_model import _AFFINITY, _FAMILY
    from samplegen.datasets.travel_sim_world import (
        CATEGORY_NAMES,
        LIFE_FAM,
        MEMBER_EFF,
        PLATFORM_CONV,
        PLATFORMS,
        WEEKDAYS,
    )

    u = rows["user_id"].astype(str).str[1:].astype(int).to_numpy()
    i = rows["item_id"].astype(str).str[1:].astype(int).to_numpy()
    us, it = world.users, world.items
    cat = np.array([CATEGORY_NAMES.index(c) for c in rows["item_category"].astype(str)])
    zp = np.log(it.price[i] / 600.0)
    hour = rows["hour"].astype(int).to_numpy()
    wd = np.array([WEEKDAYS.index(w) for w in rows["weekday"].astype(str)])
    pf = np.array([PLATFORMS.index(p) for p in rows["platform"].astype(str)])
    return pd.DataFrame({
        "user": MEMBER_EFF[us.member[u]],
        "item": 0.25 * (it.star[i] - 1.5) - 0.6 * zp,
        "price x sens": -0.35 * us.sensitivity[u] * zp,
        "context": PLATFORM_CONV[pf] + 0.1 * (wd >= 5) - 0.2 * (hour <= 5),
        "affinity": _AFFINITY[us.home[u], it.region[i]],
        "family": 0.7 * LIFE_FAM[us.life[u]] * _FAMILY[cat],
        "user re": us.conv_re[u], "item re": it.conv_re[i],
    })


def lift_row(world, name: str, rows: pd.DataFrame, reference: pd.DataFrame,
             extra: dict | None = None) -> dict:
    """One table row: per-target lift and structural lift, their mean, rows outside."""
    lf = world.lift(rows, reference, TARGETS)
    rec: dict = {"set": name, "rows": int(lf["rows"].sum()), "outside": int(lf["outside"].sum())}
    for _, r in lf.iterrows():
        rec[f"{r['target']} lift"] = r["lift"]
        rec[f"{r['target']} struct"] = r["structural_lift"]
    rec["lift"] = float(np.nanmean(lf["lift"]))
    rec["struct"] = float(np.nanmean(lf["structural_lift"]))
    rec.update(extra or {})
    return rec


def decompose(world, sets: dict[str, pd.DataFrame], reference: pd.DataFrame) -> pd.DataFrame:
    """Mean of each logit term of each set minus that of the reference clicks (logit units)."""
    base = terms(world, reference).mean()
    out = {}
    for name, rows in sets.items():
        rows = rows[rows["item_category"].astype(str).isin(TARGETS)]
        known = world.truth(rows)["known"].to_numpy()
        if known.any():
            t = terms(world, rows[known]).mean() - base
            t["total"] = t.sum()
            out[name] = t
    return pd.DataFrame(out).T.round(3)


def judge_check(world, train: pd.DataFrame, schema, reference: pd.DataFrame, n: int,
                judge_on: str) -> pd.DataFrame:
    """How the judge's and the data model's scores of ``n`` real clicked rows of the targets
    rank them: Spearman with the true (structural) pCVR, AUC against the observed label."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    from samplegen.generators import get_generator

    g = get_generator("llm-judge", **{**PARAMS["llm-judge"], "judge_on": judge_on})
    g.fit(train, schema, seed=0)
    rng = np.random.default_rng(1)
    out = []
    for t in TARGETS:
        ref = reference[reference[schema.category].astype(str) == t]
        rows = schema.coerce(ref.iloc[rng.choice(len(ref), min(n, len(ref)), replace=False)]
                             [schema.names]).reset_index(drop=True)
        t0 = time.perf_counter()
        sc = g.scores(rows, {schema.category: t})
        took = time.perf_counter() - t0
        truth = world.truth(rows)
        y = rows[schema.conversion].to_numpy()
        for name in ("llm", "data"):
            rec = {"target": t, "score": name, "rows": len(rows),
                   "spearman true": spearmanr(sc[name], truth["p_conversion"]).correlation,
                   "spearman structural": spearmanr(sc[name],
                                                    truth["p_conversion_structural"]).correlation,
                   "AUC observed": roc_auc_score(y, sc[name]) if 0 < y.sum() < len(y) else np.nan}
            if name == "llm":
                rec["judged/s"] = round(g.judge_stats["scored"] / g.judge_stats["seconds"], 2)
                rec["s"] = round(took, 1)
            out.append(rec)
    return pd.DataFrame(out)


def run_generator(name: str, train: pd.DataFrame, schema, validator, n: int, epochs: int,
                  ) -> tuple[pd.DataFrame, dict]:
    """Fit ``name`` on the training rows and sample ``n`` positives per target."""
    from samplegen.generators import get_generator

    name, extra = VARIANTS.get(name, (name, {}))
    params = {**PARAMS.get(name, {}), **extra}
    if name in NEURAL:
        params["epochs"] = epochs
    t0 = time.perf_counter()
    gen = get_generator(name, **params).fit(train, schema, seed=0, validator=validator)
    fit_s = time.perf_counter() - t0
    parts, sample_s = [], 0.0
    for k, t in enumerate(TARGETS):
        t1 = time.perf_counter()
        parts.append(gen.sample(n, {schema.category: t, schema.click: 1,
                                    schema.conversion: 1}, seed=k))
        sample_s += time.perf_counter() - t1
    rows = pd.concat(parts, ignore_index=True)
    extra = {"fit s": round(fit_s, 1),
             "rows/s": round(len(rows) / sample_s, 2) if sample_s else np.nan}
    js = getattr(gen, "judge_stats", None)
    if js and js["scored"]:
        extra["judged/s"] = round(js["scored"] / js["seconds"], 2)
    return rows, extra


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--source", default="travel-sim")
    ap.add_argument("--n-impressions", type=int, default=None)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--llm-rows", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="")
    ap.add_argument("--decompose", action="store_true")
    ap.add_argument("--judge-check", type=int, default=0,
                    help="score N real clicked rows per target with llm-judge's LLM and data "
                         "model: rank correlation with the truth (no generation)")
    ap.add_argument("--judge-on", default="user")
    ap.add_argument("--save-rows", default=None, help="folder to write each set's rows (csv)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    import torch

    torch.set_num_threads(args.threads)
    from samplegen.datasets.travel_sim_truth import SimWorld
    from samplegen.generators import list_generators
    from samplegen.generators.validation import RowValidator
    from samplegen.sources import load_source
    from samplegen.split import make_split

    n_imp = args.n_impressions or (400_000 if args.quick else None)
    src = load_source(args.source, **({"n_impressions": n_imp} if n_imp else {}))
    world = SimWorld.from_source(src)
    S = src.schema
    split = make_split(src)
    train = src.table.iloc[split.train].reset_index(drop=True)
    test = src.table.iloc[split.test].reset_index(drop=True)
    in_t = test[S.category].astype(str).isin(TARGETS)
    reference = test[in_t & (test[S.click] == 1)].reset_index(drop=True)
    tr_pos = train[train[S.category].astype(str).isin(TARGETS) & (train[S.conversion] == 1)]
    te_pos = reference[reference[S.conversion] == 1]
    rng = np.random.default_rng(0)
    rand = reference.iloc[rng.choice(len(reference), min(args.rows * 2, len(reference)),
                                     replace=False)]
    print(f"source {args.source}, {len(src.table):,} impressions; targets {TARGETS}; reference "
          f"= their {len(reference):,} real clicked test rows; {args.rows} rows per target "
          f"({args.llm_rows} for LLM generators), threads {args.threads}, neural epochs "
          f"{args.epochs}; no alignment, no ESMM")
    if args.judge_check:
        print(judge_check(world, train, S, reference, args.judge_check, args.judge_on)
              .to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        return
    sets = {"real training positives": tr_pos, "real test positives": te_pos,
            "random real clicked test rows": rand}
    table = [lift_row(world, k, v, reference) for k, v in sets.items()]
    names = [g for g in [*list_generators(), *VARIANTS]
             if not args.only or g in args.only.split(",")]
    validator = RowValidator.from_table(train, S)
    for name in names:
        uses_llm = name.startswith("llm-") and VARIANTS.get(name, ("", {}))[1].get("judge") != "none"
        n = args.llm_rows if uses_llm else args.rows
        try:
            rows, extra = run_generator(name, train, S, validator, n, args.epochs)
        except Exception as e:  # noqa: BLE001 - one failing generator must not stop the table
            table.append({"set": name, "note": f"failed: {type(e).__name__}: {str(e)[:120]}"})
            continue
        sets[name] = rows
        table.append(lift_row(world, name, rows, reference, extra))
        print(f"  {name}: {len(rows)} rows, {extra}", file=sys.stderr, flush=True)
    if args.save_rows:
        Path(args.save_rows).mkdir(parents=True, exist_ok=True)
        for k, v in sets.items():
            v.to_csv(Path(args.save_rows) / f"{k.replace(' ', '_')}.csv", index=False)
    df = pd.DataFrame(table)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.2f}", na_rep="-"))
    if args.decompose:
        print("\nmean logit term of each set minus the reference clicks' (structural terms "
              "first; 're' = random effects)")
        print(decompose(world, sets, reference).to_string())


if __name__ == "__main__":
    main()
