"""Any OpenAI-compatible HTTP server (``vllm serve``, llama.cpp, a hosted API) via httpx.

Chat prompts go to ``/v1/chat/completions`` (an assistant prefix is continued with
vLLM's ``continue_final_message``), plain prompts to ``/v1/completions``.
Constraints are sent as the server's structured-output request field
(``structured_outputs: {"regex": ...}``, vLLM >= 0.10) when ``structured`` is on;
otherwise texts come back free and the caller parses and rejects. The API key
is read from ``api_key_env`` (default ``SAMPLEGEN_OPENAI_API_KEY``, then
``OPENAI_API_KEY``) and never logged. Requests have timeouts and bounded retries
with exponential backoff, all within ``give_up_s`` seconds per request (default 60);
every failure is a :class:`BackendError` (exit 2) that says what happened: unreachable,
no answer within the bound, HTTP 4xx (the request) or 5xx (the server), or an answer that
is not an OpenAI-compatible completion (naming what was expected).
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
                 give_up_s: float = 60.0,
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
        if not give_up_s or give_up_s <= 0:
            raise BackendError(f"give_up_s={give_up_s!r} must be a positive number of seconds.")
        self.give_up_s = float(give_up_s)
        timeout = min(float(timeout), self.give_up_s)
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
                "structured": self.structured, "give_up_s": self.give_up_s}

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
        pool = ThreadPoolExecutor(self.concurrency)
        try:
            texts = list(pool.map(lambda j: self._one(j[0], sampling, j[1], j[2]), jobs))
        finally:  # on an error or a signal, do not wait for the other requests
            pool.shutdown(wait=False, cancel_futures=True)
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
            text = self._field(data, "/chat/completions", "message", "content")
        else:
            body["prompt"] = prompt
            data = self._post("/completions", body)
            text = self._field(data, "/completions", "text")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        tokens = usage.get("completion_tokens", 0)
        self.stats["tokens"] += int(tokens) if isinstance(tokens, (int, float)) else 0
        text = text.strip()
        return text.split("\n", 1)[0] if regex is not None else text

    def _field(self, data: Any, path: str, *keys: str) -> str:
        """``data["choices"][0][keys...]`` as text, or a BackendError naming what was expected."""
        expected = "choices[0]." + ".".join(keys)
        try:
            value: Any = data["choices"][0]
            for k in keys:
                value = value[k]
        except (KeyError, IndexError, TypeError):
            got = sorted(data)[:8] if isinstance(data, dict) else type(data).__name__
            raise BackendError(
                f"server {self.base_url} answered {path} with JSON of another shape (top-level "
                f"keys {got}; expected an OpenAI completion with {expected}). Fix: point "
                "--base-url at an OpenAI-compatible /v1 endpoint (e.g. `vllm serve`).") from None
        if value is None:
            return ""
        if not isinstance(value, str):
            raise BackendError(f"server {self.base_url} answered {path} with a "
                               f"{type(value).__name__} in {expected}, expected text. Fix: point "
                               "--base-url at an OpenAI-compatible /v1 endpoint.")
        return value

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        last: str = ""
        start = time.monotonic()
        attempts = 0
        for attempt in range(self.retries + 1):
            left = self.give_up_s - (time.monotonic() - start)
            if attempt:
                pause = self.backoff * 2 ** (attempt - 1)
                if pause >= left:
                    break
                time.sleep(pause)
                left -= pause
            if left <= 0.05:
                break
            attempts += 1
            try:
                r = self._client.post(path, json=body, timeout=httpx.Timeout(
                    left, connect=min(left, 10.0)))
            except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                last = f"cannot connect ({type(e).__name__})"
                continue
            except httpx.TimeoutException as e:
                last = f"no answer in time ({type(e).__name__})"
                continue
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
                continue
            if r.status_code in _RETRY_STATUS:
                last = f"HTTP {r.status_code} {r.reason_phrase}: {_snippet(r.text)}"
                continue
            if r.status_code >= 400:
                raise BackendError(f"server {self.base_url} refused the request to {path} "
                                   f"(HTTP {r.status_code} {r.reason_phrase}): "
                                   f"{_snippet(r.text)}. Fix: check --model {self.model!r} and "
                                   "the server's options.")
            try:
                data = r.json()
            except ValueError:
                raise BackendError(f"server {self.base_url} answered {path} with something that "
                                   f"is not JSON: {_snippet(r.text)!r}; expected an OpenAI "
                                   "completion (JSON with choices). Fix: point --base-url at an "
                                   "OpenAI-compatible /v1 endpoint.") from None
            if not isinstance(data, dict):
                raise BackendError(f"server {self.base_url} answered {path} with a JSON "
                                   f"{type(data).__name__}; expected an object with choices. "
                                   "Fix: point --base-url at an OpenAI-compatible /v1 endpoint.")
            return data
        waited = time.monotonic() - start
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''} in {waited:.0f} s"
        if last.startswith("HTTP 5"):
            raise BackendError(f"server {self.base_url} failed on every attempt ({tries}; "
                               f"last: {last}). The server is up but erring. "
                               "Fix: check the server's log, then rerun with --resume.")
        if last.startswith("HTTP"):
            raise BackendError(f"server {self.base_url} kept refusing ({tries}; last: "
                               f"{last}). Fix: wait and rerun with "
                               "--resume, or lower the request rate.")
        raise BackendError(f"OpenAI-compatible server at {self.base_url} is unreachable after "
                           f"{tries} (gives up after "
                           f"{self.give_up_s:.0f} s; --param give_up_s=S changes it); last: "
                           f"{last or 'none'}. Fix: start the server or correct --base-url.")


def _snippet(text: str, k: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= k else text[:k] + "..."
