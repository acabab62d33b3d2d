"""Local entropy on the CPU: gpuent (Numba) vs scikit-image rank.entropy vs the seed's mapbox.

Same data, one run. The image is skimage.data.camera() tiled to 2048 x 2048
(uint8); the 16-bit case scales it to 4096 levels (12 bits) with a little
noise. The notebook's pure-Python ``mapbox(r, intensity_entropy, a)`` runs on
a small crop only (it does ~10^4 pixels per second).

    python benchmarks/bench_local_entropy.py [--quick]

Prints a table and writes benchmarks/results/local_entropy-cpu.json; the
"speedup" column is gpuent's throughput over the anchor's on the same case.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import cpu_device, median_time, print_table, versions, write_results  # noqa: E402

import gpuent as ge  # noqa: E402


def seed_mapbox(r, f, a):
    """The notebook's section-6 kernel, verbatim in behaviour."""
    def box(x, y, r):
        return np.s_[max(0, x - r): x + r + 1, max(0, y - r): y + r + 1]

    return np.reshape([f(a[box(*i, r)]) for i in np.ndindex(np.shape(a))], np.shape(a))


def seed_intensity_entropy(data):
    hist, _ = np.histogram(data, bins=range(256 + 1), density=True)
    return -sum(p * np.log2(p) if p > 0 else 0 for p in hist)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512 x 512 instead of 2048 x 2048")
    args = parser.parse_args(argv)
    from skimage import data
    from skimage.filters.rank import entropy as sk_entropy

    side = 512 if args.quick else 2048
    cam = data.camera()
    img8 = np.ascontiguousarray(np.tile(cam, (side // 512 + 1,) * 2)[:side, :side])
    rng = np.random.default_rng(0)
    img16 = (img8.astype(np.uint16) * 16 + rng.integers(0, 16, img8.shape)).astype(np.uint16)
    ge.local_entropy(img8[:32, :32], 1)  # compile (or load the cache) outside the timings
    rows = []

    def case(image, r, label, sk_repeat=1):
        fp = np.ones((2 * r + 1, 2 * r + 1), dtype=bool)
        t_ge, ours = median_time(lambda: ge.local_entropy(image, r, dtype=np.float64), repeat=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skimage warns about >8-bit performance itself
            t_sk, theirs = median_time(lambda: sk_entropy(image, fp), repeat=sk_repeat, warmup=0)
        err = float(np.max(np.abs(ours - theirs)))
        mpix = image.size / 1e6
        rows.append(dict(impl="gpuent-cpu", image=label, shape=list(image.shape), radius=r,
                         seconds=t_ge, mpix_per_s=mpix / t_ge, speedup=t_sk / t_ge,
                         max_abs_diff_vs_skimage=err))
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

    print_table(rows, ["impl", "image", "shape", "radius", "seconds", "mpix_per_s", "speedup"])
    import numba

    path = write_results("local_entropy-cpu", cpu_device(),
                         rows, dict(versions("numpy", "numba", "skimage", "gpuent"),
                                    numba_threads=numba.get_num_threads()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
