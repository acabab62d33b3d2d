"""Windowed maps tile by tile: the exact tiling shared by the Dask path and the streaming CLI.

A windowed map of a large image is cut into output tiles. The output pixel i
of an axis of length n sees the padded coordinates i + o (o in [0, 2r]) and
the global boundary map of :func:`~gpuent._kernels.histogram.spec.boundary_index`
sends each padded coordinate to a source index (or -1: not counted, for
``mode="clip"``). For a tile [a, b) the needed source indices are therefore
``gmap[a:b + 2r]``: a few contiguous runs (the tile plus its halo, and for
reflect/mirror/wrap the rows on the far side). Only those are read, gathered
into a small *region*, and the kernel runs with the plan's index maps replaced
by maps into the region. Levels use the *global* facts (K for integer images,
the value range for binned floats), so every tile adds exactly the integers the
in-memory computation adds for the same pixel, and the map is bit for bit the
in-memory map whatever the tiling, also for tiles smaller than the radius.

Streaming (:func:`stream_map`) reads tile + halo windows from a source
(:mod:`gpuent.io`), computes, and writes each tile into an output created
up front, so peak memory is bounded by a few tiles whatever the image size.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from ._kernels.histogram.spec import (
    boundary_index,
    check_cost,
    clip_radii,
    effective_footprint,
    footprint_cost,
    plan_window,
)
from ._levels import quantize, resolve_levels
from ._validate import (
    check_base,
    check_dtype,
    check_estimator,
    check_image,
    check_mask,
    check_mode,
    check_radii,
    check_window,
    dtype_kind,
)

__all__ = ["MapRequest", "make_request", "tile_geometry", "compute_tile", "execute",
           "stream_map", "tiles_of", "proxy_array", "iter_tiles", "PATHS", "memory_budget",
           "current_budget", "budget_tile", "check_tile", "tile_bytes"]

KINDS = ("entropy", "expected", "renyi")


@dataclass
class MapRequest:
    """A validated windowed-map request with its global level facts resolved.

    Every entry point builds one (:func:`make_request`): the in-memory
    functions, the Dask path and the streaming CLI; :func:`compute_tile` runs it
    on one tile (an in-memory call is one tile covering the image).
    """

    kind: str
    shape: tuple
    footprint: np.ndarray
    mode: str
    nlevels: int
    bins: int | None
    value_range: tuple | None
    out_dtype: object
    estimator: str = "plugin"
    base: float = 2.0
    f: object = None
    alpha: float = 1.0
    backend: str | None = None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def radii(self) -> tuple:
        return tuple(s // 2 for s in self.footprint.shape)


def proxy_array(shape, dtype):
    """A zero-stride NumPy view of ``shape`` (no memory): validators see shape and dtype."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype=dtype), shape=tuple(shape),
                                           strides=(0,) * len(shape))


def make_request(kind, shape, dtype, *, radius=None, footprint=None, mode="clip", bins=None,
                 value_range=None, nlevels=None, estimator="plugin", base=2, f=None, alpha=1.0,
                 mask_shape=None, dtype_out=None, backend=None, stats=None, image=None,
                 token=None, guess_channels=True) -> MapRequest:
    """Validate a request, resolve its global level facts and size its window.

    ``image`` is the array itself for in-memory calls (it is validated as it is);
    otherwise a shape-and-dtype proxy stands for it. ``stats(need)`` computes
    global facts over the whole image when the level rules ask for them (see
    :func:`gpuent._levels.resolve_levels`). ``token`` names the request (Dask
    keys); a random one by default. ``guess_channels=False``: a (Z, Y, 3|4) image
    is a volume (the caller passed ``channel_axis=None``).
    """
    if kind not in KINDS:  # pragma: no cover - internal
        raise ValueError(kind)
    if image is None:
        image = proxy_array(shape, dtype)
    xp, image = check_image(image, ndims=(2, 3), guess_channels=guess_channels,
                            channel_param=True)
    if kind == "entropy":
        check_estimator(estimator)
    if kind in ("entropy", "renyi"):
        base = check_base(base)
    if kind == "expected" and not callable(f):
        raise TypeError("f must be a callable taking an array of probabilities")
    if kind == "renyi":
        alpha = float(alpha)
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0 (math.inf for the min-entropy), got {alpha}")
    check_mode(mode)
    fp = _window(shape, radius, footprint, mode, backend)
    if mask_shape is not None:
        check_mask(proxy_array(mask_shape, bool), proxy_array(shape, np.uint8), np)
    # the dtype as the image's library names it; kept as NumPy's in the request
    out_dtype = np.float32 if check_dtype(dtype_out, xp) == xp.float32 else np.float64
    k, value_range = resolve_levels(dtype_kind(image), image.dtype == xp.uint8, bins=bins,
                                    value_range=value_range, nlevels=nlevels, stats=stats)
    if kind == "renyi" and alpha == 1.0:
        kind = "entropy"
        estimator = "plugin"
    req = MapRequest(kind, tuple(int(s) for s in shape), fp, mode, int(k),
                     None if value_range is None else int(k), value_range, out_dtype,
                     estimator, base, f, alpha, backend)
    if token is not None:
        req.token = token
    return req


