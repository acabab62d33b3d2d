"""Ising sweeps on an NVIDIA GPU (CuPy RawKernels): flips per nanosecond per kernel family,
and bit-exactness against the CPU (Numba) path on the same lattice.

    python benchmarks/bench_ising_gpu.py [--sweeps 50] [--repeats 3] [--quick]

Rows {"model", "kernel", "shape", "flips_per_ns", "bit_exact_vs_cpu", ...}: the binary torus
at 4096^2, 16384^2 and 32768^2 and the edge model at 16384^2 with each kernel family
("packed": 1 bit per spin; "fused": int8, both colour phases in one launch; "rows": int8,
one launch per phase), the block and symmetric metric models ("rows") at 16384^2, continuous
spins at 8192^2; then the costs around the sweeps: recording the observables at the default
interval, and a 1024^2 metric-model movie with a frame every sweep (rendered on the device,
copied to pinned host buffers, encoded by the writer thread) against the same sweeps alone.
Anchor: NVIDIA's ising-gpu example (about 900 flips/ns with 4-bit and 1430 with 1-bit
multi-spin coding on an H100); compare rows by hand. Writes (after every row, so that a cut
run keeps what it measured) benchmarks/results/ising-gpu-<device>.json and a copy under
$OUT when that is set. Bit-exactness is checked on every lattice at its full size (the
32768^2 rows included, where 64-bit index math matters): a few sweeps on the CPU path,
taken from the stored expectations of ``make gpu-bundle`` (tests/_expected.py) so that the
GPU machine compiles no Numba kernel; ``--expectations`` only computes
(``GPUENT_EXPECTED=fill``) or checks (``require``) them, without a GPU.

    compute-sanitizer --tool memcheck python benchmarks/bench_ising_gpu.py --memcheck-case

runs every kernel family once on small lattices instead (CuPy's pool off), against the
stored CPU results: ``benchmarks/gpu_memcheck.py ising``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]),
                str(Path(__file__).resolve().parents[1] / "tests")]

from _expected import Digest, array_sha256, expected  # noqa: E402

from gpuent import ising  # noqa: E402
from gpuent._backend import gpu_available  # noqa: E402

BETA = 0.4406868


def _cupy_model(model):
    import cupy as cp

    aux = None if model.aux is None else cp.asarray(model.aux)
    return ising.IsingModel(model.kind, cp.asarray(model.spins), aux, model.edge_spins)


def _model(kind, n):
    if kind == "torus":
        return ising.torus((n, n), init="random", seed=0)
    if kind == "continuous":
        return ising.torus((n, n), init="random", spins="continuous", seed=0)
    img = ising.letters_image((1024, 1024))
    big = np.tile(img, (n // 1024, n // 1024)) if n >= 1024 else ising.letters_image((n, n))
    if kind == "edge":
        return ising.edge_model(big)
    return ising.metric_model(big, energy="symmetric" if kind == "symmetric" else "block")


def _sync():
    import cupy as cp

    cp.cuda.runtime.deviceSynchronize()


def _time_gpu(sim, sweeps, repeats, **kw):
    """Median wall time of ``sweeps`` sweeps (device synchronized around each repeat)."""
    kw.setdefault("record_every", 0)
    sim.run(2, beta=BETA, **{k: v for k, v in kw.items() if k != "movie"})
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        sim.run(sweeps, beta=BETA, **kw)
        _sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _fingerprint(spins):
    """A cheap sample of an initial lattice: says whether a stored result is for it."""
    return np.ascontiguousarray(np.asarray(spins)[::97, ::89])


def _cpu_side(kind, n, sweeps):
    """The CPU path's lattice and observables after ``sweeps`` sweeps from ``_model(kind,
    n)`` at BETA, seed 99 (stored when present: computed only where none is)."""
    def compute():
        model = _model(kind, n)
        cpu = ising.Simulation(model, seed=99, backend="cpu")
        tc = cpu.run(sweeps, beta=BETA, record_every=sweeps)
        return {"init": _fingerprint(model.spins), "spins": np.asarray(cpu.spins),
                "energy": np.asarray(tc.energy), "magnetization": np.asarray(tc.magnetization)}

    return expected(("bench-ising-cpu", kind, n, sweeps, 99, BETA), compute)


def _same(got, want):
    if isinstance(want, Digest):
        return got.shape == want.shape and got.dtype == want.dtype and (
            array_sha256(got) == want.sha256)
    return bool(np.array_equal(got, want))


def _bit_exact(model, sweeps, kernel, kind, n):
    """Run ``sweeps`` sweeps on the GPU from the same lattice and seed as the stored CPU
    run; compare (None when the stored run is of another initial lattice)."""
    import cupy as cp

    want = _cpu_side(kind, n, sweeps)
    if not np.array_equal(want["init"], _fingerprint(model.spins)):
        print(f"stored CPU run of {kind} {n}^2 is of another lattice: rebuild the bundle")
        return None
    gpu = ising.Simulation(_cupy_model(model), seed=99, kernel=kernel)
    tg = gpu.run(sweeps, beta=BETA, record_every=sweeps)
    return bool(_same(cp.asnumpy(gpu.spins), want["spins"])
                and np.array_equal(want["energy"], tg.energy)
                and np.array_equal(want["magnetization"], tg.magnetization))


def _configs(scale):
    binary = ("packed", "fused", "rows")
    return [("torus", 4096 // scale, binary), ("torus", 16384 // scale, binary),
            ("torus", 32768 // scale, binary), ("edge", 16384 // scale, binary),
            ("block", 16384 // scale, ("rows",)), ("symmetric", 16384 // scale, ("rows",)),
            ("continuous", 8192 // scale, (None,))]


def expectations(args):
    """Only the CPU side of every bit-exactness check (no GPU): filled or checked."""
    scale = 8 if args.quick else args.scale
    if args.check_sweeps:
        for kind, n, _ in _configs(scale):
            t0 = time.perf_counter()
            _cpu_side(kind, n, args.check_sweeps)
            print(f"bench_ising_gpu: cpu side of {kind} {n}^2 ready "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


def memcheck_case():
    """Every kernel family once on small lattices (benchmarks/gpu_memcheck.py ising):
    returns the number of mismatches with the stored CPU results."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gpu_memcheck

    return gpu_memcheck.run_ising()


