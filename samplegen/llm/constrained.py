"""Schema-constrained row formats: what a backend may emit for one row.

A :class:`RowConstraint` lists the fields of one row in the order they are
written (``name is value`` pairs joined by ``", "``, the codec's GReaT format):
each field either has a finite set of allowed value texts (categoricals, labels,
forced condition values; one allowed text = a forced value) or a numeric range
(:class:`NumberSpec`: min, max, decimals). Entity catalogs tie fields together:
once a row has an item id, its item attributes are those of the real item.

Backends use it in two ways: the transformers backend walks it token by token
(:mod:`samplegen.llm.guided`), vLLM and OpenAI-compatible servers get
:meth:`RowConstraint.regex` as a structured-output grammar.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from samplegen.codec import IS_SEP, PAIR_SEP, RowCodec
from samplegen.errors import GeneratorError
from samplegen.llm.numbers import NumberSpec
from samplegen.schema import ColumnType, Schema

__all__ = ["NumberSpec", "FieldSpec", "CatalogSpec", "RowConstraint", "build_row_constraint",
           "domain_texts", "shuffled_order"]

#: real entities one regex alternation lists (a random spread of the catalog slice):
#: xgrammar (vLLM) compiles 200 user tuples in ~0.1 s, 2,000 in ~4 s (over vLLM's 5 s limit)
MAX_REGEX_ENTITIES = 200
_REGEX_SPECIAL = re.compile(r"([\\^$.|?*+()\[\]{}])")


def regex_escape(text: str) -> str:
    """``text`` as a regex literal, escaping only the metacharacters.

    Unlike :func:`re.escape` it leaves spaces and dashes alone: structured-output
    engines (xgrammar) warn on every ``\\ `` and compile such patterns ~10x slower.
    """
    return _REGEX_SPECIAL.sub(r"\\\1", text)


def shuffled_order(order: Sequence[str], first: Collection[str], rng: np.random.Generator,
                   blocks: Sequence[Sequence[str]] = ()) -> list[str]:
    """``order`` shuffled GReaT-style, the columns in ``first`` (the conditions) first.

    The columns of each block (an entity's key and attributes) stay next to each
    other: :meth:`RowConstraint.regex` can tie an entity's attributes to real
    entities only when they are written together. Blocks are shuffled, and the
    columns within a block; a block holding a ``first`` column comes first.
    """
    owner = {c: i for i, b in enumerate(blocks) for c in b}
    groups = [[c] for c in order if c not in owner]
    groups += [[c for c in b if c in order] for b in blocks]
    out: list[list[str]] = []
    for g in groups:
        perm = [g[i] for i in rng.permutation(len(g))]
        out.append([c for c in perm if c in first] + [c for c in perm if c not in first])
    lead = [g for g in out if g and g[0] in first]
    rest = [g for g in out if g and g[0] not in first]
    return [c for part in (lead, rest) for i in rng.permutation(len(part)) for c in part[i]]


@dataclass(frozen=True)
class FieldSpec:
    """One ``name is value`` pair: allowed value texts, or a number range."""

    column: str
    head: str                              # the name as written, e.g. ``price``
    choices: tuple[str, ...] | None = None  # allowed value texts (one = forced)
    number: NumberSpec | None = None
    catalog: int | None = None             # index into RowConstraint.catalogs

    @property
    def forced(self) -> bool:
        return self.choices is not None and len(self.choices) == 1


@dataclass
class CatalogSpec:
    """Real entity tuples as value texts: ``codes[i, j]`` indexes ``values[j]``."""

    columns: tuple[str, ...]
    values: list[list[str]]
    codes: np.ndarray
    _index: list[dict[str, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._index = [{v: i for i, v in enumerate(vals)} for vals in self.values]

    @classmethod
    def from_texts(cls, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> CatalogSpec:
        values: list[list[str]] = []
        codes = np.zeros((len(rows), len(columns)), dtype=np.int32)
        for j in range(len(columns)):
            uniq = sorted({r[j] for r in rows})
            pos = {v: i for i, v in enumerate(uniq)}
            values.append(uniq)
            codes[:, j] = [pos[r[j]] for r in rows]
        return cls(tuple(columns), values, codes)

    def narrow(self, cand: np.ndarray, column: str, text: str) -> np.ndarray:
        """Candidate rows (indices) that also have ``column == text``."""
        j = self.columns.index(column)
        code = self._index[j].get(text)
        if code is None:
            return cand[:0]
        return cand[self.codes[cand, j] == code]

    def allowed(self, cand: np.ndarray, column: str) -> list[str]:
        """Value texts of ``column`` among candidate rows."""
        j = self.columns.index(column)
        return [self.values[j][c] for c in np.unique(self.codes[cand, j])]

    def counts(self, cand: np.ndarray, column: str) -> dict[str, int]:
        """How many candidate rows hold each value text of ``column``."""
        j = self.columns.index(column)
        codes, n = np.unique(self.codes[cand, j], return_counts=True)
        return {self.values[j][c]: int(k) for c, k in zip(codes, n, strict=True)}


@dataclass
class RowConstraint:
    """The fields of one row in writing order, plus the entity catalogs tying them."""

    fields: list[FieldSpec]
    catalogs: list[CatalogSpec] = field(default_factory=list)
    pair_sep: str = PAIR_SEP
    is_sep: str = IS_SEP
    #: weigh each choice of an entity value by how many candidate entities hold it
    #: (the guided decoder adds log(count) to the model's logits): the model then
    #: tilts the catalogue's frequencies instead of picking among distinct values
    frequency_prior: bool = False

    def heads(self) -> list[str]:
        return [f.head for f in self.fields]

    def initial_candidates(self) -> list[np.ndarray]:
        """Catalog rows compatible with every forced field (one index array per catalog)."""
        cands = [np.arange(len(c.codes)) for c in self.catalogs]
        for f in self.fields:
            if f.catalog is not None and f.forced:
                assert f.choices is not None
                cands[f.catalog] = self.catalogs[f.catalog].narrow(cands[f.catalog], f.column,
                                                                   f.choices[0])
        for i, c in enumerate(cands):
            if len(c) == 0:
                cols = [f.column for f in self.fields if f.catalog == i and f.forced]
                raise GeneratorError(f"no real entity has the forced values of {cols}. Fix: "
                                     "target a value that occurs in the training data.")
        return cands

    def text(self, values: Sequence[str]) -> str:
        """The row text for value texts in field order."""
        return self.pair_sep.join(f.head + self.is_sep + v
                                  for f, v in zip(self.fields, values, strict=True))

    def regex(self) -> str:
        """A regular expression whose every match is a row this constraint allows.

        Entity fields written next to each other become one alternation over real
        entities (an even spread of at most :data:`MAX_REGEX_ENTITIES` of the
        candidates); numbers are matched by shape (digit counts) and checked for
        range after parsing. Without the catalogs it matches exactly the rows allowed.
        """
        cands = self.initial_candidates()
        parts: list[str] = []
        i = 0
        while i < len(self.fields):
            f = self.fields[i]
            block = self._catalog_block(i, cands)
            if block is not None:
                n_cols, alternatives = block
                parts.append("(?:" + "|".join(alternatives) + ")")
                i += n_cols
                continue
            head = regex_escape(f.head + self.is_sep)
            if f.choices is not None:
                parts.append(head + "(?:" + "|".join(regex_escape(c) for c in f.choices) + ")")
            else:
                assert f.number is not None
                parts.append(head + f.number.regex())
            i += 1
        return regex_escape(self.pair_sep).join(parts)

    def _catalog_block(self, start: int, cands: list[np.ndarray]
                       ) -> tuple[int, list[str]] | None:
        f = self.fields[start]
        if f.catalog is None:
            return None
        cat = self.catalogs[f.catalog]
        run = [g for g in self.fields[start:start + len(cat.columns)] if g.catalog == f.catalog]
        cand = cands[f.catalog]
        if len(run) != len(cat.columns):
            return None
        if len(cand) > MAX_REGEX_ENTITIES:  # the slice is random: an even spread of it
            cand = cand[np.linspace(0, len(cand) - 1, MAX_REGEX_ENTITIES).astype(int)]
        js = [cat.columns.index(g.column) for g in run]
        alts = sorted({self.pair_sep.join(g.head + self.is_sep + cat.values[j][cat.codes[r, j]]
                                          for g, j in zip(run, js, strict=True))
                       for r in cand})
        return len(run), [regex_escape(a) for a in alts]

    def allows(self, text: str) -> bool:
        """True when ``text`` is a row this constraint can emit (numbers checked exactly)."""
        return _parse_by_constraint(self, text) is not None


_NUMBER_TEXT = re.compile(r"-?\d+(?:\.\d+)?")


def _parse_by_constraint(rc: RowConstraint, text: str) -> list[str] | None:
    pos, out = 0, []
    cands = rc.initial_candidates()
    last = len(rc.fields) - 1
    for i, f in enumerate(rc.fields):
        head = (rc.pair_sep if i else "") + f.head + rc.is_sep
        if not text.startswith(head, pos):
            return None
        pos += len(head)
        allowed: Sequence[str] | None = f.choices
        if f.catalog is not None:
            in_cat = rc.catalogs[f.catalog].allowed(cands[f.catalog], f.column)
            allowed = in_cat if f.choices is None else [v for v in in_cat if v in f.choices]
        value = None
        if allowed is not None:
            for v in sorted(allowed, key=len, reverse=True):
                end = pos + len(v)
                if text.startswith(v, pos) and (text.startswith(rc.pair_sep, end) if i < last
                                                else end == len(text)):
                    value = v
                    break
        else:
            assert f.number is not None
            m = _NUMBER_TEXT.match(text, pos)
            if m is not None and f.number.feasible(m.group(), complete=True):
                value = m.group()
        if value is None:
            return None
        if f.catalog is not None:
            cands[f.catalog] = rc.catalogs[f.catalog].narrow(cands[f.catalog], f.column, value)
        out.append(value)
        pos += len(value)
    return out if pos == len(text) else None


def domain_texts(codec: RowCodec, column: str, table: pd.DataFrame | None = None,
                 limit: int = 5000) -> tuple[str, ...] | None:
    """Allowed value texts of a categorical/label column (``None`` for a free number)."""
    col = codec.schema[column]
    if col.is_label:
        return ("0", "1")
    if col.type == ColumnType.NUMERICAL:
        return None
    if col.type == ColumnType.CATEGORICAL and col.values is not None:
        vals: list[Any] = list(col.values)
    elif table is not None and column in table:
        vals = list(pd.unique(table[column].dropna()))[:limit]
    else:
        raise GeneratorError(f"column {column!r} has no value domain to constrain to. Fix: give "
                             "it 'values' in the schema file or fit on a table that has it.")
    if col.nullable:
        vals.append(None)
    return tuple(dict.fromkeys(codec.format_value(column, v) for v in vals))


def build_row_constraint(
    codec: RowCodec,
    order: Sequence[str],
    *,
    forced: Mapping[str, Any] | None = None,
    catalogs: Sequence[Any] = (),
    table: pd.DataFrame | None = None,
    domains: Mapping[str, tuple[str, ...] | None] | None = None,
) -> RowConstraint:
    """A constraint for rows of ``codec.schema`` written in ``order``.

    ``forced`` fixes values (the sampling conditions); ``catalogs`` are
    :class:`samplegen.catalog.EntityCatalog` objects; ``table`` supplies domains
    for categoricals without declared values; ``domains`` caches
    :func:`domain_texts` results between calls.
    """
    schema: Schema = codec.schema
    forced = dict(forced or {})
    cat_specs: list[CatalogSpec] = []
    col_catalog: dict[str, int] = {}
    for cat in catalogs:
        cols = [c for c in cat.columns if c in order]
        if len(cols) < 2:
            continue
        tuples = cat.tuples[cols]
        rows = [tuple(codec.format_value(c, v) for c, v in zip(cols, r, strict=True))
                for r in tuples.itertuples(index=False, name=None)]
        cat_specs.append(CatalogSpec.from_texts(cols, rows))
        for c in cols:
            col_catalog[c] = len(cat_specs) - 1
    fields = []
    for c in order:
        col = schema[c]
        head = codec.format_name(c)
        ci = col_catalog.get(c)
        if c in forced:
            fields.append(FieldSpec(c, head, (codec.format_value(c, forced[c]),), catalog=ci))
            continue
        if ci is not None:
            j = cat_specs[ci].columns.index(c)
            fields.append(FieldSpec(c, head, tuple(cat_specs[ci].values[j]), catalog=ci))
            continue
        if domains is not None and c in domains:
            choices = domains[c]
        else:
            choices = domain_texts(codec, c, table)
            if domains is not None and isinstance(domains, dict):
                domains[c] = choices
        if choices is None:
            fields.append(FieldSpec(c, head, None, NumberSpec(col.min, col.max,
                                                              int(col.decimals or 0))))
        else:
            fields.append(FieldSpec(c, head, choices))
    return RowConstraint(fields, cat_specs)
