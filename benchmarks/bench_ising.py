"""Ising sweeps on the CPU: gpuent's Numba path vs the notebook's ``isingstep`` vs a plain
NumPy checkerboard, on the same lattice in one run; flips per second.

    python benchmarks/bench_ising.py [--size 2048] [--sweeps 20] [--repeats 3]

Writes ``benchmarks/results/ising-cpu.json`` ({"benchmark", "device", "date", "versions",
"rows"}). The notebook's random-site step is pure Python: it runs for a fixed number of
single-site steps only (``--notebook-steps``), and its rate is compared per flip.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpuent import ising  # noqa: E402

BETA = 0.4406868  # critical: the hardest case for branchy code


# --- the notebook (section 12.1), verbatim apart from names ---------------------------
def _neighbors(a, i, j):
    return np.hstack([a[:, j].take([i - 1, i + 1], mode="wrap"),
                      a[i, :].take([j - 1, j + 1], mode="wrap")])


def _energy(img, i, j):
    return -1 + np.sum(np.abs(img[i, j] - _neighbors(img, i, j)))


def isingstep(beta, img):
    w, h = np.shape(img)
    i = np.random.randint(w)  # noqa: NPY002 (the notebook, verbatim)
    j = np.random.randint(h)  # noqa: NPY002
    e0 = _energy(img, i, j)
    img[i, j] *= -1
    e1 = _energy(img, i, j)
    p = np.exp(-beta * (e1 - e0)) if e1 > e0 else 1
    if np.random.rand() > p:  # noqa: NPY002
        img[i, j] *= -1
    return img


# --- a plain NumPy checkerboard Metropolis ------------------------------------------
def numpy_checkerboard(s, beta, sweeps, rng):
    h, w = s.shape
    ii, jj = np.indices((h, w))
    masks = [((ii + jj) % 2) == p for p in (0, 1)]
    for _ in range(sweeps):
        for mask in masks:
            nb = (np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1)
                  + np.roll(s, -1, 1)).astype(np.int16)
            de = 2 * s * nb
            acc = mask & ((de <= 0) | (rng.random(s.shape) < np.exp(-beta * de)))
            s = np.where(acc, -s, s)
    return s


def _time(f, repeats=1):
    """Median wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions():
    import numba
    import PIL

    return {"python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "pillow": PIL.__version__,
            "gpuent": getattr(__import__("gpuent"), "__version__", "?")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--sweeps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="gpuent rows: median of repeats")
    ap.add_argument("--numpy-sweeps", type=int, default=2)
    ap.add_argument("--notebook-steps", type=int, default=100_000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args(argv)

    n = args.size
    lattice = ising.torus((n, n), init="random", seed=0)
    flips = n * n
    rows = []

    def row(impl, model, shape, sweeps_or_steps, secs, nflips, bit_exact=None):
        r = {"impl": impl, "model": model, "shape": list(shape),
             "work": sweeps_or_steps, "seconds": round(secs, 4),
             "flips_per_s": nflips / secs}
        if bit_exact is not None:
            r["bit_exact_vs_reference"] = bit_exact
        rows.append(r)
        return r

    # gpuent cpu path (compile/cache-load first, outside the timing)
    sim = ising.Simulation(lattice, seed=1, backend="cpu")
    sim.run(5, beta=BETA, record_every=0)
    secs = _time(lambda: sim.run(args.sweeps, beta=BETA, record_every=0), args.repeats)
    row("gpuent cpu (Numba)", "torus", (n, n), args.sweeps, secs, args.sweeps * flips)

    img = ising.letters_image((512, 512))
    big = np.tile(img, (n // 512, n // 512)) if n >= 512 else ising.letters_image((n, n))
    for name, model in [("continuous", ising.torus((n, n), spins="continuous", seed=0)),
                        ("edge", ising.edge_model(big)),
                        ("metric", ising.metric_model(big, energy="symmetric"))]:
        s2 = ising.Simulation(model, seed=1, backend="cpu")
        s2.run(5, beta=BETA, record_every=0)
        secs = _time(lambda s2=s2: s2.run(args.sweeps, beta=BETA, record_every=0), args.repeats)
        row("gpuent cpu (Numba)", name, (n, n), args.sweeps, secs, args.sweeps * flips)

    # plain NumPy checkerboard on the same lattice
    rng = np.random.default_rng(0)
    s0 = np.array(lattice.spins)
    secs = _time(lambda: numpy_checkerboard(s0, BETA, args.numpy_sweeps, rng))
    row("numpy checkerboard", "torus", (n, n), args.numpy_sweeps, secs,
        args.numpy_sweeps * flips)

    # the notebook's random-site isingstep, same lattice (float copy, as the notebook's img)
    np.random.seed(0)  # noqa: NPY002
    nb_img = np.array(lattice.spins, dtype=np.float64)
    steps = args.notebook_steps

    def nb():
        for _ in range(steps):
            isingstep(BETA, nb_img)

    secs = _time(nb)
    row("notebook isingstep", "torus", (n, n), steps, secs, steps)

    base = rows[-1]["flips_per_s"]
    for r in rows:
        r["ratio_vs_notebook"] = r["flips_per_s"] / base

    print(f"{'impl':22s} {'model':11s} {'shape':>11s} {'work':>8s} {'seconds':>9s} "
          f"{'Mflips/s':>10s} {'ratio':>10s}")
    for r in rows:
        print(f"{r['impl']:22s} {r['model']:11s} {'x'.join(map(str, r['shape'])):>11s} "
              f"{r['work']:8d} {r['seconds']:9.3f} {r['flips_per_s'] / 1e6:10.2f} "
              f"{r['ratio_vs_notebook']:10.0f}")

    device = f"cpu-{os.cpu_count()}core"
    result = {
        "benchmark": "ising",
        "device": f"{_cpu_name()} ({os.cpu_count()} cores)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "beta": BETA,
        "load_average": os.getloadavg(),
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"ising-{device}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
