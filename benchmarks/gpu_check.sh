#!/usr/bin/env bash
# The GPU checks of gpuent, in one script, run on the GPU machine from the repository root.
#
#   benchmarks/gpu_check.sh [all|tests|memcheck|bench]     (default: all)
#
# Installs the wheels of .whl/ (CuPy, cuCIM, ...) into /tmp/site, then:
#   tests     pytest -m gpu (cuda == cpu bit for bit, poison, scikit-image, CLI)
#   memcheck  compute-sanitizer --tool memcheck on a small case of every kernel variant
#   bench     benchmarks/bench_local_entropy_gpu.py (and bench_ising_gpu.py if present)
# Logs and JSON results go under $OUT (default /tmp/gpuent-gpu-check). One device call is
# limited to 10 minutes: if "all" does not fit, run the stages in separate calls.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpuent-gpu-check}
mkdir -p "$OUT"
STAGE=${1:-all}
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
PY

if [[ $STAGE == all || $STAGE == tests ]]; then
    echo "== pytest -m gpu"
    python3 -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 | tee "$OUT/pytest-gpu.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
    python3 -m pytest -q -p no:cacheprovider tests/test_cuda_sources.py 2>&1 | tail -3 \
        | tee -a "$OUT/pytest-gpu.log"
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
        "$SAN" --tool memcheck --error-exitcode 99 --leak-check no \
            python3 "$OUT/memcheck_case.py" > "$OUT/memcheck.log" 2>&1
        rc=$?
        tail -5 "$OUT/memcheck.log"
        echo "memcheck exit status: $rc" | tee -a "$OUT/memcheck.log"
        [[ $rc -eq 0 ]] || status=1
    else
        echo "compute-sanitizer not found; running the case without it" | tee "$OUT/memcheck.log"
        python3 "$OUT/memcheck_case.py" >> "$OUT/memcheck.log" 2>&1 || status=1
        status=1
    fi
fi

if [[ $STAGE == all || $STAGE == bench ]]; then
    echo "== benchmarks"
    mkdir -p "$OUT/results"
    python3 benchmarks/bench_local_entropy_gpu.py --out "$OUT/results" 2>&1 \
        | tee "$OUT/bench_local_entropy_gpu.log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
    if [[ -f benchmarks/bench_ising_gpu.py ]]; then
        python3 benchmarks/bench_ising_gpu.py 2>&1 | tee "$OUT/bench_ising_gpu.log"
        [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
        cp benchmarks/results/*gpu*.json "$OUT/results/" 2>/dev/null || true
    fi
fi

echo "gpu_check status: $status (logs in $OUT)"
exit $status
