"""Detection (real-vs-synthetic classifier) and k-NN precision/recall/density/coverage."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from evaluators.context import EvalContext
from evaluators.metrics.detection import DetectionAUC, detection_auc
from evaluators.metrics.precision_recall import prdc
from evaluators.properties.base import Property, PropertyResult, mean_score

__all__ = ["Detection", "PrecisionRecall"]


class Detection(Property):
    """Cross-validated AUC of a classifier separating real from synthetic rows."""

    name: ClassVar[str] = "detection"
    title: ClassVar[str] = "Detection"
    description: ClassVar[str] = ("Can a classifier tell synthetic rows from real ones? "
                                  "Score 1 - 2*(max(AUC, 0.5) - 0.5): 1 = indistinguishable.")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        ref = ctx.reference(synthetic)
        real = ctx.sample(ref.real, ctx.options.max_rows)
        syn = ctx.sample(ref.synthetic, ctx.options.max_rows, salt=1)
        opts = ctx.options
        out = detection_auc(real[ref.columns], syn[ref.columns],
                            classifier=opts.detection_classifier, folds=opts.folds,
                            seed=opts.seed)
        details = pd.DataFrame({"fold": range(1, len(out["fold_aucs"]) + 1),
                                "auc": out["fold_aucs"]})
        top = dict(sorted(out["importance"].items(), key=lambda kv: -kv[1])[:10])
        notes = [f"reference: {ref.note}",
                 f"{opts.detection_classifier} classifier, {opts.folds}-fold stratified CV on "
                 f"{len(real)} real + {len(syn)} synthetic rows (each side capped at "
                 f"{opts.max_rows}, seeded)"]
        if pd.isna(out["auc"]):
            notes.append(f"too few rows for {opts.folds}-fold cross-validation")
        return PropertyResult(
            self.name, DetectionAUC.normalize(out["auc"]), details,
            {"auc": out["auc"], "real_rows": len(real), "synthetic_rows": len(syn),
             "top_features": top}, notes)


class PrecisionRecall(Property):
    """k-NN precision (fidelity), recall (diversity), density and coverage on encoded rows."""

    name: ClassVar[str] = "precision_recall"
    title: ClassVar[str] = "Precision / recall"
    description: ClassVar[str] = ("Are synthetic rows inside the real data's support "
                                  "(precision) and do they cover it (recall, coverage)? Score = "
                                  "mean of k-NN precision and coverage.")

    def _compute(self, ctx: EvalContext, synthetic: pd.DataFrame) -> PropertyResult:
        ref = ctx.reference(synthetic)
        real = ctx.sample(ref.real, ctx.options.knn_rows)
        syn = ctx.sample(ref.synthetic, ctx.options.knn_rows, salt=1)
        enc = ctx.encoder(ref.columns, real)
        k = ctx.options.k
        vals = prdc(enc.distance_matrix(real), enc.distance_matrix(syn), k=k)
        details = pd.DataFrame({"metric": list(vals), "value": list(vals.values())})
        notes = [f"reference: {ref.note}",
                 f"k={k}; {len(real)} real and {len(syn)} synthetic rows (each side capped at "
                 f"{ctx.options.knn_rows}, seeded); distance: numerical columns scaled to the "
                 "real range, one differing category adds 1 to the squared distance"]
        if pd.isna(vals["precision"]):
            notes.append(f"needs more than k={k} rows on each side")
        notes.append("score = mean of precision and coverage; recall is shown but not scored: "
                     "a few outlying synthetic rows get huge k-NN radii and inflate it (Naeem "
                     "et al. 2020), coverage is its robust counterpart")
        return PropertyResult(self.name, mean_score([vals["precision"], vals["coverage"]]),
                              details, dict(vals, real_rows=len(real), synthetic_rows=len(syn)),
                              notes)
