"""Numeric domains of constrained decoding: prefix feasibility and exact range regexes.

:class:`NumberSpec` answers two questions for one numeric column: can this
prefix still grow into a number of the domain (the guided decoder asks it token
by token), and which regular expression matches the domain's numbers (for
regex backends such as vLLM).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["NumberSpec"]

_NUM_PREFIX = re.compile(r"(-?)(\d*)(\.?)(\d*)")


@dataclass(frozen=True)
class NumberSpec:
    """A numeric domain: ``min <= x <= max`` with at most ``decimals`` decimals."""

    min: float | None = None
    max: float | None = None
    decimals: int = 0
    max_digits: int = 15

    def _bounds(self) -> tuple[float, float]:
        lo = -math.inf if self.min is None else float(self.min)
        hi = math.inf if self.max is None else float(self.max)
        return lo, hi

    def _int_digits(self) -> int:
        lo, hi = self._bounds()
        big = max(abs(lo), abs(hi))
        if math.isinf(big):
            return self.max_digits
        return max(1, len(str(int(big))))

    def feasible(self, s: str, *, complete: bool = False) -> bool:
        """True when ``s`` is (``complete``) or can grow into a number of the domain."""
        m = _NUM_PREFIX.fullmatch(s)
        if m is None:
            return False
        neg, ip, dot, fp = m.groups()
        lo, hi = self._bounds()
        if (ip == "" and (dot or fp)) or (len(ip) > 1 and ip[0] == "0"):
            return False
        if len(ip) > self._int_digits() or (dot and self.decimals == 0) or len(fp) > self.decimals:
            return False
        if complete:
            if ip == "" or (dot and not fp):
                return False
            x = float(s)
            if neg and x == 0:
                return False
            return lo <= x <= hi
        if neg and lo >= 0:
            return False
        if ip == "":
            return (lo < 0) if neg else (hi >= 0)
        eps = 10.0 ** -self.decimals
        if dot or fp or ip == "0":
            base = float(ip + "." + fp) if fp else float(ip)
            width = 10.0 ** -len(fp) if (dot or fp) else 1.0
            spans = [(base, base + width)]
        else:
            k_max = self._int_digits() - len(ip)
            spans = [(int(ip) * 10.0 ** k, (int(ip) + 1) * 10.0 ** k) for k in range(k_max + 1)]
        for a, b in spans:
            lo_v, hi_v = (max(-b + eps, lo), min(-a, hi)) if neg else (max(a, lo), min(b - eps, hi))
            if neg and a == 0:
                hi_v = min(-eps, hi)
            first = math.ceil(lo_v / eps - 1e-9) * eps
            if first <= hi_v + 1e-9 * max(1.0, abs(hi_v)):
                return True
        return False

    def regex(self) -> str:
        """A regular expression for the domain's numbers (exact for a bounded range >= 0)."""
        lo, hi = self._bounds()
        frac = rf"(?:\.\d{{1,{self.decimals}}})?" if self.decimals > 0 else ""
        if lo >= 0 and not math.isinf(hi):
            lo_i, hi_i = math.ceil(lo), math.floor(hi)
            if lo_i > hi_i:
                return "(?!)"
            top = _int_range_regex(hi_i, hi_i) + (
                rf"(?:\.0{{1,{self.decimals}}})?" if self.decimals > 0 else "")
            if lo_i == hi_i or not frac:
                return _int_range_regex(lo_i, hi_i) if not frac else top
            return f"(?:{_int_range_regex(lo_i, hi_i - 1)}{frac}|{top})"
        sign = "-?" if lo < 0 else ""
        d = self._int_digits()
        return rf"{sign}(?:0|[1-9]\d{{0,{d - 1}}}){frac}"


def _int_range_regex(lo: int, hi: int) -> str:
    """A regular expression matching exactly the integers ``lo..hi`` (``0 <= lo <= hi``)."""
    parts = []
    for nd in range(len(str(lo)), len(str(hi)) + 1):
        a, b = max(lo, 10 ** (nd - 1) if nd > 1 else 0), min(hi, 10 ** nd - 1)
        if a <= b:
            parts.append(_same_length(str(a), str(b)))
    return "(?:" + "|".join(parts) + ")"


def _same_length(a: str, b: str) -> str:
    if a == b:
        return a
    if len(a) == 1:
        return f"[{a}-{b}]"
    if a[0] == b[0]:
        return a[0] + "(?:" + _same_length(a[1:], b[1:]) + ")"
    n = len(a) - 1
    out = [a[0] + "(?:" + _same_length(a[1:], "9" * n) + ")"]
    if int(a[0]) + 1 <= int(b[0]) - 1:
        out.append(f"[{int(a[0]) + 1}-{int(b[0]) - 1}]" + r"\d" * n)
    out.append(b[0] + "(?:" + _same_length("0" * n, b[1:]) + ")")
    return "(?:" + "|".join(out) + ")"
