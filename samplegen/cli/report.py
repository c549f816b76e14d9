"""`samplegen report`: the quality report (HTML + JSON) of one or more synthetic sets.

Real rows come from SOURCE through the same deterministic split that
`generate` and `validate` use: the training part is what generators saw, the
test part (real, never touched by generation) is the holdout.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

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
    KeepOpt,
    NImpressionsOpt,
    SchemaOpt,
    TestFileOpt,
    TimestampOpt,
    TrainFileOpt,
    ValidFileOpt,
    load_cli_inputs,
    print_json,
    require_finished_sets,
)
from samplegen.errors import UsageError

__all__ = ["register", "run_report", "parse_set_args"]


def register(app: typer.Typer) -> None:
    @app.command("report", context_settings={"allow_extra_args": True})
    def _report(
        ctx: typer.Context,
        source: Annotated[str | None, typer.Argument(
            help="Built-in dataset (travel-sim) or a path; omit it with --train/--test.")
        ] = None,
        train: TrainFileOpt = None,
        test: TestFileOpt = None,
        valid: ValidFileOpt = None,
        keep: KeepOpt = None,
        synthetic: Annotated[list[str] | None, typer.Option(
            "--synthetic", "-s", help="Synthetic set: a run directory (synthetic.parquet + "
            "manifest.json) or a Parquet/CSV file, optionally NAME=PATH. Repeat the flag or "
            "list several paths after it.")] = None,
        validate_metrics: Annotated[Path | None, typer.Option(
            "--validate-metrics", help="metrics.json of `samplegen validate` for the downstream "
            "lift section.")] = None,
        out: Annotated[Path | None, typer.Option(
            "--out", help="Output folder for report.html and report.json (default: the run "
            "directory when one is given, else ./report).")] = None,
        targets: Annotated[list[str] | None, typer.Option(
            "--targets", help="Target categories (repeat or comma-separate; default: the "
            "sparse and cold-start categories of the training split).")] = None,
        max_rows: Annotated[int, typer.Option(
            "--max-rows", help="Rows per side for detection and privacy (seeded "
            "subsample).")] = 5000,
        min_holdout: Annotated[int, typer.Option(
            "--min-holdout", help="Fewest holdout rows accepted for DCR.")] = 50,
        report_seed: Annotated[int, typer.Option(
            "--report-seed", help="Seed of subsampling and models.")] = 0,
        schema: SchemaOpt = None,
        click: ClickOpt = None,
        conversion: ConversionOpt = None,
        category: CategoryOpt = None,
        timestamp: TimestampOpt = None,
        invalid_conversions: InvalidConversionsOpt = InvalidConversions.error,
        header: HeaderOpt = None,
        n_impressions: NImpressionsOpt = None,
        seed: Annotated[int | None, typer.Option(
            "--seed", help="Seed of a built-in dataset (as given to generate).")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Score synthetic sets for fidelity, privacy and utility; write report.html + .json."""
        paths = list(synthetic or [])
        if ctx.args:
            if not paths:
                raise UsageError(f"unexpected argument(s) {ctx.args}. Fix: name synthetic sets "
                                 "with --synthetic DIR [DIR ...].")
            bad = [a for a in ctx.args if a.startswith("-")]
            if bad:
                raise UsageError(f"unknown option(s) {bad}. Fix: see `samplegen report --help`.")
            paths += list(ctx.args)
        if not paths:
            raise UsageError("no synthetic set given. Fix: pass --synthetic DIR (a run "
                             "directory of `samplegen generate`, or a Parquet/CSV file).")
        require_finished_sets(list(parse_set_args(paths).values()), quiet=as_json)
        src, split = load_cli_inputs(source, train, test, valid, keep=keep, quiet=as_json,
                                     schema=schema, click=click, conversion=conversion,
                                     category=category, timestamp=timestamp,
                                     invalid_conversions=invalid_conversions, header=header,
                                     n_impressions=n_impressions, seed=seed)
        tgt = [t.strip() for item in (targets or []) for t in item.split(",") if t.strip()]
        result = run_report(src, paths, out=out, targets=tgt or None, split=split,
                            validate_metrics=validate_metrics,
                            options={"max_rows": max_rows, "min_holdout_rows": min_holdout,
                                     "seed": report_seed})
        if as_json:
            print_json(result)
            return
        _print(result)


def parse_set_args(paths: list[str]) -> dict[str, Path]:
    """``[NAME=]PATH`` arguments -> unique names -> paths (names from folder/file names)."""
    out: dict[str, Path] = {}
    for arg in paths:
        name, _, p = arg.partition("=") if "=" in arg and not Path(arg).exists() else ("", "", arg)
        path = Path(p)
        if not path.exists():
            raise UsageError(f"synthetic set {str(path)!r} does not exist. Fix: pass a run "
                             "directory or a Parquet/CSV file.")
        base = name or (path.name if path.is_dir() else path.stem)
        if base in ("synthetic", "") and not name:
            base = path.resolve().parent.name or "synthetic"
        unique, i = base, 2
        while unique in out:
            unique, i = f"{base}-{i}", i + 1
        out[unique] = path
    return out


