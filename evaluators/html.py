"""One self-contained HTML page for a :class:`~evaluators.report.QualityReport`.

No network fetches: CSS is inline, figures are PNG data URIs, there is no JS.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment
from markupsafe import Markup

from evaluators import plots
from evaluators.properties import default_properties
from evaluators.properties.downstream import DownstreamLift
from evaluators.scores import CATEGORY_CVR_AUC_DELTA, DCR

if TYPE_CHECKING:
    from evaluators.report import QualityReport

__all__ = ["render_html", "SECTION_IDS"]

SECTION_IDS = ("summary", "setup", "column-shapes", "pair-trends", "detection",
               "precision-recall", "privacy", "utility", "attribution", "downstream")

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#233;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;font-size:13px;opacity:.85}main{padding:12px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde;border-radius:8px;margin:18px 0;padding:14px 20px;overflow-x:auto}
h2{font-size:18px;margin:4px 0 8px}p.desc{color:#555;font-size:13px;margin:0 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #dde;border-radius:8px;
padding:10px 14px;width:320px;background:#fcfcfd}.card h3{font-size:14px;margin:0 0 6px}
.card p.protocol{font-size:11px;color:#555;margin:0 0 6px}.card .foot{font-size:11px;color:#666;
margin:0 0 4px 8px}
.card .row{display:flex;justify-content:space-between;font-size:13px;margin:2px 0}
.score{font-weight:600;padding:0 6px;border-radius:4px}.good{background:#d7f0d9}
.mid{background:#fbefc9}.bad{background:#f7d4d2}.na{background:#eee;color:#777}
table.t{border-collapse:collapse;font-size:12px;margin:6px 0 12px}table.t th,table.t td{
border:1px solid #dde;padding:3px 7px;text-align:right}table.t th{background:#eef1f5}
table.t td:first-child,table.t th:first-child{text-align:left}ul.notes{font-size:12px;color:#555;
margin:4px 0 10px 18px;padding:0}.figs{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;border:1px solid #eee;padding:4px;background:#fff}figcaption{font-size:11px;color:#555}
img{max-width:100%;height:auto}nav a{color:#cde;margin-right:12px;font-size:13px}
</style></head><body>
<header><h1>{{ title }}</h1><p>{{ subtitle }}</p>
<nav>{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav></header>
<main>
<section id="summary"><h2>Summary</h2>
<p class="desc">Scores are in [0, 1], 1 best; the overall score is the mean of the property
scores (downstream lift is shown but not averaged). Empty cells could not be computed; the
section below says why.</p>
{{ overall }}
<div class="cards">{% for c in cards %}<div class="card"><h3>{{ c.title }}</h3>
<p class="protocol">{{ c.protocol }}</p>
{% for r in c.rows %}<div class="row"><span>{{ r.name }}</span>
<span class="score {{ r.cls }}">{{ r.text }}</span></div>
{% if r.note %}<div class="foot">{{ r.name }}: {{ r.note }}</div>{% endif %}{% endfor %}
</div>{% endfor %}</div>
</section>
{% for s in sections %}<section id="{{ s.id }}"><h2>{{ s.title }}</h2>
{% if s.desc %}<p class="desc">{{ s.desc }}</p>{% endif %}
{% for b in s.blocks %}{% if b.kind == 'table' %}{% if b.caption %}<h4>{{ b.caption }}</h4>{% endif %}{{ b.html }}
{% elif b.kind == 'notes' %}<ul class="notes">{% for n in b.entries %}<li>{{ n }}</li>{% endfor %}</ul>
{% elif b.kind == 'text' %}<p class="desc">{{ b.text }}</p>
{% elif b.kind == 'figs' %}<div class="figs">{% for f in b.entries %}<figure><img src="{{ f.src }}" alt="{{ f.caption }}">
<figcaption>{{ f.caption }}</figcaption></figure>{% endfor %}</div>{% endif %}{% endfor %}
</section>{% endfor %}
</main></body></html>
"""


