"""Shared CLI pieces: the SOURCE argument, schema/label options, loading, JSON output.

Commands declare their parameters with these ``Annotated`` aliases, e.g.::

    def describe(source: SourceArg, schema: SchemaOpt = None, click: ClickOpt = None, ...):
        src = load_cli_source(source, schema=schema, click=click, ...)
"""

from __future__ import annotations

import json
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from samplegen.datasets.base import Source
from samplegen.errors import UsageError
from samplegen.sources import BUILTINS, load_source

__all__ = [
    "KeepOpt",
    "InvalidConversions",
    "SourceArg",
    "SchemaOpt",
    "ClickOpt",
    "ConversionOpt",
    "CategoryOpt",
    "TimestampOpt",
    "InvalidConversionsOpt",
    "HeaderOpt",
    "NImpressionsOpt",
    "JsonOpt",
    "KeepLeakyOpt",
    "TrainFileOpt",
    "TestFileOpt",
    "ValidFileOpt",
    "load_cli_inputs",
    "load_cli_source",
    "print_json",
    "json_default",
    "require_finished_sets",
]


class InvalidConversions(StrEnum):
    """What to do with rows where conversion=1 but click=0."""

    error = "error"
    drop = "drop"
    fix_click = "fix-click"


SourceArg = Annotated[str, typer.Argument(
    help="Built-in dataset (travel-sim) or a path: CSV/TSV, Parquet, JSON lines, a Hugging Face "
         "dataset folder, or a known CVR format (see `samplegen data list`).")]
SchemaOpt = Annotated[Path | None, typer.Option(
    "--schema", help="YAML/JSON schema overrides (columns: {name: {role, type, ...}}, entities).")]
ClickOpt = Annotated[str | None, typer.Option("--click", help="Name of the click label column.")]
ConversionOpt = Annotated[str | None, typer.Option(
    "--conversion", help="Name of the conversion (purchase) label column.")]
CategoryOpt = Annotated[str | None, typer.Option(
    "--category", help="Name of the item-category column (the unit of sparsity).")]
TimestampOpt = Annotated[str | None, typer.Option(
    "--timestamp", help="Name of the timestamp column (time-ordered split).")]
InvalidConversionsOpt = Annotated[InvalidConversions, typer.Option(
    "--invalid-conversions", case_sensitive=False,
    help="Rows with conversion=1 and click=0: error (report them), drop them, or fix-click "
         "(set click=1).")]
HeaderOpt = Annotated[bool | None, typer.Option(
    "--header/--no-header", help="Whether a CSV has a header row (default: detect).")]
