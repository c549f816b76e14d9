"""`samplegen align`: align a synthetic set made elsewhere with the real training split.

Reads SOURCE (the real table), takes the training part of its default split
(the same deterministic split `generate` and `validate` use; test rows are never
read by the aligner), reads the synthetic rows (a run directory or a
Parquet/CSV file), selects ``--n`` of them with the chosen method and writes a
new run directory: ``synthetic.parquet``, ``schema.json`` and ``manifest.json``
(what was dropped and why, the weights' effective sample size, the attribution
model's validation AUC).
"""

from __future__ import annotations

import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from samplegen.cli.common import (
    CategoryOpt,
    ClickOpt,
    ConversionOpt,
    JsonOpt,
    SchemaOpt,
    SourceArg,
    TimestampOpt,
    json_default,
    load_cli_source,
    print_json,
)
from samplegen.errors import RunDirError, UsageError

__all__ = ["register", "read_synthetic", "run_align"]


class Method(StrEnum):
    """Alignment methods."""

    shap = "shap"
    cllm = "cllm"
    none = "none"


def read_synthetic(path: Path) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Rows of a run directory (``synthetic.parquet`` or its chunks) or a Parquet/CSV file,
    with the run's manifest when there is one."""
    p = Path(path)
    manifest = None
    if p.is_dir():
        if (p / "manifest.json").is_file():
            try:
                manifest = json.loads((p / "manifest.json").read_text())
            except json.JSONDecodeError as e:
                raise RunDirError(f"{p / 'manifest.json'} is not valid JSON: {e}. Fix: pass an "
                                  "intact run directory.") from e
        if (p / "synthetic.parquet").exists():
            return pd.read_parquet(p / "synthetic.parquet"), manifest
        chunks = sorted((p / "chunks").glob("part-*.parquet")) if (p / "chunks").is_dir() else []
        if chunks:
            return pd.concat([pd.read_parquet(c) for c in chunks], ignore_index=True), manifest
        raise RunDirError(f"{p} holds no synthetic.parquet and no chunks. Fix: pass a run "
                          "directory written by `samplegen generate`, or a Parquet/CSV file.")
    if not p.is_file():
        raise UsageError(f"synthetic set {str(p)!r} does not exist. Fix: pass a run directory "
                         "or a Parquet/CSV file.")
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p), None
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(p, sep="\t" if suffix == ".tsv" else ","), None
    except Exception as e:  # noqa: BLE001 - reader errors vary by format
        raise UsageError(f"cannot read synthetic set {str(p)!r}: {e}") from e
    raise UsageError(f"synthetic set {str(p)!r} has an unknown format. Fix: pass a run "
                     "directory, a .parquet or a .csv file.")


