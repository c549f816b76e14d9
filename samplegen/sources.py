"""Load any supported source into a validated :class:`~samplegen.datasets.base.Source`.

``load_source`` accepts a built-in dataset name (``"travel-sim"``), a path (CSV/TSV,
Parquet, JSON lines, a Hugging Face ``save_to_disk`` folder, or one of the known
CVR formats: Ali-CCP, AITM, ESMM txt, AliExpress, Taobao UserBehavior), a pandas
DataFrame or a ``datasets.Dataset``. The schema is built in this order:

1. the format's defaults (label, category and user/item/context roles), or
   inference from the data for generic tables;
2. the flags ``click=`` / ``conversion=`` / ``category=`` / ``timestamp=``;
3. the schema file (YAML/JSON overrides, see :func:`samplegen.schema.load_overrides`),
   a dict of overrides, or a full :class:`~samplegen.schema.Schema`.

Then every problem is collected at once (:class:`~samplegen.errors.SchemaError`),
after handling rows with ``conversion=1`` and ``click=0`` as asked by
``invalid_conversions``: ``"error"`` (default: report them), ``"drop"`` (remove the
rows) or ``"fix-click"`` (set ``click=1``). Label leaks are *not* handled here; see
:mod:`samplegen.leaks`.

For files too large for memory (the full Ali-CCP is 38 GB), :func:`iter_source_chunks`
yields DataFrames of ``chunksize`` rows from CSV/TSV, Parquet, JSON lines, ESMM txt
or a Hugging Face dataset folder, with the same column names and code dtypes as
``load_source``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from samplegen.datasets.base import Source
from samplegen.datasets.loaders import (
    Loaded,
    detect_format,
    format_from_columns,
    known_defaults,
    read_csv_kwargs,
    read_path,
)
from samplegen.errors import DataError, Problem, SchemaError, UsageError
from samplegen.schema import (
    LABEL_ROLES,
    ColumnType,
    Role,
    Schema,
    infer_schema,
    load_overrides,
)

__all__ = ["BUILTINS", "INVALID_CONVERSIONS", "load_source", "iter_source_chunks"]

log = logging.getLogger(__name__)

#: built-in dataset name -> description
BUILTINS: dict[str, str] = {
    "travel-sim": "seeded Fliggy-like travel funnel simulator (exposure -> click -> purchase; "
                  "true probabilities kept as an oracle; sparse and cold-start categories)",
    "travel-sim-cold": "travel-sim with 'theme park' launched after the training window "
                       "(0 training rows: a true cold start)",
}
#: the launch fraction of travel-sim-cold's cold category (the default split trains on the
#: first 70% of the time window)
COLD_START = {"theme park": 0.72}
INVALID_CONVERSIONS = ("error", "drop", "fix-click")
_LABEL_SPEC = {"type": "numerical", "integer": True, "min": 0.0, "max": 1.0, "decimals": 0}


def load_source(
    source: Any,
    *,
    schema: str | Path | dict[str, Any] | Schema | None = None,
    click: str | None = None,
    conversion: str | None = None,
    category: str | None = None,
    timestamp: str | None = None,
    invalid_conversions: str = "error",
    header: bool | None = None,
    name: str | None = None,
    **kw: Any,
) -> Source:
    """Load ``source`` with its schema, validated; raises UsageError/DataError/SchemaError.

    ``header=False`` reads a CSV without a header row (``None`` detects it);
    other keywords go to the reader (``split=`` for a dataset dict,
    ``multi_value=`` for ESMM txt) or to the simulator (``n_impressions``, ``seed``...).
    """
    if invalid_conversions not in INVALID_CONVERSIONS:
        raise UsageError(f"invalid_conversions={invalid_conversions!r} is not supported. Fix: "
                         f"use one of {list(INVALID_CONVERSIONS)}.")
    flags = {"click": click, "conversion": conversion, "category": category,
             "timestamp": timestamp}
    if isinstance(source, Source):
        return _finish(source, schema, flags, invalid_conversions)
    if isinstance(source, str) and source in BUILTINS:
        return _finish(_builtin(source, **kw), schema, flags, invalid_conversions)
    meta: dict[str, Any] = {}
    if isinstance(source, pd.DataFrame):
        loaded, label = _from_frame(source.copy()), name or "dataframe"
    elif _is_hf_dataset(source):
        loaded, label = _from_frame(source.to_pandas()), name or "dataset"
    elif isinstance(source, (str, Path)):
        p = Path(source)
        if not p.exists() and isinstance(source, str) and "/" not in source and "." not in source:
            raise UsageError(f"{source!r} is neither a built-in dataset nor an existing file. "
                             f"Fix: use one of {list(BUILTINS)} or a path (see `samplegen data "
                             "list`).")
        loaded = read_path(p, header=header, **kw)
        label = name or p.name.split(".")[0]
        meta["path"] = str(p)
    else:
        raise UsageError(f"cannot load a {type(source).__name__}. Fix: pass a built-in name, a "
                         "path, a pandas DataFrame or a datasets.Dataset.")
    meta.update(format=loaded.format, notes=loaded.notes)
    try:
        base = _default_schema(loaded, flags, label)
        src = Source(label, loaded.table, base, meta=meta)
        # a full Schema replaces the inferred one, so the flags are applied on top of it
        return _finish(src, schema, flags if isinstance(schema, Schema) else {},
                       invalid_conversions, prebuilt=False)
    except SchemaError as e:
        if not loaded.header_guessed:
            raise
        first = ",".join(map(str, loaded.table.columns[:6]))
        raise SchemaError([Problem(None, f"the first row ({first}, ...) is all numbers, so it "
                                   "is probably data and the file has no header row.",
                                   "pass --no-header; columns are then named 0, 1, 2, ... "
                                   "(name the labels with --click N --conversion N)"),
                           *e.problems]) from None


def iter_source_chunks(
    path: str | Path,
    chunksize: int = 100_000,
    *,
    header: bool | None = None,
    schema: Schema | None = None,
    **kw: Any,
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most ``chunksize`` rows from a large file, never the whole table.

    Works for CSV/TSV (incl. the known CSV formats), Parquet files and folders, JSON
    lines, ESMM txt and Hugging Face dataset folders. With ``schema`` each chunk is
    coerced to its storage types (validation is the caller's job, per chunk).
    The Taobao log needs all events of a user-item pair together and cannot be streamed.
    """
    if chunksize < 1:
        raise UsageError(f"chunksize must be >= 1 (got {chunksize}).")
    p = Path(path)
    if not p.exists():
        raise UsageError(f"file {str(p)!r} does not exist. Fix: check the path.")
    fmt, has_header = detect_format(p, header)
    chunks: Iterator[pd.DataFrame]
    if fmt == "taobao-userbehavior":
        raise DataError("the Taobao log cannot be streamed (pairs aggregate events across the "
                        "file). Fix: load it with load_source, or pre-aggregate it by user-item.")
    if fmt == "parquet":
        chunks = _parquet_chunks(p, chunksize)
    elif fmt == "jsonl":
        chunks = iter(pd.read_json(p, lines=True, dtype=False, chunksize=chunksize))
    elif fmt == "esmm-txt":
        from samplegen.datasets.esmm_txt import iter_esmm_txt

        chunks = iter_esmm_txt(p, chunksize, multi_value=kw.get("multi_value", "join"))
    elif fmt == "hf-dataset":
        import datasets

        ds = datasets.load_from_disk(str(p))
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[kw.get("split", "train")]
        chunks = ds.to_pandas(batched=True, batch_size=chunksize)
    else:
        chunks = iter(pd.read_csv(p, chunksize=chunksize, **read_csv_kwargs(p, fmt, has_header)))
    for chunk in chunks:
        chunk.columns = [str(c) for c in chunk.columns]
        yield schema.coerce(chunk) if schema is not None else chunk


