"""``gpuent entropy``: the local-entropy map of an image file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ..cli import CLIError, check_output, check_radius, needs_bins
from ..footprints import _SPEC, SPECS_2D, SPECS_3D, parse_footprint
from . import _picture

HELP = "local-entropy map of an image (a .png/.pdf/.svg picture, or raw float32 .tif/.npy/.zarr)"

#: inputs with more pixels than this (or any .zarr, --tile, --scheduler) are streamed in tiles
STREAM_PIXELS = 1 << 25
_STREAM_IN = (".tif", ".tiff", ".npy", ".zarr")
_STREAM_OUT = (".tif", ".tiff", ".npy", ".zarr")


def register(sub):
    p = sub.add_parser("entropy", help=HELP, description=HELP)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, TIFF, .npy, .zarr, ...)")
    window = p.add_mutually_exclusive_group()
    window.add_argument("-r", "--radius", type=int, metavar="R",
                        help="window radius: the (2R+1)x(2R+1) box (default 3)")
    window.add_argument("--footprint", metavar="SPEC",
                        help=f"window shape: {SPECS_2D} for images; {SPECS_3D} for 3-D "
                             f"volumes (multi-page TIFF, 3-D .npy/.zarr)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output picture .png/.jpg/.webp, or vector .pdf/.svg (colour map, see "
                        "below), or raw float32 values .tif/.npy/.zarr; default IN-entropy.png")
    p.add_argument("--mode", default="clip", choices=("clip", "reflect", "mirror", "wrap"),
                   help="image boundary (default clip: the window shrinks at borders)")
    p.add_argument("--estimator", default="plugin",
                   choices=("plugin", "miller-madow", "grassberger", "dirichlet"),
                   help="entropy estimator (default plugin: -sum p log p)")
    p.add_argument("--bins", type=int, metavar="K",
                   help="bin values into K levels (needed for floating-point images)")
    p.add_argument("--base", type=_base, default=2.0, metavar="B",
                   help="logarithm base: 2 (default, bits), e (nats), 10 or any number > 1")
    p.add_argument("--channel-axis", type=_channel_axis, metavar="AXIS",
                   help="axis of colour channels of a .npy/.tif/.png array (e.g. -1: one map "
                        "per channel), or None: a (Z, Y, 3|4) array is a volume; needed only "
                        "for 3-D arrays with 3 or 4 samples on the last axis")
    p.add_argument("--backend", default="auto", choices=("auto", "reference", "cpu", "cuda"),
                   help="compute path (default auto: CUDA on a GPU, else Numba; cuda needs "
                        "CuPy and an NVIDIA GPU)")
    big = p.add_argument_group(
        "big images", "TIFF/.npy/.zarr inputs above 32 Mpix (or with any option below, or a "
        ".zarr input or output) are streamed tile by tile with halos: peak memory stays "
        "bounded and the map equals the in-memory map bit for bit")
    big.add_argument("--tile", type=int, metavar="T",
                     help="tile side in pixels (default 1024 for 2-D, 128 for 3-D)")
    big.add_argument("--scheduler", choices=("threads", "processes", "distributed"),
                     help="compute the tiles with Dask (default: one process, tile by tile)")
    big.add_argument("--address", metavar="ADDR",
                     help="Dask scheduler address, e.g. tcp://host:8786, for --scheduler "
                          "distributed (default: a local cluster); the workers must see the "
                          "input and output paths")
    big.add_argument("--workers", type=int, metavar="N",
                     help="worker count for --scheduler threads/processes or a local cluster")
    big.add_argument("--resume", action="store_true",
                     help="finish the .zarr or .ome.zarr map of a run that was killed (the "
                          "finished tiles are kept, only the missing ones are computed)")
    _picture.add_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def _output_path(args) -> Path:
    if args.output:
        return Path(args.output)
    src = Path(args.input)
    return src.with_name(f"{src.stem}-entropy.png")


def _require_dask(scheduler):
    """Refuse ``--scheduler`` up front, with the extra to install, when Dask is missing."""
    import importlib.util

    need = ["dask"] + (["distributed"] if scheduler == "distributed" else [])
    missing = [name for name in need if importlib.util.find_spec(name) is None]
    if missing:
        raise CLIError(f"--scheduler {scheduler} needs {' and '.join(missing)}: "
                       f"pip install \"gpuent[dask]\"")


def _channel_axis(text):
    """``--channel-axis``: an int, or "none" (no channel axis); not given stays None."""
    if text.strip().lower() == "none":
        return "none"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an axis (e.g. -1) or None, got {text!r}"
                                         ) from None


def _library_channel_axis(args):
    """The library's ``channel_axis`` for the option (not given: the library's default)."""
    from .._validate import UNSET

    if args.channel_axis is None:
        return UNSET
    return None if args.channel_axis == "none" else args.channel_axis


def run(args):
    from .. import local_entropy
    from ..io import read_image, write_map

    if args.radius is not None and args.radius < 0:
        raise CLIError(f"--radius must be >= 0, got {args.radius}")
    out = _output_path(args)
    if out.suffix.lower() not in _picture.PICTURES + (".tif", ".tiff", ".npy", ".zarr"):
        raise CLIError(f"output {out} must end in .png, .jpg, .webp, .pdf, .svg (pictures) or "
                       f".tif, .npy, .zarr (raw values)")
    check_output(out, args.input)
    _picture.check_options(args, out)
    if args.bins is not None and args.bins < 1:
        raise CLIError(f"--bins must be >= 1, got {args.bins}")
    if args.tile is not None and args.tile < 1:
        raise CLIError(f"--tile must be >= 1, got {args.tile}")
    if args.resume and out.suffix.lower() != ".zarr":
        raise CLIError(f"--resume needs a .zarr output (only Zarr maps are resumable), "
                       f"not {out.name}")
    if args.address and args.scheduler != "distributed":
        raise CLIError("--address needs --scheduler distributed")
    if args.scheduler is not None:
        _require_dask(args.scheduler)
    if args.workers is not None:
        if args.workers < 1:
            raise CLIError(f"--workers must be >= 1, got {args.workers}")
        if args.scheduler is None:
            raise CLIError("--workers needs --scheduler threads, processes or distributed")
        _warn_workers(args)
    extent = _footprint_extent(args.footprint) if args.footprint is not None else None
    backend = None if args.backend == "auto" else args.backend
    if _streamed(args, out):
        return _run_streamed(args, out, extent, backend)
    # --channel-axis AXIS maps each colour channel: keep the file's channels (no luminance)
    colour = args.channel_axis not in (None, "none")
    image = np.asarray(read_image(args.input, gray=not colour))
    needs_bins(image.dtype, args.bins, args.input)
    radius, footprint = _window(args, extent, image.shape)
    picture = out.suffix.lower() in _picture.PICTURES
    if picture and image.ndim != 2:
        raise CLIError(f"{args.input} is a {image.ndim}-D array {image.shape}: its map is a "
                       f"volume; write it to .tif, .npy or .zarr, not {out.suffix}")
    if picture:
        levels = _picture.count_levels(image, args.bins)
    if backend == "cuda":
        from .._backend import cupy_or_none, gpu_available

        if not gpu_available():
            raise CLIError("--backend cuda needs CuPy and an NVIDIA GPU; none is usable here")
        image = cupy_or_none().asarray(image)
    elif backend is None:
        from .._backend import cupy_or_none, gpu_available

        if gpu_available() and image.ndim == 2:
            image = cupy_or_none().asarray(image)
    from .._backend import array_namespace

    array_namespace(image)  # loads the array-API wrapper: start-up, not the map's time
    from ..provenance import note

    note(path=backend or ("cuda" if type(image).__module__.startswith("cupy") else "cpu"))
    prepared = _prepared_so_far()
    start = time.perf_counter()
    emap = local_entropy(image, radius, footprint=footprint, mode=args.mode, bins=args.bins,
                         estimator=args.estimator, base=args.base, backend=backend,
                         channel_axis=_library_channel_axis(args))
    from .._backend import to_numpy

    emap = to_numpy(emap)
    seconds = _compute_seconds(start, prepared)
    if picture:  # after the map: the library has checked --base by now
        vmin, vmax, scale_note = _picture.scale(args, levels, args.base)
        window = f"r = {radius}" if footprint is None else f"footprint {args.footprint}"
        _picture.write(out, emap, cmap=args.cmap, vmin=vmin, vmax=vmax, colorbar=args.colorbar,
                       label=f"local entropy ({_picture.unit_name(args.base)}), {window}")
    else:
        write_map(out, emap)
    if not args.quiet:
        mpix = emap.size / 1e6
        shape = "x".join(str(n) for n in emap.shape)
        finite = emap[np.isfinite(emap)]
        unit = _picture.unit_name(args.base)
        span = f"{finite.min():.3g}..{finite.max():.3g} {unit}" if finite.size else \
            "all NaN: no pixel was counted"
        if picture:
            span += f"; {scale_note}"
        print(f"wrote {out}: {shape} entropy map ({span}) in {seconds:.2f} s "
              f"({mpix / max(seconds, 1e-9):.3g} Mpix/s)", file=sys.stdout)
    return 0


def _footprint_extent(spec):
    """The half-extent (radius) of a --footprint spec, checked before anything is allocated."""
    m = _SPEC.match(spec.strip().lower())
    if not m:
        parse_footprint(spec)  # raises the standard "not understood" message
    if m.group(1):
        return int(m.group(2))
    h, w = int(m.group(3)), int(m.group(4))
    if h % 2 == 0 or w % 2 == 0:
        raise CLIError(f"--footprint rect:{h}x{w} needs odd sides (a centre pixel), "
                       f"e.g. rect:{h | 1}x{w | 1}")
    return max(h, w) // 2


_AS_3D = {"disk": "ball", "diamond": "ball", "square": "cube", "rect": "cube"}
_AS_2D = {"ball": "disk", "cube": "square"}


def _window(args, extent, shape):
    """``(radius, footprint)`` for an image of ``shape``.

    In clip mode a window wider than the image is the image (the library crops
    it); in the other modes a window wider than the image is refused here.
    """
    if extent is not None:
        if args.mode != "clip":
            check_radius(extent, shape, what=f"--footprint {args.footprint}")
        footprint = parse_footprint(args.footprint)
        if footprint.ndim != len(shape):
            name = args.footprint.strip().lower().split(":")[0]
            size = "x".join(str(int(n)) for n in shape)
            if len(shape) == 3:
                hint = f"{_AS_3D.get(name, 'ball')}:{extent}"
                raise CLIError(f"--footprint {args.footprint} is 2-D but {args.input} is a 3-D "
                               f"volume ({size}); use a 3-D window: {SPECS_3D}, e.g. "
                               f"--footprint {hint}")
            hint = f"{_AS_2D.get(name, 'disk')}:{extent}"
            raise CLIError(f"--footprint {args.footprint} is 3-D but {args.input} is a "
                           f"{len(shape)}-D image ({size}); use {SPECS_2D}, e.g. "
                           f"--footprint {hint}")
        return None, footprint
    if args.radius is None:
        return 3, None
    if args.mode != "clip":
        check_radius(args.radius, shape)
    return args.radius, None


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _warn_workers(args):
    """One warning when local workers outnumber the CPU cores (remote ones are not ours)."""
    cores = _cores()
    if args.address is None and args.workers > cores:
        print(f"gpuent: warning: --workers {args.workers} is more than the {cores} CPU "
              f"core{'s' if cores != 1 else ''} here; extra workers share the cores and add "
              f"overhead (try --workers {cores})", file=sys.stderr)


def _compute_seconds(start, prepared_before):
    """Seconds since ``start`` without the kernels' compilation or cache loading."""
    numba_side = sys.modules.get("gpuent._kernels._numba")
    prepared = numba_side.preparation_seconds() - prepared_before if numba_side else 0.0
    return max(time.perf_counter() - start - prepared, 1e-9)


