"""What the two LLM generators share: backend set-up, row order, constraints, decoding.

:class:`LLMGenerator` extends the :class:`~samplegen.generators.base.Generator`
contract with the LLM parameters (backend, model, sampling, constrained or not),
builds one :class:`RowConstraint` per batch (conditions forced, entities reused
from a sampled slice of the real catalogs) and decodes texts with the codec,
counting undecodable texts by reason in the sample report.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from samplegen.codec import RowCodec
from samplegen.errors import GeneratorError
from samplegen.generators.base import Generator
from samplegen.llm.base import Backend, SamplingParams, get_backend
from samplegen.llm.constrained import RowConstraint, build_row_constraint
from samplegen.schema import Role, Schema

__all__ = ["LLMGenerator", "generation_order", "LLM_PARAMS"]

log = logging.getLogger(__name__)

LLM_PARAMS: dict[str, Any] = {
    "backend": "transformers",
    "model": "smollm2",
    "base_url": None,
    "api_key_env": None,
    "constrained": True,
    "temperature": 0.9,
    "top_p": 0.95,
    "max_new_tokens": 320,
    "llm_batch_size": 32,
    "max_entities": 2000,
    "max_values": 64,
    "timeout": 120.0,
    "give_up_s": 60.0,  # openai: total wait for one request, retries included
    "context_window": None,
    "vllm_python": None,
    "threads": None,
}


def generation_order(schema: Schema, entities: list[Any] | None = None) -> list[str]:
    """Columns in writing order: each entity's attributes before its key, labels last."""
    names = [c.name for c in schema.columns if c.role != Role.ID]
    keys = {e.key: e for e in (schema.entities if entities is None else entities)}
    body = [c for c in names if c not in keys and not schema[c].is_label]
    order: list[str] = []
    for c in body:
        order.append(c)
        for key, ent in keys.items():
            if ent.attributes and c == [a for a in ent.attributes if a in body][-1]:
                order.append(key)
    order += [k for k in keys if k not in order and k in names]
    order += [c for c in names if schema[c].is_label]
    ids = [c.name for c in schema.columns if c.role == Role.ID]
    return order + ids


