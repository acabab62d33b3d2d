"""Benchmark local_std (summed-area tables) against its anchors, on one image.

Anchors: scipy.ndimage.uniform_filter (the usual two-filter E[x^2] - E[x]^2 recipe,
reflect mode) and, on a small crop, the seed notebook's pure-Python ``mapbox(r, np.std)``.
Prints a table and writes benchmarks/results/local_std-cpu.json.

    .venv/bin/python benchmarks/bench_local_std.py [--size 4096] [--radius 50]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import scipy
from scipy import ndimage

from gpuent._local_stats import local_std


def timeit(fn, repeats):
    fn()  # warm up (Numba compiles, caches fill)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def mapbox(r, f, a):  # the seed notebook's kernel (section 6)
    def box(x, y, r):
        return np.s_[max(0, x - r): x + r + 1, max(0, y - r): y + r + 1]

    return np.reshape([f(a[box(*i, r)]) for i in np.ndindex(np.shape(a))], np.shape(a))


def scipy_std(img, r):
    x = img.astype(np.float64)
    m = ndimage.uniform_filter(x, 2 * r + 1, mode="reflect")
    m2 = ndimage.uniform_filter(x * x, 2 * r + 1, mode="reflect")
    return np.sqrt(np.maximum(m2 - m * m, 0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--radius", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "local_std-cpu.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (args.size, args.size)).astype(np.uint8)
    crop = img[:64, :64]
    rows = []
    for r in args.radius:
        mpix = img.size / 1e6
        cases = [
            ("gpuent cpu (numba)", img, lambda r=r: local_std(img, r, backend="cpu")),
            ("gpuent reference (numpy)", img,
             lambda r=r: local_std(img, r, backend="reference")),
            ("gpuent cpu, reflect", img, lambda r=r: local_std(img, r, mode="reflect")),
            ("scipy uniform_filter x2", img, lambda r=r: scipy_std(img, r)),
            ("seed mapbox(np.std), 64x64", crop, lambda r=r: mapbox(r, np.std, crop)),
        ]
        base = None
        for name, data, fn in cases:
            sec = timeit(fn, args.repeats if data is img else 1)
            mp = data.size / 1e6
            base = sec if base is None else base
            rows.append({"impl": name, "shape": list(data.shape), "radius": r,
                         "seconds": sec, "mpix_per_s": mp / sec,
                         "ratio_vs_gpuent_cpu": (sec / mp) / (base / mpix)})
    print(f"{'impl':30s} {'shape':>11s} {'r':>3s} {'seconds':>9s} {'Mpix/s':>9s} {'x slower':>9s}")
    for row in rows:
        shape = "x".join(map(str, row["shape"]))
        print(f"{row['impl']:30s} {shape:>11s} {row['radius']:>3d} {row['seconds']:9.4f} "
              f"{row['mpix_per_s']:9.2f} {row['ratio_vs_gpuent_cpu']:9.2f}")
    import numba

    result = {
        "benchmark": "local_std",
        "device": f"cpu: {platform.processor() or platform.machine()}",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "numba": numba.__version__},
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
