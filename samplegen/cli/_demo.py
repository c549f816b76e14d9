"""The demo flow: describe -> generate (LLM + baselines) -> align -> validate -> report -> summary.

This is orchestration, so it lives with the CLI, the one place that wires the
core, ``downstream`` and ``evaluators`` together. Every number in the final
table comes from this run.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.errors import UsageError

log = logging.getLogger(__name__)

#: a per-category AUC needs enough positives to mean something
MIN_TEST_CONVERSIONS = 30


@dataclass
class DemoConfig:
    """Sizes of the demo; ``quick()`` is the 3-minute smoke version."""

    n_impressions: int | None = None  # travel-sim default size
    n_synthetic: int = 40  # per method, split over the demo targets (LLM-bound on CPU)
    n_targets: int = 2  # the cold-start categories with the fewest training conversions
    seeds: int = 3
    epochs: int = 3
    neg_rate: float = 0.05
    llm_generator: str = "llm-fewshot"
    llm_model: str = "smollm2"
    llm_params: dict[str, Any] = field(default_factory=dict)  # e.g. exemplars per cluster
    baselines: list[str] = field(default_factory=lambda: ["sdv-gaussian-copula", "oversample"])
    align: str = "cllm"
    report_rows: int = 5000

    @classmethod
    def quick(cls) -> DemoConfig:
        # 5 exemplars (one per cluster) instead of SampleLLM's 5 x 2: half the prompt to attend to
        return cls(n_impressions=1_000_000, n_synthetic=16, seeds=2, epochs=2, neg_rate=0.05,
                   llm_params={"per_cluster": 1})


@dataclass
class MethodRun:
    name: str
    out: Path
    rows: int
    seconds: float
    manifest: dict[str, Any]

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else math.nan


def run_demo(out: Path, cfg: DemoConfig, console: Any) -> pd.DataFrame:
    """Run every step into ``out``; return (and print) the summary table."""
    from samplegen.pipeline import generate
    from samplegen.sources import load_source
    from samplegen.split import make_split, sparse_categories

    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]1. data: travel-sim")
    from samplegen.progress import waiting

    kw = {} if cfg.n_impressions is None else {"n_impressions": cfg.n_impressions}
    with waiting("travel-sim: simulating impressions and splitting them"):
        src = load_source("travel-sim", **kw)
        split = make_split(src)
        train, _, test = split.frames(src)
        sparsity = sparse_categories(train, src.schema)
    targets = demo_targets(sparsity, cfg.n_targets)
    console.print(f"{len(src.table):,} impressions; click rate {src.table[src.schema.click].mean():.4f}; "
                  f"train/valid/test {split.sizes()}")
    console.print(f"cold-start: {', '.join(sparsity.cold_start)}; sparse: {', '.join(sparsity.sparse)}")
    console.print(f"demo targets (fewest training conversions): {', '.join(targets)}; "
                  f"{cfg.n_synthetic} synthetic positives per method")

    console.rule("[bold]2. generate synthetic positives")
    methods = [cfg.llm_generator, *cfg.baselines]
    runs: dict[str, MethodRun] = {}
    for name in methods:
        params = {"model": cfg.llm_model, **cfg.llm_params} if name.startswith("llm-") else None
        t0 = time.perf_counter()
        run_dir = out / "generate" / name
        res = generate(src, name, out=run_dir, n=cfg.n_synthetic, split=split,
                       targets=[{src.schema.category: t} for t in targets],
                       align=None if cfg.align == "none" else cfg.align, generator_params=params,
                       seed=0, resume=run_dir.exists())
        took = time.perf_counter() - t0
        man = res.manifest
        rows = int(man.get("counts", {}).get("written", len(res.to_pandas())))
        gen_s = float(man.get("timings", {}).get("generate_s", took) or took)
        runs[name] = MethodRun(name, res.out, rows, gen_s, man)
        console.print(f"{name}: {rows} rows in {took:.0f} s -> {res.out}")

    console.rule("[bold]3. validate with ESMM (real-only vs real+synthetic)")
    metrics = _validate(src, split, runs, targets, cfg, out)

    console.rule("[bold]4. quality report")
    report = _report(src, split, runs, targets, cfg, out)

    measured = _measurable(test, src.schema, targets)
    if measured:
        console.print(f"per-category AUC summarised over categories with >= "
                      f"{MIN_TEST_CONVERSIONS} test conversions: {', '.join(measured)}")
    else:
        measured = list(targets)
        console.print(f"[yellow]no target category has >= {MIN_TEST_CONVERSIONS} test "
                      "conversions at this size: its per-category AUC is noisy[/]")
    table = summary_table(runs, metrics, report, measured)
    (out / "summary.json").write_text(json.dumps({
        "table": table.replace({np.nan: None}).to_dict(orient="records"),
        "targets": targets, "measured_categories": measured, "seconds": round(time.perf_counter() - t_start, 1),
        "config": cfg.__dict__,
    }, indent=2, default=str))
    return table


def demo_targets(sparsity: Any, k: int) -> list[str]:
    """The ``k`` cold-start (else sparse) categories with the fewest training conversions."""
    stats = sparsity.table
    pool = sparsity.cold_start or sparsity.sparse
    conv_col = next((c for c in stats.columns if "conv" in str(c).lower()), None)
    if conv_col is None:
        return list(pool[:k])
    order = sorted(pool, key=lambda c: (float(stats.loc[c, conv_col]) if c in stats.index
                                        else 0.0, c))
    return order[:k]


def _measurable(test: pd.DataFrame, schema: Any, targets: list[str]) -> list[str]:
    """Targets with at least MIN_TEST_CONVERSIONS conversions in the (real) test rows."""
    conv = test.groupby(test[schema.category].astype(str), observed=True)[schema.conversion].sum()
    return [t for t in targets if conv.get(t, 0) >= MIN_TEST_CONVERSIONS]


def _validate(src: Source, split: Any, runs: dict[str, MethodRun], targets: list[str],
              cfg: DemoConfig, out: Path) -> dict[str, Any]:
    from downstream.experiment import run_experiment
    from downstream.fit import ModelOptions
    from downstream.trainer import TrainConfig

    result = run_experiment(src, split, {k: r.out for k, r in runs.items()}, seeds=cfg.seeds,
                            targets=targets, options=ModelOptions(neg_rate=cfg.neg_rate),
                            train_config=TrainConfig(epochs=cfg.epochs), progress=True)
    path = result.save(out / "validate" / "metrics.json")
    return json.loads(path.read_text())


def _report(src: Source, split: Any, runs: dict[str, MethodRun], targets: list[str],
            cfg: DemoConfig, out: Path) -> dict[str, Any]:
    from evaluators.report import QualityReport

    train, _, test = split.frames(src)
    sets = {k: pd.read_parquet(r.out / "synthetic.parquet") for k, r in runs.items()}
    rep = QualityReport(max_rows=cfg.report_rows).generate(
        train, test, sets, src.schema, targets=targets,
        validate_metrics=out / "validate" / "metrics.json", meta={"source": src.name})
    json_path, html_path = rep.save(out / "report")
    return {"json": json_path, "html": html_path, "data": rep.to_dict()}


def summary_table(runs: dict[str, MethodRun], metrics: dict[str, Any], report: dict[str, Any],
                  targets: list[str]) -> pd.DataFrame:
    """One row per method: rows/s, per-category CVR AUC delta (click-space), gap closed, DCR."""
    per_seed = _per_seed_category_delta(metrics, targets)
    summ = pd.DataFrame(metrics["summary"])
    rows = []
    for name, run in runs.items():
        arm = f"+{name}"
        d = per_seed.get(arm, np.array([]))
        gap = summ[(summ["arm"] == arm) & (summ["metric"] == "cvr_auc@click-space")]
        rows.append({
            "method": name,
            "rows/s": run.rows_per_s,
            "rows": run.rows,
            "cat. CVR AUC Δ": float(np.mean(d)) if len(d) else math.nan,
            "± std": float(np.std(d, ddof=1)) if len(d) > 1 else math.nan,
            "gap closed": float(gap["gap_closed"].iloc[0]) if len(gap) else math.nan,
            "DCR": _dcr(report.get("data", {}), name),
        })
    return pd.DataFrame(rows)


def _per_seed_category_delta(metrics: dict[str, Any], targets: list[str]) -> dict[str, np.ndarray]:
    """Per arm and seed: mean over target categories of (arm - real-only) click-space CVR AUC."""
    names = [f"cvr_auc@click-space[cat={t}]" for t in targets]
    by = {}
    for r in metrics["runs"]:
        vals = [r["metrics"].get(n, {}).get("value") for n in names]
        by[(r["arm"], r["seed"])] = np.array([np.nan if v is None else v for v in vals], float)
    out: dict[str, np.ndarray] = {}
    for (arm, seed), v in by.items():
        if arm == "real-only":
            continue
        base = by.get(("real-only", seed))
        if base is None:
            continue
        out.setdefault(arm, [])  # type: ignore[arg-type]
        diff = v - base
        out[arm].append(float(np.nanmean(diff)) if np.isfinite(diff).any() else math.nan)  # type: ignore[union-attr]
    return {k: np.asarray(v, float) for k, v in out.items()}


def _dcr(report: dict[str, Any], name: str) -> float:
    """Share of synthetic rows closer to train than to holdout (0.5 is ideal)."""
    try:
        v = report["sets"][name]["properties"]["privacy"]["summary"]["dcr_share_closer_to_train"]
    except (KeyError, TypeError):
        return math.nan
    return math.nan if v is None else float(v)


def check_out_dir(out: Path) -> None:
    """Refuse an out directory that holds something other than an earlier demo."""
    if out.exists() and any(out.iterdir()) and not (out / "summary.json").exists() \
            and not (out / "generate").exists():
        raise UsageError(f"{str(out)!r} is not empty and holds no earlier demo. Fix: pass a new "
                         "or empty --out directory.")
