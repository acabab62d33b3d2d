#!/usr/bin/env bash
# `make gpu-bundle`: what a bare GPU machine needs for benchmarks/gpu_check.sh, built here.
#
#   benchmarks/gpu_bundle.sh [PYTHON]     (PYTHON: a Python with gpuent's test extra)
#
# .whl/           the wheels of benchmarks/gpu_wheels.txt, plus hypothesis at PYTHON's
#                 version, for CPython 3.12 manylinux x86_64, no dependency pulled implicitly
# .gpu-expected/  the cpu side of every GPU test case, memcheck case and benchmark check
#                 (tests/_expected.py), computed here with PYTHON: the GPU machine then
#                 compiles no Numba kernel
# Both are git-ignored, rebuilt whole, and together stay under 45 MiB (checked at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
LIMIT_MIB=45
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
           --platform manylinux1_x86_64)

hyp=$("$PY" -c 'import hypothesis; print(hypothesis.__version__)')
mapfile -t specs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' benchmarks/gpu_wheels.txt | grep .)
tmp=$(mktemp -d .whl.tmp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "gpu-bundle: downloading ${#specs[@]} wheels + hypothesis==$hyp"
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp "${PLATFORMS[@]}" -d "$tmp" \
    "${specs[@]}" "hypothesis==$hyp" 2>&1 | { grep -v "is ignored" || true; }
names=$(ls "$tmp" | sed 's/-.*//' | tr 'A-Z_.' 'a-z--' | sort)
dups=$(uniq -d <<< "$names")
[[ -z $dups ]] || { echo "gpu-bundle: two versions of: $dups" >&2; exit 1; }
rm -rf .whl
mv "$tmp" .whl

echo "gpu-bundle: computing the GPU tests' cpu side into .gpu-expected/"
rm -rf .gpu-expected.tmp
export GPUENT_EXPECTED=fill GPUENT_EXPECTED_DIR=$PWD/.gpu-expected.tmp PYTHONPATH=$PWD
start=$SECONDS
"$PY" -m pytest -q -rfE -m gpu -p no:cacheprovider tests
"$PY" benchmarks/gpu_memcheck.py all
"$PY" benchmarks/bench_local_entropy_gpu.py --expectations
"$PY" benchmarks/bench_ising_gpu.py --expectations
rm -rf .gpu-expected
mv .gpu-expected.tmp .gpu-expected
echo "gpu-bundle: expectations computed in $((SECONDS - start)) s"

whl=$(du -sk .whl | cut -f1) exp=$(du -sk .gpu-expected | cut -f1)
total=$(((whl + exp) / 1024))
echo "gpu-bundle: .whl $((whl / 1024)) MiB ($(ls .whl | wc -l) wheels)," \
    ".gpu-expected $((exp / 1024)) MiB ($(ls .gpu-expected | wc -l) files): $total MiB"
if ((whl + exp >= LIMIT_MIB * 1024)); then
    echo "gpu-bundle: over the ${LIMIT_MIB} MiB limit" >&2
    exit 1
fi
