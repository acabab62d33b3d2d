#!/usr/bin/env bash
# The GPU checks of gpuent, in one script, run on the GPU machine from the repository root.
#
#   benchmarks/gpu_check.sh [all|tests|memcheck|bench|ising]     (default: all)
#
# Installs the wheels of .whl/ (CuPy, cuCIM, ...) into /tmp/site, then:
#   tests     pytest -m gpu (cuda == cpu bit for bit, poison, scikit-image, CLI)
#   memcheck  compute-sanitizer --tool memcheck on a small case of every kernel variant
#   bench     benchmarks/bench_local_entropy_gpu.py (then bench_ising_gpu.py if time is left)
#   ising     benchmarks/bench_ising_gpu.py alone
# Logs and JSON results go under $OUT (default /tmp/gpuent-gpu-check). One device call is
# limited to 10 minutes, so every stage runs under its own time limit (seconds, override
# with TESTS_S, MEMCHECK_S, BENCH_S); "all" (the three defaults add up to 9.5 minutes with
# the setup) may still not finish everything: prefer one call per stage. A stage that runs
# out of time is reported as failed (status 124) and the next stage still runs; the
# benchmark's JSON is rewritten after every row, so a cut run keeps what it measured.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpuent-gpu-check}
mkdir -p "$OUT"
STAGE=${1:-all}
case $STAGE in
    all|tests|memcheck|bench|ising) ;;
    *) echo "usage: $0 [all|tests|memcheck|bench|ising]" >&2; exit 2 ;;
esac
if [[ $STAGE == all ]]; then
    TESTS_S=${TESTS_S:-240} MEMCHECK_S=${MEMCHECK_S:-90} BENCH_S=${BENCH_S:-200}
else
    TESTS_S=${TESTS_S:-540} MEMCHECK_S=${MEMCHECK_S:-540} BENCH_S=${BENCH_S:-540}
fi
status=0

if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl 2>&1 | tail -5
fi
export PYTHONPATH=/tmp/site:.
export NUMBA_CACHE_DIR=/tmp/numba-cache
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
python3 - <<'PY' 2>&1 | tee "$OUT/env.txt"
import cupy, numpy
from gpuent._backend import gpu_available
print("cupy", cupy.__version__, "numpy", numpy.__version__, "gpu_available", gpu_available())
p = cupy.cuda.runtime.getDeviceProperties(0)
print(p["name"], "SMs", p["multiProcessorCount"], "smem/block optin", p["sharedMemPerBlockOptin"])
raise SystemExit(0 if gpu_available() else 3)
PY
if [[ ${PIPESTATUS[0]} -ne 0 ]]; then
    # without a usable GPU every test marked gpu is skipped and pytest still exits 0
    echo "NO USABLE GPU (CuPy import or device failed): results below prove nothing" \
        | tee -a "$OUT/env.txt"
    status=1
fi

if [[ $STAGE == all || $STAGE == tests ]]; then
    echo "== pytest -m gpu"
    # SIGINT first: pytest then still prints its summary of what ran
    timeout -s INT -k 20 "$TESTS_S" python3 -m pytest -q -m gpu -p no:cacheprovider \
        --durations=15 tests 2>&1 | tee "$OUT/pytest-gpu.log"
    rc=${PIPESTATUS[0]}
    echo "pytest -m gpu exit status: $rc" | tee -a "$OUT/pytest-gpu.log"
    [[ $rc -eq 0 ]] || status=1
    timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_cuda_sources.py 2>&1 \
        | tail -3 | tee -a "$OUT/pytest-gpu.log"
fi

