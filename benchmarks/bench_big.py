"""Big images: the streaming CLI (Mpix/s, peak RSS) and Dask with 2 workers vs one process.

    python benchmarks/bench_big.py [--size 16384] [--radius 3] [--acceptance] [--keep DIR]

Generates a tiled BigTIFF of uint8 tile by tile (bounded memory), runs
``gpuent entropy big.tif -o out.zarr`` in a subprocess for each configuration
and measures its wall time and peak RSS (``RUSAGE_CHILDREN`` of a parent that
runs only that command). Configurations: one process tile by tile (the
default), ``--scheduler processes --workers 2`` and ``--scheduler distributed``
(a local cluster of 2 single-threaded workers). ``--acceptance`` adds the
20000 x 20000 run. Every output is checked against the in-memory map on a
crop that touches two image edges, then deleted with the input.
Writes benchmarks/results/big-<device>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make_tiff(path, n, tile=512):
    import tifffile

    def tiles():
        for y in range(0, n, tile):
            for x in range(0, n, tile):
                rng = np.random.default_rng(y * n + x)
                yy, xx = np.mgrid[y:y + tile, x:x + tile]
                yield ((xx // 7 + yy // 5) % 64 + rng.integers(0, 32, (tile, tile))).astype(
                    np.uint8)

    tifffile.imwrite(path, tiles(), shape=(n, n), dtype=np.uint8, tile=(tile, tile),
                     bigtiff=True)


def run_cli(argv):
    """(seconds, peak RSS in MiB) of ``python -m gpuent ARGV`` in a fresh subprocess."""
    script = textwrap.dedent(f"""
        import resource, subprocess, sys, time
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gpuent", *{list(argv)!r}], check=True)
        print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[-2]), int(out[-1]) / 1024


def check_crop(tif, out, radius):
    """The output equals the in-memory map on the bottom-right 700 x 700 corner."""
    import tifffile
    import zarr

    import gpuent as ge

    z = zarr.open_array(tifffile.imread(tif, aszarr=True), mode="r")
    n = z.shape[0]
    crop = np.asarray(z[n - 700 - 2 * radius:, n - 700 - 2 * radius:])
    want = ge.local_entropy(crop, radius)[2 * radius:, 2 * radius:]
    got = zarr.open_array(str(out), mode="r")[n - 700:, n - 700:]
    return bool(np.array_equal(want, got))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--radius", type=int, default=3)
    ap.add_argument("--acceptance", action="store_true", help="also 20000 x 20000 (400 MB)")
    ap.add_argument("--keep", help="folder for the temporary files (default: a temp dir)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gpuent-big-", dir=args.keep))
    rows = []
    configs = [("one process", []),
               ("dask processes x2", ["--scheduler", "processes", "--workers", "2"]),
               ("dask distributed x2", ["--scheduler", "distributed", "--workers", "2"])]
    sizes = [(args.size, configs)]
    if args.acceptance:
        sizes.append((20000, configs[:1]))
    try:
        for n, cfgs in sizes:
            tif = work / f"big{n}.tif"
            t = time.perf_counter()
            make_tiff(tif, n)
            print(f"generated {tif.name} ({n}x{n} uint8) in {time.perf_counter() - t:.1f} s")
            for name, extra in cfgs:
                out = work / "out.zarr"
                secs, rss = run_cli(["entropy", str(tif), "-r", str(args.radius), "-o", str(out),
                                     "-q", *extra])
                ok = check_crop(tif, out, args.radius)
                shutil.rmtree(out)
                row = {"impl": f"gpuent entropy CLI, {name}", "shape": [n, n], "dtype": "uint8",
                       "radius": args.radius, "input": "tiled BigTIFF", "output": ".zarr",
                       "seconds": round(secs, 2), "mpix_per_s": round(n * n / 1e6 / secs, 2),
                       "peak_rss_mib": round(rss, 1), "crop_equals_in_memory": ok}
                rows.append(row)
                print(f"{n:>6} {name:<22} {secs:8.2f} s {row['mpix_per_s']:8.2f} Mpix/s "
                      f"peak RSS {rss:8.1f} MiB  exact={ok}")
            tif.unlink()
        base = rows[0]["seconds"]
        for row in rows:
            if row["shape"][0] == args.size:
                row["ratio_vs_one_process"] = round(base / row["seconds"], 3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    import numba

    import gpuent

    result = {
        "benchmark": "big",
        "device": f"cpu: {platform.machine()} ({os.cpu_count()} cores)",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "numba": numba.__version__, "gpuent": gpuent.__version__,
                     **_versions("dask", "distributed", "zarr", "tifffile")},
        "rows": rows,
    }
    dest = HERE / "results" / "big-cpu.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {dest}")


def _versions(*names):
    import importlib

    out = {}
    for name in names:
        try:
            out[name] = importlib.import_module(name).__version__
        except ImportError:
            pass
    return out


if __name__ == "__main__":
    sys.exit(main())
