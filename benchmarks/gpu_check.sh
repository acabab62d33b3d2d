#!/usr/bin/env bash
# Every GPU check of gpuent in one run on a bare GPU machine, from the repository root.
#
#   benchmarks/gpu_check.sh              everything, in at most TOTAL_S (540) seconds
#   benchmarks/gpu_check.sh --rehearse   here, without a GPU: every stage up to its first
#                                        CUDA call, in a fresh venv built like the machine's
#
# Needs `make gpu-bundle` first: .whl/ (wheels the machine lacks) and .gpu-expected/ (the GPU
# tests' cpu side, so that the machine compiles no Numba kernel for the comparisons).
# Stages, each under its own time budget (seconds; override with the variable):
#   setup     SETUP_S=45     install .whl/ into a scratch site, import every module the check
#                            needs (benchmarks/gpu_imports.py), probe the GPU
#   tests     TESTS_S=180    pytest -m gpu on XDIST workers (cuda == cpu bit for bit)
#   memcheck  MEMCHECK_S=90  compute-sanitizer memcheck, one run per kernel family
#                            (benchmarks/gpu_memcheck.py: local entropy general path, fast
#                            path at every box width, 3-D; Ising packed, fused, rows and
#                            continuous on lattices of one and several tiles)
#   bench     BENCH_S=90     benchmarks/bench_local_entropy_gpu.py (with cuCIM)
#   ising     ISING_S=60     benchmarks/bench_ising_gpu.py
#   stream    STREAM_S=60    benchmarks/bench_stream_gpu.py (a tiled TIFF through the GPU vs
#                            the cpu streaming path, bit for bit)
# A stage gets its budget or what is left of TOTAL_S, whichever is less; one cut short still
# reports what it measured. $OUT (default /tmp/gpuent-gpu-check) receives at most 6 files,
# none in a folder: summary.txt (the one-screen summary, also printed last), log.txt (every
# stage's output) and the benchmarks' JSON. Exit status 0 only when every stage passed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REHEARSE=0
if [[ ${1:-} == --rehearse ]]; then REHEARSE=1; shift; fi
WHAT=${1:-all}
case $WHAT in
    all|tests|memcheck|bench|ising) ;;
    *) echo "usage: $0 [--rehearse] [all|tests|memcheck|bench|ising]" >&2; exit 2 ;;
esac
want() { [[ $WHAT == all || $WHAT == "$1" ]]; }

T0=$SECONDS
TOTAL_S=${TOTAL_S:-540}
SETUP_S=${SETUP_S:-45} TESTS_S=${TESTS_S:-180} MEMCHECK_S=${MEMCHECK_S:-90}
BENCH_S=${BENCH_S:-90} ISING_S=${ISING_S:-60} STREAM_S=${STREAM_S:-60}
SUMMARY_RESERVE_S=15
SCRATCH=$(mktemp -d /tmp/gpuent-check.XXXXXX)
SITE=$SCRATCH/site
if ((REHEARSE)); then
    OUT=$SCRATCH/out  # a scratch $OUT: its file count is checked like the machine's
else
    OUT=${OUT:-/tmp/gpuent-gpu-check}
fi
mkdir -p "$OUT" "$SCRATCH/results"
LOG=$OUT/log.txt
: > "$LOG"
STATUS=$SCRATCH/status   # one line per stage: NAME RC SECONDS
: > "$STATUS"
export GPUENT_EXPECTED_LOG=$SCRATCH/expected.log
export NUMBA_CACHE_DIR=$SCRATCH/numba-cache PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
XDIST=${XDIST:-8}

say() { echo "$*" | tee -a "$LOG"; }

