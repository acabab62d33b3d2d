"""Local entropy on the GPU: gpuent's CUDA path vs cuCIM ``rank.entropy`` vs scikit-image.

Run on a machine with an NVIDIA GPU (one call does everything)::

    python benchmarks/bench_local_entropy_gpu.py [--quick] [--out benchmarks/results]

Rows:

* reflect mode, square windows of side 3, 7, 15, 25, 51, 75 (cuCIM's footprint sizes;
  ``--radii`` reads the list as radii instead), on 1920x1080 and 8192x8192 uint8: gpuent
  (kernel-only) vs cuCIM ``rank.entropy`` with the same square footprint (cuCIM is
  reflect-mode only);
* scikit-image ``rank.entropy`` on the 1920x1080 image (CPU anchor, clip mode);
* gpuent alone: clip mode, uint16 with 4096 levels, 16384x16384;
* a 512^3 uint8 volume at r = 2 (5x5x5 box), clip, kernel-only (checked first on a
  small volume against the CPU path);
* end-to-end from a host array (upload, compute, download) at r = 7, clip, 8192^2.

Every gpuent configuration is first checked against the CPU path (Numba) on a crop,
bit for bit; the CPU side comes from the stored expectations of ``make gpu-bundle``
(tests/_expected.py), so that the GPU machine compiles no Numba kernel for it.
``--expectations`` computes (``GPUENT_EXPECTED=fill``) or checks (``require``) only that
CPU side, without a GPU. GPU timings use CUDA events after a warm-up; the median of repeats is
reported (fewer repeats for slow calls, about ``BUDGET_S`` seconds per measurement).
Writes ``<out>/local_entropy-gpu-<device>.json``, rewritten after every row
(``"complete": false`` until the end), so that a run cut short keeps its rows.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]),
                str(Path(__file__).resolve().parents[1] / "tests")]

from _expected import expected  # noqa: E402

import gpuent as ge  # noqa: E402
from gpuent._kernels.histogram import _cuda  # noqa: E402
from gpuent._kernels.histogram._cpu import windowed_cpu  # noqa: E402
from gpuent._kernels.histogram.spec import plan_window  # noqa: E402

#: the issue's square windows, read as sides (r = 7 is the side-15 window);
#: ``--radii`` reads them as radii (side = 2 r + 1)
WINDOWS = (3, 7, 15, 25, 51, 75)
SHAPES = ((1080, 1920), (8192, 8192))


#: seconds of timed calls per measurement at most: slow calls are repeated fewer times,
#: so that one device call (10 minutes) covers the whole run
BUDGET_S = 6.0


def _events_median(cp, fn, repeats, warmup=1):
    t0 = time.perf_counter()
    for _ in range(warmup):
        fn()
    cp.cuda.Device().synchronize()
    if warmup:
        per_call = (time.perf_counter() - t0) / warmup
        repeats = max(1, min(repeats, int(BUDGET_S / max(per_call, 1e-9))))
    times = []
    for _ in range(repeats):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times)


def _wall_median(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _repeats(npix_total, side):
    work = npix_total * side
    return 3 if work > 5e10 else 5 if work > 5e9 else 10


def _image(shape, dtype=np.uint8, levels=256, seed=0):
    """A textured test image (smooth gradients, noise, flat areas): not pure noise."""
    rng = np.random.default_rng(seed)
    h, w = shape
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    base = 0.5 + 0.25 * np.sin(12 * x + 5 * y) * np.cos(7 * y - 3 * x)
    img = base + 0.08 * rng.standard_normal(shape, dtype=np.float32)
    img[: h // 4, : w // 4] = 0.5  # a flat area
    q = np.clip(img * levels, 0, levels - 1).astype(dtype)
    return q


def _check_crop(cp, image, r, mode, nlevels, crop=(300, 257)):
    """cuda == cpu bit for bit on a crop, for this request's options (``cp`` None: only
    the stored cpu side)."""
    sub = np.ascontiguousarray(image[: crop[0], : crop[1]])

    def cpu():
        want = ge.local_entropy(sub, r, mode=mode, backend="cpu")
        plan = plan_window(sub.shape, np.ones((2 * r + 1,) * 2, bool), mode, nlevels,
                           estimator="plugin", base=2.0)
        assert np.array_equal(windowed_cpu(sub, None, plan, np.float32), want, equal_nan=True)
        return want

    want = expected(("bench-crop", sub, r, mode, nlevels), cpu)
    if cp is None:
        return
    got = ge.local_entropy(cp.asarray(sub), r, mode=mode, backend="cuda").get()
    if not np.array_equal(got, want, equal_nan=True):
        raise SystemExit(f"cuda != cpu on a crop (r={r}, mode={mode}, levels={nlevels})")


def _check_volume(cp):
    """cuda == cpu bit for bit on a small volume (r = 2), clip and reflect."""
    rng = np.random.default_rng(4)
    small = rng.integers(0, 256, (24, 29, 31), dtype=np.uint8)
    for mode in ("clip", "reflect"):
        want = expected(("bench-volume", small, 2, mode),
                        lambda mode=mode: ge.local_entropy(small, 2, mode=mode, backend="cpu"))
        if cp is None:
            continue
        got = ge.local_entropy(cp.asarray(small), 2, mode=mode, backend="cuda").get()
        if not np.array_equal(got, want, equal_nan=True):
            raise SystemExit(f"cuda != cpu on a small volume (r=2, mode={mode})")
    return rng


def _sizes(args):
    shapes = ((270, 480), (1024, 1024)) if args.quick else SHAPES
    windows = (1, 3, 7) if args.quick else WINDOWS
    sides = tuple(2 * w + 1 if args.radii else w for w in windows)
    return shapes, sides


def expectations(args):
    """Only the cpu side of every check (no GPU): filled or checked per GPUENT_EXPECTED."""
    shapes, sides = _sizes(args)
    image = _image(shapes[0])
    for side in sides:
        _check_crop(None, image, side // 2, "reflect", 256)
        _check_crop(None, image, side // 2, "clip", 256)
    _check_crop(None, _image(shapes[-1], dtype=np.uint16, levels=4096, seed=1), 7, "clip", 4096)
    _check_volume(None)
    print(f"bench_local_entropy_gpu: cpu side of {2 * len(sides) + 3} checks ready")
    return 0


def _gpuent_kernel(cp, dimage, r, mode, nlevels):
    """Seconds of the kernel alone (plan uploaded, module compiled, output allocated)."""
    fp = np.ones((2 * r + 1,) * 2, bool)
    plan = plan_window(dimage.shape, fp, mode, nlevels, estimator="plugin", base=2.0)
    launch, out, cfg = _cuda.prepare_windowed(dimage, None, plan, np.float32)
    seconds = _events_median(cp, launch, _repeats(dimage.size, 2 * r + 1))
    return seconds, cfg


def _cucim_entropy():
    try:
        from cucim.skimage.filters.rank import entropy
    except Exception as exc:  # noqa: BLE001 - report why and go on without the anchor
        print(f"cuCIM not available ({type(exc).__name__}: {exc}); no cuCIM rows")
        return None
    return entropy


def _cucim_call(entropy, dimage, fp):
    """cuCIM's uint8 histogram path when it accepts backend='histogram', else its default."""
    try:
        entropy(dimage[:64, :64], fp[:3, :3] if fp.shape[0] > 3 else fp, backend="histogram")
        return (lambda: entropy(dimage, fp, backend="histogram")), "histogram"
    except (TypeError, ValueError):
        return (lambda: entropy(dimage, fp)), "default"