class LLMGenerator(Generator):
    """Base of ``llm-fewshot`` and ``llm-finetune`` (not registered itself)."""

    default_params: ClassVar[dict[str, Any]] = dict(LLM_PARAMS)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["backend"] != "openai":
            from samplegen.llm.models import check_model

            check_model(str(self.params["model"]))
        self._backend_obj: Backend | None = None
        self._decode_rejects: Counter = Counter()
        self._drawn_texts = 0
        self.codec: RowCodec | None = None
        self.order: list[str] = []
        self.domains: dict[str, tuple[str, ...] | None] = {}
        self.value_table: pd.DataFrame | None = None

    # ---------------------------------------------------------------- set-up
    def sampling(self, seed: int) -> SamplingParams:
        p = self.params
        return SamplingParams(temperature=float(p["temperature"]), top_p=float(p["top_p"]),
                              max_new_tokens=int(p["max_new_tokens"]), seed=int(seed))

    def backend_options(self) -> dict[str, Any]:
        """Keyword options for the backend named by the ``backend`` parameter."""
        p, name = self.params, self.params["backend"]
        if name == "transformers":
            opts: dict[str, Any] = {"batch_size": int(p["llm_batch_size"])}
            if p.get("threads"):
                opts["threads"] = int(p["threads"])
            return opts
        if name == "openai":
            opts = {"base_url": p["base_url"], "api_key_env": p["api_key_env"],
                    "timeout": float(p["timeout"])}
            if p.get("give_up_s"):  # --param give_up_s=S: total wait for an unresponsive server
                opts["give_up_s"] = float(p["give_up_s"])
            return opts
        if name == "vllm":
            return {"python": p["vllm_python"], "timeout": float(p["timeout"])}
        raise GeneratorError(f"unknown backend {name!r}. Fix: use transformers, vllm or openai.")

    def backend(self) -> Backend:
        """The backend, built on first use (never pickled)."""
        if self._backend_obj is None:
            self._backend_obj = self._make_backend()
        return self._backend_obj

    def _make_backend(self) -> Backend:
        return get_backend(self.params["backend"], str(self.params["model"]),
                           **self.backend_options())

    def _setup_rows(self, table: pd.DataFrame, schema: Schema) -> None:
        ents = [c.entity for c in self.validator.catalogs] if self.validator else None
        self.order = generation_order(schema, ents)
        self.codec = RowCodec(schema, "great", self.order)
        self.value_table = table

    # ----------------------------------------------------------- constraints
    def constraint(self, conditions: dict[str, Any], rng: np.random.Generator,
                   order: list[str] | None = None) -> RowConstraint:
        """The row constraint for ``conditions``, with a random slice of real entities."""
        assert self.codec is not None and self.validator is not None
        cats = [self._slice_catalog(c, conditions, rng) for c in self.validator.catalogs]
        domains = dict(self.domains)
        if not domains:
            build_row_constraint(self.codec, self.order, table=self.value_table,
                                 domains=self.domains)
            domains = dict(self.domains)
        limit = int(self.params["max_values"])
        for c, vals in domains.items():  # long domains (timestamps): a fresh slice per batch
            if vals is not None and len(vals) > limit and c not in conditions:
                pick = np.sort(rng.choice(len(vals), size=limit, replace=False))
                domains[c] = tuple(vals[i] for i in pick)
        return build_row_constraint(self.codec, order or self.order, forced=conditions,
                                    catalogs=cats, table=self.value_table, domains=domains)

    def _slice_catalog(self, cat: Any, conditions: dict[str, Any],
                       rng: np.random.Generator) -> Any:
        t = cat.tuples
        mask = np.ones(len(t), dtype=bool)
        for col, val in conditions.items():
            if col in t.columns:
                mask &= (t[col] == val).to_numpy()
        idx = np.flatnonzero(mask)
        limit = int(self.params["max_entities"])
        if len(idx) > limit:
            idx = np.sort(rng.choice(idx, size=limit, replace=False))
        if len(idx) == len(t):
            return cat
        out = copy.copy(cat)
        out.tuples = t.iloc[idx].reset_index(drop=True)
        return out

    # -------------------------------------------------------------- decoding
    def decode(self, texts: list[str]) -> pd.DataFrame:
        """Rows of the texts that parse; the others are counted as ``decode:<kind>``."""
        assert self.codec is not None
        rows = []
        for t in texts:
            r = self.codec.decode(t)
            if r.row is not None:
                rows.append(r.row)
            else:
                self._decode_rejects[f"decode:{r.key}"] += 1
        self._drawn_texts += len(texts)
        return self.codec.frame(rows)[self.schema.names] if self.schema is not None else \
            self.codec.frame(rows)

    def sample(self, n: int, conditions: dict[str, Any] | None = None, *, seed: int = 0,
               exclude_hashes: set[int] | None = None) -> pd.DataFrame:
        """As :meth:`Generator.sample`; texts that do not parse count as rejects."""
        self._decode_rejects = Counter()
        self._drawn_texts = 0
        out = super().sample(n, conditions, seed=seed, exclude_hashes=exclude_hashes)
        if self.last_report is not None:
            self.last_report.rejected.update(self._decode_rejects)
            self.last_report.drawn += sum(self._decode_rejects.values())
        return out

    # ------------------------------------------------------------ save/load
    def _state(self) -> dict[str, Any]:
        skip = {"params", "last_report", "_backend_obj"}
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        self._backend_obj = None

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["llm"] = {"backend": self.params["backend"], "model": str(self.params["model"]),
                    "constrained": bool(self.params["constrained"]),
                    "sampling": self.sampling(0).to_dict()}
        b = self._backend_obj
        if b is not None and hasattr(b, "describe"):
            d["llm"]["backend_info"] = b.describe()
        return d