def _window(shape, radius, footprint, mode, backend):
    """The footprint of a request, sized by the image (clip) and checked for cost.

    A box from ``radius`` is built only after its radii are clipped and its cost
    is checked, so an absurd radius costs nothing.
    """
    path = "reference" if backend == "reference" else "cpu"
    if radius is not None and footprint is None:
        radii = clip_radii(shape, check_radii(radius, len(shape)), mode)
        sides = [2 * r + 1 for r in radii]
        check_cost(tuple(shape), sides, math.prod(sides), math.prod(sides[:-1]), mode, path)
        return np.ones(tuple(sides), dtype=bool)
    fp = effective_footprint(shape, check_window(radius, footprint, len(shape)), mode)
    footprint_cost(tuple(shape), fp, mode, path)
    return fp


# --------------------------------------------------------------------------- plans

_PLANS: dict = {}


def _base_plan(req: MapRequest):
    """The request's plan (tables), built once per process and request token."""
    plan = _PLANS.get(req.token)
    if plan is None:
        dummy = (1,) * len(req.shape)
        if req.kind == "entropy":
            plan = plan_window(dummy, req.footprint, req.mode, req.nlevels,
                               estimator=req.estimator, base=req.base)
        elif req.kind == "expected":
            plan = plan_window(dummy, req.footprint, req.mode, req.nlevels, f=req.f)
        else:
            exponent = req.alpha - 1.0
            plan = plan_window(dummy, req.footprint, req.mode, req.nlevels,
                               f=lambda p: p**exponent)
        if len(_PLANS) > 8:
            _PLANS.clear()
        _PLANS[req.token] = plan
    return plan


# --------------------------------------------------------------------------- geometry

def tile_geometry(shape, radii, mode, tile):
    """Per axis: (sorted unique source indices needed, index map into them) for ``tile``.

    ``tile`` is a tuple of (start, stop) per axis. The index map has length
    (stop - start) + 2 r with -1 where ``mode="clip"`` leaves the image.
    """
    geo = []
    for n, r, (a, b) in zip(shape, radii, tile):
        gmap = boundary_index(int(n), int(r), int(r), mode)[a:b + 2 * r]
        inside = gmap >= 0
        uniq = np.unique(gmap[inside])
        local = np.full(gmap.shape, -1, dtype=np.int64)
        local[inside] = np.searchsorted(uniq, gmap[inside])
        geo.append((uniq, local))
    return geo


def runs(idx):
    """Maximal contiguous runs of sorted unique ``idx``: list of (position, start, stop)."""
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [idx.size]])
    return [(int(p), int(idx[p]), int(idx[q - 1]) + 1) for p, q in zip(starts, stops)]


def read_region(read, uniq_per_axis, region):
    """Fill ``region`` with the source pixels at ``uniq_per_axis`` through ``read(slices)``.

    Reads one box per combination of contiguous runs (usually one box: the
    tile and its halo).
    """
    for combo in itertools.product(*(runs(u) for u in uniq_per_axis)):
        src = tuple(slice(s, e) for _, s, e in combo)
        dst = tuple(slice(p, p + e - s) for p, s, e in combo)
        region[dst] = read(src)
    return region


