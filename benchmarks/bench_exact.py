"""Worst error in ulps of plug-in entropy maps against exact values, and the cpu-path speed.

The exact entropy of a window's counts, in bits, is taken with 60 significant
digits (:mod:`decimal`, no extra dependency). The float64 map of the cpu path is
compared at random pixels of random images (clip mode, several radii and level
counts). ``--before MODULE`` also runs another copy of gpuent importable as
MODULE (e.g. an exported older commit) for the same errors, and times both cpu
paths best-of-N, alternated in one process::

    git archive <commit> gpuent | tar -x -C /tmp/old && mv /tmp/old/gpuent /tmp/old/gpuent_before
    PYTHONPATH=.:/tmp/old python benchmarks/bench_exact.py --before gpuent_before

Timings on a shared machine are noisy; best-of-N and alternation reduce, not remove, that.
"""

from __future__ import annotations

import argparse
import decimal
import importlib
import math
import time

import numpy as np

decimal.getcontext().prec = 60
_LN2 = decimal.Decimal(2).ln()


def exact_bits(counts) -> decimal.Decimal:
    counts = [int(c) for c in counts if c > 0]
    n = sum(counts)
    s = sum(decimal.Decimal(c) * decimal.Decimal(c).ln() for c in counts)
    return (decimal.Decimal(n).ln() - s / n) / _LN2


def ulps(value: float, exact: decimal.Decimal) -> float:
    if exact == 0:
        return 0.0 if value == 0 else math.inf
    return float(abs(decimal.Decimal(value) - exact)) / math.ulp(float(exact))


def window_counts(img, y, x, r):
    w = img[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
    return np.bincount(w.ravel())


def map_errors(ge, rng, *, samples):
    worst = {}
    for levels in (2, 4, 16, 256):
        for r in (1, 2, 3, 5, 8):
            img = rng.integers(0, levels, (40, 41)).astype(np.uint8)
            m = ge.local_entropy(img, r, dtype=np.float64, backend="cpu")
            err = 0.0
            for _ in range(samples):
                y, x = int(rng.integers(0, 40)), int(rng.integers(0, 41))
                err = max(err, ulps(float(m[y, x]), exact_bits(window_counts(img, y, x, r))))
            worst[(levels, r)] = err
    return worst


def global_errors(ge, rng, *, samples):
    """Worst ulps of intensity_entropy over random histograms (as uint16 images)."""
    worst = 0.0
    for _ in range(samples):
        k = int(rng.integers(2, 200))
        counts = rng.integers(0, int(rng.integers(2, 3000)), k)
        if counts.sum() == 0:
            continue
        image = np.repeat(np.arange(k, dtype=np.uint16), counts)
        worst = max(worst, ulps(ge.intensity_entropy(image), exact_bits(counts)))
    return worst


def exact_cases(ge):
    """Maps of 2**k equally frequent levels (16x16 windows of tiles) and one level."""
    bad = 0
    fp = np.ones((17, 17), dtype=bool)
    fp[16, :] = False
    fp[:, 16] = False
    for k in range(1, 9):
        tile = np.arange(2**k).reshape(2 ** (k // 2), 2 ** (k - k // 2))
        img = np.tile(tile, (64 // tile.shape[0], 64 // tile.shape[1])).astype(np.uint8)
        m = ge.local_entropy(img, footprint=fp, dtype=np.float64, backend="cpu")
        bad += int(m[16:-16, 16:-16].max() != k or m[16:-16, 16:-16].min() != k)
    one = ge.local_entropy(np.zeros((20, 20), np.uint8), 3, dtype=np.float64, backend="cpu")
    return bad + int(np.any(one != 0))


def best_time(fn, repeat):
    return min(_timed(fn) for _ in range(repeat))


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="module name of another gpuent copy to compare")
    parser.add_argument("--samples", type=int, default=200, help="pixels per (levels, radius)")
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds (alternated)")
    parser.add_argument("--size", type=int, default=1024, help="side of the timed image")
    parser.add_argument("--radius", type=int, default=7, help="radius of the timed map")
    args = parser.parse_args(argv)
    mods = {"after": importlib.import_module("gpuent")}
    if args.before:
        mods["before"] = importlib.import_module(args.before)
    for name, ge in mods.items():
        worst = map_errors(ge, np.random.default_rng(0), samples=args.samples)
        print(f"{name}: worst error {max(worst.values()):.2f} ulp over random windows; "
              f"per (levels, radius): "
              + ", ".join(f"{k}: {v:.1f}" for k, v in worst.items()))
        print(f"{name}: worst error {global_errors(ge, np.random.default_rng(2), samples=200):.2f}"
              " ulp of intensity_entropy over 200 random histograms")
        print(f"{name}: exact cases failing (2**k tiles k=1..8, one level): {exact_cases(ge)}")
        half = np.zeros((10, 10), np.uint8)
        half[5:] = 1
        print(f"{name}: intensity_entropy(half 0 / half 1) = {ge.intensity_entropy(half)!r}")
    img = np.random.default_rng(1).integers(0, 256, (args.size, args.size)).astype(np.uint8)
    best = {name: math.inf for name in mods}
    for ge in mods.values():  # compile outside the timing
        ge.local_entropy(img[:64, :64], args.radius, backend="cpu")
    for _ in range(args.repeat):
        for name, ge in mods.items():
            best[name] = min(best[name], best_time(
                lambda ge=ge: ge.local_entropy(img, args.radius, backend="cpu"), 1))
    for name, t in best.items():
        print(f"{name}: best of {args.repeat} local_entropy {args.size}^2 r={args.radius} "
              f"uint8 cpu: {t * 1e3:.1f} ms")
    if "before" in best:
        print(f"speed ratio after/before: {best['after'] / best['before']:.3f}")


if __name__ == "__main__":
    main()