# ==================================================================== internals
def _parquet_chunks(p: Path, chunksize: int) -> Iterator[pd.DataFrame]:
    import pyarrow.dataset as ds

    for batch in ds.dataset(str(p), format="parquet").to_batches(batch_size=chunksize):
        if batch.num_rows:
            yield batch.to_pandas()


def _is_hf_dataset(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "datasets" and hasattr(obj, "to_pandas")


def _builtin(name: str, **kw: Any) -> Source:
    if name in ("travel-sim", "travel-sim-cold"):
        from samplegen.datasets.travel_sim import load_travel_sim

        if name == "travel-sim-cold":
            kw = {"launch": dict(COLD_START), **kw}
            src = load_travel_sim(**kw)
            src.name = src.meta["name"] = name
            return src
        return load_travel_sim(**kw)
    raise UsageError(f"unknown built-in dataset {name!r}. Fix: use one of {list(BUILTINS)}.")


def _from_frame(df: pd.DataFrame) -> Loaded:
    df.columns = [str(c) for c in df.columns]
    fmt = format_from_columns(list(df.columns))
    if fmt == "taobao-userbehavior":
        from samplegen.datasets.taobao import taobao_to_user_item

        df = taobao_to_user_item(df)
    return known_defaults(df, fmt) if fmt else Loaded(df, "dataframe")


def _check_flags(columns: list[str], flags: dict[str, str | None]) -> None:
    problems = [Problem(col, f"the {what} column named by --{what} is not in the data.",
                        f"use one of {columns}")
                for what, col in flags.items() if col is not None and col not in columns]
    if problems:
        raise SchemaError(problems)


def _role_spec(role: str) -> dict[str, Any]:
    return {"role": role, **_LABEL_SPEC} if Role(role) in LABEL_ROLES else {"role": role}


def _default_schema(loaded: Loaded, flags: dict[str, str | None], name: str) -> Schema:
    df = loaded.table
    _check_flags(list(df.columns), flags)
    chosen = {k: flags[k] or getattr(loaded, k) for k in flags}
    roles = dict(loaded.roles)
    for old in (loaded.click, loaded.conversion):  # a label replaced by a flag stays a label
        if old and old not in (chosen["click"], chosen["conversion"]):
            roles[old] = Role.AUX_LABEL.value
    for col in chosen.values():
        roles.pop(col, None)  # type: ignore[arg-type]
    schema = infer_schema(df, name=name, **chosen)
    ts = schema.timestamp
    if ts and schema[ts].type == ColumnType.CATEGORICAL \
            and not pd.api.types.is_numeric_dtype(df[ts]):  # date strings -> datetime
        parsed = pd.to_datetime(df[ts], errors="coerce", format="mixed")
        if parsed.notna().sum() == df[ts].notna().sum():
            df[ts] = parsed
            schema = infer_schema(df, name=name, **chosen)
    overrides: dict[str, Any] = {"columns": {c: _role_spec(r) for c, r in roles.items()
                                             if c in df.columns}}
    labels = {chosen["click"], chosen["conversion"]}
    if loaded.entities:
        overrides["entities"] = [e for e in loaded.entities if e["key"] not in labels]
    return schema.with_overrides(overrides)


def _flag_overrides(schema: Schema, columns: list[str],
                    flags: dict[str, str | None]) -> dict[str, Any]:
    _check_flags(columns, flags)
    cols: dict[str, dict[str, Any]] = {}
    fallback = {"click": "aux_label", "conversion": "aux_label", "category": "item",
                "timestamp": "context"}
    for what, col in flags.items():
        if col is None:
            continue
        old = getattr(schema, what)
        if old and old != col:
            cols[old] = _role_spec(fallback[what])
        cols[col] = _role_spec(what)
    return {"columns": cols}


def _finish(src: Source, schema: Any, flags: dict[str, str | None], policy: str,
            prebuilt: bool = True) -> Source:
    sch = schema if isinstance(schema, Schema) else src.schema
    if any(v is not None for v in flags.values()):
        sch = sch.with_overrides(_flag_overrides(sch, list(src.table.columns), flags))
    if isinstance(schema, dict):
        sch = sch.with_overrides(schema)
    elif schema is not None and not isinstance(schema, Schema):
        sch = sch.with_overrides(load_overrides(schema))
        src.meta["schema_file"] = str(schema)
    df, oracle = _invalid_conversions(src, sch, policy)
    sch.validate(df)
    # a prebuilt Source (the simulator) is already typed: coerce only what changed
    table = df if (prebuilt and sch is src.schema and df is src.table) else sch.coerce(df)
    return Source(src.name, table, sch, oracle, dict(src.extras), dict(src.meta))


def _invalid_conversions(src: Source, sch: Schema,
                         policy: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    df, oracle = src.table, src.oracle
    ck, cv = sch.click, sch.conversion
    if policy == "error" or not ck or not cv or ck not in df or cv not in df:
        return df, oracle
    bad = ((pd.to_numeric(df[cv], errors="coerce") == 1)
           & (pd.to_numeric(df[ck], errors="coerce") != 1)).to_numpy()
    n = int(bad.sum())
    src.meta["invalid_conversions"] = {"policy": policy, "rows": n,
                                       "first_row": int(np.flatnonzero(bad)[0]) if n else None}
    if not n:
        return df, oracle
    log.warning("%d row(s) with %s=1 and %s=0: %s", n, cv, ck, policy)
    if policy == "drop":
        keep = ~bad
        df = df[keep].reset_index(drop=True)
        if oracle is not None:
            oracle = oracle[keep].reset_index(drop=True)
    else:  # fix-click
        df = df.copy()
        df[ck] = pd.to_numeric(df[ck], errors="coerce")
        df.loc[bad, ck] = 1
    return df, oracle
