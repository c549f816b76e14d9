"""Local generation with Hugging Face transformers (CPU by default), batched.

Constrained prompts run the guided decoder of :mod:`samplegen.llm.guided` over one
KV cache per batch: each step feeds every row's pending tokens (forced spans
plus the chosen token) left-padded into one forward pass, so fixed text costs
no extra decode step. Prompts that are identical (the usual case for a few-shot
batch) are prefilled once and attended to as one shared prefix
(:mod:`.attention`); the last prefilled prompt is kept, so a prompt that
extends it (the rows after the CoT reasoning) only prefills what is new.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from samplegen.errors import BackendError
from samplegen.llm.backends.attention import shared_prefix, use_gqa_attention
from samplegen.llm.base import ChatPrompt, SamplingParams, per_prompt_constraints, prompt_key
from samplegen.llm.guided import RowProgram, TokenTables
from samplegen.llm.models import ModelRef, resolve_model
from samplegen.progress import heartbeat

__all__ = ["TransformersBackend"]

log = logging.getLogger(__name__)

class TransformersBackend:
    """Causal LM from a local folder (or alias / GGUF), generating in batches on CPU or CUDA."""

    name = "transformers"

    def __init__(self, model: str | Any = "smollm2", *, batch_size: int = 32, chat: bool = False,
                 device: str | None = None, dtype: str | None = None, threads: int | None = None,
                 progress: bool = False, tokenizer: Any = None,
                 fast_attention: bool = True) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch

        self.batch_size = int(batch_size)
        self.chat = chat
        self.progress = progress
        self.stats = {"tokens": 0, "forward_passes": 0, "seconds": 0.0}
        if threads:
            torch.set_num_threads(int(threads))
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # bf16 matmuls are slow on CPUs without native bf16; float32 is the CPU default
        dtype = dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")
        if isinstance(model, (str, os.PathLike)):
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from samplegen.logs import route_library_logger

            route_library_logger("transformers")  # its notices go to the log file
            self.ref: ModelRef | None = resolve_model(model)
            try:
                self.tokenizer = AutoTokenizer.from_pretrained(str(self.ref.path))
                self.model = AutoModelForCausalLM.from_pretrained(
                    str(self.ref.path), dtype=getattr(torch, dtype))
            except Exception as e:  # noqa: BLE001 - transformers raises many kinds
                raise BackendError(f"cannot load model {str(model)!r} from {self.ref.path}: {e}. "
                                   "Fix: pass a complete Hugging Face model folder.") from e
        else:  # an already-built model object (tests, fine-tuning)
            self.ref = None
            self.model, self.tokenizer = model, tokenizer
        self.model.to(self.device).eval()
        self.fast_attention = use_gqa_attention(self.model) if fast_attention else False
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._tables: TokenTables | None = None
        self._kept: tuple[list[int], list[tuple[Any, Any]]] = ([], [])  # last prefilled prompt

    # -------------------------------------------------------------- public
    @property
    def context_window(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "max_position_embeddings", 2048) or 2048)

    @property
    def tables(self) -> TokenTables:
        if self._tables is None:
            self._tables = TokenTables(self.tokenizer)
        return self._tables

    def count_tokens(self, text: str | ChatPrompt) -> int:
        return len(self.tokenizer.encode(self._format(text), add_special_tokens=False))

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.ref.to_dict() if self.ref else "in-memory",
                "device": self.device, "batch_size": self.batch_size, "chat": self.chat}

    def generate(self, prompts: Sequence[str | ChatPrompt], sampling: SamplingParams,
                 constraint: Any = None) -> list[str]:
        """One completion per prompt; constrained rows follow their constraint exactly."""
        prompts = list(prompts)
        cons = per_prompt_constraints(constraint, len(prompts))
        rng = np.random.default_rng(sampling.seed)
        out: list[str] = [""] * len(prompts)
        t0 = time.perf_counter()
        order = sorted(range(len(prompts)), key=lambda i: prompt_key(prompts[i]))  # group equal prompts
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            free = [i for i in idx if cons[i] is None]
            guided = [i for i in idx if cons[i] is not None]
            if guided:
                texts = self._guided([prompts[i] for i in guided], [cons[i] for i in guided],
                                     sampling, rng)
                for i, t in zip(guided, texts, strict=True):
                    out[i] = t
            if free:
                texts = self._free([prompts[i] for i in free], sampling, rng)
                for i, t in zip(free, texts, strict=True):
                    out[i] = t
        self.stats["seconds"] += time.perf_counter() - t0
        return out

    # ------------------------------------------------------------- private
    def _format(self, prompt: str | ChatPrompt) -> str:
        user, assistant = (prompt, "") if isinstance(prompt, str) else (prompt.user,
                                                                        prompt.assistant)
        if (self.chat or isinstance(prompt, ChatPrompt)) and getattr(self.tokenizer,
                                                                     "chat_template", None):
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": user}], tokenize=False,
                add_generation_prompt=True) + assistant
        return user + assistant

    def _prompt_ids(self, prompt: str | ChatPrompt) -> list[int]:
        ids = self.tokenizer.encode(self._format(prompt), add_special_tokens=False)
        if not ids:
            start = self.tokenizer.bos_token_id
            ids = [self.tokenizer.eos_token_id if start is None else start]
        return list(ids)

    def _forward(self, pending: list[list[int]], mask_prev: Any, cache: Any,
                 offset: int = 0) -> tuple[Any, Any, Any]:
        """Feed each row's pending tokens (left-padded) in one pass; return last logits.

        ``offset`` is the length of a shared prefix the cache does not hold.
        """
        import torch

        width = max(1, max(len(p) for p in pending))
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(pending), width), pad, dtype=torch.long)
        new_mask = torch.zeros((len(pending), width), dtype=torch.long)
        for r, p in enumerate(pending):
            if p:
                ids[r, width - len(p):] = torch.tensor(p)
                new_mask[r, width - len(p):] = 1
        mask = new_mask if mask_prev is None else torch.cat([mask_prev, new_mask], dim=1)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, -width:] + offset
        with torch.inference_mode():
            res = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                             position_ids=pos.to(self.device), past_key_values=cache,
                             use_cache=True, logits_to_keep=1)
        self.stats["forward_passes"] += 1
        self.stats["tokens"] += int(new_mask.sum())
        heartbeat(tokens=self.stats["tokens"])  # a batch of rows takes minutes on a CPU
        return res.logits[:, -1, :].float().cpu().numpy(), mask, res.past_key_values

    def _prefix_kv(self, ids: list[int]) -> list[tuple[Any, Any]]:
        """Per-layer keys and values of ``ids`` (batch 1), reusing the longest common prefix
        with the last prompt prefilled (the CoT prompt before its rows, say)."""
        import torch
        from transformers import DynamicCache

        old_ids, old_kv = self._kept
        n = 0
        while n < min(len(old_ids), len(ids)) and old_ids[n] == ids[n]:
            n += 1
        self.stats["prefix_reused_tokens"] = self.stats.get("prefix_reused_tokens", 0) + n
        if n == len(ids):
            return [(k[:, :, :n], v[:, :, :n]) for k, v in old_kv]
        cache = DynamicCache()
        for i, (k, v) in enumerate(old_kv if n else []):
            cache.update(k[:, :, :n], v[:, :, :n], i)
        with torch.inference_mode():
            self.model(input_ids=torch.tensor([ids[n:]], device=self.device),
                       position_ids=torch.arange(n, len(ids), device=self.device)[None],
                       past_key_values=cache, use_cache=True, logits_to_keep=1)
        self.stats["forward_passes"] += 1
        self.stats["tokens"] += len(ids) - n
        self._keep(ids, cache)
        return self._kept[1]

    def _keep(self, ids: list[int], cache: Any) -> None:
        self._kept = (list(ids), [(layer.keys, layer.values) for layer in cache.layers])

    def _guided(self, prompts: list[Any], cons: list[Any], sampling: SamplingParams,
                rng: np.random.Generator) -> list[str]:
        from transformers import DynamicCache

        tables = self.tables
        progs = [RowProgram(c, tables) for c in cons]
        heads = [p.start() for p in progs]
        pids = [self._prompt_ids(p) for p in prompts]
        cache, mask, offset, prefix = DynamicCache(), None, 0, None
        if self.fast_attention and len({prompt_key(p) for p in prompts}) == 1 \
                and len(pids[0]) > 1:
            prefix = self._prefix_kv(pids[0][:-1])
            offset = len(pids[0]) - 1
            pending = [pids[0][-1:] + h for h in heads]
        else:
            pending = [pid + h for pid, h in zip(pids, heads, strict=True)]
        while not all(p.done for p in progs):
            # rows move field by field together: a row that ran ahead waits, so the wide
            # steps (a field's fixed text) are taken by all rows at once, with little padding
            front = min(p.field for p in progs if not p.done)
            feed = [pend if not prog.done and prog.field == front else []
                    for pend, prog in zip(pending, progs, strict=True)]
            if prefix is None:
                logits, mask, cache = self._forward(feed, mask, cache)
            else:
                with shared_prefix(prefix):
                    logits, mask, cache = self._forward(feed, mask, cache, offset)
            for r, prog in enumerate(progs):
                if feed[r]:
                    pending[r] = prog.step(logits[r], sampling.temperature, sampling.top_p, rng)
        return [p.text() for p in progs]

    def _free(self, prompts: list[Any], sampling: SamplingParams,
              rng: np.random.Generator) -> list[str]:
        """Unconstrained sampling until a stop string or the token limit."""
        import torch
        from transformers import DynamicCache

        tok = self.tokenizer
        pending = [self._prompt_ids(p) for p in prompts]
        outs: list[list[int]] = [[] for _ in prompts]
        done = [False] * len(prompts)
        cache, mask = DynamicCache(), None
        single = self.fast_attention and len(prompts) == 1 and len(pending[0]) > 1
        if single:  # one prompt: reuse (and keep) its prefill for the prompt that extends it
            fed = pending[0][:-1]
            for i, (k, v) in enumerate(self._prefix_kv(fed)):
                cache.update(k, v, i)
            mask = torch.ones((1, len(fed)), dtype=torch.long)
            pending = [pending[0][-1:]]
        eos = tok.eos_token_id
        allv = None
        for _ in range(sampling.max_new_tokens):
            if single:
                fed = fed + pending[0]
            logits, mask, cache = self._forward([[] if d else p for p, d in
                                                 zip(pending, done, strict=True)], mask, cache)
            if allv is None:
                allv = list(range(logits.shape[1]))
            for r in range(len(prompts)):
                if done[r]:
                    pending[r] = []
                    continue
                row = logits[r]
                if sampling.top_k:
                    cut = np.partition(row, -sampling.top_k)[-sampling.top_k]
                    row = np.where(row >= cut, row, -np.inf)
                t = allv[pick_free(row, sampling.temperature, sampling.top_p, rng)]
                outs[r].append(t)
                pending[r] = [t]
                text = tok.decode(outs[r], skip_special_tokens=True)
                if t == eos or any(s in text for s in sampling.stop if s):
                    done[r] = True
            if all(done):
                break
        if single:
            self._keep(fed, cache)
        texts = []
        for o in outs:
            text = tok.decode(o, skip_special_tokens=True)
            for s in sampling.stop:
                if s and s in text:
                    text = text.split(s, 1)[0]
            texts.append(text.strip())
        return texts


def pick_free(row: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Sample a token index from full-vocabulary logits."""
    if temperature <= 0:
        return int(np.argmax(row))
    z = (row.astype(np.float64) - np.max(row)) / temperature
    p = np.exp(z)
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p)
        keep = np.cumsum(p[order]) - p[order] < top_p
        q = np.zeros_like(p)
        q[order[keep]] = p[order[keep]]
        p = q / q.sum()
    return int(rng.choice(len(p), p=p))