def _write(result, args, slug):
    text = json.dumps(result, indent=2) + "\n"
    dirs = [Path(args.out)]
    if os.environ.get("OUT"):
        dirs.append(Path(os.environ["OUT"]))
    for out in dirs:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"ising-gpu-{slug}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check-sweeps", type=int, default=3,
                    help="sweeps of the CPU comparison (0: skip)")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--scale", type=int, default=1, help="divide every lattice side by this")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--memcheck-case", action="store_true",
                    help="only run every kernel once on small lattices (for compute-sanitizer)")
    ap.add_argument("--expectations", action="store_true",
                    help="only compute or check the stored CPU side of the bit-exact checks")
    args = ap.parse_args(argv)
    if args.expectations:
        return expectations(args)
    if not gpu_available():
        print("bench_ising_gpu: no CUDA GPU visible to CuPy; nothing to do", file=sys.stderr)
        return 1
    if args.memcheck_case:
        return 1 if memcheck_case() else 0
    import cupy as cp
    import numba

    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    scale = 8 if args.quick else args.scale
    configs = _configs(scale)
    rows = []
    result = {
        "benchmark": "ising",
        "device": name,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "cupy": cp.__version__, "numba": numba.__version__,
                     "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
                     "driver": cp.cuda.runtime.driverGetVersion()},
        "beta": BETA,
        "rows": rows,
    }
    print(f"{'model':11s} {'kernel':7s} {'shape':>13s} {'sweeps':>6s} {'seconds':>9s} "
          f"{'flips/ns':>9s} {'bit-exact':>9s}")
    for kind, n, kernels in configs:
        model = _model(kind, n)
        for kernel in kernels:
            sim = ising.Simulation(_cupy_model(model), seed=1, kernel=kernel)
            family = sim.kernel
            secs = _time_gpu(sim, args.sweeps, args.repeats)
            fpns = args.sweeps * n * n / secs / 1e9
            exact = (_bit_exact(model, args.check_sweeps, kernel, kind, n)
                     if args.check_sweeps else None)
            del sim
            cp.get_default_memory_pool().free_all_blocks()
            rows.append({"model": kind, "kernel": family, "shape": [n, n],
                         "sweeps": args.sweeps, "seconds": secs, "flips_per_ns": fpns,
                         "bit_exact_vs_cpu": exact, "check_sweeps": args.check_sweeps})
            print(f"{kind:11s} {family:7s} {n:>6d}x{n:<6d} {args.sweeps:6d} {secs:9.4f} "
                  f"{fpns:9.2f} {exact!s:>9s}")
            _write(result, args, slug)

    # recording the observables at the default interval, against no recording
    n = 16384 // scale
    sim = ising.Simulation(_cupy_model(_model("torus", n)), seed=1)
    plain = _time_gpu(sim, args.sweeps, args.repeats)
    every = sim.default_record_every
    rec = _time_gpu(sim, args.sweeps, args.repeats, record_every=every)
    rows.append({"model": "torus+record", "kernel": sim.kernel, "shape": [n, n],
                 "sweeps": args.sweeps, "seconds": rec,
                 "flips_per_ns": args.sweeps * n * n / rec / 1e9, "bit_exact_vs_cpu": None,
                 "record_every": every, "cost_vs_sweeps": rec / plain})
    print(f"recording every {every} sweeps: {rec / plain:.3f}x the sweeps alone")
    del sim
    cp.get_default_memory_pool().free_all_blocks()

    # movie run: a frame every sweep on a 1024^2 metric model vs no frames
    n = max(64, 1024 // max(1, scale // 8))
    sim = ising.Simulation(_cupy_model(_model("block", n)), seed=1)
    plain = _time_gpu(sim, args.sweeps, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        movie_secs = []
        for r in range(args.repeats):
            w = ising.MovieWriter(Path(tmp) / f"m{r}.mp4" if _has_ffmpeg()
                                  else Path(tmp) / f"m{r}.gif", fps=25)
            _sync()
            t0 = time.perf_counter()
            sim.run(args.sweeps, beta=BETA, record_every=0, frames=1, movie=w)
            _sync()
            movie_secs.append(time.perf_counter() - t0)
            w.close()
    msecs = float(np.median(movie_secs))
    for label, secs in (("block", plain), ("block+movie", msecs)):
        fpns = args.sweeps * n * n / secs / 1e9
        rows.append({"model": label, "kernel": sim.kernel, "shape": [n, n],
                     "sweeps": args.sweeps, "seconds": secs, "flips_per_ns": fpns,
                     "bit_exact_vs_cpu": None,
                     "frames": args.sweeps if label.endswith("movie") else 0})
        print(f"{label:11s} {n:>5d}x{n:<5d} {args.sweeps:6d} {secs:9.4f} {fpns:9.2f}")
    print(f"movie overhead: {msecs / plain:.2f}x the run without frames "
          "(simulation side; the encoder runs in its own thread)")
    print(f"wrote {_write(result, args, slug)}")
    return 0


def _has_ffmpeg():
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