def _row(impl, r, shape, mode, seconds, **extra):
    npix = shape[0] * shape[1]
    return {"impl": impl, "radius": r, "side": 2 * r + 1, "shape": list(shape), "mode": mode,
            "seconds": seconds, "gpix_per_s": npix / seconds / 1e9, **extra}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("results")))
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--no-skimage", action="store_true")
    parser.add_argument("--radii", action="store_true",
                        help="read the window list as radii rather than sides (2r+1)")
    parser.add_argument("--expectations", action="store_true",
                        help="only compute or check the stored cpu side of the checks")
    args = parser.parse_args(argv)
    if args.expectations:
        return expectations(args)

    import cupy as cp

    props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
    device = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    shapes, sides = _sizes(args)
    big = (2048, 2048) if args.quick else (16384, 16384)
    rows = []
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", device).strip("-").lower()
    json_path = out_dir / f"local_entropy-gpu-{slug}.json"
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")

    def save(complete):
        # rewritten after every row: a run cut short still leaves its rows
        result = {
            "benchmark": "local_entropy",
            "device": device,
            "date": started,
            "complete": complete,
            "versions": _versions(cp),
            "notes": "seconds: CUDA-event median of repeats (kernel only) unless 'timing' "
                     "says otherwise; skimage rows: one wall-clock run on the host CPU.",
            "rows": [_clean(r) for r in rows],
        }
        tmp = json_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.replace(json_path)

    def show(row):
        ratio = row.get("vs_cucim")
        extra = f"  x{ratio:.1f} vs cuCIM" if ratio else ""
        print(f"{row['impl']:>10} {row['mode']:>7} side {row['side']:>3} "
              f"{'x'.join(map(str, row['shape'])):>11} {row.get('dtype', 'uint8'):>6}: "
              f"{row['seconds'] * 1e3:10.3f} ms {row['gpix_per_s']:8.3f} Gpix/s{extra}",
              flush=True)
        rows.append(row)
        save(False)

    cucim_entropy = _cucim_entropy()
    host = {shape: _image(shape) for shape in shapes}
    for side in sides:
        _check_crop(cp, host[shapes[0]], side // 2, "reflect", 256)
        _check_crop(cp, host[shapes[0]], side // 2, "clip", 256)

    # 1. reflect mode vs cuCIM, both sizes, every window
    for shape in shapes:
        dimage = cp.asarray(host[shape])
        for side in sides:
            r = side // 2
            seconds, cfg = _gpuent_kernel(cp, dimage, r, "reflect", 256)
            cu = None
            if cucim_entropy is not None:
                try:
                    fp = cp.ones((side, side), dtype=bool)
                    call, path = _cucim_call(cucim_entropy, dimage, fp)
                    cu = _events_median(cp, call, _repeats(dimage.size, side * 8))
                    show(_row("cucim", r, shape, "reflect", cu, cucim_path=path))
                except Exception as exc:  # noqa: BLE001 - keep the gpuent rows
                    print(f"cuCIM failed at side {side}, {shape}: {type(exc).__name__}: {exc}")
                    cu = None
            show(_row("gpuent", r, shape, "reflect", seconds, config=cfg.__dict__,
                      vs_cucim=(cu / seconds) if cu else None))
        del dimage
        cp.get_default_memory_pool().free_all_blocks()

    # 2. scikit-image on the small size (CPU anchor)
    if not args.no_skimage:
        try:
            from skimage.filters.rank import entropy as sk_entropy

            image = host[shapes[0]]
            for side in sides:
                fp = np.ones((side, side), bool)
                sec = _wall_median(lambda fp=fp: sk_entropy(image, fp), 1, warmup=0)
                show(_row("skimage", side // 2, image.shape, "clip", sec))
        except ImportError:
            print("scikit-image not available; no scikit-image rows")

    # 3. gpuent alone: clip mode, uint16 with 4096 levels, the big size
    for shape in (*shapes, big):
        image = host[shape] if shape in host else _image(shape)
        dimage = cp.asarray(image)
        for side in sides:
            seconds, cfg = _gpuent_kernel(cp, dimage, side // 2, "clip", 256)
            show(_row("gpuent", side // 2, shape, "clip", seconds, config=cfg.__dict__))
        del dimage
        cp.get_default_memory_pool().free_all_blocks()
    img16 = _image(shapes[-1], dtype=np.uint16, levels=4096, seed=1)
    _check_crop(cp, img16, 7, "clip", 4096)
    d16 = cp.asarray(img16)
    for side in sides:
        seconds, cfg = _gpuent_kernel(cp, d16, side // 2, "clip", 4096)
        show(_row("gpuent", side // 2, img16.shape, "clip", seconds, dtype="uint16",
                  levels=4096, config=cfg.__dict__))
    del d16
    cp.get_default_memory_pool().free_all_blocks()

    # 4. a 3-D volume (512^3 uint8, r = 2, clip), after a bit-for-bit check on a small one
    vshape = (64, 64, 64) if args.quick else (512, 512, 512)
    rng = _check_volume(cp)
    dvol = cp.asarray(rng.integers(0, 256, vshape, dtype=np.uint8))
    plan = plan_window(vshape, np.ones((5, 5, 5), bool), "clip", 256, estimator="plugin",
                       base=2.0)
    launch, out, cfg = _cuda.prepare_windowed(dvol, None, plan, np.float32)
    seconds = _events_median(cp, launch, 3)
    row = _row("gpuent", 2, vshape, "clip", seconds, config=cfg.__dict__, volume=True)
    row["gpix_per_s"] = dvol.size / seconds / 1e9  # voxels
    show(row)
    del dvol, out, launch
    cp.get_default_memory_pool().free_all_blocks()

    # 5. end to end from a host array (upload + compute + download), r = 7, clip
    image = host[shapes[-1]]

    def end_to_end():
        return ge.local_entropy(cp.asarray(image), 7, mode="clip").get()

    sec = _wall_median(end_to_end, 5, warmup=1)
    show(_row("gpuent", 7, image.shape, "clip", sec, timing="end-to-end from host"))

    save(True)
    print(f"wrote {json_path}")
    return 0


def _clean(row):
    return {k: v for k, v in row.items() if v is not None}


def _versions(cp):
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "cupy": cp.__version__, "gpuent": getattr(ge, "__version__", "?"),
                "cuda_runtime": cp.cuda.runtime.runtimeGetVersion(),
                "driver": cp.cuda.runtime.driverGetVersion()}
    for name in ("cucim", "skimage"):
        try:
            versions[name] = __import__(name).__version__
        except Exception:  # noqa: BLE001
            pass
    return versions


if __name__ == "__main__":
    sys.exit(main())
