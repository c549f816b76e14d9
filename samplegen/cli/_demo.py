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

@dataclass
class DemoConfig:
    """Sizes of the demo; ``quick()`` is the 3-minute smoke version."""

    n_impressions: int | None = None  # travel-sim default size
    n_synthetic: int = 40  # per method, split over the demo targets (LLM-bound on CPU)
    n_targets: int = 2  # the cold-start categories with the fewest training conversions
    seeds: int = 10  # per-target differences of ~0.01 need them (seed spread ~0.01-0.02)
    epochs: int = 3
    test_conversions: int = 1000  # per target, from same-world draws in the test window
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
        return cls(n_impressions=1_000_000, n_synthetic=16, seeds=3, epochs=2, neg_rate=0.05,
                   test_conversions=300, llm_params={"per_cluster": 1})


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
        train, _, _ = split.frames(src)
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

    table = summary_table(runs, metrics, report, targets)
    (out / "summary.json").write_text(json.dumps({
        "table": table.replace({np.nan: None}).to_dict(orient="records"),
        "targets": targets, "protocol": metrics.get("protocol"),
        "instrument": {k: v for k, v in metrics["config"].get("instrument", {}).items()
                       if k != "truth"}, "seconds": round(time.perf_counter() - t_start, 1),
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


def _validate(src: Source, split: Any, runs: dict[str, MethodRun], targets: list[str],
              cfg: DemoConfig, out: Path) -> dict[str, Any]:
    from downstream.experiment import load_synthetic, run_experiment
    from downstream.fit import ModelOptions
    from downstream.ruler import Instrument, largest_set_rows
    from downstream.trainer import TrainConfig

    sets = {k: load_synthetic(r.out, src.schema, k) for k, r in runs.items()}
    instrument = Instrument.build(src, split, targets, min_test_conversions=cfg.test_conversions,
                                  fresh_positives=largest_set_rows(sets, src.schema.category,
                                                                   targets))
    result = run_experiment(src, split, {k: r.out for k, r in runs.items()}, seeds=cfg.seeds,
                            targets=targets, options=ModelOptions(neg_rate=cfg.neg_rate),
                            train_config=TrainConfig(epochs=cfg.epochs), progress=True,
                            instrument=instrument)
    path = result.save(out / "validate" / "metrics.json")
    return json.loads(path.read_text())


def _report(src: Source, split: Any, runs: dict[str, MethodRun], targets: list[str],
            cfg: DemoConfig, out: Path) -> dict[str, Any]:
    from evaluators.report import QualityReport
    from samplegen.datasets.travel_sim_truth import SimWorld

    train, _, test = split.frames(src)
    sets = {k: pd.read_parquet(r.out / "synthetic.parquet") for k, r in runs.items()}
    rep = QualityReport(max_rows=cfg.report_rows).generate(
        train, test, sets, src.schema, targets=targets,
        validate_metrics=out / "validate" / "metrics.json", meta={"source": src.name},
        world=SimWorld.from_source(src))
    json_path, html_path = rep.save(out / "report")
    return {"json": json_path, "html": html_path, "data": rep.to_dict()}


#: the demo table's columns (see ``samplegen demo``'s footnote)
TARGETS_AUC = "cvr_auc@click-space[targets]"


def summary_table(runs: dict[str, MethodRun], metrics: dict[str, Any], report: dict[str, Any],
                  targets: list[str]) -> pd.DataFrame:
    """One row per arm: rows/s, truth lift, level per target, per-target ranking delta with its
    CI and share of the fresh-real ceilings, global click-space CVR and CTCVR AUC deltas."""
    from downstream.summary import ceiling_shares
    from evaluators.scores import dcr_share

    summ = pd.DataFrame(metrics["summary"])
    inst = metrics.get("config", {}).get("instrument", {})
    ranking = TARGETS_AUC if len(targets) > 1 else f"cvr_auc@click-space[cat={targets[0]}]"
    shares = ceiling_shares(summ, ranking)
    rows = []
    for arm in metrics["arms"]:
        name = arm.removeprefix("+")
        run = runs.get(name)
        rec: dict[str, Any] = {"arm": arm, "rows/s": _rate(run)}
        rec["truth lift (structural)"] = _truth(inst.get("truth", {}).get(name))
        rec["level pred/true"] = ", ".join(
            f"{t} {_cell(summ, arm, f'cvr_level@click-space[cat={t}]', 'mean', '.2f')}"
            for t in targets)
        rec["targets CVR AUC Δ [95% CI]"] = _delta(summ, arm, ranking)
        rec["share of ceilings"] = ", ".join(
            f"{c.removeprefix('+fresh-')} {_pct(v)}" for c, v in shares.get(arm, {}).items())
        rec["CVR AUC Δ (click-space)"] = _delta(summ, arm, "cvr_auc@click-space")
        rec["CTCVR AUC Δ"] = _delta(summ, arm, "ctcvr_auc")
        rec["DCR"] = _fmt_num(dcr_share(report.get("data", {}), name), ".2f") if run else ""
        rows.append(rec)
    for ref in ("real training positives", "real test positives", "real test clicks"):
        rows.append({"arm": f"({ref})", "truth lift (structural)":
                     _truth(inst.get("truth", {}).get(ref))})
    return pd.DataFrame(rows).fillna("")


def _rate(run: MethodRun | None) -> str:
    return "" if run is None else f"{run.rows_per_s:,.2f}"


def _fmt_num(v: Any, spec: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:.0%}"


def _cell(summ: pd.DataFrame, arm: str, metric: str, col: str, spec: str) -> str:
    r = summ[(summ["arm"] == arm) & (summ["metric"] == metric)]
    return _fmt_num(r[col].iloc[0] if len(r) else None, spec)


def _delta(summ: pd.DataFrame, arm: str, metric: str) -> str:
    """``+0.0123 [+0.0010, +0.0250]``, or ``not resolved (+0.0040 [-0.0010, +0.0090])``."""
    r = summ[(summ["arm"] == arm) & (summ["metric"] == metric)]
    if arm == "real-only" or r.empty or pd.isna(r["delta"].iloc[0]):
        return ""
    r = r.iloc[0]
    txt = f"{r['delta']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]"
    return txt if r["resolved"] in ("gain", "loss") else f"not resolved ({txt})"


def _truth(recs: list[dict[str, Any]] | None) -> str:
    """Mean over targets of truth lift (structural), e.g. ``0.59 (0.79)``."""
    if not recs:
        return ""
    lift = [r["lift"] for r in recs if r.get("lift") is not None]
    struct = [r["structural_lift"] for r in recs if r.get("structural_lift") is not None]
    if not lift:
        return "n/a"
    return f"{np.mean(lift):.2f} ({np.mean(struct):.2f})"


def check_out_dir(out: Path) -> None:
    """Refuse an out directory that holds something other than an earlier demo."""
    if out.exists() and any(out.iterdir()) and not (out / "summary.json").exists() \
            and not (out / "generate").exists():
        raise UsageError(f"{str(out)!r} is not empty and holds no earlier demo. Fix: pass a new "
                         "or empty --out directory.")