def fill_from_blocks(region, uniq_per_axis, pieces, xp):
    """Fill ``region`` from (origin, block) pieces that cover the needed source indices."""
    for origin, block in pieces:
        dst = []
        src = []
        for u, o, n in zip(uniq_per_axis, origin, block.shape):
            p0, p1 = np.searchsorted(u, [o, o + n])
            if p1 <= p0:
                break
            dst.append(slice(int(p0), int(p1)))
            loc = u[p0:p1] - o
            if loc[-1] - loc[0] + 1 == loc.size:
                src.append(slice(int(loc[0]), int(loc[-1]) + 1))
            else:
                src.append(loc)
        else:
            part = block[tuple(s if isinstance(s, slice) else slice(None) for s in src)]
            for ax, s in enumerate(src):
                if not isinstance(s, slice):
                    part = xp.take(part, xp.asarray(s), axis=ax)
            region[tuple(dst)] = part
    return region


def tiles_of(shape, tile):
    """Row-major list of tiles ((start, stop) per axis) of at most ``tile`` pixels per axis."""
    axes = [[(a, min(a + t, n)) for a in range(0, n, t)] for n, t in zip(shape, tile)]
    return list(itertools.product(*axes))


# --------------------------------------------------------------------------- compute

@dataclass(frozen=True)
class Path:
    """A compute path and what it serves: adding a path or a capability touches this table.

    Which array library each path takes (NumPy for "cpu", CuPy for "cuda", any
    for "reference") is :func:`gpuent._backend.choose_backend`'s rule.
    """

    name: str
    ndims: tuple
    kinds: tuple = KINDS


#: the paths of windowed maps, fastest first
PATHS = (
    Path("cuda", (2, 3)),
    Path("cpu", (2, 3)),
    Path("reference", (2, 3)),
)

_warned = set()


def _namespace_name(xp):
    from ._backend import is_cupy, is_numpy

    return "numpy" if is_numpy(xp) else "cupy" if is_cupy(xp) else "other"


def choose_path(xp, ndim, kind, backend):
    """The path of a request: the forced one, or the fastest whose capabilities fit.

    An automatic choice that falls to the slow reference path for data a fast
    path would serve in another form warns once, saying what to do.
    """
    from ._backend import choose_backend

    ns = _namespace_name(xp)
    available = [p.name for p in PATHS if ndim in p.ndims and kind in p.kinds]
    path = choose_backend(backend, xp, available)
    if path == "reference" and backend in (None, "auto") and ns != "other":
        key = (ns, ndim)
        if key not in _warned:
            _warned.add(key)
            if ns == "cupy":
                advice = ("CuPy data but no usable GPU for the CUDA path; `gpuent info` "
                          "says why")
            else:
                advice = "install Numba for the fast CPU path"
            warnings.warn(f"gpuent: windowed map on the slow reference path: {advice}",
                          RuntimeWarning, stacklevel=4)
    return path


def _cpu_kernels():
    """The Numba module; importing it (and Numba) the first time counts as preparation."""
    first = "gpuent._kernels.histogram._cpu" not in sys.modules
    start = time.perf_counter()
    # the import statement (not a sys.modules look-up): other threads wait for it
    from ._kernels.histogram import _cpu as module

    if first:
        import numba

        from ._kernels import _numba

        numba.get_num_threads()  # starts Numba's thread pool: also preparation
        _numba.add_preparation(time.perf_counter() - start)
    return module


def _run_path(xp, levels, valid, plan, out_dtype, req: MapRequest):
    from ._kernels.histogram.reference import windowed_reference

    path = choose_path(xp, len(plan.shape), req.kind, req.backend)
    if path == "cpu":
        return _cpu_kernels().windowed_cpu(levels, valid, plan, out_dtype)
    if path == "cuda":
        from ._kernels.histogram._cuda import windowed_cuda

        return windowed_cuda(levels, valid, plan, out_dtype)
    footprint_cost(req.shape, plan.footprint, req.mode, "reference")
    return windowed_reference(xp, levels, valid, plan, out_dtype)


