"""Test doubles for the LLM layer: a deterministic backend and a tiny random-weight model.

``DoubleBackend`` follows the backend interface without any model: under a
constraint it writes a row by picking allowed values with a seeded generator
(so the generators can be tested end to end in milliseconds); without one it
replays canned texts (to test parse-and-reject); ``score_choices`` answers a
judge's yes/no with a planted rule (``judge``) or a hash of the text. ``tiny_model_dir`` builds a
2-layer Llama with a byte-level BPE tokenizer trained in memory: a real
transformers model, built from a config, with no download.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from samplegen.llm.base import ChatPrompt, SamplingParams, per_prompt_constraints

CORPUS = [
    "user_age_band is 25-34, item_category is cruise, item_price is 1299, click is 1",
    "conversion is 0, hour is 23, platform is iOS app, weekday is Monday, city is Sanya",
    "0123456789 . - , is NaN \" \\ Paris London Tokyo hotel flight ski trip",
]


class DoubleBackend:
    """Deterministic stand-in for a backend (no model)."""

    name = "double"
    context_window = 100_000

    def __init__(self, free_texts: Sequence[str] = (),
                 judge: Callable[[str], float] | None = None) -> None:
        self.free_texts = list(free_texts)
        self.judge = judge
        self.calls: list[dict[str, Any]] = []

    def score_choices(self, prefix: str, suffixes: Sequence[str],
                      choices: Sequence[str] = (" yes", " no")) -> np.ndarray:
        """Log P of two answers: ``judge(suffix)`` for the first (default: a hash of the text)."""
        self.calls.append({"n": len(suffixes), "scored": True})
        out = []
        for s in suffixes:
            p = self.judge(s) if self.judge else \
                int(hashlib.sha256((prefix + s).encode()).hexdigest()[:6], 16) / 16**6
            p = min(max(p, 1e-6), 1 - 1e-6)
            out.append([np.log(p), np.log1p(-p)])
        return np.array(out).reshape(len(suffixes), len(choices))

    def count_tokens(self, prompt: str | ChatPrompt) -> int:
        text = prompt if isinstance(prompt, str) else prompt.user + prompt.assistant
        return len(text.split())

    def generate(self, prompts: Sequence[str | ChatPrompt], sampling: SamplingParams,
                 constraint: Any = None) -> list[str]:
        cons = per_prompt_constraints(constraint, len(prompts))
        self.calls.append({"n": len(prompts), "sampling": sampling,
                           "constrained": any(c is not None for c in cons)})
        out = []
        for i, (p, c) in enumerate(zip(prompts, cons, strict=True)):
            key = f"{p}|{sampling.seed}|{i}".encode()
            rng = np.random.default_rng(int(hashlib.sha256(key).hexdigest()[:8], 16))
            if c is None:
                out.append(self.free_texts[i % len(self.free_texts)] if self.free_texts else "")
            else:
                out.append(write_row(c, rng))
        return out


def write_row(rc: Any, rng: np.random.Generator) -> str:
    """A row allowed by ``rc``, values picked uniformly (numbers on the decimal grid)."""
    cands = rc.initial_candidates()
    values = []
    for f in rc.fields:
        if f.catalog is not None:
            cat = rc.catalogs[f.catalog]
            allowed = cat.allowed(cands[f.catalog], f.column)
            if f.choices is not None:
                allowed = [v for v in allowed if v in set(f.choices)]
            v = allowed[int(rng.integers(len(allowed)))]
            cands[f.catalog] = cat.narrow(cands[f.catalog], f.column, v)
        elif f.choices is not None:
            v = f.choices[int(rng.integers(len(f.choices)))]
        else:
            lo = f.number.min if f.number.min is not None else 0.0
            hi = f.number.max if f.number.max is not None else lo + 100
            x = round(float(rng.uniform(lo, hi)), f.number.decimals)
            x = min(max(x, lo), hi)
            v = f"{x:.{f.number.decimals}f}"
        values.append(v)
    return rc.text(values)


def tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer trained in memory on a few lines (any text encodes)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(CORPUS * 5, vocab_size=400, min_frequency=1,
                            special_tokens=["<|endoftext|>"])
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>")


def tiny_model(seed: int = 0) -> tuple[Any, Any]:
    """A 2-layer random-weight Llama and its tokenizer (built from a config)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tiny_tokenizer()
    torch.manual_seed(seed)  # test-local: weights of the throwaway model
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=4096, eos_token_id=tok.eos_token_id,
                      bos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id,
                      tie_word_embeddings=True)
    return LlamaForCausalLM(cfg).eval(), tok


def tiny_model_dir(path: Path, seed: int = 0) -> Path:
    """Save :func:`tiny_model` as a Hugging Face folder at ``path``."""
    model, tok = tiny_model(seed)
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path
