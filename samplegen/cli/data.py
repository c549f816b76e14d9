"""`samplegen data list|describe`: the built-in datasets and formats, and what a source holds."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from samplegen.cli.common import (
    CategoryOpt,
    ClickOpt,
    ConversionOpt,
    HeaderOpt,
    InvalidConversions,
    InvalidConversionsOpt,
    JsonOpt,
    NImpressionsOpt,
    SchemaOpt,
    SourceArg,
    TimestampOpt,
    load_cli_source,
    print_json,
)

__all__ = ["register"]

_MAX_CATEGORY_ROWS = 40


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Inspect built-in and user datasets.", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @data_app.command("list")
    def _list(as_json: JsonOpt = False) -> None:
        """List the built-in datasets and the supported formats."""
        from samplegen.datasets.loaders import FORMATS
        from samplegen.sources import BUILTINS

        if as_json:
            print_json({"builtin": BUILTINS, "formats": FORMATS})
            return
        from samplegen.cli import console

        t = Table(title="built-in datasets", title_justify="left")
        t.add_column("name", style="bold")
        t.add_column("description")
        for name, desc in BUILTINS.items():
            t.add_row(name, desc)
        console.print(t)
        f = Table(title="supported formats (detected from the file)", title_justify="left")
        f.add_column("format", style="bold")
        f.add_column("description")
        for name, desc in FORMATS.items():
            f.add_row(name, desc)
        console.print(f)

    @data_app.command("describe")
    def _describe(
        source: SourceArg,
        schema: SchemaOpt = None,
        click: ClickOpt = None,
        conversion: ConversionOpt = None,
        category: CategoryOpt = None,
        timestamp: TimestampOpt = None,
        invalid_conversions: InvalidConversionsOpt = InvalidConversions.error,
        header: HeaderOpt = None,
        n_impressions: NImpressionsOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Rows, columns (role, type, domain), label rates, categories, sparse/cold-start, leaks."""
        from samplegen.datasets.describe import describe_source

        src = load_cli_source(source, schema=schema, click=click, conversion=conversion,
                              category=category, timestamp=timestamp,
                              invalid_conversions=invalid_conversions, header=header,
                              n_impressions=n_impressions)
        doc = describe_source(src)
        if as_json:
            print_json(doc)
        else:
            _print(doc)


# ======================================================================= rendering
def _pct(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _print(doc: dict[str, Any]) -> None:
    from samplegen.cli import console

    s = Table(title=f"{doc['name']} ({doc['format']})", title_justify="left", show_header=False)
    s.add_column("figure", style="bold")
    s.add_column("value")
    s.add_row("rows", f"{doc['rows']:,}")
    s.add_row("click / conversion", f"{doc['labels']['click']} / {doc['labels']['conversion']}")
    s.add_row("clicks", f"{doc['clicks']:,}" if doc["clicks"] is not None else "n/a")
    s.add_row("conversions", f"{doc['conversions']:,}" if doc["conversions"] is not None
              else "n/a")
    s.add_row("click rate", _pct(doc["click_rate"]))
    s.add_row("conversion rate per click", _pct(doc["conversion_rate_per_click"]))
    s.add_row("CTCVR rate", _pct(doc["ctcvr_rate"], 3))
    for name, rate in doc["aux_label_rates"].items():
        s.add_row(f"{name} rate", _pct(rate))
    if "configured" in doc:
        c = doc["configured"]
        s.add_row("configured click rate / cvr",
                  f"{_pct(c['click_rate'])} / {_pct(c['conversion_rate_per_click'])}")
    if doc.get("invalid_conversions"):
        ic = doc["invalid_conversions"]
        s.add_row("conversion without click", f"{ic['rows']} row(s): {ic['policy']}")
    console.print(s)

    cols = Table(title="columns", title_justify="left")
    for h in ("name", "role", "type", "domain", "feature", "missing"):
        cols.add_column(h)
    for c in doc["columns"]:
        dom = str(c["domain_size"]) + " values" if "domain_size" in c else \
            f"[{c.get('min')}, {c.get('max')}]" if c["type"] == "numerical" else ""
        role = c["role"] + (" (key)" if c["key"] else "")
        cols.add_row(c["name"], role, c["type"], dom, "yes" if c["feature"] else "no",
                     str(c["missing"]))
    console.print(cols)

    if doc["categories"]:
        cats = doc["categories"]
        t = Table(title=f"categories ({doc['labels']['category']}, {len(cats)} values"
                  + (f", top {_MAX_CATEGORY_ROWS}" if len(cats) > _MAX_CATEGORY_ROWS else "")
                  + ")", title_justify="left")
        heads = ["category", "rows", "clicks", "conv.", "cvr"]
        with_split = "status" in cats[0]
        if with_split:
            heads += ["train conv.", "status"]
        for h in heads:
            t.add_column(h, justify="left" if h in ("category", "status") else "right")
        for r in cats[:_MAX_CATEGORY_ROWS]:
            cells = [str(r["category"]), f"{r['rows']:,}", f"{r['clicks']:,}",
                     f"{r['conversions']:,}", _pct(r.get("cvr"))]
            if with_split:
                cells += [f"{r['train_conversions']:,}", r["status"]]
            t.add_row(*cells)
        console.print(t)
    if doc.get("split"):
        sp = doc["split"]
        sizes, rule = sp["sizes"], sp["rule"]
        how = f"time-ordered on {rule.get('column')}" if rule.get("kind") == "time" \
            else f"seeded, seed {rule.get('seed')}"
        console.print(f"split ({how}): train {sizes['train']:,} / valid {sizes['valid']:,} / "
                      f"test {sizes['test']:,} rows; train fingerprint "
                      f"{sp['train_fingerprint'][:16]}", highlight=False)
        console.print("cold-start categories (training conversions <= "
                      f"{(doc.get('sparsity') or {}).get('cold_max', '?')}): "
                      f"{', '.join(doc['cold_start_categories']) or 'none'}", highlight=False)
        console.print(f"sparse categories: {', '.join(doc['sparse_categories']) or 'none'}",
                      highlight=False)
    if doc["leaks"]:
        t = Table(title="suspected label leaks (excluded from features by generate/validate "
                  "unless kept)", title_justify="left")
        for h in ("column", "label", "kind", "evidence"):
            t.add_column(h)
        for lk in doc["leaks"]:
            t.add_row(lk["column"], lk["label"], lk["kind"], lk["evidence"])
        console.print(t)
    else:
        console.print("label leaks: none found", highlight=False)
    for note in doc.get("notes", []):
        console.print(f"note: {note}", highlight=False)