def run_report(src: Any, paths: list[str], *, out: Path | None = None,
               targets: list[str] | None = None, validate_metrics: Path | None = None,
               options: dict[str, Any] | None = None, split: Any = None) -> dict[str, Any]:
    """Build and save the report of ``paths`` against the loaded source; return a summary."""
    from evaluators import QualityReport, ReportOptions
    from evaluators.properties.base import to_jsonable
    from samplegen.cli.align import read_synthetic
    from samplegen.integrity import check_provenance, contamination
    from samplegen.split import make_split

    t0 = time.perf_counter()
    sets_paths = parse_set_args(paths)
    split = split if split is not None else make_split(src)
    train, _, test = split.frames(src)
    overlap = (split.rule.get("overlap") or {}).get("train&test")
    if overlap:
        notes_head = [f"{overlap} row(s) are in both the train and the test file"]
    else:
        notes_head = []
    sets, notes = {}, notes_head
    for name, path in sets_paths.items():
        df, manifest = read_synthetic(path)
        sets[name] = df
        if path.is_dir():
            prov = check_provenance(path, src, split)  # LeakageError (exit 2) on overlap
            notes.append(f"{name}: provenance {prov.status} ({prov.detail})")
        elif manifest is None:
            notes.append(f"{name}: a plain file; its fitting split is unknown")
        cont = contamination(df, test, src.schema, train=train)
        notes.append(f"{name}: {cont.exact} exact and {cont.near} near copies of test rows "
                     f"({cont.share:.2%}){' - CONTAMINATED' if cont.contaminated else ''}")
    if len(train) > 200_000:
        notes.append(f"the real training split has {len(train)} rows: detection, privacy and "
                     "precision/recall use seeded subsamples (see Options); reference rows "
                     "and exact-copy checks use every training row")
    t_load = time.perf_counter() - t0
    report = QualityReport(ReportOptions(**(options or {})))
    report.generate(train, test, sets, src.schema, targets=targets,
                    validate_metrics=validate_metrics,
                    meta={"source": src.name, "split": split.to_dict(), "notes": notes,
                          "synthetic_paths": {n: str(p) for n, p in sets_paths.items()}})
    t_gen = time.perf_counter() - t0 - t_load
    if out is None:
        only = next(iter(sets_paths.values()))
        out = only if len(sets_paths) == 1 and only.is_dir() else Path("report")
    report.meta["timings"] = {"load_split_read_s": round(t_load, 2),
                              "generate_s": round(t_gen, 2)}
    jpath, hpath = report.save(out)
    total = time.perf_counter() - t0
    return to_jsonable({"html": str(hpath), "json": str(jpath), "scores": report.get_scores(),
            "properties": {n: {k: r.score for k, r in res.items()}
                           for n, res in report.results.items()},
            "headline": headline_numbers(report),
            "targets": report.meta["targets"],
            "seconds": {"load_split_read": round(t_load, 2), "generate": round(t_gen, 2),
                        "total": round(total, 2)}})


def headline_numbers(report: Any) -> dict[str, dict[str, float | None]]:
    """Per set: DCR and cat. CVR AUC Δ, defined once in :mod:`evaluators.scores`."""
    from evaluators.scores import CATEGORY_CVR_AUC_DELTA, DCR, dcr_share

    data = report.to_dict()
    lift = (data.get("downstream") or {}).get("summary") or {}
    return {n: {DCR.key: dcr_share(data, n),
                CATEGORY_CVR_AUC_DELTA.key: (lift.get(f"+{n}") or {}).get(
                    CATEGORY_CVR_AUC_DELTA.key)}
            for n in report.set_names}


def _print(result: dict[str, Any]) -> None:
    from evaluators.scores import CATEGORY_CVR_AUC_DELTA, DCR
    from samplegen.cli import console

    names = list(result["scores"])
    table = Table(title="Quality report (1 = best)")
    table.add_column("property")
    for n in names:
        table.add_column(n, justify="right")
    props = list(next(iter(result["properties"].values())))
    for p in props:
        table.add_row(p, *[_fmt(result["properties"][n].get(p)) for n in names])
    table.add_row("[bold]overall[/]", *[f"[bold]{_fmt(result['scores'][n])}[/]" for n in names])
    for score in (DCR, CATEGORY_CVR_AUC_DELTA):
        table.add_row(score.label, *[_fmt(result["headline"][n][score.key], signed=score.key
                                          == CATEGORY_CVR_AUC_DELTA.key) for n in names])
    console.print(table)
    console.print(f"{DCR.explain()} {CATEGORY_CVR_AUC_DELTA.explain()}", highlight=False)
    console.print(f"targets: {', '.join(result['targets']) or '-'}", highlight=False)
    console.print(f"wrote {result['html']} and {result['json']} in "
                  f"{result['seconds']['total']} s", highlight=False)


def _fmt(v: Any, *, signed: bool = False) -> str:
    """Scores to three decimals, a delta to four with its sign (report.html: four)."""
    if v is None or v != v:
        return "-"
    return f"{v:+.4f}" if signed else f"{v:.3f}"
