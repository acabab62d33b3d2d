"""Streaming a tiled TIFF through the GPU vs the cpu streaming path, with the same CLI.

``gpuent entropy BIG.tif -r R -o OUT.zarr --backend cpu|cuda`` on a size x size uint8
tiled BigTIFF (default 16384), one process each; the cuda run streams tiles through
pinned double buffers on a separate copy stream (gpuent/_gpu_stream.py). Each backend
first runs once on a small image, so Numba and NVRTC compiles are not timed. The two
outputs must be equal bit for bit. Writes <out>/stream-<device>.json; the issue's
acceptance is ratio >= 5.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import versions  # noqa: E402
from bench_big import make_tiff, run_cli  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--radius", type=int, default=3)
    ap.add_argument("--tile", type=int, default=2048, help="CLI --tile (pixels)")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    import json

    import cupy
    import zarr

    work = Path(tempfile.mkdtemp(prefix="gpuent-stream-"))
    try:
        small, tif = work / "small.tif", work / "big.tif"
        make_tiff(small, 1024)
        t = time.perf_counter()
        make_tiff(tif, args.size)
        print(f"generated {args.size}x{args.size} uint8 tiled TIFF in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        rows, outs = [], {}
        for backend in ("cpu", "cuda"):
            common = ["-r", str(args.radius), "--backend", backend, "--tile", str(args.tile),
                      "-q"]
            run_cli(["entropy", str(small), "-o", str(work / f"w-{backend}.zarr"), *common])
            outs[backend] = work / f"{backend}.zarr"
            secs, rss = run_cli(["entropy", str(tif), "-o", str(outs[backend]), *common])
            mpix = args.size ** 2 / 1e6 / secs
            rows.append({"impl": f"gpuent entropy CLI --backend {backend}",
                         "shape": [args.size, args.size], "dtype": "uint8",
                         "radius": args.radius, "tile": args.tile, "seconds": round(secs, 2),
                         "mpix_per_s": round(mpix, 2), "peak_rss_mib": round(rss, 1)})
            print(f"{backend:>5} {secs:8.2f} s {mpix:9.1f} Mpix/s peak RSS {rss:.0f} MiB",
                  flush=True)
        a = zarr.open_array(str(outs["cpu"]), mode="r")
        b = zarr.open_array(str(outs["cuda"]), mode="r")
        equal = all(np.array_equal(a[y:y + 4096], b[y:y + 4096])
                    for y in range(0, args.size, 4096))
        ratio = rows[0]["seconds"] / rows[1]["seconds"]
        for row in rows:
            row["ratio_vs_cpu"] = round(rows[0]["seconds"] / row["seconds"], 2)
        print(f"cuda / cpu streaming throughput: {ratio:.2f}x (acceptance >= 5); "
              f"outputs equal bit for bit: {equal}")
        device = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        dest = Path(args.out) / f"stream-{device.replace(' ', '_')}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps({"benchmark": "stream", "device": device,
                                    "versions": versions("numpy", "cupy", "gpuent"),
                                    "outputs_equal": equal, "rows": rows}, indent=2) + "\n")
        return 0 if equal else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