# stage NAME BUDGET COMMAND...: run COMMAND under min(BUDGET, time left) seconds, output to
# the terminal and log.txt; SIGINT first (pytest and Python still print what they have).
stage() {
    local name=$1 budget=$2
    shift 2
    local left=$((TOTAL_S - SUMMARY_RESERVE_S - (SECONDS - T0)))
    ((budget > left)) && budget=$left
    if ((budget < 5)); then
        say "== $name: skipped, no time left"
        echo "$name skipped 0" >> "$STATUS"
        return 0
    fi
    say "== $name (budget ${budget}s)"
    local start=$SECONDS
    if declare -F "$1" > /dev/null; then  # a function of this script: run it in a bash
        set -- bash -c '"$@"' "$1" "$@"
    fi
    timeout -s INT -k 15 "$budget" "$@" 2>&1 | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    say "== $name: exit status $rc after $((SECONDS - start))s"
    echo "$name $rc $((SECONDS - start))" >> "$STATUS"
    return 0
}

# ---------------------------------------------------------------- the Python to run
if ((REHEARSE)); then
    PYBIN=${REHEARSE_PYTHON:-$(command -v python3.12 || true)}
    [[ -n $PYBIN ]] && ! "$PYBIN" -c '' 2>/dev/null && PYBIN=
    [[ -z $PYBIN && -x $HOME/.pyenv/versions/3.12.1/bin/python3 ]] \
        && PYBIN=$HOME/.pyenv/versions/3.12.1/bin/python3
    PYBIN=${PYBIN:-python3}
    VENV=${REHEARSE_VENV:-/tmp/gpuent-rehearse-venv}
    say "== rehearsal: fresh venv $VENV ($("$PYBIN" -V 2>&1)) with the machine's packages"
    start=$SECONDS
    rm -rf "$VENV"
    # uv when there is one (or when pip can bring it): the same packages as pip, in seconds
    UV=${UV:-$(command -v uv || true)}
    if [[ -z $UV ]] && "$PYBIN" -m venv "$SCRATCH/uv" \
            && "$SCRATCH/uv/bin/python" -m pip install -q --disable-pip-version-check uv \
               > /dev/null 2>&1; then
        UV=$SCRATCH/uv/bin/uv
    fi
    if [[ -n $UV ]]; then
        "$UV" venv -q --seed --python "$PYBIN" "$VENV" \
            && "$UV" pip install -q --python "$VENV/bin/python" -r benchmarks/gpu_machine.txt
    else
        "$PYBIN" -m venv "$VENV" && "$VENV/bin/python" -m pip install -q \
            --disable-pip-version-check -r benchmarks/gpu_machine.txt
    fi 2>&1 | grep -v "is ignored" | tail -5 | tee -a "$LOG"
    if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
        say "REHEARSAL FAILED: the machine's package list does not install"
        exit 1
    fi
    say "   machine packages installed in $((SECONDS - start))s (not counted in TOTAL_S)"
    PY=$VENV/bin/python
    T0=$SECONDS   # the machine's own clock starts with the check, not with this venv
else
    PY=python3
fi

