"""``llm-fewshot``: SampleLLM-style stage 1 (few-shot prompting with CoT instructions).

Each prompt shows ``n_clusters x per_cluster`` real rows picked for diversity by
K-means (SampleLLM: 5 x 2): the target category's positives when it has any,
else other categories' positives plus the target's clicked rows. With the CoT
template the model first writes a short reasoning (``cot_tokens``), then the
rows; under constraints every row is written by the guided decoder, so all of
them parse and fit the schema. ``rows_per_prompt`` rows share one prompt (and
its prefilled KV cache).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from samplegen.errors import GeneratorError
from samplegen.generators.registry import register_generator
from samplegen.llm.base import ChatPrompt, SamplingParams
from samplegen.llm.exemplars import ExemplarPicker
from samplegen.llm.llm_generator import LLM_PARAMS, LLMGenerator
from samplegen.schema import Schema

__all__ = ["FewShotGenerator"]

log = logging.getLogger(__name__)


@register_generator("llm-fewshot")
class FewShotGenerator(LLMGenerator):
    """Few-shot LLM generator (SampleLLM stage 1), schema-constrained by default."""

    default_params: ClassVar[dict[str, Any]] = {
        **LLM_PARAMS,
        "template": "fewshot_cot",
        "n_clusters": 5,
        "per_cluster": 2,
        "rows_per_prompt": 32,
        "cot_tokens": 32,
        "dataset_description": None,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        from prompts import load_template

        self.template = load_template(self.params["template"])  # syntax errors surface here

    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        ck, cv = schema.click, schema.conversion
        if ck is None or cv is None:
            raise GeneratorError("llm-fewshot needs click and conversion columns in the schema.")
        clicked = table[table[ck] == 1]
        self.positives = clicked[clicked[cv] == 1].reset_index(drop=True)
        self.clicked = clicked[clicked[cv] != 1].reset_index(drop=True)
        self._setup_rows(pd.concat([self.positives, self.clicked], ignore_index=True), schema)
        self.fit_note = (f"few-shot: no training of the model; exemplars from {len(self.positives)}"
                         f" positive and {len(self.clicked)} clicked rows")
        self._pickers: dict[str, ExemplarPicker] = {}
        self._seed = seed

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.pop("template", None)
        state["_pickers"] = {}
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        super()._set_state(state)
        from prompts import load_template

        self.template = load_template(self.params["template"])

    # -------------------------------------------------------------- prompts
    def exemplar_pool(self, conditions: dict[str, Any]) -> tuple[pd.DataFrame, str]:
        """Rows to draw exemplars from, and which rule chose them."""
        cat = self.schema.category if self.schema else None
        if cat is None or cat not in conditions:
            return self.positives, "positives"
        target = self.positives[self.positives[cat] == conditions[cat]]
        if len(target):
            return target, "target positives"
        return self._fallback_pool(conditions), "other categories' positives + target clicked rows"

    def _fallback_pool(self, conditions: dict[str, Any]) -> pd.DataFrame:
        cat = self.schema.category
        other = self.positives[self.positives[cat] != conditions[cat]]
        return pd.concat([other, self.clicked[self.clicked[cat] == conditions[cat]]],
                         ignore_index=True)

    def _picker(self, conditions: dict[str, Any]) -> ExemplarPicker:
        """The exemplar picker of a condition; a target with fewer positives than one prompt's
        exemplars shows all of them and tops up from the cold-start pool."""
        key = self.condition_key(conditions)
        if key not in self._pickers:
            pool, rule = self.exemplar_pool(conditions)
            if len(pool) == 0:
                raise GeneratorError("llm-fewshot: no positive or clicked training rows to use as "
                                     "exemplars. Fix: fit on a table with conversions.")
            k, per = int(self.params["n_clusters"]), int(self.params["per_cluster"])
            picker = ExemplarPicker(pool, self.schema, seed=self._seed, n_clusters=k,
                                    per_cluster=per)
            if rule == "target positives" and len(pool) < k * per:
                extra = self._fallback_pool(conditions)
                if len(extra):
                    picker.top_up = ExemplarPicker(extra, self.schema, seed=self._seed,
                                                   n_clusters=k, per_cluster=per)
                    rule = (f"all {len(pool)} target positives, topped up from other "
                            "categories' positives + target clicked rows")
            self.sample_notes[key] = f"exemplars: {rule} ({len(pool)} rows)"
            self._pickers[key] = picker
        return self._pickers[key]

    def render(self, conditions: dict[str, Any], exemplars: pd.DataFrame, n_rows: int) -> str:
        """The prompt text for one draw of exemplars."""
        from prompts import describe_columns

        assert self.schema is not None and self.codec is not None
        s = self.schema
        cat = s.category
        fmt = self.codec.format_value
        target = fmt(cat, conditions[cat]) if cat and cat in conditions else "any"
        ctx = {
            "columns": describe_columns([s[c] for c in self.order], fmt),
            "category_column": cat or "category", "target_category": target,
            "click_column": s.click, "conversion_column": s.conversion, "n_rows": n_rows,
            "exemplars": [self.codec.encode(r) for r in exemplars.to_dict("records")],
        }
        if self.params["dataset_description"]:
            ctx["dataset_description"] = self.params["dataset_description"]
        return self.template.render(**ctx)

    def _check_window(self, prompt: ChatPrompt, row_text: str) -> None:
        backend = self.backend()
        window = self.params["context_window"] or getattr(backend, "context_window", None)
        count = getattr(backend, "count_tokens", None)
        if not window or count is None:
            return
        need = count(prompt) + 2 * count(row_text) + int(self.params["cot_tokens"])
        if need > int(window):
            raise GeneratorError(
                f"llm-fewshot: the prompt with its exemplars needs about {need} tokens but the "
                f"model's context window is {window}. Fix: lower --per-cluster/--n-clusters "
                "(fewer exemplars), use a shorter template or a model with a longer context.")

    # --------------------------------------------------------------- sample
    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        per = max(1, min(int(self.params["rows_per_prompt"]), n))
        n_prompts = -(-n // per)
        picker = self._picker(conditions)
        seed = int(rng.integers(2**31))
        users, prompts, cons = [], [], []
        constrained = bool(self.params["constrained"])
        for _ in range(n_prompts):
            ex = picker.draw(rng)
            users.append(self.render(conditions, ex, 1 if constrained else per))
        reasoning = self._reason(users, seed) if int(self.params["cot_tokens"]) > 0 and \
            "cot" in self.template.name else [""] * len(users)
        for u, r in zip(users, reasoning, strict=True):
            head = (f"Reasoning: {r}\n" if r else "") + "Rows:\n"
            prompt = ChatPrompt(u, head)
            if not prompts:
                self._check_window(prompt, self.codec.encode(picker.pool.iloc[0].to_dict()))
            k = per if constrained else 1
            prompts.extend([prompt] * k)
            if constrained:
                cons.extend([self.constraint(conditions, rng)] * k)
        sampling = self.sampling(seed)
        if constrained:
            texts = self.backend().generate(prompts, sampling, cons)
        else:
            raw = self.backend().generate(prompts, SamplingParams(
                **{**sampling.to_dict(), "stop": ()}), None)
            texts = [line.strip() for t in raw for line in t.splitlines()[:per] if line.strip()]
        return self.decode(texts)

    def _reason(self, users: list[str], seed: int) -> list[str]:
        """A short free-text reasoning per prompt (the CoT part), cut before the rows."""
        sp = SamplingParams(temperature=float(self.params["temperature"]), top_p=0.95,
                            max_new_tokens=int(self.params["cot_tokens"]), seed=seed,
                            stop=("Rows:", "\n\n"))
        outs = self.backend().generate([ChatPrompt(u, "Reasoning:") for u in users], sp, None)
        return [" ".join(o.replace("Rows:", "").split()) for o in outs]

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        tpl = getattr(self, "template", None)
        if tpl is not None:
            d["llm"]["template"] = {"name": tpl.name, "sha256": tpl.sha256}
        return d
