# Two entry points for a fresh machine with only python3 and make:
#   make demo   - create .venv, install gpuent, write a local-entropy map of a built-in sample to demo/
#   make test   - install gpuent[test] into .venv and run ruff + the test suite
#   make docs   - install gpuent[docs] into .venv and build the site into docs/_build/html
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[plot]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[test]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[docs]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/gpuent demo --out demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check gpuent tests benchmarks
	$(BIN)/python -m pytest -q tests

# Sphinx + numpydoc + sphinx-gallery; every gallery example runs; any warning fails the build.
docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_local_entropy.py

clean:
	rm -rf $(VENV) demo build *.egg-info
