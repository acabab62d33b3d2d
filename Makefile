# Two entry points for a fresh machine with only python3 and make:
#   make demo   - create .venv, install gpuent with the plot and io extras (matplotlib figures,
#                 16-bit and multi-page TIFF, Zarr), write the demo pictures into demo/
#   make test   - install gpuent[test] into .venv and run ruff + the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench clean fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed: pyproject.toml Makefile | $(BIN)/python
	$(PIP) install -q -e ".[plot,io]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/gpuent demo --out demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check gpuent tests benchmarks
	$(BIN)/python -m pytest -q tests

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