def _prepared_so_far():
    numba_side = sys.modules.get("gpuent._kernels._numba")
    return numba_side.preparation_seconds() if numba_side else 0.0


#: the output formats a streamed map can be written to (said in the errors)
_STREAM_OUT_WORDS = ".zarr, .ome.zarr, a tiled .tif or .npy"


def _streamed(args, out) -> bool:
    """Whether the map is streamed in tiles (then ``out`` must be a format that streams).

    A .zarr input small enough for memory (at most ``STREAM_PIXELS``) is read whole when
    the output is a picture; a bigger one, or --tile/--scheduler, needs a streamed output.
    """
    src = Path(args.input)
    if src.suffix.lower() not in _STREAM_IN:
        if args.tile or args.scheduler:
            raise CLIError(f"--tile/--scheduler need a .tif, .npy or .zarr input, not {src.name}")
        return False
    out_streams = out.suffix.lower() in _STREAM_OUT
    if args.tile or args.scheduler or out.suffix.lower() == ".zarr":
        if not out_streams:
            raise CLIError(f"--tile/--scheduler stream the map in tiles, which is written to "
                           f"{_STREAM_OUT_WORDS}, not {out.name}")
        return True
    if not out_streams and src.suffix.lower() != ".zarr":
        return False  # a picture of a TIFF or .npy: read whole, as any image
    from ..io import open_source

    source = open_source(src)
    big = int(np.prod(source.shape)) > STREAM_PIXELS
    if src.suffix.lower() == ".zarr":
        if out_streams:
            return True
        if big:
            size = "x".join(str(n) for n in source.shape)
            raise CLIError(f"{src.name} ({size}, {np.prod(source.shape) / 1e6:.0f} Mpix) is "
                           f"too big to read whole for a {out.suffix} picture: its map is "
                           f"streamed in tiles, written to {_STREAM_OUT_WORDS}")
        return False
    return out_streams and big


