"""Token-level guided decoding of a :class:`RowConstraint` (used by the transformers backend).

Each row is a small program over the constraint's fields. Fixed text (``name is``,
``", "``, forced values, the only continuation of a value prefix) is appended as
tokens without a decode step; the model is consulted only where there is a real
choice: among the next tokens of the allowed values (a token trie, narrowed by
the entity catalogs as values are chosen) or among digit tokens that keep a
number inside its range and precision. The end of a value competes with its
continuations through the logit of the first token of what follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samplegen.llm.constrained import FieldSpec, RowConstraint

__all__ = ["TokenTables", "RowProgram", "pick_token"]

_NUM_CHARS = set("0123456789.-")


class TokenTables:
    """Tokenizer-derived tables shared by all programs: cached encodings, digit tokens."""

    def __init__(self, tokenizer: Any, end_text: str = "\n"):
        self.tok = tokenizer
        self._cache: dict[str, tuple[int, ...]] = {}
        self._tries: dict[tuple[str, ...], dict] = {}
        vocab_size = len(tokenizer)
        texts = tokenizer.batch_decode([[i] for i in range(vocab_size)])
        self.num_tokens: list[tuple[int, str]] = []
        for i, t in enumerate(texts):
            body = t[1:] if t.startswith(" ") else t
            if (body and set(body) <= _NUM_CHARS) or t == " ":
                self.num_tokens.append((i, t))
        ends = [self.first(end_text)]
        if tokenizer.eos_token_id is not None:
            ends.append(int(tokenizer.eos_token_id))
        self.end_ids = tuple(dict.fromkeys(ends))

    def encode(self, text: str) -> tuple[int, ...]:
        """Token ids of ``text`` (no special tokens), cached."""
        ids = self._cache.get(text)
        if ids is None:
            ids = tuple(self.tok.encode(text, add_special_tokens=False))
            self._cache[text] = ids
        return ids

    def first(self, text: str) -> int:
        return self.encode(text)[0]

    def trie(self, values: tuple[str, ...]) -> dict:
        """A token trie over ``" " + value`` for each value; terminal nodes hold ``None: value``."""
        node = self._tries.get(values)
        if node is None:
            node = build_trie({v: self.encode(" " + v) for v in values})
            if len(self._tries) < 4096:
                self._tries[values] = node
        return node


def build_trie(encoded: dict[str, tuple[int, ...]]) -> dict:
    """Nested dicts keyed by token id; key ``None`` marks the end of a value (holds it)."""
    root: dict = {}
    for value, ids in encoded.items():
        node = root
        for t in ids:
            node = node.setdefault(t, {})
        node[None] = value
    return root


def pick_token(logits: np.ndarray, ids: list[int], temperature: float, top_p: float,
               rng: np.random.Generator) -> int:
    """Sample one of ``ids`` (positions into ``logits``) with temperature and nucleus cut."""
    if len(ids) == 1:
        return 0
    z = logits[ids].astype(np.float64)
    if temperature <= 0:
        return int(np.argmax(z))
    z = (z - z.max()) / temperature
    p = np.exp(z)
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p)
        keep = np.cumsum(p[order]) - p[order] < top_p
        mask = np.zeros_like(p, dtype=bool)
        mask[order[keep]] = True
        p = np.where(mask, p, 0.0)
        p /= p.sum()
    return int(rng.choice(len(ids), p=p))


def _mass(node: dict, counts: dict[str, int]) -> int:
    """Total count of the values that end in the subtree of ``node``."""
    total = counts.get(node[None], 0) if None in node else 0
    return total + sum(_mass(child, counts) for k, child in node.items() if k is not None)


@dataclass
class RowProgram:
    """The decoding state of one row under one constraint."""

    rc: RowConstraint
    tables: TokenTables
    values: list[str] = field(default_factory=list)
    done: bool = False
    _field: int = 0
    _node: dict | None = None
    _num: str | None = None
    _cands: list[np.ndarray] = field(default_factory=list)
    _prior: list[float] | None = None

    @property
    def field(self) -> int:
        """Index of the field the next choice belongs to (``len(fields)`` when done)."""
        return self._field

    def start(self) -> list[int]:
        """Tokens to feed first (the first field's head and every forced span after it)."""
        self._cands = self.rc.initial_candidates()
        return self._advance([])

    # -------------------------------------------------------------- helpers
    def _head_text(self, i: int) -> str:
        f = self.rc.fields[i]
        sep = self.rc.pair_sep if i else ""
        return sep + f.head + self.rc.is_sep.rstrip(" ")

    def _next_first_ids(self) -> tuple[int, ...]:
        i = self._field + 1
        if i < len(self.rc.fields):
            return (self.tables.first(self._head_text(i)),)
        return self.tables.end_ids

    def _allowed(self, f: FieldSpec) -> tuple[str, ...] | None:
        if f.catalog is None:
            return f.choices
        cat = self.rc.catalogs[f.catalog]
        vals = cat.allowed(self._cands[f.catalog], f.column)
        if f.choices is not None and len(f.choices) < len(vals):
            keep = set(f.choices)
            vals = [v for v in vals if v in keep]
        return tuple(vals)

    def _finish_value(self, value: str) -> None:
        f = self.rc.fields[self._field]
        if f.catalog is not None:
            cat = self.rc.catalogs[f.catalog]
            self._cands[f.catalog] = cat.narrow(self._cands[f.catalog], f.column, value)
        self.values.append(value)
        self._field += 1
        self._node = None
        self._num = None

    def _advance(self, out: list[int]) -> list[int]:
        """Append forced tokens until the next real choice (or the end of the row)."""
        while True:
            if self._node is None and self._num is None:
                if self._field >= len(self.rc.fields):
                    self.done = True
                    return out
                out.extend(self.tables.encode(self._head_text(self._field)))
                f = self.rc.fields[self._field]
                allowed = self._allowed(f)
                if allowed is None:
                    self._num = ""
                    return out
                if len(allowed) == 1:
                    out.extend(self.tables.encode(" " + allowed[0]))
                    self._finish_value(allowed[0])
                    continue
                self._node = self.tables.trie(allowed)
            if self._node is not None:
                node = self._node
                kids = [k for k in node if k is not None]
                if len(kids) == 1 and None not in node:
                    out.append(kids[0])
                    self._node = node[kids[0]]
                    continue
                if not kids:
                    self._finish_value(node[None])
                    continue
                return out
            return out  # inside a number: always a model choice

    # ----------------------------------------------------------------- step
    def options(self) -> tuple[list[int], list[Callable[[], list[int]]]]:
        """Candidate token ids to score and, for each, what taking it does."""
        ids: list[int] = []
        acts: list[Callable[[], list[int]]] = []
        self._prior = None
        if self._node is not None:
            node = self._node
            kids = [(k, child) for k, child in node.items() if k is not None]
            for k, child in kids:
                ids.append(k)
                acts.append(self._take_trie(k, child))
            if None in node:
                value = node[None]
                for e in self._next_first_ids()[:1]:
                    ids.append(e)
                    acts.append(self._end_value(value))
            f = self.rc.fields[self._field]
            if self.rc.frequency_prior and f.catalog is not None:
                counts = self.rc.catalogs[f.catalog].counts(self._cands[f.catalog], f.column)
                mass = [_mass(child, counts) for _, child in kids]
                if None in node:
                    mass.append(counts.get(node[None], 0))
                self._prior = list(np.log(np.maximum(mass[:len(ids)], 1e-9)))
            return ids, acts
        f = self.rc.fields[self._field]
        assert f.number is not None and self._num is not None
        s = self._num
        for tid, t in self.tables.num_tokens:
            if s == "":
                if not t.startswith(" "):
                    continue
                body = t[1:]
            else:
                if t.startswith(" "):
                    continue
                body = t
            cand = s + (body if s else " " + body)
            if body == "" or f.number.feasible(cand.lstrip(" ")):
                ids.append(tid)
                acts.append(self._take_digit(tid, cand))
        if s.strip() and f.number.feasible(s.strip(), complete=True):
            ids.append(self._next_first_ids()[0])
            acts.append(self._end_value(s.strip()))
        return ids, acts

    def _take_trie(self, tid: int, child: dict) -> Callable[[], list[int]]:
        def act() -> list[int]:
            self._node = child
            return self._advance([tid])
        return act

    def _end_value(self, value: str) -> Callable[[], list[int]]:
        def act() -> list[int]:
            self._finish_value(value)
            return self._advance([])
        return act

    def _take_digit(self, tid: int, cand: str) -> Callable[[], list[int]]:
        def act() -> list[int]:
            self._num = cand
            return [tid]
        return act

    def step(self, logits: np.ndarray, temperature: float, top_p: float,
             rng: np.random.Generator) -> list[int]:
        """Choose among the options with ``logits``; return the tokens to feed next."""
        ids, acts = self.options()
        if not ids:  # cannot happen for a feasible constraint; end the row defensively
            self.done = True
            return []
        if self._prior is not None:
            z = logits[ids].astype(np.float64) + np.asarray(self._prior)
            k = pick_token(z, list(range(len(ids))), temperature, top_p, rng)
        else:
            k = pick_token(logits, ids, temperature, top_p, rng)
        return acts[k]()

    def text(self) -> str:
        return self.rc.text(self.values) if len(self.values) == len(self.rc.fields) else ""
