"""ESMM variants on travel-sim, measured against the truth (issue 21).

    python bench/bench_variants.py [--n 1000000 --seeds 10 --epochs 2 --neg-rate 0.05
                                    --batch-size 256]

One table: real-only ESMM vs each variant (aux labels, rank loss at fixed
weights and with its weight chosen on the validation split, guard, dynamic
route, NISE, global conversions, and the best combination chosen on the
validation split) on

* per target (the cold-start categories "theme park", "ski trip"): click-space
  CVR AUC on an ENLARGED test set (the split's own clicked test rows of the
  target plus same-world clicked draws in the test window, >= ``--test-conv``
  conversions per target) and level = mean predicted pCVR / mean true
  P(conversion | click) (the simulator's ``p_conversion``) on those rows;
* global click-space CVR AUC and CTCVR AUC on the split's own test rows.

The batch size (256) is smaller than validate's (2048) on purpose: with
non-clicks kept at 5%, a batch of 2048 nearly always holds a conversion, so the
route and the guard would never act; at 256, 43% of them hold none (measured).

Each cell: mean and std over seeds; for a variant the paired difference to
real-only with its 95% t-interval over seeds, marked "not resolved" when the
interval covers 0. Selection (the rank weight, the combination) only ever looks
at the validation rows.

The enlarged test is :class:`downstream.ruler.Instrument`'s (issue 15): the
targets' clicked test rows plus clicked same-world draws in the test window.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from downstream import ModelOptions, TrainConfig, fit_esmm  # noqa: E402
from downstream.globalrows import prepare_global_rows  # noqa: E402
from downstream.metrics import auc  # noqa: E402
from downstream.ruler import Instrument  # noqa: E402
from downstream.summary import paired_ci, verdict  # noqa: E402

TARGETS = ["theme park", "ski trip"]
RANK_GRID = (0.1, 0.3, 1.0)
SINGLE = {"aux": {"aux": True}, "guard": {"guard_no_positive": True}, "route": {"route": True},
          "nise": {"nise": True}}


# ------------------------------------------------------------------- measuring
class _Encoded:
    """Encoded evaluation tables, cached per encoder (arms of one seed share theirs)."""

    def __init__(self, frames: dict[str, pd.DataFrame]):
        self.frames, self.key, self.tables = frames, None, {}

    def get(self, f) -> dict:
        key = json.dumps(f.encoder.to_dict(), sort_keys=True, default=str)
        if key != self.key:
            self.key = key
            self.tables = {k: f.encoder.transform(v) for k, v in self.frames.items()}
        return self.tables


def _measure(f, cache: _Encoded, truth: dict[str, np.ndarray]) -> dict[str, float]:
    """Validation selection metric (click-space CVR AUC on the clicked validation
    rows), global test AUCs, per-target AUC and level on the enlarged rows."""
    tabs = cache.get(f)
    pred = {k: f.trainer.predict(t) for k, t in tabs.items()}
    lab = {k: t.labels() for k, t in tabs.items()}
    out = {"valid": auc(lab["valid"]["ctcvr"], pred["valid"]["p_cvr"])}
    y, p = lab["test"], pred["test"]
    clicked = y["click"] > 0.5
    out["global cvr_auc@click-space"] = auc(y["ctcvr"][clicked], p["p_cvr"][clicked])
    out["global ctcvr_auc"] = auc(y["ctcvr"], p["p_ctr"] * p["p_cvr"])
    for name in TARGETS:
        pc = pred[name]["p_cvr"].astype(np.float64)
        out[f"{name} cvr_auc@click-space"] = auc(lab[name]["ctcvr"], pc)
        out[f"{name} level"] = float(pc.mean() / truth[name].mean())
    return out


def _cell(v: np.ndarray, base: np.ndarray | None, level: bool = False) -> str:
    s = f"{np.nanmean(v):.4f} ± {np.nanstd(v, ddof=1):.4f}"
    if base is None:
        return s
    if np.array_equal(v, base):
        return s + " | Δ +0.0000 (the same models)"
    lo, hi = paired_ci(v - base)
    tag = verdict(lo, hi)
    if level and tag != "not resolved":  # a level is right at 1.0: say which way it moved
        tag = "higher" if tag == "gain" else "lower"
    return s + f" | Δ {np.nanmean(v - base):+.4f} [{lo:+.4f}, {hi:+.4f}] {tag}"


# ------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="travel-sim impressions")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--neg-rate", type=float, default=0.05)
    ap.add_argument("--batch-size", type=int, default=256,
                    help="small enough that batches without a positive occur (route, guard)")
    ap.add_argument("--test-conv", type=int, default=1000,
                    help="conversions per target in the enlarged test")
    ap.add_argument("--quick", action="store_true", help="200k impressions, 3 seeds, 300 conv.")
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.seeds, a.test_conv = 200_000, 3, 300
    import torch

    torch.set_num_threads(1)
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split

    t_start = time.perf_counter()
    src = load_travel_sim(a.n)
    split = make_split(src)
    train, valid, test = (x.reset_index(drop=True) for x in split.frames(src))
    schema = src.schema
    inst = Instrument.build(src, split, TARGETS, min_test_conversions=a.test_conv)
    frames = {"valid": valid[valid["click"] == 1], "test": test}
    cat = inst.target_test[schema.category].astype(str)
    truth = {}
    for name in TARGETS:
        frames[name] = inst.target_test[(cat == name).to_numpy()]
        truth[name] = inst.target_oracle.loc[(cat == name).to_numpy(), "p_conversion"].to_numpy(
            np.float64)
    cache = _Encoded(frames)
    cands = src.extras["global_candidates"]
    cands = cands[cands["event_time"] <= train["event_time"].max()]
    glob = schema.coerce(prepare_global_rows(cands, schema, mode="labels"))
    base_opts = ModelOptions(neg_rate=a.neg_rate)
    setup_s = time.perf_counter() - t_start

    res: dict[str, list[dict[str, float]]] = {}
    route_share: list[float] = []

    def run(arm: str, seed: int, opts: ModelOptions, rows: pd.DataFrame = train
            ) -> dict[str, float]:
        tc = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, seed=seed, threads=1)
        f = fit_esmm(rows, schema, valid=valid, options=opts, train_config=tc)
        if opts.route:
            c = f.model.route_counts
            route_share.append(c["negative"] / max(1, c["negative"] + c["positive"]))
        m = _measure(f, cache, truth)
        res.setdefault(arm, []).append(m)
        return m

    with_global = pd.concat([train, glob], ignore_index=True, sort=False)
    for seed in range(a.seeds):
        t_seed = time.perf_counter()
        base = run("real-only", seed, base_opts)
        val = {}
        for name, kw in SINGLE.items():
            val[name] = run(name, seed, replace(base_opts, **kw))["valid"]
        rank = {0.0: base}
        for alpha in RANK_GRID:
            rank[alpha] = run(f"rank α={alpha:g}", seed, replace(base_opts, rank_alpha=alpha))
        best_alpha = max(rank, key=lambda al: (rank[al]["valid"], -al))
        res.setdefault("rank, α on validation", []).append(rank[best_alpha] | {"alpha": best_alpha})
        val["global"] = run("global conversions", seed, base_opts, with_global)["valid"]
        # combination: every variant that beat real-only on this seed's validation rows
        keep = [k for k, v in val.items() if v > base["valid"]]
        combo = replace(base_opts, rank_alpha=best_alpha,
                        **{k: v for n in keep if n in SINGLE for k, v in SINGLE[n].items()})
        run("best combination (validation)", seed, combo,
            with_global if "global" in keep else train)
        res["best combination (validation)"][-1]["picked"] = "+".join(
            keep + ([f"rank {best_alpha:g}"] if best_alpha else [])) or "none"
        print(f"# seed {seed}: {time.perf_counter() - t_seed:.0f} s, rank α {best_alpha:g}, "
              f"combination {res['best combination (validation)'][-1]['picked']}",
              file=sys.stderr, flush=True)

    _print(a, res, inst.protocol["counts"], route_share, setup_s,
           time.perf_counter() - t_start, len(glob))
    return 0


def _print(a, res, enlarged, route_share, setup_s, total_s, n_glob) -> None:
    cols = [*(f"{t} cvr_auc@click-space" for t in TARGETS), *(f"{t} level" for t in TARGETS),
            "global cvr_auc@click-space", "global ctcvr_auc"]
    heads = {f"{t} cvr_auc@click-space": f"{t}: CVR AUC click-space (enlarged test)"
             for t in TARGETS}
    heads |= {f"{t} level": f"{t}: level pred/true pCVR" for t in TARGETS}
    heads |= {"global cvr_auc@click-space": "global CVR AUC click-space",
              "global ctcvr_auc": "global CTCVR AUC"}
    print(f"travel-sim {a.n:,} impressions (seed 0), default time split 70/10/20; "
          f"{a.seeds} seeds; ESMM emb 16, towers [64, 32], Adam lr 2e-3, batch "
          f"{a.batch_size}, {a.epochs} epochs (early stopping on validation), non-clicks kept "
          f"at {a.neg_rate}; one torch thread.")
    for t, c in enlarged.items():
        print(f"enlarged test {t}: {c['split_test_clicks']:,} clicked test rows of the split "
              f"({c['split_test_conversions']} conversions) + {c['drawn_clicks']:,} same-world "
              f"clicked draws in the test window ({c['drawn_conversions']} conversions)")
    print(f"global-conversion rows (training window, labels mode): {n_glob:,}")
    if route_share:
        print(f"route: share of training batches without a positive (negative branch) = "
              f"{np.mean(route_share):.3f} (mean over runs)")
    picks = pd.Series([r.get("alpha") for r in res["rank, α on validation"]]).value_counts()
    print("rank α chosen on validation (seeds): "
          + ", ".join(f"{k:g}: {v}" for k, v in picks.sort_index().items()))
    combos = pd.Series([r["picked"] for r in res["best combination (validation)"]]).value_counts()
    print("combination chosen on validation (seeds): "
          + "; ".join(f"{k}: {v}" for k, v in combos.items()))
    print(f"setup {setup_s:.0f} s, total {total_s / 60:.1f} min\n")
    print("mean ± std over seeds | Δ vs real-only, paired, [95% t-interval over seeds]; "
          "'not resolved' when the interval covers 0\n")
    base = {c: np.array([r[c] for r in res["real-only"]]) for c in cols}
    for c in cols:
        print(f"## {heads[c]}")
        for arm, runs in res.items():
            v = np.array([r[c] for r in runs])
            print(f"  {arm:<32} "
                  f"{_cell(v, None if arm == 'real-only' else base[c], 'level' in c)}")
        print()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
