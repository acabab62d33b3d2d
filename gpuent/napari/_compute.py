"""The computations behind the napari widgets, free of Qt and napari.

Everything here takes and returns plain arrays (NumPy, CuPy or Dask) so that it can be tested
without a viewer; the widgets in :mod:`gpuent.napari._widgets` only add threads and layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import gpuent
from gpuent import footprints, ising

__all__ = [
    "EXPECTED_FUNCTIONS",
    "FOOTPRINTS",
    "MODES",
    "SCHEDULES",
    "STATISTICS",
    "MapRequest",
    "anneal_lattice",
    "build_model",
    "build_schedule",
    "iter_map",
    "local_map",
    "map_name",
    "to_uint8",
    "write_anneal_movie",
]

STATISTICS = ("entropy", "renyi", "std", "mean", "expected")
ESTIMATORS = ("plugin", "miller-madow", "grassberger", "dirichlet")
FOOTPRINTS = ("box", "disk", "ball", "cube")
MODES = ("clip", "reflect", "mirror", "wrap")
SCHEDULES = ("constant", "linear", "arctan", "heat-then-cool")

# f of local_expected, by name: sum_k p_k f(p_k) over each window's histogram
EXPECTED_FUNCTIONS = {
    "collision p": lambda p: p,                    # sum p^2: probability two pixels agree
    "gini 1-p": lambda p: 1.0 - p,                 # Gini-Simpson index, sum p (1 - p)
    "laurent 1/p-1": lambda p: 1.0 / p - 1.0,      # notebook 7.3: distinct levels - 1
    "taylor -(1+p)": lambda p: -(1.0 + p),         # notebook 7.3
}


def _is_dask(x) -> bool:
    return type(x).__module__.split(".")[0] == "dask"


def as_lazy(data):
    """A Dask view of chunked, file-backed layer data (a Zarr array, an HDF5 dataset ...),
    chunked as stored; Dask arrays as they are; None for in-memory arrays (NumPy, CuPy)."""
    if _is_dask(data):
        return data
    if isinstance(data, np.ndarray) or type(data).__module__.split(".")[0] == "cupy":
        return None
    chunks = getattr(data, "chunks", None)
    if chunks is None or not hasattr(data, "shape"):
        return None
    import dask.array as da

    return da.from_array(data, chunks=chunks)


@dataclass
class MapRequest:
    """What to compute: one windowed statistic of an image.

    Parameters
    ----------
    statistic : {"entropy", "renyi", "std", "mean", "expected"}
    radius : int
        Window radius r (the window spans 2r + 1 pixels per axis).
    footprint : {"box", "disk", "ball", "cube"}
        "box" is the (2r+1)-square per plane (2-D); "disk" the 2-D disk; "ball" and "cube"
        are 3-D windows (the image must have at least 3 dimensions).
    mode : {"clip", "reflect", "mirror", "wrap"}
    bins : int, optional
        Levels for float images (required for them by the entropy statistics).
    value_range : (float, float), optional
        Range mapped onto the bins; default the image's global min and max.
    estimator : str
        Entropy estimator (``statistic="entropy"``).
    alpha : float
        Rényi order (``statistic="renyi"``).
    function : str
        Key of :data:`EXPECTED_FUNCTIONS` (``statistic="expected"``).
    backend : None | "reference" | "cpu" | "cuda"
    """

    statistic: str = "entropy"
    radius: int = 7
    footprint: str = "box"
    mode: str = "clip"
    bins: int | None = None
    value_range: tuple | None = None
    estimator: str = "plugin"
    alpha: float = 2.0
    function: str = "collision p"
    backend: str | None = None
    extra: dict = field(default_factory=dict)

    def check(self, ndim: int) -> None:
        """Raise ValueError for options that cannot go together, saying what to change."""
        if self.statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {self.statistic!r}")
        if self.footprint not in FOOTPRINTS:
            raise ValueError(f"footprint must be one of {FOOTPRINTS}, got {self.footprint!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if isinstance(self.radius, bool) or int(self.radius) != self.radius or self.radius < 0:
            raise ValueError(f"radius must be an integer >= 0, got {self.radius!r}")
        if self.statistic == "entropy" and self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.statistic == "expected" and self.function not in EXPECTED_FUNCTIONS:
            raise ValueError(f"function must be one of {sorted(EXPECTED_FUNCTIONS)}, "
                             f"got {self.function!r}")
        if ndim < 2:
            raise ValueError(f"the layer must have at least 2 dimensions, it has {ndim}")
        if self.window_ndim == 3 and ndim < 3:
            raise ValueError(f"a {self.footprint} is a 3-D window; the layer is 2-D: "
                             "choose box or disk")
        if self.statistic in ("std", "mean") and self.footprint not in ("box", "cube"):
            raise ValueError(f"{self.statistic} uses box windows: choose footprint box or cube")

    @property
    def window_ndim(self) -> int:
        return 3 if self.footprint in ("ball", "cube") else 2

    def window(self):
        """``(radius, footprint)`` keyword values for the gpuent functions."""
        r = int(self.radius)
        if self.footprint == "box":
            return r, None
        if self.footprint == "cube":
            return (r, r, r), None
        if self.footprint == "disk":
            return None, footprints.disk(r)
        z, y, x = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1]
        return None, x * x + y * y + z * z <= r * r

    def window_size(self) -> int:
        radius, fp = self.window()
        if fp is not None:
            return int(np.count_nonzero(fp))
        return (2 * int(self.radius) + 1) ** self.window_ndim

    def label(self) -> str:
        """Statistic and window for layer names: ``entropy r=7``, ``renyi(2) disk r=3``."""
        if self.statistic == "renyi":
            stat = f"renyi({self.alpha:g})"
        elif self.statistic == "entropy" and self.estimator != "plugin":
            stat = f"entropy[{self.estimator}]"
        elif self.statistic == "expected":
            stat = f"expected[{self.function.split()[0]}]"
        else:
            stat = self.statistic
        shape = "" if self.footprint == "box" else f"{self.footprint} "
        return f"{stat} {shape}r={int(self.radius)}"


def map_name(layer_name: str, req: MapRequest) -> str:
    """Name of the map layer: ``"<name> entropy r=7"``."""
    return f"{layer_name} {req.label()}"


def _plane_function(req: MapRequest, value_range):
    """f(block) computing the statistic on one block of ``req.window_ndim`` dimensions."""
    radius, fp = req.window()
    win = {"mode": req.mode, "backend": req.backend}
    hist = dict(win, radius=radius, footprint=fp, bins=req.bins, value_range=value_range)
    stat = req.statistic
    if stat == "entropy":
        return lambda b: gpuent.local_entropy(b, estimator=req.estimator, **hist)
    if stat == "renyi":
        return lambda b: gpuent.local_renyi_entropy(b, float(req.alpha), **hist)
    if stat == "expected":
        f = EXPECTED_FUNCTIONS[req.function]
        return lambda b: gpuent.local_expected(b, f, **hist)
    func = gpuent.local_mean if stat == "mean" else gpuent.local_std
    return lambda b: func(b, radius, mode=req.mode, backend=req.backend)


def _value_range(image, req: MapRequest):
    """The range of the bins: the request's, or the image's finite min and max (global, so
    every plane and tile of a layer uses the same levels)."""
    if req.value_range is not None or req.bins is None or req.statistic in ("std", "mean"):
        return None if req.value_range is None else tuple(float(v) for v in req.value_range)
    if _is_dask(image):
        import dask.array as da

        lo, hi = da.compute(da.nanmin(image), da.nanmax(image))
    else:
        from array_api_compat import array_namespace

        xp = array_namespace(image)
        finite = image[xp.isfinite(image)]
        if finite.size == 0:
            raise ValueError("the layer has no finite value to make bins from")
        lo, hi = xp.min(finite), xp.max(finite)
    lo, hi = float(lo), float(hi)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _check_levels(image, req: MapRequest) -> None:
    if req.statistic in ("std", "mean"):
        return
    kind = np.dtype(str(image.dtype)).kind
    if kind == "f" and req.bins is None:
        raise ValueError("this layer holds floats: set bins (e.g. 64) to make intensity "
                         "levels for the histogram")


def _batch_shape(shape, req: MapRequest):
    k = req.window_ndim
    return tuple(shape[:-k]), tuple(shape[-k:])


def _strips(n: int, halo: int, wrap: bool):
    """Row ranges ``(a, b)`` that split an axis of length ``n`` into strips of about 64 rows,
    each computed with ``halo`` extra rows on both sides (one strip with mode wrap)."""
    if wrap or n <= 96:
        return [(0, n)]
    step = max(64, -(-n // 16))
    return [(a, min(n, a + step)) for a in range(0, n, step)]


def _check_memory(image, req: MapRequest) -> None:
    """Refuse a layer whose float32 map (and the bins' finite copy) exceeds the memory limit.

    Each plane or strip is then checked by the gpuent function that computes it.
    """
    from gpuent._memory import check_map

    per_px = 4  # the float32 map, allocated whole
    if req.bins is not None and req.value_range is None and req.statistic not in ("std", "mean"):
        per_px += 1 + np.dtype(str(image.dtype)).itemsize  # finite mask and finite values
    check_map(image.shape, bytes_per_pixel=per_px, what="a map layer",
              hint="open the data as a Dask or Zarr array (computed lazily, chunk by chunk), "
              "or use a smaller image")


def iter_map(image, req: MapRequest):
    """Compute the map of ``image`` (NumPy or CuPy) piece by piece.

    Yields ``(done, total, out)`` after each piece: planes of a stack (when the window has
    fewer dimensions than the image) and strips of rows inside a plane, so a caller can
    report progress and stop between pieces. Strips carry ``radius`` rows of context on
    each side, so the result equals one call on the whole plane bit for bit (mode wrap is
    computed whole).

    Parameters
    ----------
    image : array with ndim >= 2 (>= 3 for ball and cube)
    req : MapRequest

    Yields
    ------
    (int, int, array)
        Pieces done, pieces in all, and the output array (float32, filled so far).
    """
    req.check(image.ndim)
    _check_levels(image, req)
    _check_memory(image, req)
    value_range = _value_range(image, req)
    func = _plane_function(req, value_range)
    batch, _ = _batch_shape(image.shape, req)
    try:
        import cupy

        xp = cupy if isinstance(image, cupy.ndarray) else np
    except ImportError:
        xp = np
    out = xp.empty(image.shape, dtype=xp.float32)
    halo = int(req.radius)
    n0 = image.shape[-req.window_ndim]
    strips = _strips(n0, halo, req.mode == "wrap")
    planes = list(np.ndindex(*batch)) if batch else [()]
    total = len(planes) * len(strips)
    done = 0
    for idx in planes:
        block = image[idx]
        for a, b in strips:
            lo, hi = max(0, a - halo), min(n0, b + halo)
            if (lo, hi) == (0, n0):
                out[idx] = func(block)
            else:
                part = func(block[lo:hi])
                out[idx + (slice(a, b),)] = part[a - lo:a - lo + (b - a)]
            done += 1
            yield done, total, out


def local_map(image, req: MapRequest):
    """The map of ``image``: NumPy/CuPy computed now, Dask lazily.

    A Dask array (or chunked file-backed data such as a Zarr array, see :func:`as_lazy`)
    gives a Dask array: with the window covering all the image's dimensions it
    is gpuent's own lazy map; otherwise the leading (time, channel ...) axes stay chunked and
    every chunk is mapped plane by plane when napari asks for it.

    Parameters
    ----------
    image : array (NumPy, CuPy or Dask), ndim >= 2
    req : MapRequest

    Returns
    -------
    array of float32, the shape of ``image``
    """
    lazy = as_lazy(image)
    if lazy is None:
        result = None
        for _, _, piece in iter_map(image, req):
            result = piece
        return result
    image = lazy
    req.check(image.ndim)
    _check_levels(image, req)
    value_range = _value_range(image, req)
    func = _plane_function(req, value_range)
    batch, win = _batch_shape(image.shape, req)
    if not batch:
        return _whole_dask(image, req, value_range)
    k = len(win)
    chunks = {i: -1 for i in range(image.ndim - k, image.ndim)}
    src = image.rechunk(chunks)

    def per_block(block):
        out = np.empty(block.shape, dtype=np.float32)
        for idx in np.ndindex(*block.shape[:-k]):
            out[idx] = func(np.asarray(block[idx]))
        return out

    return src.map_blocks(per_block, dtype=np.float32)


def _whole_dask(image, req: MapRequest, value_range):
    """gpuent's own lazy map of a chunked Dask array whose window spans all its axes."""
    radius, fp = req.window()
    opts = {"mode": req.mode, "backend": req.backend}
    hist = dict(opts, radius=radius, footprint=fp, bins=req.bins, value_range=value_range)
    if req.statistic == "entropy":
        return gpuent.local_entropy(image, estimator=req.estimator, **hist)
    if req.statistic == "renyi":
        return gpuent.local_renyi_entropy(image, float(req.alpha), **hist)
    if req.statistic == "expected":
        return gpuent.local_expected(image, EXPECTED_FUNCTIONS[req.function], **hist)
    func = gpuent.local_mean if req.statistic == "mean" else gpuent.local_std

    def stat(b):
        return np.asarray(func(np.asarray(b), radius, mode=req.mode), dtype=np.float32)

    if req.mode == "clip":  # windows cut at the image's border only: overlap the chunks
        return image.map_overlap(stat, depth=int(req.radius), boundary="none",
                                 dtype=np.float32)
    return image.rechunk(image.shape).map_blocks(stat, dtype=np.float32)


def contrast_limits(req: MapRequest, data, source_limits=None):
    """Contrast limits for the map layer.

    Entropy maps: 0 to the largest value a window can reach (log2 of the smaller of the
    window size and the number of levels) for lazy data, else the map's finite range; std
    and mean: the map's range (lazy data: the source layer's limits).
    """
    if not _is_dask(data):
        arr = np.asarray(data.get() if hasattr(data, "get") else data)
        finite = arr[np.isfinite(arr)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            return (lo, hi if hi > lo else lo + 1.0)
    if req.statistic in ("entropy", "renyi"):
        n = req.window_size()
        levels = req.bins or 256
        return (0.0, max(1.0, math.log2(min(n, levels))))
    if source_limits is not None:
        lo, hi = (float(v) for v in source_limits)
        return (0.0, max(hi - lo, 1.0) / 2) if req.statistic == "std" else (lo, hi)
    return (0.0, 1.0)


# ---- Ising ----------------------------------------------------------------------------


def to_uint8(plane, limits=None) -> np.ndarray:
    """uint8 picture of a 2-D plane: its contrast limits (default its own min and max) map
    onto 0..255; sides cropped to even (the lattice is updated as a checkerboard)."""
    a = np.asarray(plane)
    if a.ndim != 2:
        raise ValueError(f"the anneal needs a 2-D plane, got shape {a.shape}")
    h, w = a.shape[0] - a.shape[0] % 2, a.shape[1] - a.shape[1] % 2
    if h < 2 or w < 2:
        raise ValueError(f"the plane is too small for a lattice: {a.shape}")
    a = a[:h, :w]
    if a.dtype == np.uint8 and limits is None:
        return np.ascontiguousarray(a)
    if a.dtype == bool:
        return a.astype(np.uint8) * np.uint8(255)
    x = a.astype(np.float64)
    if limits is None:
        finite = x[np.isfinite(x)]
        limits = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    lo, hi = float(limits[0]), float(limits[1])
    if hi <= lo:
        hi = lo + 1.0
    y = np.nan_to_num((x - lo) / (hi - lo), nan=0.0)
    return np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)


def build_model(picture: np.ndarray, model: str = "torus", *, spins: str = "binary",
                threshold: float = 0.25, energy: str = "block"):
    """The Ising model of a uint8 picture (see :func:`to_uint8`).

    Parameters
    ----------
    picture : 2-D uint8 array, even sides
    model : {"torus", "edge", "metric"}
    spins : {"binary", "continuous"}
        Torus only.
    threshold : float
        Edge model: gradient threshold of the edges.
    energy : {"block", "symmetric"}
        Metric model: the notebook's ``ienergy`` or ``sienergy``.
    """
    if model == "torus":
        return ising.torus(init=picture, spins=spins)
    if model == "edge":
        return ising.edge_model(picture, threshold=threshold)
    if model == "metric":
        return ising.metric_model(picture, energy=energy)
    raise ValueError(f"model must be torus, edge or metric, got {model!r}")


def build_schedule(kind: str = "constant", *, beta: float = 0.44, beta_end: float = 1.0,
                   scale: float = 0.5):
    """A schedule by the widget's names.

    ``constant`` (``beta``), ``linear`` (``beta`` to ``beta_end``), ``arctan`` (``scale``,
    notebook 12.2) or ``heat-then-cool`` (linear from ``beta_end`` down to ``beta`` over the
    first half, back up over the second: the notebook's 12.3 movie with 4 and 1e-3).
    """
    if kind == "constant":
        return ising.constant(beta)
    if kind == "linear":
        return ising.linear(beta, beta_end)
    if kind == "arctan":
        return ising.arctan(scale)
    if kind == "heat-then-cool":
        return ising.piecewise(ising.linear(beta_end, beta), ising.linear(beta, beta_end))
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")


def anneal_lattice(sim, betas, start: int, *, min_interval: float = 1 / 30):
    """Run ``sim`` from sweep ``start`` of the schedule ``betas`` (one beta per sweep).

    Yields ``(sweep, frame)`` (sweeps done so far in the schedule, uint8 picture) about every
    ``min_interval`` seconds (at least one sweep between frames) and after the last sweep.
    The caller stops it between frames; a later call with ``start=sweep`` resumes.
    """
    import time

    n = len(betas)
    t = int(start)
    last = time.perf_counter()
    while t < n:
        sim.run(1, beta=betas[t:t + 1], record_every=0, progress=False)
        t += 1
        now = time.perf_counter()
        if now - last >= min_interval or t == n:
            last = now
            yield t, sim.frame()


def write_anneal_movie(path, picture, settings, *, every=1, fps=25):
    """Replay the anneal ``settings`` of ``picture`` from sweep 0 into a movie at ``path``.

    The movie carries gpuent's provenance record (:func:`gpuent.io.read_provenance`):
    the widget's settings, the schedule, the seed, the frame count and the path taken.
    It appears whole or not at all.
    """
    from gpuent.ising import MovieWriter
    from gpuent.provenance import note, recording

    path = Path(path)
    model = build_model(picture, settings["model"], spins=settings["spins"])
    sched = build_schedule(settings["schedule"], beta=settings["beta"],
                           beta_end=settings["beta_end"], scale=settings["scale"])
    backend = None if settings["backend"] == "auto" else settings["backend"]
    parameters = dict(settings, frame_every_sweeps=int(every), fps=int(fps))
    with recording(function="gpuent.napari.write_anneal_movie", parameters=parameters):
        sim = gpuent.ising.Simulation(model, seed=settings["seed"], backend=backend)
        writer = MovieWriter(path, fps=fps)
        try:
            writer.append(sim.frame())
            trace = sim.run(int(settings["sweeps"]), beta=sched, record_every=0, frames=every,
                            movie=writer, progress=False)
            note(tool="gpuent napari plugin, Anneal widget", frames=trace.frame_count + 1,
                 schedule_name=sched.name, simulation_backend=sim.backend)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return path
