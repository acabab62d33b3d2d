"""Local entropy on the CPU: gpuent (Numba) vs scikit-image rank.entropy vs the seed's mapbox.

Same data, one run. The image is skimage.data.camera() tiled to 2048 x 2048
(uint8); the 16-bit case scales it to 4096 levels (12 bits) with a little
noise. The notebook's pure-Python ``mapbox(r, intensity_entropy, a)`` runs on
a small crop only (it does ~10^4 pixels per second).

    python benchmarks/bench_local_entropy.py [--quick] [--baseline main] [--rounds 5]

Prints a table and writes benchmarks/results/local_entropy-cpu.json; the
"speedup" column is gpuent's throughput over the anchor's on the same case.
On the uint8 cases the Numba kernel of another git revision (``--baseline``,
default main) runs beside this tree's, and "speedup_vs_baseline" compares them.
Times are best-of-N with gpuent, the baseline and scikit-image alternated in
one process (scikit-image, being slow, in the first two rounds only).
"instr_per_pixel" is counted with callgrind (valgrind) on a 512 x 512 crop at
r = 7 and 15: one thread, AVX2 target, the kernel call only (one call = the
count of three calls minus that of one), when valgrind is installed
(``--no-callgrind``: skip).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import (  # noqa: E402
    baseline_module,
    best_alternated,
    callgrind_counts,
    mark,
    measure_marked,
    per_call,
)
from _common import cpu_device, median_time, print_table, versions, write_results  # noqa: E402

import gpuent as ge  # noqa: E402

KERNEL = "gpuent/_kernels/histogram/_cpu.py"
CG_SIDE = 512


def seed_mapbox(r, f, a):
    """The notebook's section-6 kernel, verbatim in behaviour."""
    def box(x, y, r):
        return np.s_[max(0, x - r): x + r + 1, max(0, y - r): y + r + 1]

    return np.reshape([f(a[box(*i, r)]) for i in np.ndindex(np.shape(a))], np.shape(a))


def seed_intensity_entropy(data):
    hist, _ = np.histogram(data, bins=range(256 + 1), density=True)
    return -sum(p * np.log2(p) if p > 0 else 0 for p in hist)


