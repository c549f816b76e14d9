"""Low-level syntax of the codec's text formats: tokens, quoting, number format, splitting.

See :mod:`samplegen.codec` for the format description; this module has no schema logic.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd

NAN_TOKEN = "NaN"
PAIR_SEP = ", "
IS_SEP = " is "
MAX_TEXT_CHARS = 100_000

_BARE = re.compile(r'[^\s",\\]+(?: [^\s",\\]+)*')
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
# a bare token: no quote, comma, backslash or line break inside, no space at either end;
# lazy, so a bare name ends at the first ' is '
_BARE_TOKEN = r'[^\s",\\](?:[^",\\\n\r\x0b\x0c\x85\u2028\u2029]*?[^\s",\\])??'
_PAIR = re.compile(
    rf'\s*(?:"(?P<qn>(?:[^"\\]|\\.)*)"|(?P<bn>{_BARE_TOKEN}))'
    r'\s+is\s+'
    rf'(?:"(?P<qv>(?:[^"\\]|\\.)*)"|(?P<bv>{_BARE_TOKEN}))'
    r'\s*(?P<sep>,|\Z)',
    re.S,
)
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|Infinity)",
                    re.ASCII)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
                 r"(?:Z|[+-]\d{2}:?\d{2})?", re.ASCII)
MISSING = object()
_NOT_SIMPLE = re.compile(r'[^\S ]|["\\]')


class Reject(Exception):
    """A decode failure: stable ``kind``, readable ``reason``, the column concerned."""

    def __init__(self, kind: str, reason: str, column: str | None = None):
        super().__init__(reason)
        self.kind, self.reason, self.column = kind, reason, column


def short(v: Any, limit: int = 40) -> str:
    """``v`` as a string cut to ``limit`` characters (for messages)."""
    s = v if isinstance(v, str) else str(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def quote(s: str) -> str:
    """``s`` as a one-line JSON string literal (non-ASCII kept, line separators escaped)."""
    q = json.dumps(s, ensure_ascii=False)
    if any(c in q for c in _LINE_BREAKS):
        for c, esc in _LINE_BREAKS.items():
            q = q.replace(c, esc)
    return q


def is_bare(s: str) -> bool:
    """True when ``s`` may be written without quotes in the GReaT format."""
    return (s != NAN_TOKEN and s.isprintable() and _BARE.fullmatch(s) is not None
            and "is" not in s.split(" "))


def text_token(s: str) -> str:
    """``s`` as written in the GReaT format: bare when safe, else quoted."""
    return s if is_bare(s) else quote(s)


def isna(v: Any) -> bool:
    """True for None, NaN, pd.NA and NaT."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def to_str(v: Any) -> str:
    """A categorical value as a string (``3.0`` -> ``"3"``, the schema convention)."""
    if isinstance(v, str):
        return v
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v)


def format_number(x: float, decimals: int | None) -> str:
    """``x`` with ``decimals`` when that reparses to exactly ``x``, else ``repr(x)``."""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if decimals is not None and abs(x) < 1e15:
        s = f"{x:.{decimals}f}"
        if float(s) == x and math.copysign(1.0, float(s)) == math.copysign(1.0, x):
            return s
    return repr(x)


def split_great(text: str) -> list[tuple[str, Any]]:
    """``(name, raw value)`` pairs of a GReaT-format line (``MISSING`` for the NaN token)."""
    text = text.strip()
    if not text:
        raise Reject("malformed", "malformed text: empty")
    if _NOT_SIMPLE.search(text) is None:  # fast path: no quotes, escapes or odd whitespace
        pairs = _split_simple(text)
        if pairs is not None:
            return pairs
    pairs, pos, n = [], 0, len(text)
    while True:
        m = _PAIR.match(text, pos)
        if m is None:
            raise Reject("malformed", f"malformed text at character {pos}: "
                         f"{short(text[pos:], 30)!r}")
        qn, bn, qv, bv, sep = m.groups()
        name = bn if qn is None else unquote(qn)
        if qv is not None:
            value: Any = unquote(qv)
        else:
            value = MISSING if bv == NAN_TOKEN else bv
        pairs.append((name, value))
        pos = m.end()
        if sep != ",":
            return pairs
        if pos >= n:
            raise Reject("malformed", "malformed text: trailing comma")


def _split_simple(text: str) -> list[tuple[str, Any]] | None:
    """Same result as the regex parser for texts without quotes, backslashes or
    whitespace other than spaces; None when that text needs the regex (or is malformed)."""
    pairs = []
    for piece in text.split(","):
        name, sep, value = piece.partition(IS_SEP)
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            return None
        pairs.append((name, MISSING if value == NAN_TOKEN else value))
    return pairs


def split_json(text: str) -> list[tuple[str, Any]]:
    """``(name, raw value)`` pairs of a one-object JSON line (``MISSING`` for null)."""
    try:
        obj = json.loads(text.strip(), object_pairs_hook=Pairs, parse_float=Num,
                         parse_int=Num, parse_constant=constant)
    except ValueError as e:
        raise Reject("malformed", f"malformed text: invalid JSON ({short(e, 60)})") from None
    if not isinstance(obj, Pairs):
        raise Reject("malformed", "malformed text: expected one JSON object")
    return [(k, MISSING if v is None else v) for k, v in obj]


class Num(str):
    """A JSON number kept as its source text."""


class Pairs(list):
    """A JSON object as its list of (key, value) pairs (keeps duplicates)."""


def constant(name: str) -> Any:
    """JSON ``NaN``/``Infinity`` constants: NaN is missing, infinities stay numbers."""
    return MISSING if name == "NaN" else Num(name)


def unquote(body: str) -> str:
    """The string inside a JSON string literal's quotes."""
    try:
        return json.loads('"' + body + '"')
    except ValueError:
        raise Reject("malformed", f"malformed text: bad escape in {short(body)!r}") from None
