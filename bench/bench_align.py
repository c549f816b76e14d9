"""Alignment throughput on travel-sim: fit time, SHAP scoring rows/s, full select on a pool.

    .venv/bin/python bench/bench_align.py [--rows 100000] [--n-impressions N] [--threads 1]

The synthetic pool is made of real training rows of the sparse/cold-start
categories relabelled as positives (click=1, conversion=1), with a quarter of
the rows' feature values shuffled across rows (broken interactions), so the
figures cover realistic inputs. Prints a table; nothing is written.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_pool(train: pd.DataFrame, schema, targets: list[str], rows: int,
              seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cat = schema.category
    src = train[train[cat].astype(str).isin(targets)]
    pool = src.iloc[rng.integers(0, len(src), rows)].reset_index(drop=True).copy()
    pool[schema.click] = 1
    pool[schema.conversion] = 1
    k = rows // 4
    for f in schema.features:
        if f != cat:
            vals = pool[f].to_numpy().copy()
            vals[:k] = vals[:k][rng.permutation(k)]
            pool[f] = vals
    return pool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--n-impressions", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--select-n", type=int, default=None, help="rows to select (default rows/3)")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from samplegen.align import get_aligner
    from samplegen.datasets.travel_sim import load_travel_sim
    from samplegen.split import make_split, sparse_categories

    out = []
    t = time.perf_counter()
    kw = {} if args.n_impressions is None else {"n_impressions": args.n_impressions}
    src = load_travel_sim(**kw)
    split = make_split(src)
    train = src.table.iloc[split.train].reset_index(drop=True)
    schema = src.schema
    targets = sparse_categories(train, schema).targets
    pool = make_pool(train, schema, targets, args.rows)
    out.append(("load travel-sim + split + pool", len(train), time.perf_counter() - t))

    t = time.perf_counter()
    shap_al = get_aligner("shap", n_jobs=args.threads).fit(train, schema, seed=0)
    fit_s = time.perf_counter() - t
    for k, v in shap_al._seconds.items():
        out.append((f"shap fit: {k}", len(train), v))
    out.append(("shap fit: total", len(train), fit_s))
    model = shap_al.model

    t = time.perf_counter()
    model.shap_values(pool)
    out.append(("SHAP values (LightGBM pred_contrib)", len(pool), time.perf_counter() - t))
    import shap

    sub = pool.head(min(len(pool), 20_000))
    t = time.perf_counter()
    shap.TreeExplainer(model.booster).shap_values(model.transform(sub))
    out.append(("SHAP values (shap.TreeExplainer)", len(sub), time.perf_counter() - t))
    t = time.perf_counter()
    model.interaction_matrix(pool, max_rows=500)
    out.append(("SHAP interaction values", 500, time.perf_counter() - t))
    t = time.perf_counter()
    shap_al.distances(pool)
    out.append(("attribution filter distances (SHAP + kNN)", len(pool), time.perf_counter() - t))
    t = time.perf_counter()
    w = shap_al.weights(pool)
    out.append(("importance weights", len(pool), time.perf_counter() - t))
    n = args.select_n or len(pool) // 3
    t = time.perf_counter()
    _, rep = shap_al.select(pool, n, seed=0)
    out.append((f"shap select {n} (filter + weights + draw)", len(pool), time.perf_counter() - t))

    t = time.perf_counter()
    cllm = get_aligner("cllm", n_jobs=args.threads).fit(train, schema, seed=0)
    out.append(("cllm fit", len(train), time.perf_counter() - t))
    t = time.perf_counter()
    _, crep = cllm.select(pool, n, seed=0)
    out.append((f"cllm select {n}", len(pool), time.perf_counter() - t))

    table = Table(title=f"alignment on travel-sim ({len(train)} training rows, pool {len(pool)}, "
                        f"{args.threads} LightGBM thread(s))")
    for col in ("step", "rows", "seconds", "rows/s"):
        table.add_column(col, justify="right" if col != "step" else "left")
    for name, rows, sec in out:
        table.add_row(name, f"{rows:,}", f"{sec:.2f}", f"{rows / sec:,.0f}" if sec > 0 else "-")
    Console().print(table)
    shuffled = np.zeros(len(pool), dtype=bool)
    shuffled[: len(pool) // 4] = True
    print(f"attribution model: {model.n_iterations} trees, validation AUC "
          f"{model.validation_auc:.4f}; groups {shap_al.groups}")
    print(f"shap: passed {rep.passed_filter}/{rep.pool_size}, ESS {rep.ess:.0f} "
          f"({rep.ess_fraction:.1%}); mean weight shuffled rows {w[shuffled].mean():.3f} vs "
          f"intact {w[~shuffled].mean():.3f}")
    print(f"cllm: passed {crep.passed_filter}/{crep.pool_size}, thresholds {crep.thresholds}")


if __name__ == "__main__":
    main()