def render_html(report: QualityReport) -> str:
    """The report as one HTML page (figures embedded)."""
    env = Environment(autoescape=True)
    names = report.set_names
    scores = report.get_scores()
    meta = report.meta
    subtitle = (f"source: {meta.get('source') or 'not named'} - synthetic sets: "
                f"{', '.join(names)} - targets: "
                f"{', '.join(map(str, meta.get('targets', []))) or 'none'} - "
                f"generated {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    overall = _table(pd.DataFrame({"synthetic set": names,
                                   "overall score": [scores[n] for n in names]}))
    sections = [
        _setup(report), _shapes(report), _pairs(report), _detection(report),
        _simple(report, "precision-recall", "precision_recall"), _privacy(report),
        _utility(report), _attribution(report), _downstream(report)]
    return env.from_string(_TEMPLATE).render(
        title="samplegen quality report", subtitle=subtitle, overall=overall,
        cards=_cards(report), sections=sections)


# ------------------------------------------------------------------ helpers
def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _cls(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "na"
    return "good" if v >= 0.8 else "mid" if v >= 0.5 else "bad"


def _table(df: pd.DataFrame) -> Markup:
    return Markup(df.to_html(index=False, classes="t", border=0, na_rep="-",
                             float_format=lambda x: f"{x:.4f}", escape=True))


def _block(df: pd.DataFrame, caption: str | None = None) -> dict:
    return {"kind": "table", "html": _table(df), "caption": caption}


def _notes(items: list[str]) -> dict:
    return {"kind": "notes", "entries": items}


def _set_notes(report: QualityReport, key: str) -> dict:
    items = []
    for n in report.set_names:
        res = report.results[n].get(key)
        if res is not None:
            items += [f"{n}: {x}" for x in res.notes]
    return _notes(items)


def _titles() -> dict[str, tuple[str, str]]:
    out = {}
    for p in default_properties():
        key = getattr(p, "key", p.name)
        suffix = " (target categories)" if key.endswith("_targets") else ""
        out[key] = (p.title + suffix, p.description)
    return out


#: how a raw number is labelled under a card row (one name per number: see evaluators.scores)
_LABELS = {DCR.key: DCR.label}


def _cards(report: QualityReport) -> list[dict]:
    """One card per property: its protocol, then per set its score and that set's own raw
    numbers (so every footnote names the set it belongs to)."""
    cards = []
    for key, (title, desc) in _titles().items():
        rows = []
        for n in report.set_names:
            res = report.results[n].get(key)
            v = res.score if res is not None else float("nan")
            nums = {k: x for k, x in (res.summary.items() if res is not None else [])
                    if isinstance(x, float)}
            note = ", ".join(f"{_LABELS.get(k, k)} {_fmt(x)}" for k, x in list(nums.items())[:2])
            rows.append({"name": n, "text": _fmt(v), "cls": _cls(v), "note": note})
        cards.append({"title": title, "rows": rows, "protocol": desc})
    ds = report.downstream
    rows = [{"name": arm, "text": _pm_text(s[CATEGORY_CVR_AUC_DELTA.key], s.get("std")),
             "cls": "na", "note": f"{_count(s.get('categories'), 'target category')}, "
                                  f"{_count(s.get('n_seeds'), 'seed')}"}
            for arm, s in (ds.summary.items() if ds else [])]
    cards.append({"title": f"{DownstreamLift.title}: {CATEGORY_CVR_AUC_DELTA.label}",
                  "rows": rows or [{"name": "not given", "text": "-", "cls": "na", "note": ""}],
                  "protocol": CATEGORY_CVR_AUC_DELTA.explain()})
    return cards


def _count(n: Any, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _pm_text(mean: Any, std: Any) -> str:
    sign = "" if mean is None or (isinstance(mean, float) and math.isnan(mean)) else "+"
    text = f"{mean:{sign}.4f}" if sign else "-"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {std:.4f}"
    return text


def _section(sid: str, title: str, desc: str, blocks: list) -> dict:
    return {"id": sid, "title": title, "desc": desc, "blocks": blocks}


def _setup(report: QualityReport) -> dict:
    m = report.meta
    rows = pd.DataFrame({"item": list(m.get("rows", {})),
                         "rows": list(m.get("rows", {}).values())})
    notes = [f"targets: {m.get('targets')} ({m.get('targets_note')})",
             f"report computed in {m.get('seconds')} s on Python {m.get('python')}"]
    notes += [str(x) for x in m.get("notes", [])]
    timing = pd.DataFrame([(n, k, r.seconds) for n in report.set_names
                           for k, r in report.results[n].items()],
                          columns=["synthetic", "property", "seconds"])
    opts = pd.DataFrame({"option": list(m.get("options", {})),
                         "value": [str(v) for v in m.get("options", {}).values()]})
    return _section("setup", "Setup", "Data, targets, sampling and timings.",
                    [_block(rows, "Rows"), _notes(notes), _block(opts, "Options"),
                     _block(timing, "Seconds per property")])


def _wide(report: QualityReport, key: str, index: str, value: str) -> pd.DataFrame:
    frames = []
    for n in report.set_names:
        res = report.results[n].get(key)
        if res is not None and not res.details.empty and index in res.details:
            frames.append(res.details.set_index(index)[value].rename(n))
    return pd.concat(frames, axis=1).reset_index() if frames else pd.DataFrame()


def _shapes(report: QualityReport) -> dict:
    titles = _titles()
    blocks: list = []
    for key in ("column_shapes", "column_shapes_targets"):
        wide = _wide(report, key, "column", "score")
        if not wide.empty:
            blocks.append(_block(wide, titles[key][0]))
        blocks.append(_set_notes(report, key))
    per_cat = {n: report.results[n]["column_shapes_targets"].summary.get("per_category", {})
               for n in report.set_names if "column_shapes_targets" in report.results[n]}
    if any(per_cat.values()):
        blocks.append(_block(pd.DataFrame(per_cat).rename_axis("category").reset_index(),
                             "Mean column-shape score per target category"))
    figs = _distribution_figs(report)
    if figs:
        blocks.append({"kind": "text", "text": "Distributions in the target categories: real "
                       "reference rows (grey) vs each synthetic set."})
        blocks.append({"kind": "figs", "entries": figs})
    return _section("column-shapes", "Column shapes", titles["column_shapes"][1], blocks)


def _distribution_figs(report: QualityReport) -> list[dict]:
    arts = {n: report.results[n].get("column_shapes_targets") for n in report.set_names}
    arts = {n: r.artifacts for n, r in arts.items() if r is not None and r.artifacts}
    if not arts:
        return []
    first = next(iter(arts.values()))
    cols = first["columns"][: report.options.max_plot_columns]
    figs = []
    for c in cols:
        syn = {n: a["synthetic"][c] for n, a in arts.items() if c in a["synthetic"]}
        uri = plots.distribution_plot(c, first["real"][c], syn, c in first["continuous"])
        figs.append({"src": uri, "caption": f"{c} (target categories)"})
    return figs


def _pairs(report: QualityReport) -> dict:
    titles = _titles()
    blocks: list = []
    rows = []
    for n in report.set_names:
        r = report.results[n]
        rows.append({"synthetic": n,
                     **{titles[k][0]: r[k].score for k in ("column_pair_trends",
                                                           "column_pair_trends_targets")
                        if k in r},
                     "mean |assoc diff|": r["column_pair_trends"].summary.get(
                         "mean_abs_association_difference")
                     if "column_pair_trends" in r else None})
    blocks.append(_block(pd.DataFrame(rows)))
    figs = []
    for n in report.set_names:
        res = report.results[n].get("column_pair_trends")
        if res is not None and "association_difference" in res.artifacts:
            figs.append({"src": plots.heatmap(res.artifacts["association_difference"],
                                              f"{n}: association synthetic - real"),
                         "caption": f"{n}: correlation / Cramer's V difference"})
    if figs:
        blocks.append({"kind": "figs", "entries": figs})
    blocks.append(_set_notes(report, "column_pair_trends"))
    blocks.append(_set_notes(report, "column_pair_trends_targets"))
    return _section("pair-trends", "Column pair trends", titles["column_pair_trends"][1], blocks)


def _summary_table(report: QualityReport, key: str) -> pd.DataFrame:
    rows = []
    for n in report.set_names:
        res = report.results[n].get(key)
        if res is not None:
            flat = {k: v for k, v in res.summary.items() if not isinstance(v, (dict, list))}
            rows.append({"synthetic": n, "score": res.score, **flat})
    return pd.DataFrame(rows)


def _simple(report: QualityReport, sid: str, key: str) -> dict:
    title, desc = _titles()[key]
    return _section(sid, title, desc, [_block(_summary_table(report, key)),
                                       _set_notes(report, key)])


def _detection(report: QualityReport) -> dict:
    sec = _simple(report, "detection", "detection")
    rows = [{"synthetic": n, "most telling features (gain share)": ", ".join(
        f"{k} {v:.2f}" for k, v in report.results[n]["detection"].summary.get(
            "top_features", {}).items())} for n in report.set_names
        if "detection" in report.results[n]]
    sec["blocks"].insert(1, _block(pd.DataFrame(rows)))
    return sec


def _privacy(report: QualityReport) -> dict:
    sec = _simple(report, "privacy", "privacy")
    figs = []
    for n in report.set_names:
        a = report.results[n]["privacy"].artifacts if "privacy" in report.results[n] else {}
        if "dcr_train" in a:
            figs.append({"src": plots.dcr_histogram(a["dcr_train"], a["dcr_holdout"],
                                                    a["dcr_holdout_rows_to_train"], n),
                         "caption": f"{n}: distance to closest record (DCR)"})
    if figs:
        sec["blocks"].insert(1, {"kind": "figs", "entries": figs})
    return sec


def _utility(report: QualityReport) -> dict:
    sec = _simple(report, "utility", "utility")
    for n in report.set_names:
        res = report.results[n].get("utility")
        if res is not None and not res.details.empty:
            sec["blocks"].insert(-1, _block(res.details, f"{n}: CVR AUC on real holdout rows"))
    return sec


def _attribution(report: QualityReport) -> dict:
    sec = _simple(report, "attribution", "attribution")
    arts = {n: report.results[n]["attribution"].artifacts for n in report.set_names
            if "attribution" in report.results[n]}
    arts = {n: a for n, a in arts.items() if "importance_real" in a}
    if arts:
        real = next(iter(arts.values()))["importance_real"]
        uri = plots.shap_comparison(real, {n: a["importance_synthetic"] for n, a in arts.items()})
        sec["blocks"].insert(1, {"kind": "figs", "entries": [
            {"src": uri, "caption": "mean |SHAP| share per feature: real-trained vs TSTR"}]})
    return sec


def _downstream(report: QualityReport) -> dict:
    ds = report.downstream
    blocks: list = []
    if ds is None or ds.details.empty:
        blocks.append({"kind": "text", "text": "No downstream results: pass the metrics.json "
                       "of 'samplegen validate' with --validate-metrics."})
    else:
        per_cat = ds.artifacts.get("per_category", pd.DataFrame())
        if not per_cat.empty:
            blocks.append(_block(_pm(per_cat), "Per-category CVR AUC (target categories)"))
        blocks.append(_block(_pm(ds.details), "Every metric"))
    if ds is not None:
        blocks.append(_notes(ds.notes))
    return _section("downstream", DownstreamLift.title, DownstreamLift.description, blocks)


def _pm(df: pd.DataFrame) -> pd.DataFrame:
    """mean +- std and delta +- std as text columns."""
    out = df[["arm", "metric", "category"]].copy()
    out["mean +- std"] = [f"{_fmt(m)} +- {_fmt(s)}" for m, s in zip(df["mean"], df["std"],
                                                                    strict=True)]
    out["delta +- std"] = [f"{_fmt(m)} +- {_fmt(s)}" if not pd.isna(m) else "-"
                           for m, s in zip(df["delta"], df["delta_std"], strict=True)]
    out["p"] = df["p_value"].map(_fmt)
    out["n seeds"] = df["n_seeds"].map(_fmt)
    return out
