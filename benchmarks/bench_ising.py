"""Ising sweeps on the CPU: gpuent's Numba path vs the notebook's ``isingstep`` vs a plain
NumPy checkerboard, on the same lattice in one run; flips per second.

    python benchmarks/bench_ising.py [--size 2048] [--sweeps 20] [--repeats 3] [--baseline main]

Writes ``benchmarks/results/ising-cpu.json`` ({"benchmark", "device", "date", "versions",
"rows"}). The notebook's random-site step is pure Python: it runs for a fixed number of
single-site steps only (``--notebook-steps``), and its rate is compared per flip.

The Numba kernels of another git revision (``--baseline``, default main) are built beside
this tree's and timed in the same run on the same lattices: best of ``--repeats`` rounds,
the two alternated in one process ("speedup_vs_baseline"). Every model's lattice after the
timed sweeps is compared bit for bit with the baseline's, and a 64 x 64 run with the
reference (array-API) path. "instr_per_flip" is counted with callgrind (valgrind): 2 sweeps
of a 512 x 512 lattice, one thread, AVX2 target, the sweeps only (three runs' count minus
one run's), when valgrind is installed (``--no-callgrind``: skip).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _baseline import (  # noqa: E402
    baseline_module,
    best_alternated,
    callgrind_counts,
    mark,
    measure_marked,
    per_call,
)

from gpuent import ising  # noqa: E402
from gpuent._kernels.ising import HALF, philox_key, thresholds  # noqa: E402
from gpuent._kernels.ising import _cpu as kernel  # noqa: E402

KERNEL = "gpuent/_kernels/ising/_cpu.py"
CG_SIDE = 512

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


def models(n):
    """The benchmark's lattices by name: (kernel kind, spins, aux)."""
    img = ising.letters_image((512, 512))
    big = np.tile(img, (n // 512, n // 512)) if n >= 512 else ising.letters_image((n, n))
    out = {}
    for name, model in [("torus", ising.torus((n, n), init="random", seed=0)),
                        ("continuous", ising.torus((n, n), spins="continuous", seed=0)),
                        ("edge", ising.edge_model(big)),
                        ("metric", ising.metric_model(big, energy="symmetric"))]:
        aux = None if model.aux is None else np.ascontiguousarray(model.aux)
        out[name] = (model.kind, np.array(model.spins, order="C"), aux)
    return out


def run_sweeps(mod, kind, s, aux, sweeps, first=0):
    table = thresholds(BETA, kind == "continuous")
    for t in range(first, first + sweeps):
        mod.sweep(kind, s, aux, t, philox_key(1), table, HALF)
    return s


def callgrind_child(ref, sweeps):
    """The work callgrind counts: ``sweeps`` sweeps of each model, per kernel module."""
    base, _ = baseline_module(KERNEL, ref)
    mods = {"new": kernel} if base is None else {"new": kernel, "baseline": base}
    lattices = models(CG_SIDE)
    for mod in mods.values():
        for kind, spins, aux in lattices.values():
            run_sweeps(mod, kind, spins.copy(), aux, 1)  # compiled or loaded, uncounted
    mark()
    for which, mod in mods.items():
        for name, (kind, spins, aux) in lattices.items():
            s = spins.copy()
            measure_marked(f"{which}-{name}",
                           lambda m=mod, k=kind, s=s, a=aux: run_sweeps(m, k, s, a, sweeps))


def instructions_per_flip(ref, sweeps=2):
    """``{(which, model): instructions per site update}`` from callgrind, or {}."""
    counts = callgrind_counts([sys.executable, __file__, "--callgrind-child", ref, str(sweeps)])
    out = {}
    for which in ("new", "baseline"):
        for name in ("torus", "continuous", "edge", "metric"):
            n = per_call(counts, f"{which}-{name}")
            if n is not None:
                out[which, name] = n / (sweeps * CG_SIDE * CG_SIDE)
    return out


def reference_matches(kind, spins, aux):
    """A 64 x 64 corner, 4 sweeps: this tree's Numba path == the reference path."""
    from gpuent._kernels.ising import reference

    s = np.ascontiguousarray(spins[:64, :64])
    a = None if aux is None else np.ascontiguousarray(aux[:64, :64])
    ours = run_sweeps(kernel, kind, s.copy(), a, 4)
    ref = s.copy()
    table = thresholds(BETA, kind == "continuous")
    for t in range(4):
        ref = reference.sweep(np, kind, ref, a, t, philox_key(1), table, HALF)
    return bool(np.array_equal(ours, np.asarray(ref)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--sweeps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="gpuent rows: median of repeats")
    ap.add_argument("--numpy-sweeps", type=int, default=2)
    ap.add_argument("--notebook-steps", type=int, default=100_000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    ap.add_argument("--baseline", default="main", help="git revision timed beside this tree")
    ap.add_argument("--no-callgrind", action="store_true", help="skip instruction counts")
    ap.add_argument("--callgrind-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.callgrind_child:
        return callgrind_child(args.callgrind_child[0], int(args.callgrind_child[1]))

    n = args.size
    lattice = ising.torus((n, n), init="random", seed=0)
    flips = n * n
    rows = []
    base, base_commit = baseline_module(KERNEL, args.baseline)
    ipf = {} if args.no_callgrind else instructions_per_flip(args.baseline)

    def row(impl, model, shape, sweeps_or_steps, secs, nflips, **extra):
        r = {"impl": impl, "model": model, "shape": list(shape),
             "work": sweeps_or_steps, "seconds": round(secs, 4),
             "flips_per_s": nflips / secs, **extra}
        rows.append(r)
        return r

    # gpuent's Numba kernels and the baseline's, alternated on the same lattices (compiled
    # or loaded from the cache first, outside the timing)
    for name, (kind, spins, aux) in models(n).items():
        mods = {"gpuent": kernel} if base is None else {"gpuent": kernel, "baseline": base}
        state = {}
        for key, mod in mods.items():
            state[key] = run_sweeps(mod, kind, spins.copy(), aux, 2)
        best = best_alternated(
            {key: (lambda m=mod, k=key, kd=kind, st=state, ax=aux:
                   run_sweeps(m, kd, st[k], ax, args.sweeps, 2))
             for key, mod in mods.items()}, rounds=args.repeats)
        extra = {"bit_exact_vs_reference": reference_matches(kind, spins, aux)}
        if base is not None:
            extra["bit_identical_vs_baseline"] = bool(np.array_equal(state["gpuent"],
                                                                     state["baseline"]))
            extra["speedup_vs_baseline"] = best["baseline"] / best["gpuent"]
        if ("new", name) in ipf:
            extra["instr_per_flip"] = ipf["new", name]
        row("gpuent cpu (Numba)", name, (n, n), args.sweeps, best["gpuent"],
            args.sweeps * flips, **extra)
        if base is not None:
            bextra = {}
            if ("baseline", name) in ipf:
                bextra["instr_per_flip"] = ipf["baseline", name]
            row(f"gpuent {args.baseline} ({base_commit})", name, (n, n), args.sweeps,
                best["baseline"], args.sweeps * flips, **bextra)

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

    nb_rate = rows[-1]["flips_per_s"]
    np_rate = rows[-2]["flips_per_s"]
    for r in rows:
        r["ratio_vs_notebook"] = r["flips_per_s"] / nb_rate
        r["ratio_vs_numpy_checkerboard"] = r["flips_per_s"] / np_rate

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print(f"{'impl':26s} {'model':11s} {'shape':>11s} {'work':>8s} {'seconds':>9s} "
          f"{'Mflips/s':>10s} {'vs numpy':>9s} {'vs base':>8s} {'instr/flip':>10s} {'bits':>5s}")
    for r in rows:
        print(f"{r['impl']:26s} {r['model']:11s} {'x'.join(map(str, r['shape'])):>11s} "
              f"{r['work']:8d} {r['seconds']:9.3f} {r['flips_per_s'] / 1e6:10.2f} "
              f"{r['ratio_vs_numpy_checkerboard']:9.1f} "
              f"{fmt(r.get('speedup_vs_baseline'), '8.2f')} "
              f"{fmt(r.get('instr_per_flip'), '10.1f')} "
              f"{str(r.get('bit_identical_vs_baseline', '-')):>5s}")

    device = f"cpu-{os.cpu_count()}core"
    result = {
        "benchmark": "ising",
        "device": f"{_cpu_name()} ({os.cpu_count()} cores)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "beta": BETA,
        "baseline": f"{args.baseline} ({base_commit})",
        "timing": f"best of {args.repeats} rounds, this tree and the baseline alternated in "
                  "one process; others: median",
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
