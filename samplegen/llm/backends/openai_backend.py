"""Any OpenAI-compatible HTTP server (``vllm serve``, llama.cpp, a hosted API) via httpx.

Chat prompts go to ``/v1/chat/completions`` (an assistant prefix is continued with
vLLM's ``continue_final_message``), plain prompts to ``/v1/completions``.
Constraints are sent as the server's structured-output request field
(``structured_outputs: {"regex": ...}``, vLLM >= 0.10) when ``structured`` is on;
otherwise texts come back free and the caller parses and rejects. The API key
is read from ``api_key_env`` (default ``SAMPLEGEN_OPENAI_API_KEY``, then
``OPENAI_API_KEY``) and never logged. Requests have timeouts and bounded retries
with exponential backoff; an unreachable server is a :class:`BackendError`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from samplegen.errors import BackendError
from samplegen.llm.base import ChatPrompt, SamplingParams, per_prompt_constraints

__all__ = ["OpenAIBackend"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    """Client of an OpenAI-compatible server; ``model`` is the server's model name."""

    name = "openai"

    def __init__(self, model: str, *, base_url: str | None = None, api_key_env: str | None = None,
                 timeout: float = 120.0, retries: int = 3, backoff: float = 0.5,
                 structured: bool = True, chat: bool = False, concurrency: int = 8,
                 context_window: int | None = None, transport: Any = None) -> None:
        import httpx

        url = base_url or os.environ.get("SAMPLEGEN_OPENAI_BASE_URL") or os.environ.get(
            "OPENAI_BASE_URL")
        if not url:
            raise BackendError("the openai backend needs a server URL. Fix: pass --base-url "
                               "http://HOST:PORT/v1 (or set SAMPLEGEN_OPENAI_BASE_URL).")
        self.base_url = url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.retries, self.backoff = int(retries), float(backoff)
        self.structured, self.chat = structured, chat
        self.concurrency = max(1, int(concurrency))
        self.context_window = context_window
        self.stats = {"tokens": 0, "seconds": 0.0, "requests": 0}
        key = None
        for var in [v for v in (api_key_env, "SAMPLEGEN_OPENAI_API_KEY", "OPENAI_API_KEY") if v]:
            key = os.environ.get(var)
            if key:
                break
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                    transport=transport)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "base_url": self.base_url,
                "structured": self.structured}

    def close(self) -> None:
        self._client.close()

    def generate(self, prompts: Sequence[str | ChatPrompt], sampling: SamplingParams,
                 constraint: Any = None) -> list[str]:
        """One completion per prompt, requests sent ``concurrency`` at a time."""
        cons = per_prompt_constraints(constraint, len(prompts))
        rx_cache: dict[int, str] = {}

        def regex(c: Any) -> str | None:
            if c is None or not self.structured:
                return None
            if id(c) not in rx_cache:
                rx_cache[id(c)] = c.regex()
            return rx_cache[id(c)]

        jobs = [(p, regex(c), sampling.seed + i) for i, (p, c) in enumerate(zip(prompts, cons,
                                                                                strict=True))]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(self.concurrency) as pool:
            texts = list(pool.map(lambda j: self._one(j[0], sampling, j[1], j[2]), jobs))
        self.stats["seconds"] += time.perf_counter() - t0
        self.stats["requests"] += len(jobs)
        return texts

    # ------------------------------------------------------------- private
    def _one(self, prompt: str | ChatPrompt, sampling: SamplingParams, regex: str | None,
             seed: int) -> str:
        body: dict[str, Any] = {"model": self.model, "temperature": sampling.temperature,
                                "top_p": sampling.top_p, "max_tokens": sampling.max_new_tokens,
                                "seed": seed}
        if sampling.top_k:
            body["top_k"] = sampling.top_k
        if regex is not None:
            body["structured_outputs"] = {"regex": regex}
        elif sampling.stop:
            body["stop"] = list(sampling.stop)
        if isinstance(prompt, ChatPrompt) or self.chat:
            user, assistant = (prompt.user, prompt.assistant) if isinstance(prompt, ChatPrompt) \
                else (prompt, "")
            messages = [{"role": "user", "content": user}]
            if assistant:
                messages.append({"role": "assistant", "content": assistant})
                body.update(continue_final_message=True, add_generation_prompt=False)
            body["messages"] = messages
            data = self._post("/chat/completions", body)
            text = data["choices"][0]["message"].get("content") or ""
        else:
            body["prompt"] = prompt
            data = self._post("/completions", body)
            text = data["choices"][0].get("text") or ""
        self.stats["tokens"] += int((data.get("usage") or {}).get("completion_tokens", 0))
        text = text.strip()
        return text.split("\n", 1)[0] if regex is not None else text

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                r = self._client.post(path, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                last = f"cannot connect ({type(e).__name__})"
                continue
            except httpx.TimeoutException as e:
                last = f"timed out ({type(e).__name__})"
                continue
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
                continue
            if r.status_code in _RETRY_STATUS:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                continue
            if r.status_code >= 400:
                raise BackendError(f"server {self.base_url} refused the request (HTTP "
                                   f"{r.status_code}): {r.text[:300]}. Fix: check --model "
                                   f"{self.model!r} and the server's options.")
            try:
                return r.json()
            except ValueError as e:
                raise BackendError(f"server {self.base_url} sent a non-JSON answer: "
                                   f"{r.text[:200]!r}") from e
        raise BackendError(f"OpenAI-compatible server at {self.base_url} is unreachable after "
                           f"{self.retries + 1} attempts: {last}. Fix: start the server or "
                           "correct --base-url.")