if [[ $STAGE == all || $STAGE == memcheck ]]; then
    echo "== compute-sanitizer memcheck"
    SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer \
          /tmp/site/nvidia/*/bin/compute-sanitizer 2>/dev/null | head -1)
    cat > "$OUT/memcheck_case.py" <<'PY'
# Small cases of every kernel variant; CuPy's memory pool is off so that every array is
# its own cudaMalloc and an out-of-bounds access is visible to memcheck.
import cupy as cp
import numpy as np

import gpuent as ge
from gpuent._kernels.histogram import _cuda
from gpuent._kernels.histogram.spec import plan_window
from gpuent.footprints import disk

cp.cuda.set_allocator(None)
rng = np.random.default_rng(0)
u8 = rng.integers(0, 256, (37, 53), dtype=np.uint8)
u16 = rng.integers(0, 4096, (29, 41), dtype=np.uint16)
fl = rng.normal(size=(23, 31))
fl[3, 4] = np.nan
mask = rng.random(u8.shape) < 0.8
checks = []
for mode in ("clip", "reflect", "mirror", "wrap"):
    for r in (0, 2, 9):
        checks.append((ge.local_entropy, u8, dict(radius=r, mode=mode)))
    checks.append((ge.local_entropy, u8, dict(radius=3, mode=mode, mask=mask,
                                              estimator="miller-madow", dtype="float64")))
    checks.append((ge.local_entropy, u16, dict(radius=(2, 5), mode=mode,
                                               estimator="dirichlet")))
    checks.append((ge.local_entropy, fl, dict(footprint=disk(3), bins=16, mode=mode)))
    checks.append((ge.local_expected, u8, dict(f=lambda p: 1 / p - 1, radius=2, mode=mode,
                                               mask=mask)))
bad = 0
for func, image, kw in checks:
    dmask = kw.pop("mask", None)
    want = func(image, mask=dmask, backend="cpu", **kw)
    got = func(cp.asarray(image), mask=None if dmask is None else cp.asarray(dmask),
               backend="cuda", **kw).get()
    bad += not np.array_equal(got, want, equal_nan=True)
plan = plan_window(u8.shape, np.ones((5, 5), bool), "clip", 256, estimator="plugin")
for kw in (dict(force_global=True), dict(force_global=True, scratch_limit=64 * 256, run=3)):
    _cuda.windowed_cuda(cp.asarray(u8), None, plan, np.float32, **kw)
cp.cuda.Device().synchronize()
print("memcheck case done;", len(checks), "requests,", bad, "mismatches")
raise SystemExit(1 if bad else 0)
PY
    if [[ -n ${SAN:-} ]]; then
        timeout -k 20 "$MEMCHECK_S" "$SAN" --tool memcheck --error-exitcode 99 \
            --leak-check no python3 "$OUT/memcheck_case.py" > "$OUT/memcheck.log" 2>&1
        rc=$?
        tail -5 "$OUT/memcheck.log"
        echo "memcheck exit status: $rc" | tee -a "$OUT/memcheck.log"
        [[ $rc -eq 0 ]] || status=1
    else
        # not a pass: the case runs, but nothing checks its memory accesses
        echo "compute-sanitizer not found; running the case without it" | tee "$OUT/memcheck.log"
        timeout -k 20 "$MEMCHECK_S" python3 "$OUT/memcheck_case.py" >> "$OUT/memcheck.log" 2>&1
        echo "case exit status: $? (memcheck NOT run)" | tee -a "$OUT/memcheck.log"
        status=1
    fi
fi

if [[ $STAGE == all || $STAGE == bench ]]; then
    echo "== benchmarks"
    mkdir -p "$OUT/results"
    start=$SECONDS
    timeout -k 20 "$BENCH_S" python3 benchmarks/bench_local_entropy_gpu.py \
        --out "$OUT/results" 2>&1 | tee "$OUT/bench_local_entropy_gpu.log"
    rc=${PIPESTATUS[0]}
    echo "bench_local_entropy_gpu exit status: $rc" | tee -a "$OUT/bench_local_entropy_gpu.log"
    [[ $rc -eq 0 ]] || status=1
    left=$((BENCH_S - (SECONDS - start)))
    if [[ -f benchmarks/bench_ising_gpu.py ]] && ((left > 30)); then  # else: stage "ising"
        timeout -k 10 "$left" python3 benchmarks/bench_ising_gpu.py --out "$OUT/results" \
            2>&1 | tee "$OUT/bench_ising_gpu.log"
        [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
        cp benchmarks/results/*gpu*.json "$OUT/results/" 2>/dev/null || true
    fi
fi

if [[ $STAGE == ising ]]; then
    echo "== Ising benchmark"
    mkdir -p "$OUT/results"
    timeout -k 10 "$BENCH_S" python3 benchmarks/bench_ising_gpu.py --out "$OUT/results" 2>&1 \
        | tee "$OUT/bench_ising_gpu.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
fi

echo "gpu_check status: $status (logs in $OUT)"
exit $status