def _run_streamed(args, out, extent, backend):
    """Tile-by-tile map of a big image into a .zarr/.tif/.npy created up front."""
    from .._backend import gpu_available
    from .._stream import make_request, source_stats
    from ..io import create_sink, open_source

    source = open_source(args.input)
    if source.ndim not in (2, 3):
        raise CLIError(f"{args.input}: expected a 2-D image or 3-D volume, got shape "
                       f"{source.shape}")
    needs_bins(source.dtype, args.bins, args.input)
    radius, footprint = _window(args, extent, source.shape)
    side = args.tile or (1024 if source.ndim == 2 else 128)
    if out.suffix.lower() in (".tif", ".tiff"):
        side = max(16, -(-side // 16) * 16)  # TIFF tiles are multiples of 16
    tile = (side,) * source.ndim
    if args.channel_axis not in (None, "none"):
        raise CLIError("--channel-axis with an axis is for in-memory maps; give each channel "
                       "as its own file to stream it (or --channel-axis None for a volume)")
    req = make_request("entropy", source.shape, source.dtype, radius=radius, footprint=footprint,
                       mode=args.mode, bins=args.bins, estimator=args.estimator, base=args.base,
                       backend=backend, stats=source_stats(source, tile),
                       guess_channels=args.channel_axis is None)
    device = None
    if backend == "cuda" and not gpu_available():
        raise CLIError("--backend cuda needs CuPy and an NVIDIA GPU; none is usable here")
    if backend in (None, "cuda") and source.ndim == 2 and gpu_available():
        device = "cuda"
    progress = not args.quiet and sys.stderr.isatty()
    from ..provenance import note

    note(path=device or backend or "cpu", tile=list(tile), streamed=True)
    prepared = _prepared_so_far()
    start = time.perf_counter()
    sink = None
    try:
        from .._resume import fingerprint, stream_missing

        stamp = fingerprint(args.input, source.shape, source.dtype, tile, radius=args.radius,
                            footprint=args.footprint, mode=args.mode, bins=args.bins,
                            base=args.base, estimator=args.estimator, backend=backend)
        sink = create_sink(out, source.shape, tile, like=args.input, resume=args.resume,
                           fingerprint=stamp)
        done_before = len(getattr(sink, "done", ()))
        span = _Range()
        if args.scheduler:
            from .._dask import run_dask

            span.merge(*run_dask(source, sink, req, tile, scheduler=args.scheduler,
                                 address=args.address, workers=args.workers, progress=progress))
        elif hasattr(sink, "write_tiles"):
            sink.write_tiles(span.watch(_tiff_order(source, req, tile, progress, device)))
        else:
            stream_missing(source, _Watched(sink, span), req, tile, progress=progress,
                           device=device)
        if done_before:  # the tiles of the killed run count too
            span.merge(*_done_range(sink, tile))
        sink.commit()
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    seconds = _compute_seconds(start, prepared)
    if not args.quiet:
        mpix = int(np.prod(source.shape)) / 1e6
        shape = "x".join(str(s) for s in source.shape)
        if done_before:
            print(f"resumed {out}: {done_before} tiles were already done", file=sys.stdout)
        count = int(np.prod([-(-n // t) for n, t in zip(source.shape, tile)]))
        tiles = f"{count} {side}-pixel tiles" if count > 1 else "one tile"
        print(f"wrote {out}: {shape} entropy map ({span.text(_picture.unit_name(args.base))}), "
              f"streamed in {tiles}, in {seconds:.2f} s "
              f"({mpix / max(seconds, 1e-9):.3g} Mpix/s)", file=sys.stdout)
    return 0


class _Range:
    """Running min and max of the finite values of the tiles written (the summary line)."""

    def __init__(self):
        self.lo, self.hi = float("inf"), float("-inf")

    def merge(self, lo, hi):
        self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)

    def add(self, values):
        from .._dask import finite_range

        self.merge(*finite_range(values))

    def watch(self, tiles):
        for values in tiles:
            self.add(values)
            yield values

    def text(self, unit):
        if self.lo > self.hi:
            return "all NaN: no pixel was counted"
        return f"{self.lo:.3g}..{self.hi:.3g} {unit}"


class _Watched:
    """A sink whose tile writes also go through a :class:`_Range`."""

    def __init__(self, sink, span):
        self._sink, self._span = sink, span

    def __call__(self, tile, values):
        self._span.add(values)
        self._sink(tile, values)

    def __getattr__(self, name):
        return getattr(self._sink, name)


def _done_range(sink, tile):
    """``(min, max)`` of the tiles a resumed run found done (read back one tile at a time)."""
    from .._dask import finite_range
    from .._stream import tiles_of

    array = getattr(sink, "array", None)
    if array is None:
        return float("inf"), float("-inf")
    from .._resume import is_done

    lo, hi = float("inf"), float("-inf")
    for t in tiles_of(tuple(array.shape), tile):
        if is_done(sink, t):
            a, b = finite_range(array[tuple(slice(a, b) for a, b in t)])
            lo, hi = min(lo, a), max(hi, b)
    return lo, hi


def _tiff_order(source, req, tile, progress, device):
    """2-D tiles in TIFF order; for volumes, slabs of tile[0] planes yielded plane by plane."""
    from .._stream import iter_tiles, tiles_of

    if len(req.shape) == 2:
        for _, values in iter_tiles(source, req, tile, progress=progress, device=device):
            yield values
        return
    depth, height, width = req.shape
    plane_tiles = tiles_of((height, width), tile[1:])
    for z0 in range(0, depth, tile[0]):
        z1 = min(depth, z0 + tile[0])
        slab = np.empty((z1 - z0, height, width), dtype=np.float32)
        for (a0, a1), (b0, b1) in plane_tiles:
            from .._stream import tile_from_reader

            t = ((z0, z1), (a0, a1), (b0, b1))
            slab[:, a0:a1, b0:b1] = tile_from_reader(lambda s: np.asarray(source[s]), None, req,
                                                     t, source.dtype)
        for plane in slab:
            for (a0, a1), (b0, b1) in plane_tiles:
                yield plane[a0:a1, b0:b1]


def demo(out_dir: Path, quiet: bool):
    """The foundation demo: the sample image and its local-entropy map (r = 5)."""
    from .. import local_entropy
    from .._samples import sample_image
    from ..io import write_image, write_map

    image = sample_image(512)
    write_image(out_dir / "sample.png", image)
    emap = local_entropy(image, 5)
    write_map(out_dir / "sample-entropy.png", emap, vmin=0.0, vmax=8.0)  # the CLI's fixed scale
    if not quiet:
        print(f"wrote {out_dir / 'sample.png'} and {out_dir / 'sample-entropy.png'}")


def _base(text):
    """``--base``: a number, or ``e`` for natural logarithms (nats)."""
    import argparse
    import math

    if text.strip().lower() == "e":
        return math.e
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid base {text!r}: give a number > 1, or e for nats") from None
