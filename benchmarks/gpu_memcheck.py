"""Small cases of every CUDA kernel variant, for ``compute-sanitizer --tool memcheck``.

    python benchmarks/gpu_memcheck.py histogram|ising

Run by ``benchmarks/gpu_check.sh`` under the sanitizer, one kernel family per run, so that
each family gets its own clean / not clean. CuPy's memory pool is off, so that every array
is its own allocation and an out-of-bounds access is visible. Each case's cpu-side result
comes from the stored expectations (tests/_expected.py): nothing compiles with Numba under
the sanitizer. With ``GPUENT_EXPECTED=fill|require`` only the expectations are filled or
checked (no GPU needed). Exit status: 0 when every case equals the cpu path bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from _expected import expected, gpu_part  # noqa: E402

import gpuent as ge  # noqa: E402
from gpuent import ising  # noqa: E402
from gpuent._kernels.histogram.spec import plan_window  # noqa: E402
from gpuent.footprints import disk  # noqa: E402

FUNCS = {"laurent": lambda p: 1 / p - 1}


#: the interior fast path's box widths (square windows, every pixel counted)
BOX_SIDES = (1, 3, 15, 51, 75)
#: Ising lattices: one tile and several, widths that are and are not multiples of 8 and 32
ISING_SHAPES = ((34, 64), (40, 288), (34, 70), (40, 72))
#: the kernel families each model runs (None: the continuous-spin kernel)
ISING_KERNELS = {"torus": ("packed", "fused", "rows"), "edge": ("packed", "fused", "rows"),
                 "edge-fixed": ("packed", "fused", "rows"), "block": ("rows",),
                 "symmetric": ("rows",), "continuous": (None,)}


def histogram_cases():
    """(label, function, image, mask, options) for every window family and mode: the
    general path (2-D and 3-D, masks, footprints), the interior fast path at every box
    width, shared and global histograms."""
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (37, 53), dtype=np.uint8)
    u16 = rng.integers(0, 4096, (29, 41), dtype=np.uint16)
    fl = rng.normal(size=(23, 31))
    fl[3, 4] = np.nan
    mask = rng.random(u8.shape) < 0.8
    cases = []
    for mode in ("clip", "reflect", "mirror", "wrap"):
        for r in (0, 2, 9):
            cases.append(("local_entropy", u8, None, dict(radius=r, mode=mode)))
        cases.append(("local_entropy", u8, mask, dict(radius=3, mode=mode,
                                                      estimator="miller-madow",
                                                      dtype="float64")))
        cases.append(("local_entropy", u16, None, dict(radius=(2, 5), mode=mode,
                                                       estimator="dirichlet")))
        cases.append(("local_entropy", fl, None, dict(footprint=disk(3), bins=16, mode=mode)))
        cases.append(("local_expected", u8, mask, dict(f="laurent", radius=2, mode=mode)))
    # the interior fast path: full boxes without invalid pixels, every templated width
    wide = rng.integers(0, 256, (97, 181), dtype=np.uint8)
    for side in BOX_SIDES:
        for mode in ("clip", "reflect"):
            cases.append(("local_entropy", wide, None, dict(radius=side // 2, mode=mode)))
    # 3-D volumes: boxes (fast path), anisotropic boxes, a footprint, a mask
    vol = rng.integers(0, 256, (11, 13, 17), dtype=np.uint8)
    vmask = rng.random(vol.shape) < 0.8
    for mode in ("clip", "wrap"):
        for window in (dict(radius=1), dict(radius=(1, 2, 3)),
                       dict(footprint=np.ones((3, 1, 5), bool))):
            cases.append(("local_entropy", vol, None, dict(window, mode=mode)))
        cases.append(("local_entropy", vol, vmask, dict(radius=1, mode=mode,
                                                        estimator="miller-madow")))
        cases.append(("local_expected", vol, None, dict(f="laurent", radius=1, mode=mode)))
    return cases, u8


def _call(name, image, mask, kw, backend):
    kw = dict(kw)
    if "f" in kw:
        kw["f"] = FUNCS[kw["f"]]
    return getattr(ge, name)(image, mask=mask, backend=backend, **kw)


def run_histogram():
    cases, u8 = histogram_cases()
    wants = [expected(("memcheck-" + name, image, mask, kw),
                      lambda c=(name, image, mask, kw): _call(*c, "cpu"))
             for name, image, mask, kw in cases]
    cp = gpu_part()
    if cp is None:
        print(f"histogram: {len(wants)} cpu results ready; no GPU part in this run")
        return 0
    from gpuent._kernels.histogram import _cuda

    cp.cuda.set_allocator(None)
    bad = 0
    for (name, image, mask, kw), want in zip(cases, wants):
        dmask = None if mask is None else cp.asarray(mask)
        got = _call(name, cp.asarray(image), dmask, kw, "cuda").get()
        if not np.array_equal(got, want, equal_nan=True):
            bad += 1
            print(f"MISMATCH {name} {kw}")
    plan = plan_window(u8.shape, np.ones((5, 5), bool), "clip", 256, estimator="plugin")
    for kw in (dict(force_global=True), dict(force_global=True, scratch_limit=64 * 256, run=3)):
        _cuda.windowed_cuda(cp.asarray(u8), None, plan, np.float32, **kw)
    cp.cuda.Device().synchronize()
    print(f"histogram memcheck case: {len(cases)} requests + 2 global-scratch launches, "
          f"{bad} mismatches")
    return 1 if bad else 0


def ising_models(shape):
    """Every Ising model kind on a lattice of ``shape``."""
    rng = np.random.default_rng(1)
    img = (rng.random(shape) * 255).astype(np.uint8)
    return {
        "torus": ising.torus(shape, init="random", seed=1),
        "continuous": ising.torus(shape, init="random", spins="continuous", seed=2),
        "edge": ising.edge_model(ising.letters_image(shape)),
        "edge-fixed": ising.edge_model(img, edge_spins="fixed"),
        "block": ising.metric_model(ising.letters_image(shape)),
        "symmetric": ising.metric_model(img, energy="symmetric"),
    }


def _ising_run(xp_model, backend, kernel=None):
    sim = ising.Simulation(xp_model, seed=9, backend=backend, kernel=kernel)
    tr = sim.run(6, beta=ising.linear(2.0, 0.3), record_every=2, frames=3)
    f2 = sim.frame(downscale=2)
    return {"spins": np.asarray(ising.spins_to_frame(np.asarray(_host(sim.spins)))),
            "energy": np.asarray(tr.energy), "magnetization": np.asarray(tr.magnetization),
            "frames": np.stack(tr.frames), "frame2": np.asarray(f2)}


def _host(x):
    return x.get() if hasattr(x, "get") else x


def ising_cases():
    """(shape, name, model, kernels that fit the width) for every lattice and model."""
    cases = []
    for shape in ISING_SHAPES:
        w = shape[1]
        for name, model in ising_models(shape).items():
            kernels = [k for k in ISING_KERNELS[name]
                       if not (k == "packed" and w % 32 or k == "fused" and w % 8)]
            cases.append((shape, name, model, kernels))
    return cases


def run_ising():
    cases = ising_cases()
    wants = [expected(("memcheck-ising", name, m.spins, m.aux, m.edge_spins),
                      lambda m=m: _ising_run(m, "cpu"))
             for shape, name, m, kernels in cases]
    cp = gpu_part()
    if cp is None:
        print(f"ising: {len(wants)} cpu results ready; no GPU part in this run")
        return 0
    cp.cuda.set_allocator(None)
    bad = runs = 0
    families = set()
    for (shape, name, m, kernels), want in zip(cases, wants):
        aux = None if m.aux is None else cp.asarray(m.aux)
        dev = ising.IsingModel(m.kind, cp.asarray(m.spins), aux, m.edge_spins)
        for kernel in kernels:
            got = _ising_run(dev, "cuda", kernel)
            cp.cuda.Device().synchronize()
            runs += 1
            families.add(kernel or "continuous")
            for k, value in want.items():
                if k == "frame2" and m.continuous:  # float block means: at most one grey level
                    ok = np.abs(got[k].astype(int) - value.astype(int)).max(initial=0) <= 1
                else:
                    ok = np.array_equal(got[k], value)
                if not ok:
                    bad += 1
                    print(f"MISMATCH ising {name} {kernel} {shape} {k}")
    print(f"ising memcheck case: {len(cases)} lattices x models, {runs} kernel runs "
          f"({', '.join(sorted(families))}), {bad} mismatches")
    return 1 if bad else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    family = argv[0] if argv else ""
    if family == "histogram":
        return run_histogram()
    if family == "ising":
        return run_ising()
    if family == "all":
        return run_histogram() | run_ising()
    print("usage: gpu_memcheck.py histogram|ising|all", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
