"""The tables `samplegen validate` prints: metrics with paired CIs and verdicts, the travel-sim
ruler (per-target test sources, truth lift, ceiling shares), levels, integrity, rank choice."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAIN_METRICS", "print_results", "fmt_delta"]

MAIN_METRICS = ["ctr_auc", "cvr_auc@click-space", "cvr_auc@entire-space", "ctcvr_auc",
                "ctcvr_logloss", "ctr_calibration", "ctcvr_gauc"]


def print_results(result: Any, has_oracle: bool) -> None:
    """Every table of a finished validation, in order."""
    _print_table(result, has_oracle)
    _print_ruler(result)
    _print_rank_choice(result.config.get("rank_alpha_selection"))
    _print_level(result)
    _print_integrity(result)


def _print_rank_choice(sel: dict[str, Any] | None) -> None:
    if not sel:
        return
    from samplegen.cli import console

    grid = ", ".join(f"{s['alpha']:g}: {_fmt(s['mean'])}" for s in sel["scores"])
    console.print(f"rank_alpha auto: {sel['alpha']:g}, chosen on the validation split by "
                  f"{_label(sel['metric'])} (mean of seeds {sel['seeds']}: {grid})",
                  highlight=False)


def _print_level(result: Any) -> None:
    """--level: each target's rate, where it came from, and the synthetic rows' weights."""
    from samplegen.cli import console

    lv = result.config.get("level")
    if not lv:
        return
    est = lv.get("estimates") or {}
    for t, r in lv["rates"].items():
        e = est.get(t)
        src = (f"estimate [{e['low']:.4f}, {e['high']:.4f}] from {e['conversions']}/"
               f"{e['clicks']} own conversions/clicks; signals {', '.join(e['signals'])}"
               if e else lv.get("source", "given"))
        ws = "; ".join(f"{n}: weight {w[t]['weight']:.3g}" for n, w in
                       (lv.get("weights") or {}).items() if t in w)
        console.print(f"level {t}: {r:.4f} ({src}); fixed by {lv.get('fix')}"
                      + (f"; {ws}" if ws else ""), highlight=False)


def _fmt(v: float, spec: str = ".4f", signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, ("+" if signed else "") + spec)


def _label(metric: str) -> str:
    """Short display name; the protocol stays visible (click-space / entire-space)."""
    base, _, cat = metric.partition("[")
    names = {"ctr_auc": "CTR AUC", "cvr_auc@click-space": "CVR AUC click-space",
             "cvr_auc@entire-space": "CVR AUC entire-space", "ctcvr_auc": "CTCVR AUC",
             "ctcvr_logloss": "CTCVR LogLoss", "ctr_calibration": "CTR calib. (corr.)",
             "ctcvr_gauc": "CTCVR GAUC by user"}
    if cat:
        what = cat.removeprefix("cat=").rstrip("]")
        space = "click-space" if "click-space" in base else "entire-space"
        kind = "level pred/true" if base.startswith("cvr_level") else f"CVR AUC {space}"
        return f"{kind}: {what}"
    return names.get(metric, metric)


def _verdict(metric: str, resolved: str) -> str:
    """gain/loss for AUCs; higher/lower for levels, losses and calibrations (not a judgement)."""
    if "auc" in metric or resolved not in ("gain", "loss"):
        return resolved
    return "higher" if resolved == "gain" else "lower"


def fmt_delta(r: Any) -> str:
    """``+0.0123 [-0.0010, +0.0250]`` (the paired 95% CI), or '' for the baseline."""
    if r.get("arm") == "real-only" or r.get("delta") is None:
        return ""
    return (f"{_fmt(r['delta'], signed=True)} [{_fmt(r['ci_low'], signed=True)}, "
            f"{_fmt(r['ci_high'], signed=True)}]")


def _print_integrity(result: Any) -> None:
    """One line per synthetic set: where it was fitted and how much of the test it copies."""
    from samplegen.cli import console

    overlap = (result.config.get("split", {}).get("rule") or {}).get("overlap") or {}
    if overlap.get("train&test"):
        console.print(f"[bold red]warning:[/] {overlap['train&test']} row(s) are in both the "
                      "train and the test file", highlight=False)
    for name, rec in (result.config.get("integrity") or {}).items():
        prov = rec.get("provenance", {})
        cont = rec.get("contamination", {})
        flag = "[bold red]CONTAMINATED[/]" if cont.get("contaminated") else "clean"
        console.print(f"integrity {name}: fitted {prov.get('status', 'unknown')}; test copies "
                      f"{cont.get('exact', 0)} exact + {cont.get('near', 0)} near of "
                      f"{cont.get('rows', 0)} ({cont.get('share', 0):.2%}) -> {flag}",
                      highlight=False)


def _print_table(result: Any, has_oracle: bool) -> None:
    from rich.table import Table

    from samplegen.cli import console

    s = result.summary
    per = [m for m in dict.fromkeys(s["metric"]) if "[" in m and "entire-space" not in m]
    per = [m for m in per if s[s["metric"] == m]["mean"].notna().any()]
    t = Table(title=f"ESMM validation: {len(result.seeds)} seed(s); test = real rows; "
                    "Δ = paired difference to real-only [95% CI]; a CI that covers 0 is "
                    "'not resolved'", title_justify="left")
    for col, just in (("metric", "left"), ("arm", "left"), ("mean ± std", "right"),
                      ("Δ [95% CI]", "right"), ("verdict", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    if has_oracle:
        t.add_column("oracle", justify="right")
    for m in MAIN_METRICS + per:
        part = s[s["metric"] == m]
        for i, (_, r) in enumerate(part.iterrows()):
            row = [_label(m) if i == 0 else "", str(r["arm"]),
                   f"{_fmt(r['mean'])} ± {_fmt(r['std'])}", fmt_delta(r),
                   _verdict(m, str(r.get("resolved") or ""))]
            if has_oracle:
                row.append(_fmt(r["oracle"]) if i == 0 else "")
            t.add_row(*row, end_section=i == len(part) - 1)
    console.print(t)


def _print_ruler(result: Any) -> None:
    """travel-sim: where the per-target test came from, truth lift, share of the ceilings."""
    from rich.table import Table

    from downstream.summary import ceiling_shares
    from samplegen.cli import console

    inst = result.config.get("instrument")
    if not inst:
        return
    for t, c in (inst.get("counts") or {}).items():
        console.print(f"per-target test {t}: {c['split_test_conversions']} split + "
                      f"{c['drawn_conversions']} same-world conversions "
                      f"({c['split_test_clicks'] + c['drawn_clicks']:,} clicked rows)",
                      highlight=False)
    tt = Table(title="truth lift (mean true pCVR / that of the targets' real test clicks; "
                     "structural = without user/item random effects)", title_justify="left")
    for col in ("rows", "target", "n", "outside", "lift", "structural"):
        tt.add_column(col, justify="left" if col in ("rows", "target") else "right")
    for name, recs in inst.get("truth", {}).items():
        for i, r in enumerate(recs):
            tt.add_row(name if i == 0 else "", r["target"], str(r["rows"]), str(r["outside"]),
                       _fmt(r["lift"], ".2f"), _fmt(r["structural_lift"], ".2f"))
    console.print(tt)
    metric = next((m for m in ("cvr_auc@click-space[targets]",) if m in set(result.summary
                   ["metric"])), None) or next((m for m in result.summary["metric"]
                                                if m.startswith("cvr_auc@click-space[cat=")), None)
    shares = ceiling_shares(result.summary, metric) if metric else {}
    for arm, rec in shares.items():
        console.print(f"{arm}: {_label(metric)} Δ as a share of the ceilings: " + "; ".join(
            f"{k} {_fmt(v, '.0%')}" for k, v in rec.items()), highlight=False)
