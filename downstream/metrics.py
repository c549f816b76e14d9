"""Evaluation metrics: global AUCs with named protocols, LogLoss, calibration, GAUC.

Protocols (DESIGN.md, Evaluation protocol):

* ``ctr_auc``: all test rows, label click, score pCTR;
* ``cvr_auc@click-space``: clicked test rows, label conversion, score pCVR (ESMM paper);
* ``cvr_auc@entire-space``: all test rows, label click*conversion, score pCVR (NISE);
* ``ctcvr_auc``: all test rows, label click*conversion, score pCTCVR;
* per target category: ``cvr_auc@click-space[cat=X]`` and ``cvr_auc@entire-space[cat=X]``;
* ``cvr_level@click-space[cat=X]``: the *level* of a target: mean predicted pCVR on its
  clicked test rows over their mean true pCVR (``pred_over_true``, the value when an
  oracle exists) and over their observed CVR (``pred_over_observed``); 1.0 is right.

Every AUC is global over the whole test set (never an average of batch AUCs).
When true probabilities exist (a simulator's oracle: ``p_click`` and
``p_conversion`` = P(conversion | click)), each AUC record also carries the
oracle AUC of the same metric on the same rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from downstream.data import EncodedTable, correct_probability

__all__ = ["auc", "logloss", "calibration", "gauc", "evaluate", "metric_values"]


def auc(label: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (ties count one half); NaN when only one class is present."""
    y = np.asarray(label, dtype=bool)
    s = np.asarray(score, dtype="float64")
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    from scipy.stats import rankdata  # lazy: scipy.stats is slow to import

    r = rankdata(s)
    return float((r[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def logloss(label: np.ndarray, prob: np.ndarray, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy; NaN on an empty set."""
    y = np.asarray(label, dtype="float64")
    if len(y) == 0:
        return math.nan
    p = np.clip(np.asarray(prob, dtype="float64"), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def calibration(label: np.ndarray, prob: np.ndarray) -> float:
    """Sum of predicted over sum of observed (1.0 is calibrated); NaN without positives."""
    obs = float(np.sum(label))
    return float(np.sum(prob)) / obs if obs > 0 else math.nan


def gauc(label: np.ndarray, score: np.ndarray, group: np.ndarray) -> float:
    """Group AUC: per-group AUC weighted by group size, over groups with both classes."""
    y = np.asarray(label, dtype="float64")
    df = pd.DataFrame({"y": y, "s": np.asarray(score, dtype="float64"),
                       "g": pd.factorize(np.asarray(group))[0]})
    df["r"] = df.groupby("g")["s"].rank(method="average")
    df["ry"] = df["r"] * df["y"]
    agg = df.groupby("g").agg(n=("y", "size"), pos=("y", "sum"), rsum=("ry", "sum"))
    agg = agg[(agg["pos"] > 0) & (agg["pos"] < agg["n"])]
    if agg.empty:
        return math.nan
    neg = agg["n"] - agg["pos"]
    per = (agg["rsum"] - agg["pos"] * (agg["pos"] + 1) / 2) / (agg["pos"] * neg)
    return float((per * agg["n"]).sum() / agg["n"].sum())


def evaluate(pred: dict[str, np.ndarray], table: EncodedTable, *,
             targets: list[str] | None = None, oracle: pd.DataFrame | None = None,
             k_click: float = 1.0) -> dict[str, dict[str, Any]]:
    """Every metric of the protocol as ``{name: {"value", "protocol", "task", ...}}``.

    ``pred`` holds ``p_ctr`` and ``p_cvr`` for the rows of ``table``; ``k_click``
    is the up-sampling factor of clicks in training (non-clicks kept at rate
    1/k): pCTR is corrected with q = p / (p + k (1 - p)) and pCTCVR = q * pCVR
    before LogLoss and calibration (AUCs do not change).
    """
    lab = table.labels()
    click, ctcvr = lab["click"], lab["ctcvr"]
    p_ctr = correct_probability(pred["p_ctr"], k_click)
    p_cvr = np.asarray(pred["p_cvr"], dtype="float64")
    p_ctcvr = p_ctr * p_cvr
    clicked = click > 0.5
    orc = None
    if oracle is not None:
        oc = oracle["p_click"].to_numpy(dtype="float64")
        ov = oracle["p_conversion"].to_numpy(dtype="float64")
        orc = {"ctr": oc, "cvr": ov, "ctcvr": oc * ov}
    out: dict[str, dict[str, Any]] = {}

    def add_auc(name: str, task: str, protocol: str, rows: np.ndarray, y: np.ndarray,
                s: np.ndarray, oracle_key: str, category: str | None = None) -> None:
        rec: dict[str, Any] = {"value": auc(y[rows], s[rows]), "task": task,
                               "protocol": protocol, "kind": "auc",
                               "n": int(rows.sum()), "positives": int(y[rows].sum())}
        if category is not None:
            rec["category"] = category
        if orc is not None:
            rec["oracle"] = auc(y[rows], orc[oracle_key][rows])
        out[name] = rec

    everything = np.ones(len(click), dtype=bool)
    add_auc("ctr_auc", "ctr", "all-impressions", everything, click, p_ctr, "ctr")
    add_auc("cvr_auc@click-space", "cvr", "click-space", clicked, ctcvr, p_cvr, "cvr")
    add_auc("cvr_auc@entire-space", "cvr", "entire-space", everything, ctcvr, p_cvr, "cvr")
    add_auc("ctcvr_auc", "ctcvr", "all-impressions", everything, ctcvr, p_ctcvr, "ctcvr")
    if targets and table.category is not None:
        for cat in targets:
            in_cat = table.category == cat
            add_auc(f"cvr_auc@click-space[cat={cat}]", "cvr", "click-space", in_cat & clicked,
                    ctcvr, p_cvr, "cvr", cat)
            add_auc(f"cvr_auc@entire-space[cat={cat}]", "cvr", "entire-space", in_cat,
                    ctcvr, p_cvr, "cvr", cat)
            rows = in_cat & clicked
            out[f"cvr_level@click-space[cat={cat}]"] = _level(
                p_cvr[rows], ctcvr[rows], None if orc is None else orc["cvr"][rows], cat)
    for task, rows, y, p in (("ctr", everything, click, p_ctr),
                             ("cvr", clicked, ctcvr, p_cvr),
                             ("ctcvr", everything, ctcvr, p_ctcvr)):
        protocol = "click-space" if task == "cvr" else "all-impressions"
        out[f"{task}_logloss"] = {"value": logloss(y[rows], p[rows]), "task": task,
                                  "protocol": protocol, "kind": "logloss"}
        out[f"{task}_calibration"] = {"value": calibration(y[rows], p[rows]), "task": task,
                                      "protocol": protocol, "kind": "calibration",
                                      "correction_k": k_click}
    if table.user is not None:
        for task, y, s in (("ctr", click, p_ctr), ("ctcvr", ctcvr, p_ctcvr)):
            out[f"{task}_gauc"] = {"value": gauc(y, s, table.user), "task": task,
                                   "protocol": "by-user", "kind": "gauc"}
    return out


def _level(pred: np.ndarray, label: np.ndarray, truth: np.ndarray | None, category: str
           ) -> dict[str, Any]:
    """Mean predicted pCVR over the mean true pCVR (else over the observed CVR)."""
    p = float(np.mean(pred)) if len(pred) else math.nan
    obs = float(np.mean(label)) if len(label) else math.nan
    rec: dict[str, Any] = {"task": "cvr", "protocol": "click-space", "kind": "level",
                           "category": category, "n": int(len(pred)),
                           "pred_over_observed": p / obs if obs > 0 else math.nan}
    if truth is not None and len(truth):
        rec["pred_over_true"] = p / float(np.mean(truth))
    rec["value"] = rec.get("pred_over_true", rec["pred_over_observed"])
    return rec


def metric_values(metrics: dict[str, dict[str, Any]]) -> dict[str, float]:
    """``{name: value}`` from :func:`evaluate`'s records."""
    return {k: float(v["value"]) for k, v in metrics.items()}
