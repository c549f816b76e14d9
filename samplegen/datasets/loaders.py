"""Readers for the supported table formats, with format detection and default roles.

Each reader returns a :class:`Loaded` table: the raw frame (categorical codes as
strings) plus the format's default label, category and role assignment. Turning
that into a validated :class:`~samplegen.datasets.base.Source` is
:func:`samplegen.sources.load_source`'s job.

Known formats (detected by header / first line, see :func:`detect_format`):

* ``ali-ccp``: torch-rechub's processed Ali-CCP CSV (``click,purchase,101,...``,
  multi-value ``109_14``..., dense ``D...``).
* ``aitm``: PaddleRec's AITM CSV, the 20 columns of :data:`AITM_COLUMNS`, with or
  without a header row.
* ``esmm-txt``: PaddleRec's raw Ali-CCP txt (``id,click,ctcvr,field:featid,...``).
* ``aliexpress``: torch-rechub's AliExpress CSV (``search_id``, ``categorical_*``,
  ``numerical_*``, ``click``, ``conversion``).
* ``taobao-userbehavior``: Taobao UserBehavior logs (user, item, category,
  behavior, ts) aggregated to user-item rows (see :mod:`samplegen.datasets.taobao`).
* generic ``csv`` / ``tsv`` / ``parquet`` / ``jsonl`` / ``json`` / ``hf-dataset``.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from samplegen.datasets.alicpp import (
    AITM_COLUMNS,
    CATEGORY,
    alicpp_entities,
    alicpp_roles,
    is_alicpp_columns,
)
from samplegen.datasets.esmm_txt import read_esmm_txt
from samplegen.datasets.taobao import (
    TAOBAO_BEHAVIORS,
    TAOBAO_COLUMNS,
    is_taobao_columns,
    taobao_to_user_item,
)
from samplegen.errors import DataError, UsageError

__all__ = [
    "Loaded", "FORMATS", "detect_format", "format_from_columns", "read_path", "read_csv_kwargs",
    "known_defaults",
]

log = logging.getLogger(__name__)

#: format name -> one-line description (shown by ``samplegen data list``).
FORMATS: dict[str, str] = {
    "ali-ccp": "Ali-CCP as processed by torch-rechub (CSV: click, purchase, 101, 121, ..., D...)",
    "aitm": "PaddleRec AITM Ali-CCP CSV (20 columns, with or without header)",
    "esmm-txt": "PaddleRec raw Ali-CCP txt (id,click,ctcvr,field:featid,...)",
    "aliexpress": "AliExpress via torch-rechub (CSV: search_id, categorical_*, numerical_*, "
                  "click, conversion)",
    "taobao-userbehavior": "Taobao UserBehavior log (user,item,category,behavior,ts) -> "
                           "user-item rows",
    "csv": "any CSV/TSV with a header (name labels with --click/--conversion or a schema file)",
    "parquet": "a Parquet file or a folder of Parquet files",
    "jsonl": "JSON lines (one object per line); .json records also accepted",
    "hf-dataset": "a Hugging Face datasets folder (save_to_disk) or a datasets.Dataset object",
}

_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonl.gz")


@dataclass
class Loaded:
    """A raw table with its format's default label/category/role assignment."""

    table: pd.DataFrame
    format: str
    click: str | None = None
    conversion: str | None = None
    category: str | None = None
    timestamp: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the header row was guessed from an all-numeric first line (it may be data)
    header_guessed: bool = False


