"""travel-sim generation speed/memory, rates, and per-category train/test conversions.

Usage: python bench/bench_travel_sim.py [--quick]   (or: python -m bench travel_sim)
Prints a table per size (1M and the default), then the default split's sparsity table.
"""

from __future__ import annotations

import sys
import time

from sklearn.metrics import roc_auc_score

from samplegen.datasets.travel_sim import DEFAULT_N_IMPRESSIONS, load_travel_sim
from samplegen.split import category_stats, make_split, sparse_categories


def main(quick: bool = False) -> None:
    sizes = [200_000] if quick else [1_000_000, DEFAULT_N_IMPRESSIONS]
    print("| impressions | seconds | table MB | click rate | cvr (per click) | oracle CVR AUC |"
          " global candidates |")
    print("|---|---|---|---|---|---|---|")
    src = None
    for n in sizes:
        t0 = time.perf_counter()
        src = load_travel_sim(n, seed=0)
        took = time.perf_counter() - t0
        t = src.table
        mb = t.memory_usage(deep=True).sum() / 1e6
        clicked = t["click"].to_numpy() == 1
        auc = roc_auc_score(t["conversion"].to_numpy()[clicked],
                            src.oracle["p_conversion"].to_numpy()[clicked])
        print(f"| {n:,} | {took:.1f} | {mb:.0f} | {t['click'].mean():.4f} | "
              f"{t['conversion'].sum() / t['click'].sum():.4f} | {auc:.3f} | "
              f"{len(src.extras['global_candidates']):,} |")
    assert src is not None
    split = make_split(src)
    train, valid, test = split.frames(src)
    rep = sparse_categories(train, src.schema)
    table = rep.table[["rows", "clicks", "conversions", "status"]].rename(
        columns={"rows": "train_rows", "clicks": "train_clicks", "conversions": "train_conv"})
    table["valid_conv"] = category_stats(valid, src.schema)["conversions"]
    table["test_conv"] = category_stats(test, src.schema)["conversions"]
    print()
    print(f"default split {split.sizes()}; rule {split.rule}")
    print(f"cold-start: {rep.cold_start}; sparse: {rep.sparse}; rule {rep.rule}")
    print(table.to_markdown() if _has_tabulate() else table.to_string())
    print("\naux label rates: " + ", ".join(
        f"{a}={src.table[a].mean():.4f}" for a in src.schema.aux_labels)
        + f"; conversion per impression={src.table['conversion'].mean():.5f}")
    g = src.extras["global_candidates"]
    print(f"global candidates: {len(g):,} rows, global_purchase rate "
          f"{g['global_purchase'].mean():.4f}, positives {int(g['global_purchase'].sum())}")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
