# Two entry points for a fresh machine with only python3 and make:
#   make demo   - create .venv, install gpuent, write a local-entropy map of a built-in sample to demo/
#   make test   - install gpuent[test] into .venv and run ruff + the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[plot]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/gpuent demo --out demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check gpuent tests benchmarks
	$(BIN)/python -m pytest -q tests

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_local_entropy.py

clean:
	rm -rf $(VENV) demo build *.egg-info

# make gpu-bundle - what a bare GPU machine needs for benchmarks/gpu_check.sh (no GPU here):
#   .whl/ (wheels it lacks) and .gpu-expected/ (the GPU tests' cpu side); see benchmarks/README.md
.PHONY: gpu-bundle
gpu-bundle: $(VENV)/.installed-test
	bash benchmarks/gpu_bundle.sh $(BIN)/python
