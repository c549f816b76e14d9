"""The generate pipeline: source -> training split -> fit -> chunked, validated, resumable sampling.

``generate(source, generator, out=DIR, n=2000)`` fits ``generator`` on the
TRAINING rows of the source's default split (never on validation/test rows),
samples positives (``click=1, conversion=1`` unless a target says otherwise)
for the target categories (default: the cold-start and sparse ones), and writes
a run directory (:mod:`samplegen.rundir`). Chunks are the unit of work: each
has a seed derived from ``(seed, chunk index)`` and deduplicates against the
earlier chunks, so a resumed run writes the same rows as an uninterrupted one.
Several workers (``workers=W``, or several processes running the same call with
``resume=True``) claim chunks through lock files; the finalizer drops rows that
racing workers produced twice and tops up to the exact count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.errors import GeneratorError, UsageError
from samplegen.generators.base import Generator
from samplegen.generators.registry import generator_class
from samplegen.generators.validation import RowValidator
from samplegen.preflight import (
    check_align_labels,
    check_writable,
    label_rows,
    mask_rows,
    require_label_rows,
    warn_duplicates,
)
from samplegen.rundir import ChunkSpec, RunDir, config_key

__all__ = ["generate", "RunResult", "Target", "resolve_targets", "parse_target"]

log = logging.getLogger(__name__)

DEFAULT_N = 1000
Progress = Callable[[int, int], None]


@dataclass
class Target:
    """Conditions of one target (e.g. a category plus labels) and its row count."""

    conditions: dict[str, Any]
    n: int

    @property
    def label(self) -> str:
        return Generator.condition_key(self.conditions)


@dataclass
class RunResult:
    """A finished run directory."""

    out: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def synthetic_path(self) -> Path:
        return self.out / "synthetic.parquet"

    def to_pandas(self) -> pd.DataFrame:
        return pd.read_parquet(self.synthetic_path)

    def to_dataset(self) -> Any:
        """The synthetic rows as an in-memory ``datasets.Dataset`` (writes no cache)."""
        import datasets
        import pyarrow.parquet as pq

        return datasets.Dataset(pq.read_table(self.synthetic_path).replace_schema_metadata(None))


def parse_target(text: str) -> dict[str, str]:
    """``'col=value[,col2=value2]'`` -> dict (CLI ``--target``); a value holding a comma is
    quoted: ``'city="Paris, France",click=1'``."""
    out: dict[str, str] = {}
    for part in _split_outside_quotes(text):
        col, eq, val = part.partition("=")
        if not eq or not col.strip():
            raise UsageError(f"--target {text!r} is not COL=VALUE. Fix: e.g. --target "
                             "item_category=cruise; quote a value that holds a comma: "
                             "--target 'city=\"Paris, France\"'.")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
            val = val[1:-1]
        out[col.strip()] = val
    return out


def _split_outside_quotes(text: str) -> list[str]:
    parts, cur, quote = [], [], ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if quote:
        raise UsageError(f"--target {text!r} has an unclosed quote ({quote}). Fix: close it.")
    parts.append("".join(cur))
    return parts


def resolve_targets(source: Source, train: pd.DataFrame, targets: list[dict[str, Any]] | None,
                    *, n: int | None, per_category: int | None, copies_rows: bool = False,
                    ) -> tuple[list[Target], list[str]]:
    """Targets with counts; default = cold-start + sparse categories of the training rows.

    Returns ``(targets, skipped)``: default categories without training rows are skipped.
    With ``copies_rows`` (a generator that copies real rows, e.g. oversample) a target needs
    training rows that meet its label conditions too: copying a non-converting row and
    labelling it conversion=1 would fabricate a label. A named target without them is a
    UsageError; a default one is skipped.
    """
    schema = source.schema
    if n is not None and per_category is not None:
        raise UsageError("give --n or --per-category, not both.")
    for name, v in (("n", n), ("per_category", per_category)):
        if v is not None and (not isinstance(v, (int, np.integer)) or v <= 0):
            raise UsageError(f"{name}={v!r} must be a positive integer.")
    check = RowValidator(schema)
    labels = {c: 1 for c in (schema.click, schema.conversion) if c is not None}
    skipped: list[str] = []
    cat = schema.category
    if targets:
        conds = [check.check_conditions({**labels, **dict(t)}) for t in targets]
        for c in conds:
            _require_rows(source, train, c)
            if copies_rows:
                require_label_rows(source, train, c)
    elif cat is not None:
        from samplegen.split import sparse_categories

        names = sparse_categories(train, schema).targets
        in_train = set(train[cat].astype(str))
        skipped = [c for c in names if c not in in_train]
        conds = [check.check_conditions({cat: c, **labels}) for c in names if c in in_train]
        if copies_rows:
            no_labels = [c for c in conds if not label_rows(source, train, c)]
            skipped += [str(c[cat]) for c in no_labels]
            conds = [c for c in conds if c not in no_labels]
        if not conds:
            why = " with the asked labels (a generator that copies rows needs some)" \
                if copies_rows else ""
            raise UsageError(f"no cold-start or sparse category has training rows{why}. Fix: "
                             "name the targets with --target COL=VALUE, or use a generator that "
                             "models the labels (e.g. sdv-gaussian-copula).")
    else:
        conds = [check.check_conditions(labels)]
        if copies_rows:
            require_label_rows(source, train, conds[0])
    if per_category is not None:
        counts = [int(per_category)] * len(conds)
    else:
        total = DEFAULT_N if n is None else int(n)
        if total < len(conds):
            raise UsageError(f"n={total} is smaller than the number of targets ({len(conds)}). "
                             "Fix: raise --n or use --per-category.")
        base, extra = divmod(total, len(conds))
        counts = [base + (i < extra) for i in range(len(conds))]
    return [Target(c, k) for c, k in zip(conds, counts, strict=True)], skipped


def _require_rows(source: Source, train: pd.DataFrame, cond: dict[str, Any]) -> None:
    feats = {k: v for k, v in cond.items() if k not in source.schema.labels}
    if not feats:
        return
    table = source.schema.coerce(source.table[list(feats)])
    if not mask_rows(table, feats).any():
        raise UsageError(f"target {feats} has no real rows at all in {source.name!r}. Fix: pick "
                         "a value that occurs in the data (see `samplegen data describe`).")
    if not mask_rows(source.schema.coerce(train[list(feats)]), feats).any():
        raise UsageError(f"target {feats} has no rows in the training split (only in validation "
                         "or test rows, which generators never see). Fix: pick another target.")


def plan_chunks(targets: list[Target], chunk_rows: int) -> list[ChunkSpec]:
    """Chunks of at most ``chunk_rows`` rows, target by target."""
    out: list[ChunkSpec] = []
    for t, target in enumerate(targets):
        left = target.n
        while left > 0:
            k = min(chunk_rows, left)
            out.append(ChunkSpec(len(out), t, k))
            left -= k
    return out


def generate(
    source: Source | str | Path | pd.DataFrame,
    generator: str | Generator,
    *,
    out: str | Path,
    n: int | None = None,
    per_category: int | None = None,
    targets: list[dict[str, Any]] | None = None,
    seed: int = 0,
    resume: bool = False,
    chunk_rows: int = 5000,
    epochs: int | None = None,
    align: str | None = None,
    workers: int = 1,
    split: Any = None,
    generator_params: dict[str, Any] | None = None,
    progress: Progress | None = None,
    keep_model: bool = False,
) -> RunResult:
    """Fit ``generator`` on the training split of ``source`` and write ``out`` (see module doc).

    Every input is checked before anything is written; a bad one raises a
    :class:`~samplegen.errors.UsageError` and leaves ``out`` untouched. The fitted
    generator is saved under ``out/model/`` only with ``keep_model=True``: a resume
    refits it from the seed and the recorded training rows (same rows, same model),
    and a pickled generator can be hundreds of MB.
    """
    from samplegen.pipeline_run import Run

    t0 = time.perf_counter()
    src = _load(source)
    t_load = time.perf_counter() - t0
    gen = _make_generator(generator, epochs, generator_params or {})
    if not isinstance(chunk_rows, int) or chunk_rows <= 0:
        raise UsageError(f"chunk_rows={chunk_rows!r} must be a positive integer.")
    if not isinstance(workers, int) or workers <= 0:
        raise UsageError(f"workers={workers!r} must be a positive integer.")
    align = None if align in (None, "none") else str(align)
    if align is not None:
        from samplegen.align import get_aligner

        get_aligner(align)  # an unknown name is a UsageError before anything is written
    check_writable(Path(out))
    if split is None:
        from samplegen.split import make_split

        split = make_split(src)
    train = src.table.iloc[split.train].reset_index(drop=True)
    tlist, skipped = resolve_targets(src, train, targets, n=n, per_category=per_category,
                                     copies_rows=gen.allow_real_copies)
    check_align_labels(train, src.schema, align)
    warn_duplicates(gen, train, src.schema, tlist)
    plan = plan_chunks(tlist, chunk_rows)
    config = {
        "source": src.name, "schema": src.schema.fingerprint(),
        "train_fingerprint": split.train_fingerprint(src), "split_rule": split.rule,
        "generator": gen.name, "params": gen.params, "seed": int(seed),
        "targets": [{"conditions": t.conditions, "n": t.n} for t in tlist],
        "chunk_rows": chunk_rows, "align": align,
    }
    rd = RunDir(out)
    key = config_key(config)
    existing = rd.check_usable(key, resume=resume, config=config)
    if existing is None and rd.path.is_dir() and rd.read_manifest() is not None:
        log.info("%s holds a run that failed before its first chunk; starting afresh", rd.path)
        rd.reset()
    run = Run(rd=rd, source=src, split=split, train=train, gen=gen, targets=tlist, plan=plan,
              config=config, key=key, seed=int(seed), align=align, skipped=skipped,
              progress=progress, timings={"load_s": t_load}, keep_model=bool(keep_model))
    return run.execute(existing, workers=workers, source_arg=source)


def _load(source: Source | str | Path | pd.DataFrame) -> Source:
    if isinstance(source, Source):
        return source
    from samplegen.sources import load_source

    return load_source(source)


def _make_generator(generator: str | Generator, epochs: int | None,
                    params: dict[str, Any]) -> Generator:
    if isinstance(generator, Generator):
        gen = generator
        if params:
            gen.params.update(params)
    else:
        klass = generator_class(str(generator))
        gen = klass(**params)
    if epochs is not None:
        if not isinstance(epochs, int) or epochs <= 0:
            raise UsageError(f"epochs={epochs!r} must be a positive integer.")
        if "epochs" not in gen.default_params:
            raise UsageError(f"--epochs does not apply to generator {gen.name!r}. Fix: drop it.")
        gen.params["epochs"] = epochs
    if not isinstance(gen, Generator):
        raise GeneratorError(f"{generator!r} is not a Generator.")
    return gen
