"""``llm-finetune``: GReaT-style fine-tuning, then prefix-conditioned constrained sampling.

The causal LM (default: the bundled ``smollm2``) is fine-tuned on the training
positives and clicked rows written as ``col is value, ...`` with the column order
shuffled per row and per epoch (GReaT). Sampling starts every row with the
conditions (target category, click=1, conversion=1) in random order, then the
other columns in random order; under constraints the guided decoder keeps every
value inside its domain and every entity real, so no row is lost. The tuned
weights go to a cache folder keyed by the training data and settings, so a second
fit on the same data reuses them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from samplegen.cache import cache_dir
from samplegen.errors import GeneratorError
from samplegen.generators.registry import register_generator
from samplegen.llm.base import Backend, SamplingParams
from samplegen.llm.constrained import shuffled_order
from samplegen.llm.llm_generator import LLM_PARAMS, LLMGenerator
from samplegen.llm.models import resolve_model
from samplegen.schema import Schema

__all__ = ["FinetuneGenerator", "train_causal_lm"]

log = logging.getLogger(__name__)


@register_generator("llm-finetune")
class FinetuneGenerator(LLMGenerator):
    """GReaT-style fine-tuned LM generator, schema-constrained by default."""

    default_params: ClassVar[dict[str, Any]] = {
        **LLM_PARAMS,
        "temperature": 0.8,
        "llm_batch_size": 32,
        "epochs": 1,
        "learning_rate": 1e-4,
        "train_batch_size": 8,
        "max_train_rows": 256,
        "train_layers": 8,
        "lora": False,
        "frequency_prior": False,  # the tuned model has learned the frequencies itself
    }

    def _fit(self, table: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        if self.params["backend"] == "openai":
            raise GeneratorError("llm-finetune trains a local model; use --backend transformers "
                                 "or vllm (or serve the tuned folder and use llm-fewshot).")
        ck, cv = schema.click, schema.conversion
        if ck is None or cv is None:
            raise GeneratorError("llm-finetune needs click and conversion columns in the schema.")
        rng = np.random.default_rng(seed)
        clicked = table[table[ck] == 1]
        pos = clicked[clicked[cv] == 1]
        rest = clicked[clicked[cv] != 1]
        cap = int(self.params["max_train_rows"])
        if len(pos) > cap:
            pos = pos.iloc[np.sort(rng.choice(len(pos), cap, replace=False))]
        room = max(cap - len(pos), 0)
        if len(rest) > room:
            rest = rest.iloc[np.sort(rng.choice(len(rest), room, replace=False))]
        train = pd.concat([pos, rest], ignore_index=True)
        self._setup_rows(clicked, schema)
        assert self.codec is not None
        epochs = int(self.params["epochs"])
        texts = [self.codec.encode_frame(train, shuffle=True, rng=rng) for _ in range(epochs)]
        self.fit_note = (f"fine-tuned on {len(pos)} positive + {len(rest)} clicked rows, "
                         f"{epochs} epoch(s), shuffled column order")
        self.tuned_path = self._train(texts, seed)

    def _train(self, texts: list[list[str]], seed: int) -> str:
        base = resolve_model(self.params["model"])
        keys = ("epochs", "learning_rate", "train_batch_size", "train_layers", "lora")
        h = hashlib.sha256(json.dumps([str(base.path), [self.params[k] for k in keys], seed,
                                       texts]).encode()).hexdigest()[:16]
        out = cache_dir("finetuned") / f"{base.name.replace('/', '_')}-{h}"
        if (out / "config.json").is_file():
            log.info("reusing fine-tuned model %s", out)
            self.train_stats = json.loads((out / "samplegen_train.json").read_text()) \
                if (out / "samplegen_train.json").is_file() else {}
            return str(out)
        stats = train_causal_lm(str(base.path), texts, out, seed=seed, params=self.params)
        self.train_stats = stats
        (out / "samplegen_train.json").write_text(json.dumps(stats))
        return str(out)

    def _make_backend(self) -> Backend:
        from samplegen.llm.base import get_backend

        return get_backend(self.params["backend"], self.tuned_path, **self.backend_options())

    # --------------------------------------------------------------- sample
    def _row_order(self, conditions: dict[str, Any], rng: np.random.Generator) -> list[str]:
        """A random column order, the conditioned columns first (see :func:`shuffled_order`)."""
        blocks: list[list[str]] = []
        if self.params["constrained"]:
            assert self.validator is not None
            blocks = [list(cat.columns) for cat in self.validator.catalogs]
        return shuffled_order(self.order, conditions, rng, blocks)

    def _sample_batch(self, n: int, conditions: dict[str, Any],
                      rng: np.random.Generator) -> pd.DataFrame:
        assert self.codec is not None
        seed = int(rng.integers(2**31))
        sampling = self.sampling(seed)
        if self.params["constrained"]:
            cons = [self.constraint(conditions, rng, self._row_order(conditions, rng))
                    for _ in range(n)]
            # the start token as the prompt (vLLM refuses an empty prompt; transformers
            # encodes "" as the same single BOS token)
            texts = self.backend().generate([self._start_text()] * n, sampling, cons)
            return self.decode(texts)
        prefixes = []
        for _ in range(n):
            order = [c for c in self._row_order(conditions, rng) if c in conditions]
            prefixes.append(self.codec.prefix(conditions, order))
        # prompt as in training: the start token, and no trailing space (training text
        # never has a lone space token after a comma: ", col" is one token "Ġcol")
        start = self._start_text()
        prompts = [start + p.rstrip(" ") for p in prefixes]
        sp = SamplingParams(**{**sampling.to_dict(), "stop": ("\n",)})
        outs = self.backend().generate(prompts, sp, None)
        return self.decode([p + o.lstrip() for p, o in zip(prefixes, outs, strict=True)])

    def _start_text(self) -> str:
        """The token text every training row starts with (BOS, else EOS; see train_causal_lm)."""
        if getattr(self, "_start", None) is None:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(self.tuned_path)
            self._start = tok.bos_token if tok.bos_token is not None else (tok.eos_token or "")
        return str(self._start)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["llm"]["tuned_model"] = getattr(self, "tuned_path", None)
        d["llm"]["train"] = getattr(self, "train_stats", {})
        return d


def train_causal_lm(model_dir: str, epochs_texts: list[list[str]], out_dir: Any, *, seed: int,
                    params: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune the causal LM in ``model_dir`` on texts (one list per epoch); save to ``out_dir``.

    Only the top ``train_layers`` decoder layers (and the final norm) are trained
    unless ``train_layers`` is ``None``; ``lora=True`` trains LoRA adapters (peft)
    and merges them before saving. Returns timing figures.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if params.get("threads"):
        torch.set_num_threads(int(params["threads"]))
    gen = torch.Generator().manual_seed(seed)
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    model = _select_trainable(model, params)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                            lr=float(params["learning_rate"]))
    bs = int(params["train_batch_size"])
    model.train()
    epoch_seconds, losses, n_tokens = [], [], 0
    for e, texts in enumerate(epochs_texts):
        t0 = time.perf_counter()
        perm = torch.randperm(len(texts), generator=gen).tolist()
        bar = tqdm(range(0, len(texts), bs), desc=f"fine-tune epoch {e + 1}/{len(epochs_texts)}",
                   leave=False)
        for s in bar:
            batch = [[start, *tok.encode(texts[i] + "\n", add_special_tokens=False),
                      tok.eos_token_id] for i in perm[s:s + bs]]
            width = max(len(b) for b in batch)
            ids = torch.full((len(batch), width), tok.eos_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, b in enumerate(batch):
                ids[r, :len(b)] = torch.tensor(b)
                mask[r, :len(b)] = 1
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            n_tokens += int(mask.sum())
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        epoch_seconds.append(time.perf_counter() - t0)
    model.eval()
    if params.get("lora"):
        model = model.merge_and_unload()
    for p in model.parameters():
        p.requires_grad_(False)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    tmp.rename(out_dir)
    return {"epoch_seconds": [round(s, 2) for s in epoch_seconds], "rows": len(epochs_texts[0])
            if epochs_texts else 0, "tokens": n_tokens,
            "final_loss": round(float(np.mean(losses[-10:])), 4) if losses else None}


def _select_trainable(model: Any, params: dict[str, Any]) -> Any:
    if params.get("lora"):
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as e:
            raise GeneratorError("lora=True needs peft. Fix: pip install 'samplegen[peft]' or "
                                 "drop the lora option.") from e
        cfg = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"],
                         task_type="CAUSAL_LM")
        return get_peft_model(model, cfg)
    top = params.get("train_layers")
    if top is None:
        return model
    for p in model.parameters():
        p.requires_grad_(False)
    layers = model.model.layers
    for layer in layers[max(0, len(layers) - int(top)):]:
        for p in layer.parameters():
            p.requires_grad_(True)
    for p in model.model.norm.parameters():
        p.requires_grad_(True)
    return model