# ====================================================================== detection
def _first_line(path: Path) -> str:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:  # type: ignore[operator]
        return f.readline().rstrip("\r\n")


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def detect_format(path: Path, header: bool | None = None) -> tuple[str, bool]:
    """Return ``(format, has_header)`` for a file, peeking at its first line only."""
    name = path.name.lower()
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists() \
                or (path / "state.json").exists():
            return "hf-dataset", True
        if any(path.glob("*.parquet")):
            return "parquet", True
        raise DataError(f"folder {str(path)!r} is neither a Hugging Face dataset nor a folder of "
                        "Parquet files. Fix: pass a file, a save_to_disk folder or a Parquet "
                        "folder.")
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet", True
    if name.endswith(_JSON_SUFFIXES):
        return "jsonl", True
    if not name.endswith(_TEXT_SUFFIXES):
        raise DataError(f"cannot read {str(path)!r}: unknown file type {path.suffix!r}. Fix: use "
                        "CSV/TSV, Parquet, JSON lines or a Hugging Face dataset folder "
                        "(see `samplegen data list`).")
    first = _first_line(path)
    if not first.strip():
        raise DataError(f"file {str(path)!r} is empty. Fix: pass a file with a header and data "
                        "rows.")
    sep = text_sep(path)
    toks = next(csv.reader([first], delimiter=sep))
    if len(toks) > 3 and ":" in toks[3] and all(_is_number(t) for t in toks[:3]):
        return "esmm-txt", False
    if len(toks) == 5 and toks[3].strip().lower() in TAOBAO_BEHAVIORS and header is not True:
        return "taobao-userbehavior", False
    numeric_row = all(_is_number(t) for t in toks if t != "")
    has_header = (not numeric_row) if header is None else header
    if not has_header:
        if len(toks) == len(AITM_COLUMNS):
            return "aitm", False
        if header is None:  # numeric first row of an unknown layout: read it as a header
            has_header = True
    if has_header:
        known = format_from_columns([t.strip() for t in toks])
        if known is not None:
            return known, True
    return ("tsv" if sep == "\t" else "csv"), has_header


def text_sep(path: Path) -> str:
    """The delimiter of a text table: tab for .tsv; else comma, unless the first line has no
    comma but semicolons (European spreadsheets), tabs or pipes."""
    if ".tsv" in path.name.lower():
        return "\t"
    first = _first_line(path)
    if "," not in first:
        for alt in (";", "\t", "|"):
            if alt in first:
                return alt
    return ","


def numeric_header(path: Path) -> bool:
    """True when the first line of a text table is all numbers (data rather than a header)."""
    toks = next(csv.reader([_first_line(path)], delimiter=text_sep(path)), [])
    return bool(toks) and all(_is_number(t) for t in toks if t != "")


def format_from_columns(columns: list[str]) -> str | None:
    """The known format whose columns these are, or None (also used for DataFrames)."""
    cols = [str(c) for c in columns]
    if cols == AITM_COLUMNS:
        return "aitm"
    if is_alicpp_columns(cols):
        return "esmm-txt" if "ctcvr" in cols else "ali-ccp"
    if "search_id" in cols and any(c.startswith("categorical_") for c in cols) \
            and {"click", "conversion"} <= set(cols):
        return "aliexpress"
    if is_taobao_columns(cols):
        return "taobao-userbehavior"
    return None