def camera_tiled(side):
    from skimage import data

    cam = data.camera()
    return np.ascontiguousarray(np.tile(cam, (side // 512 + 1,) * 2)[:side, :side])


def plan_of(image, r):
    from gpuent._kernels.histogram.spec import plan_window

    fp = np.ones((2 * r + 1, 2 * r + 1), dtype=bool)
    return plan_window(image.shape, fp, "clip", 256, estimator="plugin", base=2)


CG_RADII = (7, 15)


def callgrind_child(ref):
    """The work callgrind counts: each kernel on the crop, per radius (see _baseline)."""
    from gpuent._kernels.histogram import _cpu as kernel

    base, _ = baseline_module(KERNEL, ref)
    image = camera_tiled(CG_SIDE)
    plans = {r: plan_of(image, r) for r in CG_RADII}
    kernels = {"new": kernel} if base is None else {"new": kernel, "baseline": base}
    for k in kernels.values():
        for plan in plans.values():
            k.windowed_cpu(image, None, plan, np.float64)  # compiled or loaded, uncounted
    mark()
    for name, k in kernels.items():
        for r, plan in plans.items():
            measure_marked(f"{name}-r{r}",
                           lambda k=k, p=plan: k.windowed_cpu(image, None, p, np.float64))


def instructions_per_pixel(ref):
    """``{(which, r): instructions per pixel}`` from callgrind, or {} without valgrind."""
    counts = callgrind_counts([sys.executable, __file__, "--callgrind-child", ref])
    out = {}
    for which in ("new", "baseline"):
        for r in CG_RADII:
            n = per_call(counts, f"{which}-r{r}")
            if n is not None:
                out[which, r] = n / (CG_SIDE * CG_SIDE)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512 x 512 instead of 2048 x 2048")
    parser.add_argument("--baseline", default="main", help="git revision timed beside this tree")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many rounds")
    parser.add_argument("--no-callgrind", action="store_true", help="skip instruction counts")
    parser.add_argument("--callgrind-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.callgrind_child:
        return callgrind_child(args.callgrind_child)
    from skimage.filters.rank import entropy as sk_entropy

    from gpuent._kernels.histogram import _cpu as kernel

    side = 512 if args.quick else 2048
    img8 = camera_tiled(side)
    rng = np.random.default_rng(0)
    img16 = (img8.astype(np.uint16) * 16 + rng.integers(0, 16, img8.shape)).astype(np.uint16)
    base, base_commit = baseline_module(KERNEL, args.baseline)
    ge.local_entropy(img8[:32, :32], 1)  # compile (or load the cache) outside the timings
    ipp = {} if args.no_callgrind else instructions_per_pixel(args.baseline)
    rows = []

    def case(image, r, label):
        fp = np.ones((2 * r + 1, 2 * r + 1), dtype=bool)
        ours = ge.local_entropy(image, r, dtype=np.float64)
        variants = {"gpuent": lambda: ge.local_entropy(image, r, dtype=np.float64)}
        extra = {}
        if base is not None and image.dtype == np.uint8:
            plan = plan_of(image, r)
            theirs_base = base.windowed_cpu(image, None, plan, np.float64)
            extra["bit_identical_vs_baseline"] = bool(np.array_equal(
                theirs_base, kernel.windowed_cpu(image, None, plan, np.float64), equal_nan=True))
            variants["baseline"] = lambda: base.windowed_cpu(image, None, plan, np.float64)
        variants["skimage"] = lambda: sk_entropy(image, fp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skimage warns about >8-bit performance itself
            theirs = sk_entropy(image, fp)
            best = best_alternated(variants, rounds=args.rounds, fewer={"skimage": 2})
        t_ge, t_sk = best["gpuent"], best["skimage"]
        err = float(np.max(np.abs(ours - theirs)))
        mpix = image.size / 1e6
        row = dict(impl="gpuent-cpu", image=label, shape=list(image.shape), radius=r,
                   seconds=t_ge, mpix_per_s=mpix / t_ge, speedup=t_sk / t_ge,
                   max_abs_diff_vs_skimage=err, **extra)
        if "baseline" in best:
            row["speedup_vs_baseline"] = best["baseline"] / t_ge
            if ("new", r) in ipp:
                row["instr_per_pixel"] = ipp["new", r]
        rows.append(row)
        if "baseline" in best:
            t_b = best["baseline"]
            brow = dict(impl=f"gpuent-cpu {args.baseline} ({base_commit})", image=label,
                        shape=list(image.shape), radius=r, seconds=t_b, mpix_per_s=mpix / t_b,
                        speedup=t_sk / t_b)
            if ("baseline", r) in ipp:
                brow["instr_per_pixel"] = ipp["baseline", r]
            rows.append(brow)
        rows.append(dict(impl="skimage", image=label, shape=list(image.shape), radius=r,
                         seconds=t_sk, mpix_per_s=mpix / t_sk, speedup=1.0))

    for r in (1, 7, 15):
        case(img8, r, "camera-tiled uint8")
    case(img16, 7, "uint16, 4096 levels")

    crop = img8[:48, :48]
    t_seed, seed = median_time(lambda: seed_mapbox(7, seed_intensity_entropy, crop), repeat=1,
                               warmup=0)
    t_ge, ours = median_time(lambda: ge.local_entropy(crop, 7, dtype=np.float64), repeat=5)
    rows.append(dict(impl="seed-mapbox", image="crop uint8", shape=list(crop.shape), radius=7,
                     seconds=t_seed, mpix_per_s=crop.size / 1e6 / t_seed, speedup=1.0))
    rows.append(dict(impl="gpuent-cpu", image="crop uint8", shape=list(crop.shape), radius=7,
                     seconds=t_ge, mpix_per_s=crop.size / 1e6 / t_ge, speedup=t_seed / t_ge,
                     max_abs_diff_vs_seed=float(np.max(np.abs(ours - seed)))))

    print_table(rows, ["impl", "image", "shape", "radius", "seconds", "mpix_per_s", "speedup",
                       "speedup_vs_baseline", "instr_per_pixel"])
    import numba

    path = write_results("local_entropy-cpu", cpu_device(),
                         rows, dict(versions("numpy", "numba", "skimage", "gpuent"),
                                    numba_threads=numba.get_num_threads(),
                                    baseline=f"{args.baseline} ({base_commit})",
                                    timing=f"best of {args.rounds} rounds (scikit-image: 2), "
                                           "variants alternated in one process",
                                    load_average=list(os.getloadavg())))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