def compute_tile(region, mask_region, local_maps, tile_shape, req: MapRequest):
    """The map on one tile from its gathered source ``region`` (NumPy or CuPy)."""
    from ._backend import array_namespace

    xp = array_namespace(region)
    levels = quantize(xp, region, req.nlevels, req.value_range, mask=mask_region)
    # The kernels read the source with the output's shape, so the map is computed on an
    # output of the region's shape: its first tile_shape pixels per axis are the tile, the
    # rest see nothing (maps of -1) and are cut off.
    full = tuple(region.shape)
    maps = []
    for m, t, n, r in zip(local_maps, tile_shape, full, req.radii):
        if n == t:
            maps.append(m)
            continue
        ext = np.full(n + 2 * r, -1, dtype=np.int64)
        ext[:t + 2 * r] = m
        maps.append(ext)
    out_dtype = xp.float32 if req.out_dtype == np.float32 else xp.float64
    cut = tuple(slice(0, t) for t in tile_shape)
    if req.kind == "renyi" and math.isinf(req.alpha):
        return _min_entropy_tile(xp, levels, maps, out_dtype, req)[cut]
    plan = replace(_base_plan(req), shape=full, index_maps=maps, nlevels=req.nlevels)
    if req.kind != "renyi":
        out = _run_path(xp, levels.levels, levels.valid, plan, out_dtype, req)
        return out[cut] if full != tuple(tile_shape) else out
    power = _run_path(xp, levels.levels, levels.valid, plan, xp.float64, req)
    if full != tuple(tile_shape):
        power = power[cut]
    h = xp.log(power) / ((1.0 - req.alpha) * math.log(req.base))
    return xp.astype(h + 0.0, out_dtype)  # + 0.0: log 1 / (1 - alpha) is -0.0 for alpha > 1


def _min_entropy_tile(xp, levels, maps, out_dtype, req: MapRequest):
    """alpha = inf: the windowed min-entropy, one array-API scan for every path."""
    from ._kernels.histogram.min_entropy import window_min_entropy

    choose_path(xp, len(req.shape), req.kind, req.backend)  # a forced path must apply
    footprint_cost(req.shape, req.footprint, req.mode, "reference")
    return window_min_entropy(xp, levels.levels, levels.valid, req.footprint, maps, req.base,
                              out_dtype)


def execute(req: MapRequest, image, mask=None, *, progress=False):
    """The whole map of an in-memory ``image``: one tile covering it.

    With ``progress``, the map is computed in bands of lines (exact tiling: the
    same bits) with a ``tqdm.auto`` bar, which also shows in notebooks.

    When the image and the path's scratch would exceed the memory budget
    (:func:`memory_budget`; for CuPy data the free GPU memory), or the device
    runs out of memory, the map is computed in tiles with halos by the tiling of
    the streaming path (:func:`tile_geometry`), so the result is the same bits.
    """
    try:
        if progress:
            return _execute_in_bands(req, image, mask)
        from ._backend import array_namespace

        xp = array_namespace(image)
        budget = current_budget(xp)
        per_px = _bytes_per_pixel(req, image, xp)
        if budget is not None and _region_bytes(req, req.shape, per_px) > budget:
            return _execute_tiled(req, image, mask, budget_tile(req, per_px, budget))
        tile = tuple((0, int(n)) for n in req.shape)
        maps = [g[1] for g in tile_geometry(req.shape, req.radii, req.mode, tile)]
        try:
            return compute_tile(image, mask, maps, req.shape, req)
        except MemoryError:  # cupy's OutOfMemoryError is one too
            pass
        # the device ran out of memory: quarter the tiles until they fit
        budget = _region_bytes(req, req.shape, per_px)
        while True:
            _release_pool(xp)
            budget //= 4
            tile = budget_tile(req, per_px, budget)  # raises when one window does not fit
            try:
                return _execute_tiled(req, image, mask, tile)
            except MemoryError:
                if max(tile) == 1:
                    raise
    finally:
        _PLANS.pop(req.token, None)


