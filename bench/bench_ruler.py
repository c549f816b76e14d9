"""travel-sim as a ruler: what synthetic rows do to a cold-start category's level and ranking.

    .venv/bin/python bench/bench_ruler.py level     [--n-impressions N] [--seeds 10] [--epochs 3]
    .venv/bin/python bench/bench_ruler.py ceilings  [...]

Both train ESMM on the real training rows plus each set (the demo's settings:
non-clicks kept at 5%, 3 epochs, 10 seeds), for the two cold-start targets
(theme park, ski trip) of the default travel-sim, and score per-target metrics on
a test enlarged with same-world draws (>= 1,000 conversions per target).

* ``level``: real-only vs 40 positives (20 per target) of oversample and
  GaussianCopula (as ``samplegen generate`` writes them, aligned with cllm) and 40
  *perfect* positives (same-world draws of P(x | conversion=1, target)): the level
  (mean predicted / true pCVR) of the targets and the global click-space CVR AUC /
  CTCVR AUC, whatever the rows' quality.
* ``ceilings``: perfect positives (200 and 2,000 per target, and 200 at weight
  0.05), random real clicks of the target labelled positive (200), fresh real
  impressions (30,000 and 300,000 per target, true labels) and the clicked rows
  of those 300,000 alone: the per-target ranking (click-space CVR AUC) delta.

Every delta is paired by seed against real-only with its 95% CI; one whose CI
covers 0 prints as "not resolved".
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

TARGETS = ["theme park", "ski trip"]
SHOW = ["cvr_level@click-space[cat=theme park]", "cvr_level@click-space[cat=ski trip]",
        "cvr_auc@click-space[targets]", "cvr_auc@click-space", "ctcvr_auc"]


def _positives(world, n: int, window, seed: int) -> pd.DataFrame:
    parts = [world.draw_until(t, positives=n, window=window, seed=seed + i).table
             for i, t in enumerate(TARGETS)]
    df = pd.concat(parts, ignore_index=True)
    return df[df["conversion"] == 1].reset_index(drop=True)


def _impressions(world, n: int, window, seed: int) -> pd.DataFrame:
    return world.draw(n * len(TARGETS), categories=TARGETS, window=window, seed=seed).table


def _generated(src, split, name: str, n: int, out: Path) -> pd.DataFrame:
    from samplegen.pipeline import generate

    res = generate(src, name, out=out / name, n=n, split=split,
                   targets=[{src.schema.category: t} for t in TARGETS], align="cllm", seed=0)
    return res.to_pandas()


def sets_level(src, split, world, window, out: Path) -> dict[str, pd.DataFrame]:
    return {"oversample 40": _generated(src, split, "oversample", 40, out),
            "sdv-gaussian-copula 40": _generated(src, split, "sdv-gaussian-copula", 40, out),
            "perfect positives 40": _positives(world, 20, window, 11)}


def sets_ceilings(src, split, world, window, out: Path) -> dict[str, pd.DataFrame]:
    train, _, _ = split.frames(src)
    sets = {"perfect positives 200/target": _positives(world, 200, window, 21),
            "perfect positives 2000/target": _positives(world, 2000, window, 31)}
    light = sets["perfect positives 200/target"].copy()
    light["sample_weight"] = 0.05
    sets["perfect positives 200/target, weight 0.05"] = light
    clicks = world.draw(400_000, categories=TARGETS, window=window, seed=41).clicked().table
    fake = pd.concat([clicks[clicks["item_category"] == t].head(200) for t in TARGETS])
    sets["random clicks labelled positive 200/target"] = fake.assign(conversion=1)
    sets["fresh impressions 30k/target"] = _impressions(world, 30_000, window, 51)
    big = _impressions(world, 300_000, window, 61)
    sets["fresh impressions 300k/target"] = big
    sets["clicked rows of those 300k"] = big[big["click"] == 1].reset_index(drop=True)
    return sets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("finding", choices=["level", "ceilings"])
    ap.add_argument("--n-impressions", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--neg-rate", type=float, default=0.05)
    ap.add_argument("--test-conversions", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="400k impressions, 3 seeds")
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
        args.n_impressions, args.seeds, args.test_conversions = 400_000, 3, 300
    t0 = time.perf_counter()
    kw = {} if args.n_impressions is None else {"n_impressions": args.n_impressions}
    src = load_source("travel-sim", **kw)
    split = make_split(src)
    world = SimWorld.from_source(src)
    _, valid, _ = split.frames(src)
    window = (0, valid["event_time"].min())      # the training window
    with tempfile.TemporaryDirectory() as tmp:
        build = sets_level if args.finding == "level" else sets_ceilings
        sets = build(src, split, world, window, Path(tmp))
        inst = Instrument.build(src, split, TARGETS, min_test_conversions=args.test_conversions)
        res = run_experiment(src, split, sets, seeds=args.seeds, targets=TARGETS,
                             options=ModelOptions(neg_rate=args.neg_rate),
                             train_config=TrainConfig(epochs=args.epochs, threads=1),
                             instrument=inst)
    s = res.summary
    print(f"travel-sim {len(src.table):,} impressions; targets {TARGETS}; {args.seeds} seeds; "
          f"ESMM {args.epochs} epochs, non-clicks kept {args.neg_rate}; per-target metrics on "
          f"{ {t: c['split_test_conversions'] + c['drawn_conversions'] for t, c in inst.protocol['counts'].items()} } "
          "test conversions; Δ paired vs real-only [95% CI]\n")
    print("| rows added | " + " | ".join(SHOW) + " |")
    print("|---" * (len(SHOW) + 1) + "|")
    for arm in res.arms:
        cells = []
        for m in SHOW:
            r = s[(s["arm"] == arm) & (s["metric"] == m)]
            if r.empty:
                cells.append("-")
                continue
            r = r.iloc[0]
            cell = f"{r['mean']:.4f} ± {r['std']:.4f}"
            if arm != "real-only":
                d = f"Δ {r['delta']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"
                cell += f"; {d}" + ("" if r["resolved"] in ("gain", "loss")
                                   else " not resolved")
            cells.append(cell)
        rows = res.config["rows"].get(f"synthetic:{arm.removeprefix('+')}", "")
        print(f"| {arm} ({rows} rows) | " + " | ".join(cells) + " |")
    print("\ntruth lift (structural) of each set:")
    for name, recs in res.config["instrument"]["truth"].items():
        print(f"  {name}: " + ", ".join(f"{r['target']} {r['lift']:.2f} "
                                        f"({r['structural_lift']:.2f})" for r in recs
                                        if r["lift"] == r["lift"]))
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