NImpressionsOpt = Annotated[int | None, typer.Option(
    "--n-impressions", help="Rows to simulate for a built-in dataset (default: its own).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]
KeepLeakyOpt = Annotated[list[str] | None, typer.Option(
    "--keep-leaky", help="Keep this column as a feature although it looks like a label leak "
                         "(repeatable). Leaky columns are ignored by default.")]


TrainFileOpt = Annotated[Path | None, typer.Option(
    "--train", help="Your own training file (with --test) instead of SOURCE.")]
TestFileOpt = Annotated[Path | None, typer.Option("--test", help="Your own test file.")]
ValidFileOpt = Annotated[Path | None, typer.Option(
    "--valid", help="Your own validation file (default: carved from --train).")]
KeepOpt = Annotated[list[str] | None, typer.Option(
    "--keep", help="Keep a column flagged as a label leak as a feature; repeatable.")]


def load_cli_inputs(source: str | None, train: Path | None, test: Path | None,
                    valid: Path | None = None, *, keep: list[str] | None = None,
                    quiet: bool = False, **load_kw: Any) -> tuple[Source, Any]:
    """SOURCE (with its default split) or ``--train/--test[/--valid]`` files, with label-leak
    columns set to 'ignore' unless kept. Returns ``(source, split)``; the split is None for
    SOURCE (the caller applies its default rule) and the files' own split otherwise."""
    from samplegen.leaks import guard_leaks

    if train is not None or test is not None:
        if train is None or test is None or source is not None:
            raise UsageError("give SOURCE, or --train FILE and --test FILE (not both).")
        from samplegen.explicit import load_split_files

        kw = {k: v for k, v in load_kw.items() if v is not None and k != "n_impressions"}
        policy = kw.get("invalid_conversions")
        if isinstance(policy, InvalidConversions):
            kw["invalid_conversions"] = policy.value
        src, split = load_split_files(train, test, valid, **kw)
    else:
        if source is None:
            raise UsageError("SOURCE is missing. Fix: name a dataset (e.g. travel-sim) or a "
                             "file, or pass --train FILE --test FILE.")
        src = load_cli_source(source, **load_kw)
        split = None
    src, _ = guard_leaks(src, keep=keep or ())
    ignored = src.meta.get("leaks_ignored") or []
    if ignored and not quiet:
        from samplegen.cli import err_console

        err_console.print(f"[yellow]label leaks:[/] {', '.join(ignored)} set to role 'ignore' "
                          "(not features); --keep COL keeps one", highlight=False)
    return src, split


def load_cli_source(
    source: str,
    *,
    schema: Path | None = None,
    click: str | None = None,
    conversion: str | None = None,
    category: str | None = None,
    timestamp: str | None = None,
    invalid_conversions: InvalidConversions | str = InvalidConversions.error,
    header: bool | None = None,
    n_impressions: int | None = None,
    seed: int | None = None,
) -> Source:
    """Load SOURCE as the CLI flags say (errors are UsageError subclasses: exit 2)."""
    kw: dict[str, Any] = {}
    if n_impressions is not None or seed is not None:
        if source not in BUILTINS:
            raise UsageError("--n-impressions/--seed apply to built-in datasets only. Fix: drop "
                             f"them, or use one of {list(BUILTINS)}.")
        if n_impressions is not None:
            kw["n_impressions"] = n_impressions
        if seed is not None:
            kw["seed"] = seed
    policy = invalid_conversions.value if isinstance(invalid_conversions, InvalidConversions) \
        else str(invalid_conversions)
    return load_source(source, schema=schema, click=click, conversion=conversion,
                       category=category, timestamp=timestamp, invalid_conversions=policy,
                       header=header, **kw)


def json_default(o: Any) -> Any:
    """json.dumps fallback for numpy scalars, paths, enums and timestamps."""
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Enum):
        return o.value
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout (no colour, no wrapping)."""
    typer.echo(json.dumps(obj, indent=2, default=json_default, allow_nan=False))


def require_finished_sets(paths: list[Path], *, quiet: bool = False) -> None:
    """IncompleteError (exit 3) for an unfinished run directory or a set with no rows; a short
    run (finished, fewer rows than asked) is scored with a warning."""
    import pyarrow.parquet as pq

    from samplegen.errors import IncompleteError

    for p in map(Path, paths):
        if p.is_dir() and (p / "manifest.json").is_file():
            try:
                m = json.loads((p / "manifest.json").read_text())
            except json.JSONDecodeError:
                continue  # the reader reports a broken manifest
            status = m.get("status")  # None: a manifest that `generate` did not write
            if status not in (None, "complete", "short") or \
                    not (p / "synthetic.parquet").is_file():
                why = (m.get("failure") or {}).get("reason")
                raise IncompleteError(
                    f"run {str(p)!r} is unfinished (status {status!r}"
                    f"{'; ' + why if why else ''}); its chunks are not a finished set. Fix: "
                    f"finish it with `samplegen generate ... --out {p} --resume` (the flags it "
                    "was started with), then score it.")
            if status == "short" and not quiet:
                from samplegen.cli import err_console

                c = m.get("counts") or {}
                err_console.print(f"[yellow]warning:[/] run {str(p)!r} is short: "
                                  f"{c.get('written')} of {c.get('requested')} rows",
                                  highlight=False)
            rows = pq.read_metadata(p / "synthetic.parquet").num_rows
        elif p.is_file() and p.suffix.lower() in (".parquet", ".pq"):
            rows = pq.read_metadata(p).num_rows
        elif p.is_file() and p.suffix.lower() in (".csv", ".tsv"):
            with open(p, "rb") as f:
                rows = max(sum(1 for line in f if line.strip()) - 1, 0)
        else:
            continue
        if rows == 0:
            raise IncompleteError(f"synthetic set {str(p)!r} has 0 rows: there is nothing to "
                                  "score. Fix: generate rows first (`samplegen generate`), or "
                                  "drop this set.")