# ---------------------------------------------------------------- setup
setup() {
    local n
    n=$(compgen -G ".whl/*.whl" | wc -l)
    if ((n == 0)); then
        echo "no wheels in .whl/: run 'make gpu-bundle' here before the GPU run"
        return 1
    fi
    echo "bundle: $n wheels, $(du -sm .whl | cut -f1) MiB; expectations:" \
        "$(find .gpu-expected -name '*.npz' 2>/dev/null | wc -l) files," \
        "$(du -sm .gpu-expected 2>/dev/null | cut -f1) MiB"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --disable-pip-version-check --target "$SITE" .whl/*.whl || return 1
    export PYTHONPATH=$SITE:$ROOT
    "$PY" benchmarks/gpu_imports.py --import --wheels .whl || return 1
    "$PY" - <<'PY'
import numpy, cupy
from gpuent._backend import gpu_available
print("python", __import__("sys").version.split()[0], "numpy", numpy.__version__,
      "cupy", cupy.__version__, "gpu_available", gpu_available())
if gpu_available():
    p = cupy.cuda.runtime.getDeviceProperties(0)
    print(p["name"].decode(), "SMs", p["multiProcessorCount"], "smem/block optin",
          p["sharedMemPerBlockOptin"], "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion(),
          "driver", cupy.cuda.runtime.driverGetVersion())
PY
}
bench() {  # bench SCRIPT: the JSON goes to a scratch folder, then to $OUT
    if ((REHEARSE)); then  # arguments, and the stored cpu side of its bit-exact checks
        "$PY" "$1" --help > /dev/null && echo "$1: imports and arguments OK (no GPU here)" \
            && GPUENT_EXPECTED=require "$PY" "$1" --expectations
    else
        OUT=$SCRATCH/results "$PY" "$1" --out "$SCRATCH/results"
    fi
}
export PYTHONPATH=$SITE:$ROOT PY SITE ROOT SCRATCH REHEARSE
export -f setup bench
stage setup "$SETUP_S" setup
if ((!REHEARSE)); then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv \
        >> "$LOG" 2>&1 || true
    if ! "$PY" -c 'from gpuent._backend import gpu_available as g; raise SystemExit(not g())' \
            2>> "$LOG"; then
        say "NO USABLE GPU (CuPy import or device failed): every GPU test would be skipped"
        echo "gpu 1 0" >> "$STATUS"
    fi
fi

# ---------------------------------------------------------------- tests
if want tests; then
    if ((REHEARSE)); then
        # the cpu side of every GPU test: each stored expectation must be there (no Numba)
        GPUENT_EXPECTED=require stage tests "$TESTS_S" "$PY" -m pytest -q -rfE -m gpu \
            -p no:cacheprovider -n 2 --junitxml="$SCRATCH/junit.xml" tests
    else
        stage tests "$TESTS_S" "$PY" -m pytest -q -m gpu -p no:cacheprovider -n "$XDIST" \
            --durations=10 --junitxml="$SCRATCH/junit.xml" tests
    fi
fi

# ---------------------------------------------------------------- memcheck
if want memcheck; then
    SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer \
          2>/dev/null | head -1)
    for family in histogram ising; do
        if ((REHEARSE)); then
            GPUENT_EXPECTED=require stage "memcheck-$family" $((MEMCHECK_S / 2)) \
                "$PY" benchmarks/gpu_memcheck.py "$family"
        elif [[ -n $SAN ]]; then
            stage "memcheck-$family" $((MEMCHECK_S / 2)) "$SAN" --tool memcheck \
                --error-exitcode 99 --leak-check no --print-limit 20 \
                "$PY" benchmarks/gpu_memcheck.py "$family"
        else
            say "compute-sanitizer not found: memcheck-$family NOT run"
            echo "memcheck-$family nosanitizer 0" >> "$STATUS"
        fi
    done
    ((REHEARSE)) && say "   compute-sanitizer here: ${SAN:-not found (the GPU machine has it)}"
fi

# ---------------------------------------------------------------- benchmarks
want bench && stage bench "$BENCH_S" bench benchmarks/bench_local_entropy_gpu.py
cp "$SCRATCH"/results/*.json "$OUT"/ 2>/dev/null
want ising || want bench && stage ising "$ISING_S" bench benchmarks/bench_ising_gpu.py
cp "$SCRATCH"/results/*.json "$OUT"/ 2>/dev/null
want bench && stage stream "$STREAM_S" bench benchmarks/bench_stream_gpu.py
cp "$SCRATCH"/results/*.json "$OUT"/ 2>/dev/null

# ---------------------------------------------------------------- summary
args=(--status "$STATUS" --log "$LOG" --expected-log "$GPUENT_EXPECTED_LOG"
      --junit "$SCRATCH/junit.xml" --results "$OUT" --seconds $((SECONDS - T0)))
((REHEARSE)) && args+=(--rehearse)
"$PY" benchmarks/gpu_summary.py "${args[@]}" > "$OUT/summary.txt" 2>&1
rc=$?
nfiles=$(find "$OUT" -type f | wc -l)
deep=$(find "$OUT" -mindepth 2 -type f | wc -l)
{
    echo "OUT: $nfiles files (at most 6), $deep inside a folder (none allowed):" \
        "$(cd "$OUT" && ls | tr '\n' ' ')"
    ((nfiles > 6 || deep > 0)) && echo "OUT OVER ITS LIMITS" && rc=1
} >> "$OUT/summary.txt"
((nfiles > 6 || deep > 0)) && rc=1
cat "$OUT/summary.txt"
((REHEARSE)) && rm -rf "$SCRATCH"
exit $rc
