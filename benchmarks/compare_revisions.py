"""Bit-identity of the public API between this tree and another git revision.

::

    python benchmarks/compare_revisions.py [--baseline REV] [--json FILE]

Each revision runs the same list of calls in its own interpreter (the baseline from
``git archive REV`` unpacked in a temporary folder) and prints a SHA-256 of every result's
bytes, dtype and shape; the two lists are compared and every case that differs is named.
The calls use spellings both revisions accept (deprecation warnings are silenced), seeded
inputs, and every path that runs here: the reference and cpu paths, the Dask path,
estimators, modes, masks, footprints, 3-D volumes, Rényi orders, global entropies,
fractal dimensions, blur and the Ising models. Exit status 1 when any case differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _digest(value):
    import numpy as np

    if isinstance(value, (tuple, list)):
        return hashlib.sha256("".join(_digest(v) for v in value).encode()).hexdigest()
    if isinstance(value, dict):
        return _digest([(k, value[k]) for k in sorted(value)])
    if hasattr(value, "compute"):
        value = value.compute()
    if hasattr(value, "__dataclass_fields__"):
        return _digest({k: getattr(value, k) for k in value.__dataclass_fields__})
    if isinstance(value, str):
        return hashlib.sha256(value.encode()).hexdigest()
    a = np.asarray(value)
    if a.dtype == object:
        return hashlib.sha256(repr(value).encode()).hexdigest()
    head = f"{a.dtype.str}{a.shape}".encode()
    return hashlib.sha256(head + np.ascontiguousarray(a).tobytes()).hexdigest()


def cases():
    """``{name: zero-argument callable}``: the calls both revisions run."""
    import numpy as np

    import gpuent as ge
    from gpuent import ising

    rng = np.random.default_rng(20261130)
    u8 = rng.integers(0, 256, (67, 53), dtype=np.uint8)
    u8[10:30, 5:40] = 17  # a flat region
    few = rng.integers(0, 7, (40, 41), dtype=np.uint8)
    u16 = rng.integers(0, 4096, (45, 38), dtype=np.uint16)
    f32 = rng.normal(size=(39, 44)).astype(np.float32)
    vol = rng.integers(0, 32, (9, 21, 19), dtype=np.uint8)
    mask = rng.random(u8.shape) > 0.2
    le, parse = ge.local_entropy, ge.footprints.parse_footprint
    out = {}
    for est in ("plugin", "miller-madow", "grassberger", "dirichlet"):
        out[f"local_entropy u8 r3 {est}"] = lambda est=est: ge.local_entropy(u8, 3, estimator=est)
    for mode in ("clip", "reflect", "mirror", "wrap"):
        out[f"local_entropy u8 r4 {mode}"] = lambda mode=mode: ge.local_entropy(u8, 4, mode=mode)
        out[f"local_entropy vol r2 {mode}"] = lambda mode=mode: ge.local_entropy(vol, 2, mode=mode)
    for r in (1, 2, 5, 7, 15, 40):
        out[f"local_entropy u8 r{r}"] = lambda r=r: ge.local_entropy(u8, r)
        out[f"local_entropy u8 r{r} float32"] = lambda r=r: le(u8, r, dtype=np.float32)
    out["local_entropy few"] = lambda: ge.local_entropy(few, 2)
    out["local_entropy few nlevels"] = lambda: le(few, 2, nlevels=7, estimator="dirichlet")
    out["local_entropy u16"] = lambda: ge.local_entropy(u16, 3)
    out["local_entropy f32 bins"] = lambda: ge.local_entropy(f32, 3, bins=32)
    out["local_entropy f32 bins range"] = lambda: le(f32, 2, bins=16, value_range=(-1, 1))
    out["local_entropy mask"] = lambda: ge.local_entropy(u8, 3, mask=mask)
    out["local_entropy mask mm"] = lambda: le(u8, 3, mask=mask, estimator="miller-madow")
    out["local_entropy base e"] = lambda: ge.local_entropy(u8, 3, base=np.e)
    out["local_entropy reference"] = lambda: ge.local_entropy(u8[:20, :20], 2, backend="reference")
    for fp in ("disk:3", "diamond:2", "rect:3x5"):
        out[f"local_entropy footprint {fp}"] = lambda fp=fp: le(u8, footprint=parse(fp))
    out["local_entropy vol ball"] = lambda: le(vol, footprint=parse("ball:2"))
    for alpha in (0, 0.5, 2, 3.5):
        out[f"local_renyi alpha {alpha}"] = lambda alpha=alpha: ge.local_renyi_entropy(u8, alpha, 3)
    out["local_expected square"] = lambda: ge.local_expected(u8, lambda p: p * p, 2)
    out["local_mean"] = lambda: ge.local_mean(f32, 3)
    out["local_std"] = lambda: ge.local_std(f32, 3)
    out["local_std reflect"] = lambda: ge.local_std(u8, 2, mode="reflect")
    out["block_map"] = lambda: ge.block_map(u8, np.mean, (4, 4))
    out["window_map"] = lambda: ge.window_map(few[:16, :16], np.std, 1)
    for est in ("plugin", "miller-madow", "grassberger", "dirichlet"):
        out[f"intensity_entropy {est}"] = lambda est=est: ge.intensity_entropy(u8, estimator=est)
    out["intensity_entropy f32 bins"] = lambda: ge.intensity_entropy(f32, bins=64)
    out["intensity_distribution"] = lambda: ge.intensity_distribution(u16, bins=50)
    p = rng.random((5, 12))
    p /= p.sum(-1, keepdims=True)
    out["shannon_entropy"] = lambda: ge.shannon_entropy(p)
    for alpha in (0, 0.5, 2, np.inf):
        out[f"renyi_entropy {alpha}"] = lambda alpha=alpha: ge.renyi_entropy(p, alpha)
    carpet = np.ones((81, 81), dtype=bool)
    for k in range(4):
        s = 3 ** k
        for i in range(81):
            for j in range(81):
                if (i // s) % 3 == 1 and (j // s) % 3 == 1:
                    carpet[i, j] = False
    out["box_counting carpet"] = lambda: ge.box_counting_dimension(carpet)
    out["generalized_dimensions"] = lambda: ge.generalized_dimensions(
        u8.astype(float) + 1, [0, 1, 2])
    out["gaussian_blur"] = lambda: ge.gaussian_blur(f32, 1.5)
    out["entropy_vs_blur"] = lambda: ge.entropy_vs_blur(u8, [0.5, 1, 2])
    for kind, model in (("torus", lambda: ising.torus((32, 64), seed=3)),
                        ("torus continuous",
                         lambda: ising.torus((32, 64), spins="continuous", seed=3)),
                        ("edge", lambda: ising.edge_model(u8[:32, :48])),
                        ("metric", lambda: ising.metric_model(u8[:32, :48]))):
        for backend in ("reference", "cpu"):
            def run(model=model, backend=backend):
                sim = ising.Simulation(model(), seed=11, backend=backend)
                trace = sim.run(20, beta=ising.linear(0.2, 0.6))
                return [np.asarray(sim.spins), trace.energy, trace.magnetization]
            out[f"ising {kind} {backend}"] = run
    try:
        import dask.array as da
    except ImportError:
        pass
    else:
        out["dask local_entropy"] = lambda: ge.local_entropy(da.from_array(u8, chunks=(30, 25)), 3)
        out["dask local_entropy vol"] = lambda: ge.local_entropy(
            da.from_array(vol, chunks=(5, 10, 10)), 2, mode="reflect")
    return out


def child():
    """Print ``name<TAB>digest`` for every case (errors as ``error:<type>``)."""
    warnings.simplefilter("ignore")
    import numba

    numba.set_num_threads(max(1, min(2, numba.config.NUMBA_NUM_THREADS)))
    for name, fn in cases().items():
        try:
            line = _digest(fn())
        except Exception as exc:  # a case the revision does not support
            line = f"error:{type(exc).__name__}"
        print(f"{name}\t{line}", flush=True)


def run(tree):
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"], cwd=tree,
                          env=env, capture_output=True, text=True, check=True)
    return dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--json", help="write the comparison here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child()
    commit = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "archive", "-o", str(archive), commit], cwd=ROOT, check=True)
        base = Path(tmp) / "base"
        with tarfile.open(archive) as tar:
            tar.extractall(base, filter="data")
        # the baseline runs this file's case list, not its own copy
        (base / "benchmarks").mkdir(exist_ok=True)
        (base / "benchmarks" / "compare_revisions.py").write_text(Path(__file__).read_text())
        old = run(base)
    new = run(ROOT)
    same = [k for k in new if old.get(k) == new[k] and not new[k].startswith("error")]
    differ = [k for k in new if k in old and old[k] != new[k]]
    failed = [k for k in new if new[k].startswith("error")]
    for k in differ:
        print(f"DIFFERS  {k}: {old[k][:16]} -> {new[k][:16]}")
    for k in failed:
        print(f"ERROR    {k}: {new[k]} (baseline {old.get(k, '?')[:16]})")
    print(f"{len(same)} of {len(new)} cases bit-identical to {args.baseline} ({commit}); "
          f"{len(differ)} differ, {len(failed)} fail here")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(baseline=commit, same=same, differ=differ,
                                                   failed=failed, digests_new=new,
                                                   digests_baseline=old), indent=1))
    return 1 if differ or failed else 0


if __name__ == "__main__":
    sys.exit(main())