def run_align(source: Any, synthetic: Path, out: Path, *, method: str = "shap",
              n: int | None = None, seed: int = 0, force: bool = False,
              params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Align ``synthetic`` against the training split of the loaded ``source``; write ``out``.

    Returns the manifest written to ``out/manifest.json``.
    """
    from samplegen.align import get_aligner
    from samplegen.align.base import check_synthetic
    from samplegen.split import make_split

    t0 = time.perf_counter()
    pool, in_manifest = read_synthetic(synthetic)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise RunDirError(f"output {str(out)!r} exists and is not empty. Fix: choose a new "
                          "--out directory or pass --force to overwrite its files.")
    if out.resolve() == Path(synthetic).resolve():
        raise UsageError("--out must differ from --synthetic (the input is never overwritten).")
    schema = source.schema
    check_synthetic(pool, list(source.table.columns), schema)
    if len(pool) == 0:
        raise UsageError(f"the synthetic set {str(synthetic)!r} has no rows.")
    n_sel = len(pool) // 2 if n is None else n
    if n_sel > len(pool) or n_sel < 0:
        raise UsageError(f"--n {n_sel} is larger than the synthetic pool ({len(pool)} rows). "
                         "Fix: ask for at most the pool size.")
    split = make_split(source)
    train = source.table.iloc[split.train].reset_index(drop=True)
    fingerprint = split.train_fingerprint(source)
    notes = []
    made_from = (in_manifest or {}).get("train_fingerprint")
    if made_from and made_from != fingerprint:
        notes.append("the synthetic set was generated from a different training split "
                     f"({made_from}) than the one aligned against ({fingerprint})")
    t1 = time.perf_counter()
    aligner = get_aligner(method, **(params or {})).fit(train, schema, seed=seed)
    selected, report = aligner.select(pool, n_sel, seed=seed)
    t2 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".synthetic.parquet.{os.getpid()}.tmp"
    selected.reset_index(drop=True).to_parquet(tmp, index=False)
    os.replace(tmp, out / "synthetic.parquet")
    schema.save(out / "schema.json")
    manifest = {
        "kind": "align",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": {"name": source.name, "meta": source.meta},
        "synthetic_from": str(Path(synthetic).resolve()),
        "input_manifest": _input_summary(in_manifest),
        "method": method, "n": n_sel, "seed": seed,
        "split_rule": split.rule, "train_fingerprint": fingerprint,
        "counts": {"pool": report.pool_size, "selected": report.selected,
                   "dropped": dict(report.dropped), "refilled": report.refilled},
        "align": report.to_dict(),
        "notes": notes,
        "timings": {"load_s": round(t1 - t0, 3), "align_s": round(t2 - t1, 3)},
    }
    text = json.dumps(manifest, indent=2, default=json_default)
    tmp = out / f".manifest.json.{os.getpid()}.tmp"
    tmp.write_text(text)
    os.replace(tmp, out / "manifest.json")
    return manifest


def _input_summary(m: dict[str, Any] | None) -> dict[str, Any] | None:
    if not m:
        return None
    keys = ("config_key", "generator", "seed", "train_fingerprint", "created", "counts")
    return {k: m[k] for k in keys if k in m}


def register(app: typer.Typer) -> None:
    @app.command("align")
    def align(
        source: SourceArg,
        synthetic: Annotated[Path, typer.Option(
            "--synthetic", help="Run directory (synthetic.parquet) or Parquet/CSV file of "
                                "synthetic rows to align.")],
        out: Annotated[Path, typer.Option("--out", help="New run directory to write.")],
        method: Annotated[Method, typer.Option(
            "--method", case_sensitive=False,
            help="shap: attribution filter + importance sampling; cllm: confidence/uncertainty "
                 "curation; none: uniform draw.")] = Method.shap,
        n: Annotated[int | None, typer.Option(
            "--n", help="Rows to keep (default: half of the synthetic set).")] = None,
        pass_share: Annotated[float | None, typer.Option(
            "--pass-share", help="Share of held-out real positives a filter lets through "
                                 "(shap default 0.95, cllm default 0.8).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the model and the draw.")] = 0,
        force: Annotated[bool, typer.Option("--force", help="Overwrite files in --out.")] = False,
        schema: SchemaOpt = None,
        click: ClickOpt = None,
        conversion: ConversionOpt = None,
        category: CategoryOpt = None,
        timestamp: TimestampOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Align a synthetic set made elsewhere with the real training split of SOURCE."""
        from samplegen.cli import console

        if n is not None and n < 0:
            raise UsageError(f"--n {n} must be at least 0.")
        params = {}
        if pass_share is not None:
            if method == Method.none:
                raise UsageError("--pass-share does not apply to --method none.")
            params["pass_share"] = pass_share
        src = load_cli_source(source, schema=schema, click=click, conversion=conversion,
                              category=category, timestamp=timestamp)
        manifest = run_align(src, synthetic, out, method=method.value, n=n, seed=seed,
                             force=force, params=params)
        if as_json:
            print_json(manifest)
            return
        _print_summary(console, manifest, out)


def _print_summary(console: Any, m: dict[str, Any], out: Path) -> None:
    from rich.table import Table

    rep = m["align"]
    table = Table(title=f"samplegen align --method {m['method']}")
    table.add_column("item")
    table.add_column("value", justify="right")
    table.add_row("pool rows", str(rep["pool_size"]))
    table.add_row("selected", str(rep["selected"]))
    for reason, count in rep["dropped"].items():
        table.add_row(f"dropped: {reason}", str(count))
    table.add_row("refilled", str(rep["refilled"]))
    if rep.get("ess") is not None:
        table.add_row("weights' ESS", f"{rep['ess']:.1f} ({rep['ess_fraction']:.1%})")
    if rep.get("validation_auc") is not None:
        table.add_row("attribution model validation AUC", f"{rep['validation_auc']:.4f}")
    for k, v in rep.get("thresholds", {}).items():
        table.add_row(f"threshold: {k}", f"{v:.4g}")
    console.print(table)
    for note in [*rep.get("notes", []), *m.get("notes", [])]:
        console.print(f"note: {note}")
    console.print(f"wrote {out / 'synthetic.parquet'} and {out / 'manifest.json'}")
