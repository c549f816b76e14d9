"""ESMM benchmarks on travel-sim; prints tables of measured figures.

    python bench/bench_esmm.py throughput [--n 1000000]   # ours vs torch-rechub's ESMM
    python bench/bench_esmm.py memory [--n 1000000]       # peak RSS training on n rows
    python bench/bench_esmm.py sanity [--n 3000000 --seeds 5]  # ESMM vs LightGBM vs oracle

Both models in ``throughput`` get the same rows (non-clicks of the training part
sampled to ~4 per click; test rows untouched), the same encoding (numeric
features bucketised, since torch-rechub's ESMM takes sparse features only), the
same embedding size (16), towers ([64, 32]), batch size (2048), optimiser (Adam,
lr 2e-3) and one CPU thread each. torch-rechub needs the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from downstream import FeatureEncoder, ModelOptions, TrainConfig, auc, fit_esmm  # noqa: E402
from downstream.data import correct_probability, subsample_nonclicks  # noqa: E402
from downstream.fit import auto_neg_rate  # noqa: E402
from downstream.models import ESMM, ESMMConfig  # noqa: E402
from downstream.trainer import Trainer  # noqa: E402

EMB, TOWER, BS, LR = 16, [64, 32], 2048, 2e-3


def _data(n: int):
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split

    src = load_travel_sim(n)
    split = make_split(src)
    tr, va, te = (x.reset_index(drop=True) for x in split.frames(src))
    oracle = split.oracle_frames(src)[2].reset_index(drop=True)
    return src, tr, va, te, oracle


def _aucs(te_tab, p_ctr, p_cvr) -> dict[str, float]:
    lab = te_tab.labels()
    clicked = lab["click"] > 0.5
    return {"ctr_auc": auc(lab["click"], p_ctr),
            "cvr_auc@click-space": auc(lab["ctcvr"][clicked], p_cvr[clicked]),
            "ctcvr_auc": auc(lab["ctcvr"], p_ctr * p_cvr)}


def throughput(n: int, epochs: int) -> pd.DataFrame:
    torch.set_num_threads(1)
    src, tr, va, te, _ = _data(n)
    rate = auto_neg_rate(tr, src.schema.click)
    sub = subsample_nonclicks(tr, src.schema.click, rate, seed=0).reset_index(drop=True)
    enc = FeatureEncoder(numeric="bucketize").fit(sub, src.schema)
    tr_tab, te_tab = enc.transform(sub), enc.transform(te)
    rows = []
    # ours
    with torch.random.fork_rng(devices=[]):
        torch.random.manual_seed(0)
        model = ESMM(ESMMConfig(enc.cardinalities, 0, EMB, TOWER))
    trainer = Trainer(model, TrainConfig(epochs=epochs, batch_size=BS, lr=LR, seed=0))
    hist = trainer.fit(tr_tab)
    pred = trainer.predict(te_tab)
    rows.append({"model": "samplegen downstream.ESMM", "train rows": len(sub),
                 "samples/s": hist.samples_per_s, **_aucs(te_tab, pred["p_ctr"], pred["p_cvr"])})
    # torch-rechub
    try:
        rows.append(_rechub(enc, tr_tab, te_tab, epochs))
    except ImportError as e:
        rows.append({"model": f"torch-rechub (not installed: {e})"})
    return pd.DataFrame(rows)


def _rechub(enc, tr_tab, te_tab, epochs: int) -> dict:
    from torch_rechub.basic.features import SparseFeature
    from torch_rechub.models.multi_task import ESMM as RechubESMM
    from torch_rechub.trainers import MTLTrainer
    from torch_rechub.utils.data import DataGenerator

    feats = [SparseFeature(c, vocab_size=v, embed_dim=EMB)
             for c, v in zip(enc.cat_columns, enc.cardinalities, strict=True)]
    half = len(feats) // 2

    def xy(tab):
        cat = tab.tensors["cat"].numpy()
        x = {c: cat[:, j] for j, c in enumerate(enc.cat_columns)}
        lab = tab.labels()
        y = np.stack([lab["ctcvr"], lab["click"], lab["ctcvr"]], 1)  # [cvr, ctr, ctcvr]
        return x, y

    x, y = xy(tr_tab)
    xt, yt = xy(te_tab)
    torch.manual_seed(0)  # rechub initialises with the global generator (bench process only)
    model = RechubESMM(feats[:half], feats[half:], {"dims": TOWER}, {"dims": TOWER})
    loader, _, test_loader = DataGenerator(x, y).generate_dataloader(
        x_val=xt, y_val=yt, x_test=xt, y_test=yt, batch_size=BS)
    mt = MTLTrainer(model, task_types=["classification"] * 3,
                    optimizer_params={"lr": LR, "weight_decay": 0.0}, n_epoch=epochs,
                    earlystop_patience=10, device="cpu", model_path="/tmp/rechub_bench")
    t0 = time.perf_counter()
    for _ in range(epochs):
        mt.train_one_epoch(loader)
    secs = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        preds = [model({k: torch.as_tensor(v[i:i + 65536]) for k, v in xt.items()})
                 for i in range(0, len(yt), 65536)]
    p = torch.cat(preds).numpy()
    return {"model": "torch-rechub ESMM 0.9.0", "train rows": len(y),
            "samples/s": len(y) * epochs / secs, **_aucs(te_tab, p[:, 1], p[:, 0])}


def memory(n: int) -> pd.DataFrame:
    """Peak RSS of a fresh process that simulates n rows and trains one epoch on all of them."""
    code = (f"import resource, torch; torch.set_num_threads(1)\n"
            f"from bench.bench_esmm import _data\n"
            f"from downstream import fit_esmm, ModelOptions, TrainConfig\n"
            f"src, tr, va, te, _ = _data({n}); import pandas as pd\n"
            f"rows = pd.concat([tr, va, te], ignore_index=True)\n"
            f"before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            f"f = fit_esmm(rows, src.schema, options=ModelOptions(neg_rate=1.0),"
            f" train_config=TrainConfig(epochs=1, batch_size={BS}))\n"
            f"print(len(rows), before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            f" f.history.samples_per_s)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    rows, before, peak, sps = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    return pd.DataFrame([{"train rows": rows, "peak RSS after data (GiB)": before / 2**20,
                          "peak RSS training (GiB)": peak / 2**20, "samples/s": sps,
                          "target": "< 4 GiB"}])


def sanity(n: int, seeds: int, epochs: int) -> pd.DataFrame:
    """Real-only ESMM vs LightGBM on the same features, 5 seeds, with the oracle AUC."""
    import lightgbm as lgb

    torch.set_num_threads(1)
    src, tr, va, te, oracle = _data(n)
    sch = src.schema
    feats = sch.features
    ck, cv = sch.click, sch.conversion

    def lgb_frame(df):
        x = df[feats].copy()
        for c in feats:
            if x[c].dtype == object:
                x[c] = pd.Categorical(x[c], categories=sorted(tr[c].dropna().unique()))
        return x

    xte = lgb_frame(te)
    clicked = te[ck].to_numpy() == 1
    y_cvr = te[cv].to_numpy()
    ctcvr_te = (te[ck] * te[cv]).to_numpy()
    o_cvr = auc(y_cvr[clicked], oracle["p_conversion"].to_numpy()[clicked])
    o_ctcvr = auc(ctcvr_te, (oracle["p_click"] * oracle["p_conversion"]).to_numpy())
    rows = []
    rate = auto_neg_rate(tr, ck)
    for s in range(seeds):
        f = fit_esmm(tr, sch, valid=va, options=ModelOptions(neg_rate=None),
                     train_config=TrainConfig(epochs=epochs, seed=s, patience=2))
        m = f.evaluate(te)
        rows.append({"model": "ESMM (downstream)", "seed": s,
                     "cvr_auc@click-space": m["cvr_auc@click-space"]["value"],
                     "ctcvr_auc": m["ctcvr_auc"]["value"]})
        params = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31,
                  "min_data_in_leaf": 50, "bagging_fraction": 0.8, "bagging_freq": 1,
                  "feature_fraction": 0.8, "seed": s, "verbose": -1, "num_threads": 1}
        trc = tr[tr[ck] == 1]
        m_cvr = lgb.train(params, lgb.Dataset(lgb_frame(trc), trc[cv].to_numpy()), 300)
        sub = subsample_nonclicks(tr, ck, rate, seed=s)
        m_ctcvr = lgb.train(params, lgb.Dataset(lgb_frame(sub), (sub[ck] * sub[cv]).to_numpy()),
                            300)
        m_ctr = lgb.train(params, lgb.Dataset(lgb_frame(sub), sub[ck].to_numpy()), 300)
        p_cvr = m_cvr.predict(xte)
        q_ctr = correct_probability(m_ctr.predict(xte), 1.0 / rate)
        rows.append({"model": "LightGBM (CVR on clicks; CTCVR direct)", "seed": s,
                     "cvr_auc@click-space": auc(y_cvr[clicked], p_cvr[clicked]),
                     "ctcvr_auc": auc(ctcvr_te, m_ctcvr.predict(xte))})
        rows.append({"model": "LightGBM (CTCVR = pCTR x pCVR)", "seed": s,
                     "cvr_auc@click-space": auc(y_cvr[clicked], p_cvr[clicked]),
                     "ctcvr_auc": auc(ctcvr_te, q_ctr * p_cvr)})
    df = pd.DataFrame(rows)
    agg = df.groupby("model")[["cvr_auc@click-space", "ctcvr_auc"]].agg(["mean", "std"])
    agg.loc["oracle (true probabilities)"] = [o_cvr, 0.0, o_ctcvr, 0.0]
    return agg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["throughput", "memory", "sanity"])
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=None)
    a = ap.parse_args()
    t0 = time.perf_counter()
    if a.what == "throughput":
        out = throughput(a.n or 1_000_000, a.epochs or 2)
    elif a.what == "memory":
        out = memory(a.n or 1_000_000)
    else:
        out = sanity(a.n or 3_000_000, a.seeds, a.epochs or 4)
    pd.set_option("display.width", 160)
    print(f"# bench_esmm {a.what} (n={a.n}, {os.cpu_count()} CPUs, "
          f"{time.perf_counter() - t0:.0f} s, max RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB)")
    print(out.to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