def _execute_in_bands(req, image, mask, bands=32):
    from tqdm.auto import tqdm

    n0 = req.shape[0]
    step = max(1, -(-n0 // bands))
    tile_side = (step,) + tuple(req.shape[1:])
    desc = {"entropy": "local entropy", "expected": "local expected", "renyi": "local Rényi"}
    with tqdm(total=int(np.prod(req.shape)), unit="pix", unit_scale=True,
              desc=desc[req.kind], leave=False) as bar:
        return _execute_tiled(req, image, mask, tile_side, bar)


def _execute_tiled(req, image, mask, tile_side, bar=None):
    """The map of an in-memory ``image`` tile by tile (tiles of ``tile_side``, exact halos)."""
    from ._backend import array_namespace

    xp = array_namespace(image)
    out = None
    for t in tiles_of(req.shape, tile_side):
        geo = tile_geometry(req.shape, req.radii, req.mode, t)
        uniq = [g[0] for g in geo]
        region = read_region(lambda sl: image[sl], uniq,
                             xp.empty(tuple(u.size for u in uniq), dtype=image.dtype))
        sub_mask = None
        if mask is not None:
            sub_mask = read_region(lambda sl: mask[sl], uniq,
                                   xp.empty(region.shape, dtype=xp.bool))
        values = compute_tile(region, sub_mask, [g[1] for g in geo],
                              [b - a for a, b in t], req)
        del region, sub_mask
        if out is None:
            out = xp.empty(req.shape, dtype=values.dtype)
        out[tuple(slice(a, b) for a, b in t)] = values
        if bar is not None:
            bar.update(int(np.prod([b - a for a, b in t])))
    return out


# --------------------------------------------------------------------------- memory budget

_budget = threading.local()

#: fraction of the free GPU memory an in-memory map plans to use
GPU_BUDGET_FRACTION = 0.5

# scratch bytes per pixel of each path besides the levels and the output: the
# reference path keeps a few int64 planes (counts, sums, occupied bins); the fast
# paths keep per-thread histograms whose size does not grow with the image; the cpu
# path may read a row-padded copy of the levels (up to 4 bytes per pixel).
_SCRATCH = {"reference": 48, "cpu": 4, "cuda": 0}


@contextlib.contextmanager
def memory_budget(nbytes):
    """Within the block, in-memory windowed maps plan for at most ``nbytes`` at once.

    ``None`` restores the default (CuPy data: a fraction of the free GPU memory;
    other data: no limit). Maps over the budget are computed in tiles with halos,
    bit for bit the same map. Used by tests to force the tiled path on the host.
    """
    if nbytes is not None and int(nbytes) <= 0:
        raise ValueError(f"memory budget must be a positive number of bytes, got {nbytes}")
    old = getattr(_budget, "value", None)
    _budget.value = None if nbytes is None else int(nbytes)
    try:
        yield
    finally:
        _budget.value = old


def current_budget(xp):
    """Bytes an in-memory map may plan for: the injected budget, else for CuPy data a
    fraction of the free device memory (plus the memory pool's free blocks), else None."""
    value = getattr(_budget, "value", None)
    if value is not None:
        return value
    from ._backend import is_cupy

    if not is_cupy(xp):
        return None
    import cupy

    free, _ = cupy.cuda.runtime.memGetInfo()
    pool = cupy.get_default_memory_pool().free_bytes()
    return int(GPU_BUDGET_FRACTION * (free + pool))


def _release_pool(xp):
    from ._backend import is_cupy

    if is_cupy(xp):
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()


def _bytes_per_pixel(req, image, xp):
    """Estimated bytes per pixel of a tile's region: copy, mask, levels, output, scratch."""
    from ._backend import choose_backend

    available = [p.name for p in PATHS if len(req.shape) in p.ndims and req.kind in p.kinds]
    try:
        path = choose_backend(req.backend, xp, available)
    except ValueError:  # the computation itself says what is wrong
        path = "reference"
    kind = dtype_kind(image)
    if kind == "b":
        itemsize = 1
    elif kind == "f":
        itemsize = xp.finfo(image.dtype).bits // 8
    else:
        itemsize = xp.iinfo(image.dtype).bits // 8
    return itemsize + 1 + 4 + 1 + 8 + _SCRATCH[path]


def _region_bytes(req, tile_side, per_px):
    """Upper bound of the bytes of one tile of sides ``tile_side`` with its halo."""
    sides = [min(int(n), int(t) + 2 * r) for n, t, r in zip(req.shape, tile_side, req.radii)]
    return int(np.prod(sides, dtype=np.float64)) * per_px


def _threads():
    import os

    return max(1, min(64, os.cpu_count() or 1))


#: the reference path's working memory on a tile, fitted to tracemalloc peaks of 2-D and
#: 3-D tiles in every mode (56 B per region pixel, 22 B per padded pixel, 280 B per
#: footprint pixel), rounded up: int64 count planes per region pixel, the padded levels
#: and masks, and per footprint offset its window slices
_REFERENCE_TILE = {"region": 64, "padded": 24, "offset": 320}


def tile_bytes(req, tile_side, itemsize, *, path="cpu", mask=False, buffers=1):
    """Estimated peak bytes of computing one tile of sides ``tile_side`` with its halo.

    Counts the gathered region (the tile plus its halo on every axis, also in 3-D:
    the source copy, its levels, the valid mask and the region-sized output the
    kernels write), the tile's values and their conversion, the path's scratch (the
    reference path's count planes over the region padded once more by the radius;
    the CPU kernel's per-thread histograms and window rows), and the footprint's
    offset tables. ``buffers=2`` for double buffering (the GPU stream's pinned host
    buffers). ``tests/test_memory_bounds.py`` checks it against tracemalloc peaks.
    """
    per_px = int(itemsize) + 4 + 1 + 8 + (1 if mask else 0)
    if req.kind == "renyi":
        per_px += 8  # the float64 sums of powers before the logarithm
    fp = int(np.count_nonzero(req.footprint))
    sides = [min(int(n), int(t) + 2 * r) for n, t, r in zip(req.shape, tile_side, req.radii)]
    region = math.prod(sides) * per_px
    tables = 24 * fp
    if path == "reference":
        region += math.prod(sides) * _REFERENCE_TILE["region"]
        region += math.prod(s + 2 * r for s, r in zip(sides, req.radii)) \
            * _REFERENCE_TILE["padded"]
        tables += _REFERENCE_TILE["offset"] * fp
    elif path == "cpu":
        tables += _threads() * (16 * int(req.nlevels) + 80 * fp)
    tile = math.prod(min(int(n), int(t)) for n, t in zip(req.shape, tile_side))
    values = tile * (8 + np.dtype(req.out_dtype).itemsize)
    return int(buffers) * (region + values) + tables


def _tile_path(req, device=None):
    if device == "cuda":
        return "cuda"
    return "reference" if req.backend == "reference" else "cpu"


def check_tile(req, tile_side, itemsize, *, what, hint, path="cpu", mask=False, buffers=1):
    """Refuse tiles whose estimated memory (:func:`tile_bytes`) exceeds the memory limit."""
    from ._memory import check_allocation

    sides = [min(int(n), int(t)) for n, t in zip(req.shape, tile_side)]
    need = tile_bytes(req, sides, itemsize, path=path, mask=mask, buffers=buffers)
    halo = " x ".join(str(min(int(n), s + 2 * r)) for n, s, r in zip(req.shape, sides, req.radii))
    return check_allocation(need, f"{what} of {' x '.join(map(str, sides))} pixels "
                            f"(with its halo {halo})", hint)


def budget_tile(req, per_px, budget):
    """The largest tile (halving its longest side) whose region fits ``budget`` bytes."""
    tile = [int(n) for n in req.shape]
    while _region_bytes(req, tile, per_px) > budget:
        if max(tile) == 1:
            raise MemoryError(
                f"a window of radii {req.radii} alone needs "
                f"{_region_bytes(req, tile, per_px)} bytes, over the memory budget of "
                f"{int(budget)} bytes; free memory, use a smaller radius, or stream the "
                "image from a file (gpuent entropy)"
            )
        ax = int(np.argmax(tile))
        tile[ax] = -(-tile[ax] // 2)
    return tuple(tile)


def tile_from_reader(read, read_mask, req: MapRequest, tile, dtype, device=None):
    """Read the tile's region through ``read(slices)`` (and ``read_mask``) and compute it.

    ``device="cuda"`` moves the region to the GPU (CuPy) and the result back.
    """
    geo = tile_geometry(req.shape, req.radii, req.mode, tile)
    uniq = [g[0] for g in geo]
    region = read_region(read, uniq, np.empty(tuple(u.size for u in uniq), dtype=dtype))
    mask = None
    if read_mask is not None:
        mask = read_region(read_mask, uniq, np.empty(region.shape, dtype=bool))
    if device == "cuda":
        from ._backend import cupy_or_none

        cp = cupy_or_none()
        region = cp.asarray(region)
        mask = None if mask is None else cp.asarray(mask)
    values = compute_tile(region, mask, [g[1] for g in geo], [b - a for a, b in tile], req)
    if device == "cuda":
        values = values.get()
    return values


# --------------------------------------------------------------------------- streaming

def source_stats(source, tile):
    """A ``stats`` callable for :func:`make_request` that streams over ``source``."""

    def stats(need):
        lo, hi, any_inf, found = math.inf, -math.inf, False, False
        for t in tiles_of(source.shape, tile):
            block = np.asarray(source[tuple(slice(a, b) for a, b in t)])
            if need == "int":
                lo = min(lo, int(block.min()))
                hi = max(hi, int(block.max()))
                found = True
                continue
            x = block.astype(np.float64)
            ok = np.isfinite(x)
            any_inf = any_inf or bool(np.isinf(x).any())
            if ok.any():
                found = True
                lo = min(lo, float(x[ok].min()))
                hi = max(hi, float(x[ok].max()))
        if need == "int":
            return lo, hi
        return (lo, hi, any_inf) if found else (0.0, 0.0, any_inf)

    return stats


def stream_map(source, sink, req: MapRequest, tile, *, progress=False, device=None):
    """Compute ``req`` over ``source`` tile by tile in row-major order, handing tiles to ``sink``.

    ``source`` supports ``shape``, ``dtype`` and basic slicing (see
    :mod:`gpuent.io`); ``sink(tile, values)`` stores one tile. Only one
    tile and its halo are in memory at a time.
    """
    for _ in iter_tiles(source, req, tile, progress=progress, device=device, sink=sink):
        pass


def iter_tiles(source, req: MapRequest, tile, *, progress=False, device=None, sink=None):
    """Yield ``(tile, values)`` in row-major tile order (after ``sink`` stored them, if given).

    ``device="cuda"`` streams through the GPU with pinned double buffers on a separate
    copy stream (:mod:`gpuent._gpu_stream`): the same tiles, the same bits.
    """
    check_tile(req, tile, np.dtype(source.dtype).itemsize, what="a streamed tile",
               hint="use a smaller tile (--tile) or radius",
               path=_tile_path(req, device), buffers=2 if device == "cuda" else 1)
    if device == "cuda":
        from ._gpu_stream import iter_tiles_gpu

        for t, values in iter_tiles_gpu(source, req, tile, sink=sink, progress=progress):
            yield t, values.copy()  # the pinned buffer is reused two tiles later
        return
    from tqdm.auto import tqdm

    dtype = np.dtype(source.dtype)

    def read(slices):
        return np.asarray(source[slices])

    bar = tqdm(total=int(np.prod(req.shape)), unit="pix", unit_scale=True, disable=not progress,
               desc="entropy", leave=False)
    try:
        for t in tiles_of(req.shape, tile):
            values = tile_from_reader(read, None, req, t, dtype, device=device)
            if sink is not None:
                sink(t, values)
            bar.update(int(np.prod([b - a for a, b in t])))
            yield t, values
    finally:
        bar.close()
