"""PaddleRec's raw Ali-CCP txt: ``id,click,ctcvr`` then ``field:featid`` tokens per line.

Each field becomes one column of feature-id strings. A field that appears several
times on a line (``210``, the ``*_14`` histories) is multi-value: its ids are joined
with ``|`` (``multi_value="join"``, order kept) or only the first is kept
(``multi_value="first"``). A field absent from a line is missing (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from samplegen.errors import DataError

__all__ = ["read_esmm_txt", "iter_esmm_txt", "parse_esmm_lines"]

_LABELS = ["id", "click", "ctcvr"]


def parse_esmm_lines(lines: Iterable[str], *, multi_value: str = "join",
                     start_line: int = 1) -> pd.DataFrame:
    """Parse ESMM txt lines into a frame (labels as ints, fields as id strings)."""
    if multi_value not in ("join", "first"):
        raise DataError(f"multi_value={multi_value!r} is not supported. Fix: use 'join' or "
                        "'first'.")
    rows: list[dict[str, object]] = []
    for n, line in enumerate(lines, start=start_line):
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        try:
            row: dict[str, object] = {"id": parts[0], "click": int(parts[1]),
                                      "ctcvr": int(parts[2])}
            feats: dict[str, list[str]] = {}
            for tok in parts[3:]:
                fld, fid = tok.split(":", 1)
                feats.setdefault(fld, []).append(fid)
        except (IndexError, ValueError) as e:
            raise DataError(f"ESMM txt line {n} is malformed ({line[:60]!r}...): expected "
                            "'id,click,ctcvr,field:featid,...'. Fix: check the file format.") \
                from e
        for fld, ids in feats.items():
            row[fld] = "|".join(ids) if multi_value == "join" else ids[0]
        rows.append(row)
    df = pd.DataFrame(rows)
    fields = sorted((c for c in df.columns if c not in _LABELS), key=_field_key)
    return df[[c for c in _LABELS if c in df.columns] + fields]


def read_esmm_txt(path: str | Path, *, multi_value: str = "join") -> pd.DataFrame:
    """Read a whole ESMM txt file."""
    with open(path, encoding="utf-8") as f:
        return parse_esmm_lines(f, multi_value=multi_value)


def iter_esmm_txt(path: str | Path, chunksize: int, *,
                  multi_value: str = "join") -> Iterator[pd.DataFrame]:
    """Yield frames of ``chunksize`` lines (columns may differ when a field is absent)."""
    with open(path, encoding="utf-8") as f:
        buf: list[str] = []
        start = 1
        for i, line in enumerate(f, start=1):
            buf.append(line)
            if len(buf) == chunksize:
                yield parse_esmm_lines(buf, multi_value=multi_value, start_line=start)
                buf, start = [], i + 1
        if buf:
            yield parse_esmm_lines(buf, multi_value=multi_value, start_line=start)


def _field_key(name: str) -> tuple[int, int, str]:
    head, _, tail = name.partition("_")
    try:
        return (int(head), int(tail or 0), name)
    except ValueError:
        return (10**9, 0, name)