# ======================================================================== reading
def read_path(path: str | Path, *, header: bool | None = None, **kw: Any) -> Loaded:
    """Read ``path`` in its detected format; ``header=False`` forces a headerless read."""
    p = Path(path)
    if not p.exists():
        raise UsageError(f"file {str(p)!r} does not exist. Fix: check the path, or use a "
                         "built-in dataset name (see `samplegen data list`).")
    if p.is_file() and p.stat().st_size == 0:
        raise DataError(f"file {str(p)!r} is empty. Fix: pass a file with a header and data rows.")
    fmt, has_header = detect_format(p, header)
    log.info("reading %s as %s (header=%s)", p, fmt, has_header)
    try:
        df = _read(p, fmt, has_header, **kw)
    except (DataError, UsageError):
        raise
    except UnicodeDecodeError as e:
        bad = e.object[e.start:e.start + 1] if isinstance(e.object, bytes) else b""
        raise DataError(f"cannot read {str(p)!r}: it is not UTF-8 text (byte {bad!r} at offset "
                        f"{e.start}); it is probably Latin-1 or Windows-1252. Fix: convert it to "
                        f"UTF-8, e.g. `iconv -f latin1 -t utf-8 {p} > {p.stem}.utf8{p.suffix}`."
                        ) from None
    except Exception as e:  # noqa: BLE001 - parser errors vary by format and library
        raise DataError(f"cannot read {str(p)!r} as {fmt}: {type(e).__name__}: {e}. Fix: check "
                        "the file is a valid table of that format.") from e
    if len(df) == 0:
        raise DataError(f"file {str(p)!r} has a header but no data rows. Fix: pass a file with "
                        "data rows.")
    loaded = known_defaults(df, fmt, has_header=has_header)
    if fmt in ("csv", "tsv"):
        sep = text_sep(p)
        if sep not in (",", "\t"):
            loaded.notes.append(f"read with the delimiter {sep!r} (the first line has no comma)")
        loaded.header_guessed = has_header and header is None and numeric_header(p)
    return loaded


def read_csv_kwargs(path: Path, fmt: str, has_header: bool) -> dict[str, Any]:
    """pandas.read_csv arguments for a text format (names, dtypes); shared with chunked reads."""
    sep = "\t" if fmt == "tsv" else text_sep(path)
    kw: dict[str, Any] = {"sep": sep, "low_memory": False}
    if fmt == "aitm" and not has_header:
        kw.update(header=None, names=AITM_COLUMNS)
        cols = AITM_COLUMNS
    elif fmt == "taobao-userbehavior" and not has_header:
        kw.update(header=None, names=TAOBAO_COLUMNS)
        cols = TAOBAO_COLUMNS
    elif not has_header:
        kw.update(header=None)
        cols = []
    else:
        cols = list(pd.read_csv(path, sep=sep, nrows=0).columns)
        _unique_header(path, sep)
    kw["dtype"] = {c: str for c in _code_columns(fmt, cols)}
    return kw


def _unique_header(path: Path, sep: str) -> None:
    """DataError for repeated column names (pandas would rename them silently: price.1)."""
    from collections import Counter

    toks = next(csv.reader([_first_line(path)], delimiter=sep), [])
    dups = sorted(k for k, v in Counter(t.strip() for t in toks).items() if v > 1)
    if not dups:
        return
    if numeric_header(path):
        raise DataError(f"the first row of {str(path)!r} is all numbers with repeats, so it is "
                        "data, not a header. Fix: pass --no-header (columns are then named 0, "
                        "1, 2, ...; name the labels with --click N --conversion N).")
    raise DataError(f"column name(s) {dups} appear more than once in the header of "
                    f"{str(path)!r}. Fix: give every column a unique name.")


def _code_columns(fmt: str, cols: list[str]) -> list[str]:
    """Columns holding categorical codes, read as strings (never as floats)."""
    if fmt in ("ali-ccp", "aitm"):
        return [c for c in alicpp_roles(cols) if not c.startswith("D")]
    if fmt == "aliexpress":
        return [c for c in cols if c.startswith("categorical_") or c == "search_id"]
    if fmt == "taobao-userbehavior":
        return [c for c in cols if c in TAOBAO_COLUMNS[:3]]
    return []


def _read(p: Path, fmt: str, has_header: bool, **kw: Any) -> pd.DataFrame:
    if fmt == "hf-dataset":
        return _read_hf(p, split=kw.get("split"))
    if fmt == "parquet":
        return pd.read_parquet(p)
    if fmt == "jsonl":
        lines = not p.name.lower().endswith(".json")
        try:
            return pd.read_json(p, lines=lines, dtype=False)
        except ValueError:
            return pd.read_json(p, lines=not lines, dtype=False)
    if fmt == "esmm-txt":
        return read_esmm_txt(p, multi_value=kw.get("multi_value", "join"))
    df = pd.read_csv(p, **read_csv_kwargs(p, fmt, has_header))
    df.columns = [str(c) for c in df.columns]
    if fmt == "taobao-userbehavior":
        df = taobao_to_user_item(df)
    return df


