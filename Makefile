# Two entry points for a fresh machine with only python3 and make:
#   make demo   - create .venv, install gpuent with the plot and io extras (matplotlib figures,
#                 16-bit and multi-page TIFF, Zarr), write the demo pictures into demo/
#   make test   - install gpuent[test,test-napari] into .venv and run ruff + the test suite
#   make docs   - install gpuent[docs] into .venv and build the site into docs/_build/html
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# Numba's compiled kernels for the tests: one folder, kept between test modules and runs
# (a CI cache of this folder makes a run skip the 30-50 s first compile of each kernel)
NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba

.PHONY: demo test lint bench clean docs fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(PIP) install -q -e ".[plot,io]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[test,test-napari]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[docs]"
	touch $@

# The napari viewer tests (Qt offscreen) need OpenGL: on a machine without a screen the
# suite runs on a virtual X display (xvfb-run); without one those tests skip.
XVFB := $(shell [ -z "$$DISPLAY" ] && command -v xvfb-run >/dev/null 2>&1 && \
	echo 'xvfb-run -a -s "-screen 0 1280x1024x24"')

demo: $(VENV)/.installed
	$(BIN)/gpuent demo --out demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check gpuent tests benchmarks
	NUMBA_CACHE_DIR=$(NUMBA_CACHE_DIR) $(XVFB) $(BIN)/python -m pytest -q tests

# Sphinx + numpydoc + sphinx-gallery; every gallery example runs; any warning fails the build.
docs: $(VENV)/.installed-docs
	NUMBA_CACHE_DIR=$(NUMBA_CACHE_DIR) $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# The long fuzz profile: random inputs (not the fixed seed of `make test`) for every public
# function and CLI command, and the Numba kernels with bounds checking on.
FUZZ_EXAMPLES ?= 1000
fuzz: $(VENV)/.installed-test
	GPUENT_FUZZ_PROFILE=gpuent-fuzz GPUENT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		GPUENT_FUZZ_HANG_LOG=fuzz-hang.log \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py \
		--hypothesis-show-statistics

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_local_entropy.py

clean:
	rm -rf $(VENV) demo build *.egg-info

# Build docker/Dockerfile offline (--network none, local wheelhouse, a debootstrap base when
# DOCKER_BASE is unset) and check the container's entropy map against the host's, bit for bit.
# Needs Docker (it starts dockerd when run as root and none runs); not part of `make test`.
.PHONY: docker-test
docker-test: $(VENV)/.installed
	PYTHON=$(BIN)/python HOST_GPUENT=$(BIN)/gpuent bash docker/test.sh

# make gpu-bundle - what a bare GPU machine needs for benchmarks/gpu_check.sh (no GPU here):
#   .whl/ (wheels it lacks) and .gpu-expected/ (the GPU tests' cpu side); see benchmarks/README.md
.PHONY: gpu-bundle
gpu-bundle: $(VENV)/.installed-test
	bash benchmarks/gpu_bundle.sh $(BIN)/python
