"""Utility (TSTR, real+synthetic vs real-only) and attribution alignment (SHAP).

Task: predict conversion among clicked rows (the click-space CVR task), with a
LightGBM model, tested on the clicked rows of the real holdout. Synthetic sets
of positives only are completed with the real negatives for TSTR (see
:func:`evaluators.metrics.utility.tstr_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from evaluators.context import EvalContext
from evaluators.encoding import TableEncoder
from evaluators.metrics.attribution import (
    InteractionDistance,
    ShapRankCorrelation,
    mean_abs_interactions,
    mean_abs_shap,
)
from evaluators.metrics.utility import auc, fit_model, predict, tstr_frame
from evaluators.properties.base import Property, PropertyResult, mean_score

__all__ = ["Utility", "Attribution"]


@dataclass
class _Task:
    encoder: TableEncoder
    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    real_model: Any
    note: str


def _task(ctx: EvalContext) -> _Task | str:
    """The real-only CVR task, built once per report (or why it cannot be built)."""
    if "utility_task" in ctx.cache:
        return ctx.cache["utility_task"]
    conv, click = ctx.schema.conversion, ctx.schema.click
    if conv is None or conv not in ctx.train.columns:
        out: _Task | str = "the schema has no conversion column"
    else:
        train, test, space = ctx.train, ctx.holdout, "all rows"
        if click is not None and click in ctx.train.columns:
            train, test, space = train[train[click] == 1], test[test[click] == 1], "clicked rows"
        train = ctx.sample(train, ctx.options.utility_rows, salt=5)
        if train[conv].nunique() < 2:
            out = f"the real training {space} hold a single {conv} class"
        elif test[conv].nunique() < 2:
            out = f"the real holdout {space} hold a single {conv} class: no AUC"
        else:
            enc = ctx.encoder(ctx.features, train)
            model = fit_model(enc.model_frame(train), train[conv].to_numpy(dtype=int),
                              seed=ctx.options.seed)
            note = (f"task: predict {conv} on {space} (click-space CVR); LightGBM, 100 trees; "
                    f"{len(train)} real training rows, {len(test)} real holdout rows")
            out = _Task(enc, train, test, conv, model, note)
    ctx.cache["utility_task"] = out
    return out


def _synthetic_models(ctx: EvalContext, task: _Task, synthetic: pd.DataFrame) -> dict:
    key = f"utility_models:{id(synthetic)}"
    if key in ctx.cache:
        return ctx.cache[key]
    click = ctx.schema.click
    syn = synthetic
    if click is not None and click in syn.columns:
        syn = syn[syn[click] == 1]
    syn = syn.dropna(subset=[task.target])
    enc, seed, y = task.encoder, ctx.options.seed, task.target
    out: dict = {"synthetic_rows": len(syn)}
    if len(syn) == 0:
        out["error"] = "no synthetic rows with a click and a conversion label"
    else:
        aug = pd.concat([task.train, syn[task.train.columns.intersection(syn.columns)]],
                        ignore_index=True)
        out["augmented"] = fit_model(enc.model_frame(aug), aug[y].to_numpy(dtype=int), seed=seed)
        tstr, out["tstr_note"] = tstr_frame(task.train, syn, y)
        out["tstr"] = (fit_model(enc.model_frame(tstr), tstr[y].to_numpy(dtype=int), seed=seed)
                       if tstr[y].nunique() == 2 else None)
    ctx.cache[key] = out
    return out


def _prepared(prop: Property, ctx: EvalContext,
              synthetic: pd.DataFrame) -> tuple[Any, dict[str, Any]] | PropertyResult:
    """The task and the synthetic-trained models, or the empty result that says why not."""
    task = _task(ctx)
    if isinstance(task, str):
        return prop._empty(task)
    if task.target not in synthetic.columns:
        return prop._empty(f"the synthetic set has no {task.target!r} column")
    models = _synthetic_models(ctx, task, synthetic)
    if "error" in models:
        return prop._empty(models["error"])
    return task, models


class Utility(Property):
    """CVR AUC on real holdout rows: real-only vs real+synthetic vs synthetic (TSTR)."""

    name: ClassVar[str] = "utility"
    title: ClassVar[str] = "Utility"
    description: ClassVar[str] = (
        "Click-space CVR AUC of a LightGBM model on real holdout rows, trained on real rows, "
        "real + synthetic rows, or synthetic rows (TSTR). Score = (TSTR AUC - 0.5) / "
        "(real-only AUC - 0.5), clipped to [0, 1].")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        got = _prepared(self, ctx, synthetic)
        if isinstance(got, PropertyResult):
            return got
        task, models = got
        x_test = task.encoder.model_frame(task.test)
        y_test = task.test[task.target].to_numpy(dtype=int)
        preds = {"real_only": predict(task.real_model, x_test),
                 "real_plus_synthetic": predict(models["augmented"], x_test)}
        if models["tstr"] is not None:
            preds["tstr"] = predict(models["tstr"], x_test)
        rows = [("all", len(y_test), int(y_test.sum()),
                 *[auc(y_test, preds[m]) if m in preds else float("nan") for m in _MODELS])]
        cat = ctx.category
        if cat is not None:
            groups = [("targets", task.test[cat].isin(ctx.targets).to_numpy())]
            groups += [(c, (task.test[cat] == c).to_numpy()) for c in ctx.targets]
            for label, mask in groups:
                yy = y_test[mask]
                rows.append((label, int(mask.sum()), int(yy.sum()),
                             *[auc(yy, preds[m][mask]) if m in preds else float("nan")
                               for m in _MODELS]))
        details = pd.DataFrame(rows, columns=["subset", "test_rows", "test_positives",
                                              *[f"auc_{m}" for m in _MODELS]])
        head = details.iloc[0]
        real_auc, tstr_auc = head["auc_real_only"], head["auc_tstr"]
        score = (float(np.clip((tstr_auc - 0.5) / (real_auc - 0.5), 0.0, 1.0))
                 if real_auc > 0.5 and np.isfinite(tstr_auc) else float("nan"))
        if not real_auc > 0.5:
            notes_extra = [f"real-only AUC {real_auc:.3f} <= 0.5 (too few positives?): the "
                           "utility score is left empty"]
        else:
            notes_extra = []
        summary = {"auc_real_only": real_auc, "auc_real_plus_synthetic":
                   head["auc_real_plus_synthetic"], "auc_tstr": tstr_auc,
                   "lift_real_plus_synthetic": head["auc_real_plus_synthetic"] - real_auc,
                   "synthetic_rows_used": models["synthetic_rows"]}
        if len(details) > 1:
            tgt = details.iloc[1]
            summary["targets_lift_real_plus_synthetic"] = (tgt["auc_real_plus_synthetic"]
                                                           - tgt["auc_real_only"])
        notes = [task.note, f"TSTR: {models['tstr_note']}",
                 "TSTR with real negatives partly rewards sets that avoid the negatives' dense "
                 "regions; read it next to detection and fidelity",
                 "one fit per model (seed fixed); the downstream section has multi-seed ESMM "
                 "results when a validate metrics file is given"]
        return PropertyResult(self.name, score, details, summary, notes + notes_extra)


_MODELS = ("real_only", "real_plus_synthetic", "tstr")


class Attribution(Property):
    """Do real-trained and synthetic-trained models rank features and interactions alike?"""

    name: ClassVar[str] = "attribution"
    title: ClassVar[str] = "Attribution alignment"
    description: ClassVar[str] = (
        "Mean |SHAP| per feature of the real-only CVR model vs the TSTR model, both explained "
        "on the same real holdout rows: Spearman rank correlation, and the distance between "
        "their SHAP interaction matrices. Score = mean of (rho + 1) / 2 and 1 - distance.")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        got = _prepared(self, ctx, synthetic)
        if isinstance(got, PropertyResult):
            return got
        task, models = got
        if models["tstr"] is None:
            return self._empty("no TSTR model (single class)")
        x = task.encoder.model_frame(ctx.sample(task.test, ctx.options.shap_rows, salt=6))
        xi = x.iloc[: ctx.options.interaction_rows]
        imp_real = mean_abs_shap(task.real_model, x)
        imp_syn = mean_abs_shap(models["tstr"], x)
        rho = ShapRankCorrelation.compute(imp_real.to_numpy(), imp_syn.to_numpy())
        int_real = mean_abs_interactions(task.real_model, xi)
        int_syn = mean_abs_interactions(models["tstr"], xi)
        dist = InteractionDistance.compute(int_real.to_numpy(), int_syn.to_numpy())
        details = pd.DataFrame({"feature": imp_real.index, "mean_abs_shap_real": imp_real.values,
                                "mean_abs_shap_synthetic": imp_syn.values})
        details["rank_real"] = details["mean_abs_shap_real"].rank(ascending=False)
        details["rank_synthetic"] = details["mean_abs_shap_synthetic"].rank(ascending=False)
        score = mean_score([(rho + 1) / 2 if np.isfinite(rho) else float("nan"),
                            1.0 - dist if np.isfinite(dist) else float("nan")])
        notes = [f"SHAP (TreeExplainer) on {len(x)} real holdout rows; interactions on "
                 f"{len(xi)} rows", f"synthetic-trained model = TSTR: {models['tstr_note']}"]
        return PropertyResult(self.name, score, details,
                              {"spearman": rho, "interaction_distance": dist}, notes,
                              artifacts={"importance_real": imp_real,
                                         "importance_synthetic": imp_syn,
                                         "interactions_real": int_real,
                                         "interactions_synthetic": int_syn})