def _read_hf(p: Path, split: str | None = None) -> pd.DataFrame:
    import datasets

    obj = datasets.load_from_disk(str(p))
    if isinstance(obj, datasets.DatasetDict):
        names = list(obj.keys())
        pick = split or ("train" if "train" in obj else None)
        if pick not in obj:
            raise UsageError(f"dataset folder {str(p)!r} has splits {names}. Fix: choose one "
                             "with split=NAME.")
        obj = obj[pick]
    return obj.to_pandas()


# ======================================================================= defaults
def known_defaults(df: pd.DataFrame, fmt: str, *, has_header: bool = True) -> Loaded:
    """Wrap a raw frame with its format's default labels, category, roles and entities."""
    cols = [str(c) for c in df.columns]
    for c in _code_columns(fmt, cols):  # codes are strings (a DataFrame may hold ints)
        if c in df.columns and not pd.api.types.is_object_dtype(df[c]):
            df[c] = df[c].map(_code_str).astype(object)
    if fmt in ("ali-ccp", "aitm", "esmm-txt"):
        conv = "purchase" if "purchase" in cols else "ctcvr"
        roles = alicpp_roles(cols)
        notes = ["Ali-CCP field meanings: 101 user id, 121-129 user profile, 205 item id, "
                 "206 category, 207 shop, 210 intention node, 216 brand, 301 scenario, "
                 "508/509/702/853 user x item combinations."]
        if fmt == "esmm-txt":
            for c in ("109_14", "110_14", "127_14", "150_14"):
                if c in roles:
                    roles[c] = "ignore"
            notes.append("long multi-value history fields 109_14/110_14/127_14/150_14 are "
                         "joined and set to role 'ignore'; give them a role in a schema file "
                         "to use them.")
        if fmt == "aitm" and not has_header:
            notes.append("no header row: applied the 20 AITM column names.")
        return Loaded(df, fmt, "click", conv, CATEGORY if CATEGORY in cols else None, None,
                      roles, _consistent(df, alicpp_entities(cols)), notes)
    if fmt == "aliexpress":
        roles = {c: "context" for c in cols if c.startswith(("categorical_", "numerical_"))}
        roles["search_id"] = "id"
        return Loaded(df, fmt, "click", "conversion", "categorical_7", None, roles, [],
                      ["AliExpress feature meanings are undocumented: all features are "
                       "'context'; the category column categorical_7 is a guess (the "
                       "categorical with the most values); override with --category."])
    if fmt == "taobao-userbehavior":
        roles = {"user_id": "user", "item_id": "item", "cart": "aux_label", "fav": "aux_label"}
        ents = [{"name": "user", "key": "user_id", "attributes": []},
                {"name": "item", "key": "item_id", "attributes": ["category_id"]}]
        return Loaded(df, fmt, "click", "conversion", "category_id", "timestamp", roles,
                      _consistent(df, ents),
                      ["user-item rows: click=1 for any behaviour (the log holds no "
                       "unclicked impressions), conversion = buy; cart and fav are "
                       "auxiliary labels."])
    return Loaded(df, fmt)


def _code_str(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _consistent(df: pd.DataFrame, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep only the entity attributes that the key determines in ``df`` (one value per key)."""
    out = []
    for e in entities:
        attrs = []
        for a in e["attributes"]:
            if a in df.columns and int(df.groupby(e["key"])[a].nunique(dropna=False).max()) <= 1:
                attrs.append(a)
            else:
                log.info("entity %s: %s is not determined by %s in this table; left out",
                         e["name"], a, e["key"])
        out.append({**e, "attributes": attrs})
    return out
