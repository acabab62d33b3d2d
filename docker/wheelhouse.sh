#!/usr/bin/env bash
# Fill docker/wheelhouse/ for an offline `docker build` (run it where the package index is
# reachable): gpuent's wheel built from this tree plus every dependency of gpuent[EXTRAS],
# as binary wheels for the IMAGE's Python, not this machine's.
#
#   docker/wheelhouse.sh PYTHON_VERSION GLIBC_VERSION [EXTRAS] [ARCH]
#   docker/wheelhouse.sh 3.12 2.39                  # nvidia/cuda:13.0.1-runtime-ubuntu24.04
#   docker/wheelhouse.sh 3.11 2.36 cuda13,io,plot   # Debian bookworm (make docker-test)
#
# The base image tells its versions:
#   docker run --rm --entrypoint python3 BASE -c \
#       'import platform; print(platform.python_version(), platform.libc_ver()[1])'
# PYTHON (environment) is the Python whose pip downloads (default python3).
set -euo pipefail

[ $# -ge 2 ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
PYVER=$1
GLIBC=$2
EXTRAS=${3:-cuda13,io,plot}
ARCH=${4:-x86_64}
PY=${PYTHON:-python3}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
HOUSE=docker/wheelhouse
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
fail() { printf 'wheelhouse: error: %s\n' "$1" >&2; tail -3 "$LOG" >&2; exit 1; }

case $PYVER in 3.[0-9]*) ;; *) fail "PYTHON_VERSION must look like 3.12, not '$PYVER'" ;; esac
case $GLIBC in 2.[0-9]*) ;; *) fail "GLIBC_VERSION must look like 2.39, not '$GLIBC'" ;; esac
PYVER=$(echo "$PYVER" | cut -d. -f1,2)

mkdir -p "$HOUSE"
rm -f "$HOUSE"/gpuent-*.whl  # one gpuent: the one built from this tree now
"$PY" -m pip wheel -q --no-deps -w "$HOUSE" . > "$LOG" 2>&1 || fail "building gpuent's wheel failed"
wheel=$(ls "$HOUSE"/gpuent-*.whl)

# pip takes --platform tags literally: name every manylinux tag this glibc runs
platforms=(--platform "manylinux2014_$ARCH")
for minor in $(seq 17 "${GLIBC#*.}"); do platforms+=(--platform "manylinux_2_${minor}_$ARCH"); done
"$PY" -m pip download -q -d "$HOUSE" --only-binary=:all: --implementation cp \
    --python-version "$PYVER" "${platforms[@]}" "$wheel[$EXTRAS]" > "$LOG" 2>&1 \
    || fail "pip download of gpuent[$EXTRAS] for Python $PYVER, glibc $GLIBC, $ARCH failed"
echo "wheelhouse: $(ls "$HOUSE"/*.whl | wc -l) wheels, $(du -sm "$HOUSE" | cut -f1) MB in $HOUSE" \
    "(gpuent[$EXTRAS], Python $PYVER, glibc $GLIBC, $ARCH)"
