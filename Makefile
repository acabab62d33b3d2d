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
	$(PIP) install -q -e ".[test,test-napari]"
	touch $@

# The napari viewer tests (Qt offscreen) need OpenGL: on a machine without a screen the
# suite runs on a virtual X display (xvfb-run); without one those tests skip.
XVFB := $(shell [ -z "$$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1 && \
	echo 'xvfb-run -a -s "-screen 0 1280x1024x24"')

demo: $(VENV)/.installed
	$(BIN)/gpuent demo --out demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check gpuent tests benchmarks
	$(XVFB) $(BIN)/python -m pytest -q tests

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_local_entropy.py

clean:
	rm -rf $(VENV) demo build *.egg-info
