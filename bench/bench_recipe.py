"""Recipe x generator x size on travel-sim: level, per-target ranking, global AUCs, ceilings.

    .venv/bin/python bench/bench_recipe.py [--n-impressions N] [--seeds 10] [--epochs 3]
                                           [--sizes 40,400] [--recipes today,weights,...]

For each size (synthetic positives per cold-start target: theme park, ski trip)
and generator (oversample and sdv-gaussian-copula as ``samplegen generate``
writes them, no alignment; ``perfect``: same-world draws of P(x | conversion=1,
target) in the training window), ESMM is trained on the real training rows plus
the set under each recipe:

* ``today``: weight 1, every loss (``--level none``), plus the two real-data
  ceilings of that size (``+fresh-positives``, ``+fresh-impressions``);
* ``weights``: the rows' weights set so each target's training CVR equals the
  level estimate (``--level auto --level-fix weights``), every loss;
* ``weights-cvr``: the same weights, synthetic rows train only a click-space CVR
  term (``--synthetic-rows cvr``);
* ``offset-cvr``: weight 1, CVR-only rows, the level fixed by a per-target CVR
  logit shift at inference (``--level auto --level-fix offset``);
* ``offset-all``: today's rows (weight 1, every loss) and the same shift.

Per-target metrics on a test enlarged with same-world draws; Δ paired by seed
against the real-only arm of the same recipe (for ``offset-cvr`` that arm is
shifted too: its global Δ vs today's real-only is printed separately); a CI that
covers 0 prints "not resolved".
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGETS = ["theme park", "ski trip"]
RECIPES = {"today": {"level": None, "fix": "weights", "rows": "all"},
           "weights": {"level": "auto", "fix": "weights", "rows": "all"},
           "weights-cvr": {"level": "auto", "fix": "weights", "rows": "cvr"},
           "offset-cvr": {"level": "auto", "fix": "offset", "rows": "cvr"},
           "offset-all": {"level": "auto", "fix": "offset", "rows": "all"}}
PER = "cvr_auc@click-space[targets]"
GLOBAL = ["cvr_auc@click-space", "ctcvr_auc"]


def _perfect(world, n: int, window, seed: int) -> pd.DataFrame:
    parts = [world.draw_until(t, positives=n, window=window, seed=seed + i).table
             for i, t in enumerate(TARGETS)]
    df = pd.concat(parts, ignore_index=True)
    return df[df["conversion"] == 1].reset_index(drop=True)


def _generated(src, split, name: str, n: int, out: Path) -> pd.DataFrame:
    from samplegen.pipeline import generate

    res = generate(src, name, out=out / f"{name}-{n}", n=n * len(TARGETS), split=split,
                   targets=[{src.schema.category: t} for t in TARGETS], seed=0)
    return res.to_pandas()


def _cell(s: pd.DataFrame, arm: str, metric: str, delta: bool = True) -> str:
    r = s[(s["arm"] == arm) & (s["metric"] == metric)]
    if r.empty or r.iloc[0]["mean"] != r.iloc[0]["mean"]:
        return "-"
    r = r.iloc[0]
    if not delta or arm == "real-only":
        return f"{r['mean']:.3f}"
    out = f"{r['delta']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"
    return out if r["resolved"] in ("gain", "loss") else out + " n.r."


def _shares(s: pd.DataFrame, arm: str) -> str:
    from downstream.summary import ceiling_shares

    rec = ceiling_shares(s, PER).get(arm, {})
    return ", ".join(f"{k.removeprefix('+fresh-')} {v:.0%}" for k, v in rec.items()
                     if v == v) or "-"


def _paired(a: list[dict], b: list[dict], metric: str) -> str:
    """Real-only of recipe ``a`` minus real-only of ``b``, paired by seed, 95% CI."""
    from downstream.summary import paired_ci, verdict

    va = {r["seed"]: r["metrics"][metric]["value"] for r in a if r["arm"] == "real-only"}
    vb = {r["seed"]: r["metrics"][metric]["value"] for r in b if r["arm"] == "real-only"}
    d = np.array([va[k] - vb[k] for k in va if k in vb])
    lo, hi = paired_ci(d)
    tag = "" if verdict(lo, hi) in ("gain", "loss") else " n.r."
    return f"{d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]{tag}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-impressions", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--neg-rate", type=float, default=0.05)
    ap.add_argument("--test-conversions", type=int, default=1000)
    ap.add_argument("--sizes", default="40,400", help="synthetic positives per target")
    ap.add_argument("--generators", default="oversample,sdv-gaussian-copula,perfect")
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--no-ceilings", action="store_true", help="skip the fresh-real arms")
    ap.add_argument("--quick", action="store_true",
                    help="1M impressions, 5 seeds, 2 epochs, 300 test conversions")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from downstream.experiment import run_experiment
    from downstream.fit import ModelOptions
    from downstream.ruler import Instrument
    from downstream.trainer import TrainConfig
    from samplegen.datasets.travel_sim_truth import SimWorld
    from samplegen.sources import load_source
    from samplegen.split import make_split

    if args.quick:
        args.n_impressions, args.seeds, args.epochs = 1_000_000, 5, 2
        args.test_conversions = 300
    t0 = time.perf_counter()
    kw = {} if args.n_impressions is None else {"n_impressions": args.n_impressions}
    src = load_source("travel-sim", **kw)
    split = make_split(src)
    world = SimWorld.from_source(src)
    _, valid, _ = split.frames(src)
    window = (0, valid["event_time"].min())
    sizes = [int(x) for x in args.sizes.split(",")]
    gens = args.generators.split(",")
    recipes = args.recipes.split(",")
    print(f"travel-sim {len(src.table):,} impressions; targets {TARGETS}; {args.seeds} seeds; "
          f"ESMM {args.epochs} epochs, non-clicks kept {args.neg_rate}; per-target metrics on "
          f">= {args.test_conversions} test conversions per target (same-world draws); "
          "Δ paired vs the recipe's real-only [95% CI], n.r. = not resolved\n")
    level_note = None
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            sets = {g: (_perfect(world, size, window, 7) if g == "perfect"
                        else _generated(src, split, g, size, Path(tmp))) for g in gens}
        inst = Instrument.build(src, split, TARGETS, min_test_conversions=args.test_conversions,
                                fresh_positives=None if args.no_ceilings else size)
        runs: dict[str, list[dict]] = {}
        print(f"## {size} synthetic positives per target\n")
        print("| recipe | arm | level theme park | level ski trip | level valid (tp / ski) | "
              f"per-target Δ {PER} | Δ {GLOBAL[0]} | Δ {GLOBAL[1]} | share of ceilings |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in recipes:
            rc = RECIPES[name]
            use = inst if name == "today" else dataclasses.replace(inst, arms={})
            res = run_experiment(src, split, sets, seeds=args.seeds, targets=TARGETS,
                                 options=ModelOptions(neg_rate=args.neg_rate,
                                                      synthetic_rows=rc["rows"]),
                                 train_config=TrainConfig(epochs=args.epochs, threads=1),
                                 instrument=use, level=rc["level"], level_fix=rc["fix"])
            runs[name] = res.runs
            if "level" in res.config and level_note is None:
                level_note = res.config["level"]
            s = res.summary
            for arm in res.arms:
                lv = [_cell(s, arm, f"cvr_level@click-space[cat={t}]", False) for t in TARGETS]
                vv = " / ".join(_cell(s, arm, f"cvr_level@valid[cat={t}]", False)
                                for t in TARGETS)
                print(f"| {name} | {arm} | {lv[0]} | {lv[1]} | {vv} | {_cell(s, arm, PER)} | "
                      f"{_cell(s, arm, GLOBAL[0])} | {_cell(s, arm, GLOBAL[1])} | "
                      f"{_shares(s, arm) if name == 'today' and arm != 'real-only' else '-'} |")
            if name != "today" and "today" in runs:
                print(f"| {name} | real-only vs today's real-only | | | | "
                      f"{_paired(res.runs, runs['today'], PER)} | "
                      f"{_paired(res.runs, runs['today'], GLOBAL[0])} | "
                      f"{_paired(res.runs, runs['today'], GLOBAL[1])} | |")
            sys.stdout.flush()
        counts = inst.protocol["counts"]
        print(f"\nper-target test conversions: "
              f"{ {t: c['split_test_conversions'] + c['drawn_conversions'] for t, c in counts.items()} }; "
              f"ceilings: {inst.protocol.get('ceilings', {}).get('counts')}\n")
    if level_note:
        print("level estimate (training rows):")
        for t, e in level_note.get("estimates", {}).items():
            print(f"  {t}: {e['rate']:.4f} [{e['low']:.4f}, {e['high']:.4f}] from "
                  f"{e['conversions']}/{e['clicks']} own, prior {e['prior_rate']:.4f} x "
                  f"{e['prior_strength']:.0f}; signals {e['signals']}")
        truth = {t: float(inst.target_oracle["p_conversion"][
            (inst.target_test["item_category"].astype(str) == t).to_numpy()].mean())
            for t in TARGETS}
        print("  true mean P(conversion | click) on the targets' test clicks: "
              + ", ".join(f"{t} {v:.4f}" for t, v in truth.items()))
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
