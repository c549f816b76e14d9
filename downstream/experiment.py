"""The augmentation experiment: real-only vs real + each synthetic set (and/or
global-conversion rows) on the same split and seeds.

Synthetic and global rows are added to the *training* rows only; validation
(early stopping) and test rows are always the real ones of the split.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from downstream.adapters import read_run_dir, read_table
from downstream.data import SYNTHETIC_COL, WEIGHT_COL
from downstream.fit import ModelOptions, auto_neg_rate, fit_esmm
from downstream.globalrows import prepare_global_rows
from downstream.provenance import check_synthetic_provenance
from downstream.ruler import Instrument
from downstream.summary import CEILINGS, ceiling_shares, summarize
from downstream.trainer import TrainConfig
from samplegen.datasets.base import Source
from samplegen.errors import DataError, Problem, SchemaError, UsageError
from samplegen.schema import Schema

__all__ = ["ExperimentResult", "run_experiment", "load_synthetic", "BASELINE"]

log = logging.getLogger(__name__)
BASELINE = "real-only"
GLOBAL_ARM = "+global"


@dataclass
class ExperimentResult:
    """Per-run metrics and their summary (see :func:`downstream.summary.summarize`)."""

    runs: list[dict[str, Any]]
    summary: pd.DataFrame
    arms: list[str]
    seeds: list[int]
    targets: list[str]
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready dict (NaN -> None)."""
        summ = self.summary.to_dict(orient="records")
        out = {"protocol": _PROTOCOL, "arms": self.arms, "seeds": self.seeds,
               "targets": self.targets, "config": self.config, "summary": summ,
               "runs": self.runs}
        if any(a in CEILINGS for a in self.arms):
            per = [m for m in dict.fromkeys(self.summary["metric"])
                   if m.startswith("cvr_auc@click-space[")]
            out["ceiling_shares"] = {m: ceiling_shares(self.summary, m) for m in per}
        return _clean(out)

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON (``metrics.json``)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.to_dict(), indent=2, default=_json_safe, allow_nan=False))
        return p

    def table(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Wide view: one row per (metric, arm) with mean, std, delta, p, gap closed."""
        s = self.summary
        if metrics is not None:
            s = s[s["metric"].isin(metrics)]
        return s[["metric", "arm", "mean", "std", "delta", "p_value", "oracle", "gap_closed"]]


_PROTOCOL = {
    "test": "real rows of the split's test part; never seen by generators or training",
    "cvr_auc@click-space": "clicked test rows, label conversion, score pCVR (ESMM paper)",
    "cvr_auc@entire-space": "all test rows, label click*conversion, score pCVR (NISE)",
    "ctcvr_auc": "all test rows, label click*conversion, score pCTR*pCVR",
    "ctr_auc": "all test rows, label click, score pCTR",
    "calibration": "sum predicted / sum observed after q = p / (p + k(1-p)) for "
                   "non-clicks kept at rate 1/k",
    "cvr_level@click-space": "a target's mean predicted pCVR on its clicked test rows over "
                             "their mean true pCVR (simulator) or observed CVR; 1.0 is right",
    "[targets]": "mean over the target categories of the per-target metric, per seed",
    "delta": "paired difference to real-only over seeds; ci = 95% t-interval; an interval "
             "that covers 0 is 'not resolved'",
    "auc": "global over the whole test set, never an average of batch AUCs",
}


def load_synthetic(obj: pd.DataFrame | str | Path, schema: Schema, name: str = "synthetic"
                   ) -> pd.DataFrame:
    """Synthetic rows coerced to ``schema``, flagged ``is_synthetic=1``.

    Raises :class:`SchemaError` (exit 2) when the set lacks a feature or label
    column of the real schema, or when its run directory's schema differs.
    """
    manifest: dict[str, Any] = {}
    if isinstance(obj, (str, Path)) and Path(obj).is_dir():
        df, manifest = read_run_dir(obj)
        sp = Path(obj) / "schema.json"
        if sp.exists():
            other = Schema.load(sp)
            if other.fingerprint() != schema.fingerprint():
                diff = sorted({(c.name, c.role.value, c.type.value) for c in other.columns}
                              ^ {(c.name, c.role.value, c.type.value) for c in schema.columns})
                raise SchemaError([Problem(None, f"synthetic set {name!r} has a schema "
                                           f"different from the real data (differences: "
                                           f"{diff[:6]}).", "generate it from this source")])
    else:
        df = read_table(obj).copy()
        df[SYNTHETIC_COL] = 1
    need = [*schema.features, schema.click, schema.conversion]
    missing = [c for c in need if c and c not in df.columns]
    if missing:
        raise SchemaError([Problem(c, f"is in the real schema but missing from synthetic set "
                                   f"{name!r}.", "generate the set from this source's schema")
                           for c in missing])
    for a in schema.aux_labels:
        if a not in df.columns:
            log.warning("synthetic set %r lacks auxiliary label %r; set to 0", name, a)
            df[a] = 0
    extra = [c for c in (WEIGHT_COL,) if c in df.columns]
    out = schema.coerce(df[[c for c in schema.names if c in df.columns] + extra])
    out[SYNTHETIC_COL] = 1
    return out


def run_experiment(source: Source, split: Any,
                   synthetic_sets: dict[str, pd.DataFrame | str | Path] | None = None, *,
                   seeds: int | Sequence[int] = 5, targets: list[str] | None = None,
                   global_rows: bool | pd.DataFrame = False, global_mode: str = "labels",
                   global_weight: float = 1.0, synthetic_weight: float = 1.0,
                   options: ModelOptions | None = None,
                   train_config: TrainConfig | None = None, progress: bool = False,
                   paired: str = "ttest", instrument: Instrument | None = None,
                   level: str | float | dict[str, float] | None = None,
                   level_fix: str = "weights") -> ExperimentResult:
    """Train real-only and real+each set on the same split and seeds; summarise.

    Arms: ``real-only``; ``+<name>`` per synthetic set; with ``global_rows``
    (``True`` takes ``source.extras["global_candidates"]``) also ``+global`` and
    ``+global+<name>``. ``targets`` default to the cold-start and sparse
    categories of the training rows (``samplegen.split.sparse_categories``).
    ``paired`` is the paired test against real-only: ``"ttest"`` or ``"wilcoxon"``.
    With an ``instrument`` (travel-sim, :class:`downstream.ruler.Instrument`), the
    per-target click-space metrics come from its enlarged test, its ceiling arms
    (``+fresh-positives``, ``+fresh-impressions``) are trained too, and the config
    records the truth lift of every set. Per-target metrics are also averaged over
    the targets (``...[targets]``) so that one paired interval covers them.
    ``level`` (``"auto"``, a rate, ``{target: rate}``; ``None``/``"none"``: off)
    brings each target to that conversion level (``level_fix``: ``"weights"`` of
    the synthetic rows, or a per-target CVR ``"offset"`` at inference) and checks
    every model's level on the validation rows (:mod:`downstream.recipe`).
    """
    if paired not in ("ttest", "wilcoxon"):
        raise UsageError(f"paired={paired!r}: use 'ttest' or 'wilcoxon'.")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list or (isinstance(seeds, int) and seeds < 1):
        raise UsageError(f"seeds={seeds!r}: need at least one seed. Fix: pass --seeds 5.")
    schema = source.schema
    if schema.click is None or schema.conversion is None:
        raise DataError("the source has no click or no conversion column. Fix: name them "
                        "with --click/--conversion.")
    train, valid, test = _frames(source, split)
    synth, integrity = {}, {}
    for name, obj in (synthetic_sets or {}).items():
        run_dir = obj if isinstance(obj, (str, Path)) and Path(obj).is_dir() else None
        synth[name] = load_synthetic(obj, schema, name)
        integrity[name] = check_synthetic_provenance(run_dir, source, split, synth[name])
    glob = _global_frame(source, global_rows, global_mode, global_weight)
    if targets is None:
        targets = _default_targets(train, schema)
    oracle = None
    if source.oracle is not None:
        oracle = source.oracle.iloc[np.asarray(split.test)].reset_index(drop=True)
    level_cfg: dict[str, Any] | None = None
    if level is not None and level != "none" and targets:
        from downstream.recipe import plan_level

        synth, level_cfg = plan_level(level, synth, train, valid, schema, list(targets),
                                      source.extras, fix=level_fix)
    arms = _arms(synth, glob)
    ceilings = dict(instrument.arms) if instrument is not None else {}
    arms += [(name, [name]) for name in ceilings]
    opts = options or ModelOptions()
    if opts.neg_rate is None:  # one rate for every arm, from the real training rows
        opts = ModelOptions.from_dict({**opts.__dict__,
                                       "neg_rate": auto_neg_rate(train, schema.click)})
    if glob is not None and global_mode == "head":
        opts = ModelOptions.from_dict({**opts.__dict__, "global_mode": "head"})
    base_tc = train_config or TrainConfig()
    runs: list[dict[str, Any]] = []
    jobs = [(s, a) for s in seed_list for a in arms]
    it: Any = jobs
    if progress:
        from samplegen.progress import bar

        it = bar(jobs, desc="validate", unit=" runs")
    for seed, (arm, parts) in it:
        extra = [glob if p == "global" else ceilings[p] if p in ceilings else synth[p]
                 for p in parts]
        rows = _training_rows(train, extra, synthetic_weight)
        tc = TrainConfig(**{**base_tc.__dict__, "seed": seed})
        t0 = time.perf_counter()
        fitted = fit_esmm(rows, schema, valid=valid, options=opts, train_config=tc)
        if level_cfg is not None:
            from downstream.recipe import level_model

            fitted = level_model(fitted, valid, schema, level_cfg)
        metrics = _evaluate(fitted, test, targets, oracle, instrument)
        if level_cfg is not None:
            from downstream.recipe import valid_level

            metrics.update(valid_level(fitted, valid, schema, level_cfg["rates"]))
        runs.append({"arm": arm, "seed": seed, "metrics": metrics, "train_rows": len(rows),
                     "seconds": round(time.perf_counter() - t0, 2),
                     "epochs": len(fitted.history.train_loss),
                     "samples_per_s": fitted.history.samples_per_s})
        log.info("%s seed %d: ctcvr auc %.4f", arm, seed, metrics["ctcvr_auc"]["value"])
    config = {"paired_test": paired, "options": opts.__dict__, "train": base_tc.__dict__,
              "global_mode": global_mode,
              "global_weight": global_weight, "synthetic_weight": synthetic_weight,
              "rows": {"train": len(train), "valid": len(valid), "test": len(test),
                       **{f"synthetic:{k}": len(v) for k, v in synth.items()},
                       **({"global": len(glob)} if glob is not None else {})},
              "split": _split_info(split), "integrity": integrity}
    if level_cfg is not None:
        config["level"] = level_cfg
    if instrument is not None:
        config["instrument"] = {**instrument.protocol, "truth": instrument.truth(synth),
                                "ceiling_rows": {k: len(v) for k, v in ceilings.items()}}
    return ExperimentResult(runs, summarize(runs, BASELINE, paired), [a for a, _ in arms], seed_list,
                            list(targets), config)


# ------------------------------------------------------------------ helpers
def _evaluate(fitted: Any, test: pd.DataFrame, targets: list[str], oracle: pd.DataFrame | None,
              instrument: Instrument | None) -> dict[str, dict[str, Any]]:
    """Global metrics on the split's test; per-target click-space ones on the enlarged test
    when there is an instrument; plus their mean over the targets (``[targets]``)."""
    metrics = fitted.evaluate(test, targets=targets, oracle=oracle)
    if instrument is not None and targets:
        enlarged = fitted.evaluate(instrument.target_test, targets=targets,
                                   oracle=instrument.target_oracle)
        for name, rec in enlarged.items():
            if "[cat=" in name and "click-space" in name:
                metrics[name] = {**rec, "test": "enlarged"}
    for base in ("cvr_auc@click-space", "cvr_level@click-space"):
        vals = [metrics.get(f"{base}[cat={t}]", {}).get("value") for t in targets]
        vals = [v for v in vals if v is not None and not math.isnan(v)]
        if len(targets) > 1 and len(vals) == len(targets):
            metrics[f"{base}[targets]"] = {
                "value": float(np.mean(vals)), "task": "cvr", "protocol": "click-space",
                "kind": "level" if "level" in base else "auc", "category": "targets",
                "mean_of": list(targets)}
    return metrics


def _frames(source: Source, split: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    if hasattr(split, "frames"):
        tr, va, te = split.frames(source)
    else:
        t = source.table
        tr, va, te = (t.iloc[np.asarray(split.train)], t.iloc[np.asarray(split.valid)],
                      t.iloc[np.asarray(split.test)])
    tr, va, te = (source.schema.coerce(x).reset_index(drop=True) for x in (tr, va, te))
    for n, x in (("train", tr), ("test", te)):
        if len(x) == 0:
            raise DataError(f"the {n} part of the split is empty. Fix: use more rows.")
    return tr, va, te


def _default_targets(train: pd.DataFrame, schema: Schema) -> list[str]:
    if schema.category is None:
        return []
    try:
        from samplegen.split import sparse_categories
    except ImportError:  # pragma: no cover - the split module lands separately
        log.warning("samplegen.split is not available; no target categories")
        return []
    rep = sparse_categories(train, schema)
    return list(dict.fromkeys([*rep.cold_start, *rep.sparse]))


def _global_frame(source: Source, global_rows: bool | pd.DataFrame, mode: str, weight: float
                  ) -> pd.DataFrame | None:
    if global_rows is False or global_rows is None:
        return None
    if isinstance(global_rows, pd.DataFrame):
        cands = global_rows
    else:
        cands = source.extras.get("global_candidates")
        if cands is None:
            raise UsageError(f"source {source.name!r} has no global-conversion candidates. "
                             "Fix: use travel-sim or pass a candidates table.")
    rows = prepare_global_rows(cands, source.schema, mode=mode, weight=weight)
    return source.schema.coerce(rows)


def _arms(synth: dict[str, pd.DataFrame], glob: pd.DataFrame | None
          ) -> list[tuple[str, list[str]]]:
    arms: list[tuple[str, list[str]]] = [(BASELINE, [])]
    if glob is not None:
        arms.append((GLOBAL_ARM, ["global"]))
    arms += [(f"+{n}", [n]) for n in synth]
    if glob is not None:
        arms += [(f"+global+{n}", ["global", n]) for n in synth]
    return arms


def _training_rows(train: pd.DataFrame, extra: list[pd.DataFrame], syn_weight: float
                   ) -> pd.DataFrame:
    if not extra:
        return train
    parts = [train]
    for e in extra:
        e = e.copy()
        if SYNTHETIC_COL in e.columns and e[SYNTHETIC_COL].eq(1).all():
            base = e[WEIGHT_COL] if WEIGHT_COL in e.columns else 1.0
            e[WEIGHT_COL] = base * syn_weight
        parts.append(e)
    return pd.concat(parts, ignore_index=True, sort=False)


def _split_info(split: Any) -> dict[str, Any]:
    info: dict[str, Any] = {k: int(len(getattr(split, k))) for k in ("train", "valid", "test")}
    rule = getattr(split, "rule", None)
    if rule is not None:
        info["rule"] = rule
    return info


def _clean(o: Any) -> Any:
    """NaN -> None recursively (strict JSON)."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (float, np.floating)):
        return None if math.isnan(float(o)) else float(o)
    if isinstance(o, np.integer):
        return int(o)
    return o


def _json_safe(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if math.isnan(float(o)) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
