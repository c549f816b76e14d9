"""The quality report: every property for each synthetic set, side by side."""

from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from evaluators.context import EvalContext, ReportOptions
from evaluators.properties import DownstreamLift, default_properties, load_validate_metrics
from evaluators.properties.base import PropertyResult, mean_score, to_jsonable
from evaluators.properties.privacy import check_holdout
from samplegen.errors import SamplegenError, UsageError
from samplegen.progress import waiting
from samplegen.schema import Schema

__all__ = ["QualityReport"]

log = logging.getLogger(__name__)

#: columns a synthetic set may carry beyond the schema (flags and weights)
ALLOWED_EXTRA = ("is_synthetic", "sample_weight")


class QualityReport:
    """Fidelity, detection, precision/recall, privacy, utility, attribution and downstream lift.

    ``generate`` fills the report; ``get_score``/``get_properties``/
    ``get_details`` read it; ``save`` writes ``report.json`` and ``report.html``.
    """

    def __init__(self, options: ReportOptions | None = None, **kwargs: Any) -> None:
        self.options = options or ReportOptions(**kwargs)
        self.results: dict[str, dict[str, PropertyResult]] = {}
        self.downstream: PropertyResult | None = None
        self.meta: dict[str, Any] = {}
        self._properties = default_properties()

    # --------------------------------------------------------------- generate
    def generate(self, real_train: pd.DataFrame, real_holdout: pd.DataFrame,
                 synthetic_sets: dict[str, pd.DataFrame], schema: Schema, *,
                 targets: list[str] | None = None,
                 validate_metrics: dict[str, Any] | str | Path | None = None,
                 meta: dict[str, Any] | None = None) -> QualityReport:
        """Compute every property for every synthetic set (validates inputs first)."""
        self._validate(real_train, real_holdout, synthetic_sets, schema)
        if isinstance(validate_metrics, (str, Path)):
            validate_metrics = load_validate_metrics(validate_metrics)
        t0 = time.perf_counter()
        with waiting(f"report: preparing {len(real_train):,} real rows"):
            keep = [c.name for c in schema.columns if c.is_feature or c.is_label]
            train, holdout = (schema.coerce(df[[c for c in keep if c in df.columns]])
                              for df in (real_train, real_holdout))
            sets = {name: _coerce_synthetic(schema, df, keep)
                    for name, df in synthetic_sets.items()}
            resolved, target_note = _resolve_targets(targets, train, holdout, sets, schema)
            ctx = EvalContext(train, holdout, schema, resolved, self.options)
        prepare_s = time.perf_counter() - t0
        self.results = {name: self._run_set(ctx, name, df) for name, df in sets.items()}
        self.downstream = DownstreamLift().compute(validate_metrics, resolved)
        self.meta = {
            **(meta or {}),
            "targets": resolved,
            "targets_note": target_note,
            "rows": {"real_train": len(train), "real_holdout": len(holdout),
                     **{f"synthetic:{n}": len(d) for n, d in sets.items()}},
            "options": {k: getattr(self.options, k) for k in self.options.__dataclass_fields__},
            "seconds": round(time.perf_counter() - t0, 2),
            "prepare_seconds": round(prepare_s, 2),
            "python": platform.python_version(),
        }
        return self

    def _run_set(self, ctx: EvalContext, name: str, df: pd.DataFrame
                 ) -> dict[str, PropertyResult]:
        out: dict[str, PropertyResult] = {}
        with waiting(f"report: {name}", total=len(self._properties), unit=" sections",
                     poll=lambda: len(out)) as pb:
            for prop in self._properties:
                key = getattr(prop, "key", prop.name)
                pb.set_description(f"report: {name}: {key}", refresh=False)
                out[key] = self._run_property(ctx, prop, key, name, df)
        return out

    def _run_property(self, ctx: EvalContext, prop: Any, key: str, name: str,
                      df: pd.DataFrame) -> PropertyResult:
        t = time.perf_counter()
        try:
            res = prop.compute(ctx, df)
        except SamplegenError:
            raise
        except Exception as e:  # noqa: BLE001 - one failing property must not sink a report
            if self.options.strict:
                raise
            log.exception("property %s failed on %s", key, name)
            res = PropertyResult(key, float("nan"), pd.DataFrame(),
                                 notes=[f"failed: {type(e).__name__}: {e}"])
        res.name, res.seconds = key, time.perf_counter() - t
        return res

    def _validate(self, train: pd.DataFrame, holdout: pd.DataFrame, sets: dict[str, pd.DataFrame],
                  schema: Schema) -> None:
        if not isinstance(sets, dict) or not sets:
            raise UsageError("no synthetic set given. Fix: pass at least one set "
                             "(--synthetic DIR).")
        if len(train) == 0:
            raise UsageError("the real training data has no rows. Fix: check the source.")
        need = [c for c in [*schema.features, schema.click, schema.conversion]
                if c is not None and c in train.columns]
        for name, df in sets.items():
            if not isinstance(df, pd.DataFrame) or len(df) == 0:
                raise UsageError(f"synthetic set {name!r} is empty. Fix: generate rows first "
                                 "('samplegen generate ... --n N') or drop the set.")
            missing = [c for c in need if c not in df.columns]
            extra = [c for c in df.columns if c not in schema.names
                     and c not in ALLOWED_EXTRA and not str(c).startswith("_")]
            if missing or extra:
                parts = []
                if missing:
                    parts.append(f"lacks real column(s) {missing}")
                if extra:
                    parts.append(f"has column(s) {extra} that the real schema does not know")
                raise UsageError(f"synthetic set {name!r} does not match the real schema: "
                                 f"{'; '.join(parts)}. Fix: generate the set from this source "
                                 "(same columns), or pass the source it was generated from.")
        check_holdout(holdout, self.options.min_holdout_rows)

    # ------------------------------------------------------------------ read
    @property
    def set_names(self) -> list[str]:
        return list(self.results)

    def get_scores(self) -> dict[str, float]:
        """Overall score per synthetic set: mean of its property scores (downstream excluded)."""
        self._check_generated()
        return {n: mean_score(r.score for r in res.values()) for n, res in self.results.items()}

    def get_score(self, synthetic: str | None = None) -> float:
        """Overall score of one synthetic set (the only one when ``synthetic`` is None)."""
        return self.get_scores()[self._name(synthetic)]

    def get_properties(self) -> pd.DataFrame:
        """One row per (synthetic set, property) with its score."""
        self._check_generated()
        rows = [(n, k, r.score) for n, res in self.results.items() for k, r in res.items()]
        return pd.DataFrame(rows, columns=["synthetic", "property", "score"])

    def get_details(self, property_name: str, synthetic: str | None = None) -> pd.DataFrame:
        """The details table of a property (all sets stacked, or one set)."""
        self._check_generated()
        if property_name == DownstreamLift.name:
            return self.downstream.details if self.downstream is not None else pd.DataFrame()
        known = list(next(iter(self.results.values())))
        if property_name not in known:
            raise UsageError(f"unknown property {property_name!r}; known: "
                             f"{known + [DownstreamLift.name]}")
        names = [self._name(synthetic)] if synthetic is not None else self.set_names
        frames = [self.results[n][property_name].details.assign(synthetic=n) for n in names]
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """Every number of the report (JSON-ready)."""
        self._check_generated()
        scores = self.get_scores()
        return to_jsonable({
            "meta": self.meta,
            "sets": {n: {"score": scores[n],
                         "properties": {k: r.to_dict() for k, r in res.items()}}
                     for n, res in self.results.items()},
            "downstream": self.downstream.to_dict() if self.downstream else None,
        })

    def save(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``report.json`` and ``report.html`` into ``out_dir``; return their paths."""
        from evaluators.html import render_html

        self._check_generated()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        html = render_html(self)
        self.meta["render_seconds"] = round(time.perf_counter() - t, 2)
        jpath, hpath = out / "report.json", out / "report.html"
        jpath.write_text(json.dumps(self.to_dict(), indent=2, default=str))
        hpath.write_text(html, encoding="utf-8")
        return jpath, hpath

    def _name(self, synthetic: str | None) -> str:
        self._check_generated()
        if synthetic is None:
            if len(self.results) != 1:
                raise UsageError(f"the report holds several sets {self.set_names}; name one.")
            return self.set_names[0]
        if synthetic not in self.results:
            raise UsageError(f"no synthetic set {synthetic!r}; known: {self.set_names}")
        return synthetic

    def _check_generated(self) -> None:
        if not self.results:
            raise UsageError("the report is empty. Fix: call generate(...) first.")


def _coerce_synthetic(schema: Schema, df: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    cols = [c for c in keep if c in df.columns]
    return schema.coerce(df[cols].reset_index(drop=True))


def _resolve_targets(targets: list[str] | None, train: pd.DataFrame, holdout: pd.DataFrame,
                     sets: dict[str, pd.DataFrame], schema: Schema) -> tuple[list[str], str]:
    cat = schema.category
    if cat is None or cat not in train.columns:
        return [], "no category column: target-category properties use every row"
    known = set(train[cat].dropna()) | set(holdout[cat].dropna())
    for df in sets.values():
        known |= set(df[cat].dropna()) if cat in df.columns else set()
    if targets:
        unknown = [t for t in targets if t not in known]
        if unknown:
            raise UsageError(f"target categor(ies) {unknown} appear in neither the real nor the "
                             f"synthetic data. Fix: use categories of column {cat!r}: "
                             f"{sorted(known)[:30]}")
        return list(targets), "targets given by the caller"
    try:
        from samplegen.split import sparse_categories

        rep = sparse_categories(train, schema)
        found = list(dict.fromkeys([*rep.cold_start, *rep.sparse]))
    except ImportError:  # pragma: no cover - split lands with the foundation issue
        found = []
    if found:
        return found, "sparse and cold-start categories of the training split"
    syn_cats: list[str] = []
    for df in sets.values():
        if cat in df.columns:
            syn_cats += [c for c in df[cat].dropna().unique() if c not in syn_cats]
    return sorted(syn_cats), "no sparse category found: the categories of the synthetic sets"

