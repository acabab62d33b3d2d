"""Local mean and standard deviation, block maps and generic window maps.

These are the REU notebook's kernels (section 6) made fast and backend-agnostic:

- :func:`local_mean`, :func:`local_std`: the notebook's ``mapbox(r, np.mean, a)`` and
  ``mapbox(r, np.std, a)`` in O(1) per pixel with summed-area tables (one cumulative
  sum per axis), in any array-API namespace.
- :func:`block_map`: the notebook's ``mapblocks`` (``np.array_split`` into ``blocks``
  parts per axis), vectorized for the built-in quantities.
- :func:`window_map`: the notebook's ``mapbox`` for any Python callable: generic and slow.

The public names are re-exported from :mod:`gpuent.local`.
"""

from __future__ import annotations

import itertools
import math
import numbers
import sys

import numpy as np

from ._backend import array_namespace, choose_backend, is_numpy
from ._kernels.histogram.spec import boundary_index, check_index_map
from ._memory import check_allocation, check_map, nbytes_of
from ._validate import check_dtype, check_image, check_mode, check_radii, dtype_kind

__all__ = ["BLOCK_STATS", "block_map", "local_mean", "local_std", "window_map"]

#: Quantities :func:`block_map` computes vectorized (by name).
BLOCK_STATS = ("mean", "std", "var", "sum", "min", "max", "any", "all", "count", "entropy")


# ----------------------------------------------------------------------------- windows


def _radii(radius, ndim):
    """Per-axis radii (ints) from an int or one int per axis."""
    return check_radii(radius, ndim)


def extend_index(n: int, r: int, mode: str) -> np.ndarray:
    """Host index map of length ``n + 2 r`` that extends an axis of length ``n`` by ``r``
    (:func:`gpuent._kernels.histogram.spec.boundary_index`, the one boundary rule)."""
    return boundary_index(n, r, r, mode)


def _device_of(x):
    return getattr(x, "device", None)


def _asindex(xp, values, like):
    dev = _device_of(like)
    if dev is None or is_numpy(xp):
        return xp.asarray(values)
    return xp.asarray(values, device=dev)


def _window_sum_axis(xp, a, axis, r, mode):
    """Sum over the window ``[i - r, i + r]`` along ``axis``: one cumulative sum, two takes."""
    if r == 0:
        return a
    n = a.shape[axis]
    i = np.arange(n, dtype=np.int64)
    if mode == "clip":
        s = xp.cumulative_sum(a, axis=axis, include_initial=True)
        hi, lo = np.minimum(i + r + 1, n), np.maximum(i - r, 0)
    else:
        a = xp.take(a, _asindex(xp, extend_index(n, r, mode), a), axis=axis)
        s = xp.cumulative_sum(a, axis=axis, include_initial=True)
        hi, lo = i + 2 * r + 1, i
    return xp.take(s, _asindex(xp, hi, s), axis=axis) - xp.take(s, _asindex(xp, lo, s), axis=axis)


def _box_sum(xp, a, radii, mode):
    for axis, r in enumerate(radii):
        a = _window_sum_axis(xp, a, axis, r, mode)
    return a


def _window_counts(shape, radii, mode):
    """Host int64 array: number of pixels in each window (it shrinks at borders in clip)."""
    count = np.ones((1,) * len(shape), dtype=np.int64)
    for axis, (n, r) in enumerate(zip(shape, radii, strict=True)):
        i = np.arange(n, dtype=np.int64)
        c = np.minimum(i + r + 1, n) - np.maximum(i - r, 0) if mode == "clip" else i * 0 + 2 * r + 1
        view = [1] * len(shape)
        view[axis] = n
        count = count * c.reshape(view)
    return count


_kernel = None


def _get_kernel():
    """Compile the Numba kernel on first use (never at import), cached on disk."""
    global _kernel
    if _kernel is None:
        _kernel = _build_kernel()
    return _kernel


def _build_kernel():
    import numba
    from numba import prange

    @numba.njit(parallel=True, cache=True, nogil=True)
    def box_moments_2d(x, rmap, cmap, r0, r1, rcount, ccount, shift, second, out):
        # x: int64 (exact) or float64 (shifted) image; rmap/cmap: extended index maps
        # (-1 = outside, not counted); rcount/ccount: window sizes per row/column.
        n, m = x.shape
        w0, w1 = 2 * r0 + 1, 2 * r1 + 1
        h1 = np.empty((n, m), dtype=x.dtype)
        h2 = np.empty((n, m), dtype=x.dtype)
        for i in prange(n):  # pass 1: running sums along rows
            s1 = x[i, 0] * 0
            s2 = x[i, 0] * 0
            for t in range(w1 - 1):
                k = cmap[t]
                if k >= 0:
                    v = x[i, k]
                    s1 += v
                    s2 += v * v
            for j in range(m):
                k = cmap[j + w1 - 1]
                if k >= 0:
                    v = x[i, k]
                    s1 += v
                    s2 += v * v
                h1[i, j] = s1
                h2[i, j] = s2
                k = cmap[j]
                if k >= 0:
                    v = x[i, k]
                    s1 -= v
                    s2 -= v * v
        width = 256
        nblk = (m + width - 1) // width
        for b in prange(nblk):  # pass 2: running sums down columns, in strips
            j0 = b * width
            j1 = min(m, j0 + width)
            a1 = np.zeros(j1 - j0, dtype=x.dtype)
            a2 = np.zeros(j1 - j0, dtype=x.dtype)
            for t in range(w0 - 1):
                k = rmap[t]
                if k >= 0:
                    for j in range(j0, j1):
                        a1[j - j0] += h1[k, j]
                        a2[j - j0] += h2[k, j]
            for i in range(n):
                k = rmap[i + w0 - 1]
                if k >= 0:
                    for j in range(j0, j1):
                        a1[j - j0] += h1[k, j]
                        a2[j - j0] += h2[k, j]
                for j in range(j0, j1):
                    c = rcount[i] * ccount[j]
                    s1 = a1[j - j0]
                    if second:
                        num = c * a2[j - j0] - s1 * s1
                        cf = np.float64(c)
                        var = np.float64(num) / (cf * cf)
                        out[i, j] = np.sqrt(var) if var > 0 else 0.0
                    else:
                        out[i, j] = np.float64(s1) / np.float64(c) + shift
                k = rmap[i]
                if k >= 0:
                    for j in range(j0, j1):
                        a1[j - j0] -= h1[k, j]
                        a2[j - j0] -= h2[k, j]

    return box_moments_2d


def _moments_cpu(image, kind, radii, mode, out, exact, second):
    x = np.asarray(image)
    if exact:
        x = x.astype(np.int64)
        shift = 0.0
    else:
        x = x.astype(np.float64)
        finite = np.isfinite(x)
        shift = float(x[finite].mean()) if finite.any() else 0.0
        if not math.isfinite(shift):
            shift = 0.0
        x -= shift
    (n, m), (r0, r1) = x.shape, radii
    rmap, cmap = extend_index(n, r0, mode), extend_index(m, r1, mode)
    counts = [
        (np.minimum(np.arange(k) + r + 1, k) - np.maximum(np.arange(k) - r, 0))
        if mode == "clip" else np.full(k, 2 * r + 1)
        for k, r in ((n, r0), (m, r1))
    ]
    rc, cc = (c.astype(x.dtype) for c in counts)
    # one output dtype (float64, cast afterwards: the same rounding) and a read-only
    # input: two compiled signatures (int64 and float64 sums) serve every call
    res = np.empty((n, m), dtype=np.float64)
    from ._kernels._numba import ensure_compiled, readonly

    call = (readonly(np.ascontiguousarray(x)), rmap, cmap, int(r0), int(r1), rc, cc,
            float(shift), bool(second), res)
    kernel = _get_kernel()
    ensure_compiled(kernel, call, f"local mean/std of {x.dtype} sums")
    kernel(*call)
    return res if np.dtype(out) == np.float64 else res.astype(out)


def _prepare(image, radius, mode, dtype):
    xp, image = check_image(image, ndims=(1, 2, 3))
    mode = check_mode(mode)
    out = check_dtype(dtype, xp)
    radii = _radii(radius, image.ndim)
    if mode == "clip":  # a window wider than the image is the image: same sums, bounded cost
        radii = [min(int(r), max(int(n) - 1, 0)) for r, n in zip(radii, image.shape)]
    else:  # the padded index maps grow with the radius: refuse before any window arithmetic
        for r, n in zip(radii, image.shape):
            check_index_map(n, r, r)
    # float64 window sums, squares, counts, mean and variance, plus the output
    check_map(image.shape, bytes_per_pixel=56, what="a local mean/std map")
    kind = dtype_kind(image)
    if kind == "b":
        image = xp.astype(image, xp.uint8)
        kind = "u"
    return xp, image, radii, mode, kind, out


def _integer_exact(xp, image, kind, counts_max):
    """True when sums of x and x^2 (and count * sum x^2) fit in int64 exactly."""
    if kind not in ("u", "i"):
        return False
    m = max(abs(int(xp.min(image))), abs(int(xp.max(image))))
    return counts_max * m < 2**31 - 1


def _local_moments(image, radius, mode, dtype, second, backend):
    xp, image, radii, mode, kind, out = _prepare(image, radius, mode, dtype)
    path = choose_backend(backend, xp, ("reference", "cpu") if image.ndim == 2 else ("reference",))
    counts_max = 1
    for n, r in zip(image.shape, radii, strict=True):
        counts_max *= min(n, 2 * r + 1) if mode == "clip" else 2 * r + 1
    exact = _integer_exact(xp, image, kind, counts_max)
    if path == "cpu" and (exact or not bool(xp.any(xp.isnan(xp.astype(image, xp.float64))))):
        return _moments_cpu(image, kind, radii, mode, out, exact, second)
    counts = _asindex(xp, _window_counts(tuple(image.shape), radii, mode), image)
    if exact:
        # Exact integer sums: constant windows give exactly 0 variance.
        x = xp.astype(image, xp.int64)
        s1 = _box_sum(xp, x, radii, mode)
        mean = xp.astype(s1, xp.float64) / xp.astype(counts, xp.float64)
        if not second:
            return xp.astype(mean, out)
        s2 = _box_sum(xp, x * x, radii, mode)
        num = xp.astype(counts * s2 - s1 * s1, xp.float64)
        c = xp.astype(counts, xp.float64)
        return xp.astype(xp.sqrt(num / (c * c)), out)
    # Floating point: subtract the global mean first to limit cancellation in E[x^2]-E[x]^2.
    x = xp.astype(image, xp.float64)
    finite = xp.isfinite(x)
    shift = float(xp.mean(x[finite])) if bool(xp.any(finite)) else 0.0
    if not math.isfinite(shift):
        shift = 0.0
    y = x - shift
    c = xp.astype(counts, xp.float64)
    nan = xp.isnan(x)
    if bool(xp.any(nan)):  # NaN pixels are not counted; empty windows give NaN
        y = xp.where(nan, xp.zeros_like(y), y)
        c = _box_sum(xp, xp.astype(xp.logical_not(nan), xp.float64), radii, mode)
        c = xp.where(c > 0, c, xp.full_like(c, xp.nan))
    m = _box_sum(xp, y, radii, mode) / c
    if not second:
        return xp.astype(m + shift, out)
    var = _box_sum(xp, y * y, radii, mode) / c - m * m
    var = xp.where(var > 0, var, xp.zeros_like(var))
    return xp.astype(xp.sqrt(var), out)


def local_mean(image, radius, *, mode="clip", dtype=None, backend=None):
    """Mean over the (2r+1)-box around each pixel, in O(1) per pixel.

    Parameters
    ----------
    image : array
        1-, 2- or 3-D image (bool, integer or real floating point) of any
        array-API library; the result is in the same library and on the same device.
    radius : int or tuple of int
        The window is the square (2r+1)-box of the notebook's Definition 5 (one radius
        per axis allowed).
    mode : {"clip", "reflect", "mirror", "wrap"}
        ``"clip"`` (default): pixels outside the image are not counted, the window
        shrinks at the borders (the notebook's ``mapbox(r, np.mean, a)``). The others
        extend the image with scipy.ndimage's meaning (see :mod:`gpuent.local`).
    dtype : {None, "float32", "float64"}
        Output type; float32 by default (the sums are float64 or exact int64).
    backend : {None, "auto", "reference", "cpu"}
        ``"reference"``: array-API summed-area tables (any namespace, any dimension).
        ``"cpu"``: a Numba kernel for 2-D NumPy images (two running-sum passes, one
        allocation per pass). ``None`` or ``"auto"`` picks the fastest that applies.

    Returns
    -------
    array of float
        Same shape as ``image``.

    Notes
    -----
    One cumulative sum per axis (a separable summed-area table) gives every window
    sum with two look-ups, whatever the radius. Integer images are summed exactly in
    int64; floating-point images in float64 after subtracting the global mean. NaN
    pixels are not counted; a window with no counted pixel gives NaN.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> ge.local_mean(np.arange(5, dtype=np.uint8), 1).tolist()
    [0.5, 1.0, 2.0, 3.0, 3.5]
    """
    return _local_moments(image, radius, mode, dtype, False, backend)


def local_std(image, radius, *, mode="clip", dtype=None, backend=None):
    """Standard deviation over the (2r+1)-box around each pixel, in O(1) per pixel.

    The population standard deviation (``ddof=0``), so with ``mode="clip"`` it equals
    the notebook's ``mapbox(r, np.std, a)`` (section 7.1) to float rounding.

    Parameters
    ----------
    image : array
        1-, 2- or 3-D image (bool, integer or real floating point) of any
        array-API library; the result is in the same library and on the same device.
    radius : int or tuple of int
        The (2r+1)-box (one radius per axis allowed).
    mode : {"clip", "reflect", "mirror", "wrap"}, optional
        Image boundary, default ``"clip"``; as :func:`local_mean`.
    dtype : {None, "float32", "float64"}, optional
        Output type; float32 by default.
    backend : {None, "auto", "reference", "cpu"}, optional
        As :func:`local_mean`.

    Returns
    -------
    array of float
        Same shape as ``image``.

    Notes
    -----
    var = E[x^2] - E[x]^2 from two summed-area tables. For integer images the sums and
    ``n sum x^2 - (sum x)^2`` are exact in int64 (when they fit; otherwise float64),
    so flat windows give exactly 0. For floating-point images the global mean is
    subtracted first to limit cancellation and the variance is clamped at 0.
    """
    return _local_moments(image, radius, mode, dtype, True, backend)


# ----------------------------------------------------------------------------- blocks


def _split_bounds(n, parts):
    """Start offsets (length parts + 1) of ``np.array_split(range(n), parts)``."""
    q, rem = divmod(n, parts)
    sizes = np.full(parts, q, dtype=np.int64)
    sizes[:rem] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def _check_blocks(blocks, shape):
    if isinstance(blocks, numbers.Integral) and not isinstance(blocks, bool):
        blocks = (int(blocks),) * len(shape)
    try:
        blocks = tuple(int(b) for b in blocks)
    except TypeError:
        raise TypeError(f"blocks must be an int or one int per axis, got {blocks!r}") from None
    if len(blocks) != len(shape):
        raise ValueError(f"blocks has {len(blocks)} entries; give one per axis ({len(shape)})")
    for b, n in zip(blocks, shape, strict=True):
        if not 1 <= b <= n:
            raise ValueError(
                f"blocks={blocks} for an image of shape {tuple(shape)}: each number of parts "
                "must be between 1 and the axis length"
            )
    return blocks


def _block_dtype(dtype):
    try:
        want = np.dtype(dtype)
    except TypeError:
        want = None
    if want is None or want.kind not in "biuf":
        raise TypeError(f"dtype must be a boolean, integer or real floating-point dtype, "
                        f"got {dtype!r}")
    return want


def _builtin_name(func):
    if isinstance(func, str):
        if func not in BLOCK_STATS:
            raise ValueError(
                f"unknown block quantity {func!r}; use a callable or one of "
                + ", ".join(map(repr, BLOCK_STATS))
            )
        return func
    known = {np.mean: "mean", np.std: "std", np.var: "var", np.sum: "sum", np.min: "min",
             np.max: "max", np.any: "any", np.all: "all"}
    for f, name in known.items():
        if func is f:
            return name
    try:
        from .entropy import intensity_entropy
    except ImportError:  # pragma: no cover
        return None
    return "entropy" if func is intensity_entropy else None


def _reduce_regions(xp, a, bounds, reduce):
    """Apply ``reduce(array, axes)`` to every block; blocks of equal size go together.

    ``np.array_split`` gives at most two block sizes per axis, so the image is cut into
    at most 2^d rectangular regions, each reshaped to (n0, s0, n1, s1, ...) and reduced
    over the odd axes in one call.
    """
    ndim = a.ndim
    groups = []  # per axis: list of (start, stop, nblocks, size, first block index)
    for b in bounds:
        sizes = np.diff(b)
        g = []
        for s in np.unique(sizes)[::-1]:
            idx = np.nonzero(sizes == s)[0]
            g.append((int(b[idx[0]]), int(b[idx[-1] + 1]), len(idx), int(s), int(idx[0])))
        groups.append(g)
    pieces = {}
    for combo in itertools.product(*groups):
        region = a[tuple(slice(start, stop) for start, stop, _, _, _ in combo)]
        shape = []
        for _, _, nb, s, _ in combo:
            shape += [nb, s]
        red = reduce(xp.reshape(region, tuple(shape)), tuple(range(1, 2 * ndim, 2)))
        pieces[tuple(g[4] for g in combo)] = red
    # Reassemble: groups are contiguous and ordered (larger blocks come first).
    def assemble(axis, prefix):
        parts = []
        for g in groups[axis]:
            key = (*prefix, g[4])
            parts.append(pieces[key] if axis == ndim - 1 else assemble(axis + 1, key))
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=axis)

    return assemble(0, ())


def _block_entropy(xp, image, bounds, blocks):
    from ._levels import image_levels
    from .entropy import shannon_entropy

    lv = image_levels(xp, image)
    k = lv.nlevels
    # the dense (blocks x levels) histogram: int64 counts, float64 copies in the entropy
    cells = math.prod(blocks) * k
    check_allocation(nbytes_of((cells,), 48),
                     f"the level histograms of {math.prod(blocks)} blocks x {k} levels",
                     "use fewer blocks, or fewer levels (e.g. an image quantized to uint8)")
    # block id of every pixel, in the image's namespace
    bid = None
    for axis, (b, nb) in enumerate(zip(bounds, blocks, strict=True)):
        ids = np.repeat(np.arange(nb, dtype=np.int64), np.diff(b))
        view = [1] * image.ndim
        view[axis] = ids.size
        ids = _asindex(xp, ids.reshape(view), image)
        bid = ids if bid is None else bid * nb + ids
    key = xp.reshape(bid * k + xp.astype(lv.levels, xp.int64), (-1,))
    if lv.valid is not None:
        key = key[xp.reshape(lv.valid, (-1,))]
    total = int(np.prod(blocks)) * k
    if is_numpy(xp):
        counts = xp.asarray(np.bincount(np.asarray(key), minlength=total))
    else:
        flat = xp.sort(key)
        edges = xp.searchsorted(flat, _asindex(xp, np.arange(total + 1, dtype=np.int64), flat))
        counts = edges[1:] - edges[:-1]
    counts = xp.reshape(xp.astype(counts, xp.float64), (*blocks, k))
    return shannon_entropy(counts, base=2, axis=-1)


def _itemsize(image):
    try:
        return int(np.dtype(str(image.dtype)).itemsize)
    except TypeError:  # pragma: no cover - a dtype NumPy does not name
        return 8


#: peak temporaries per pixel of each block quantity (bytes): float64 copies and
#: reshaped regions, bool/int64 planes; "entropy": levels, block ids and keys (int64)
_BLOCK_BYTES_PER_PIXEL = {"any": 2, "all": 2, "count": 18, "sum": 16, "entropy": 64}
_BLOCK_HINT = "use fewer or larger blocks, or a smaller image (crop or downsample it)"


def _check_block_memory(image, name, blocks):
    """Refuse a block map whose temporaries and output would exceed the memory limit."""
    nblocks = math.prod(blocks)
    if name is None:  # a callable per block: the float64 output and its copy
        check_allocation(16 * nblocks, f"a block map of {nblocks} blocks", _BLOCK_HINT)
        return
    per_px = _BLOCK_BYTES_PER_PIXEL.get(name, 16 + _itemsize(image))
    check_map(image.shape, bytes_per_pixel=per_px, table_bytes=16 * nblocks,
              what=f"a block map ({name!r})", hint=_BLOCK_HINT)


def block_map(image, func, blocks, *, dtype=None):
    """Apply ``func`` to disjoint blocks: the notebook's ``mapblocks`` (section 7.4).

    The image is cut like ``np.array_split`` into ``blocks[0]`` parts along axis 0,
    ``blocks[1]`` along axis 1, and so on (parts differ in size by at most one pixel,
    larger ones first), and ``func`` maps each block to a number.

    Parameters
    ----------
    image : array
        1-, 2- or 3-D array of any array-API library.
    func : str or callable
        A built-in quantity, computed vectorized in the image's namespace:
        ``"mean"``, ``"std"``, ``"var"``, ``"sum"``, ``"min"``, ``"max"``, ``"any"``,
        ``"all"``, ``"count"`` (non-zero pixels) or ``"entropy"`` (the intensity-level
        entropy in bits, levels as :func:`gpuent.intensity_entropy`). ``np.mean``,
        ``np.std``, ``np.var``, ``np.sum``, ``np.min``, ``np.max``, ``np.any``, ``np.all``
        and :func:`gpuent.intensity_entropy` are recognised and take the same fast path.
        Any other callable is called once per block (a view of the image, in its
        namespace) and must return a number.
    blocks : int or tuple of int
        Number of parts per axis, ``(h, w)`` for a 2-D image (an int for all axes); not
        a block size: ``(4, 8)`` cuts a 512 x 512 image into 4 x 8 blocks of 128 x 64
        pixels. For blocks of side ``s`` pass ``(height // s, width // s)``.
    dtype : dtype, optional
        Output dtype (a NumPy dtype or its name, e.g. ``"float64"``; the image's
        namespace gives the array). By default the rule of NumPy's reductions, so
        ``block_map(x, "max", b)`` matches ``np.max`` of each block: see Returns.

    Returns
    -------
    array of shape ``blocks``
        In the image's namespace, of ``dtype`` when given; otherwise float64 for
        ``"mean"``, ``"std"``, ``"var"``, ``"entropy"``, ``"sum"`` of floats and any
        other callable (its numbers are taken as floats), bool for
        ``"any"``/``"all"``, int64 for ``"count"`` and ``"sum"`` of bool or integers,
        and the image's dtype for ``"min"``/``"max"``.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> ge.block_map(np.arange(12).reshape(3, 4), "max", (2, 2)).tolist()
    [[5, 7], [9, 11]]
    """
    if dtype is not None:
        want = _block_dtype(dtype)
        out = block_map(image, func, blocks)
        xp = array_namespace(out)
        return xp.astype(out, getattr(xp, want.name))
    xp, image = check_image(image, ndims=(1, 2, 3))
    blocks = _check_blocks(blocks, tuple(image.shape))
    name = _builtin_name(func)
    _check_block_memory(image, name, blocks)
    bounds = [_split_bounds(n, b) for n, b in zip(image.shape, blocks, strict=True)]
    if name is None:
        if not callable(func):
            raise TypeError("func must be a callable or the name of a built-in block quantity")
        out = np.empty(blocks, dtype=np.float64)
        for idx in np.ndindex(*blocks):
            sl = tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, idx, strict=True))
            out[idx] = float(func(image[sl]))
        return _asindex(xp, out, image)
    if name == "entropy":
        return _block_entropy(xp, image, bounds, blocks)
    kind = dtype_kind(image)
    if name in ("any", "all", "count"):
        a = image if kind == "b" else image != 0
        if name == "count":
            a = xp.astype(a, xp.int64)
            return _reduce_regions(xp, a, bounds, lambda v, ax: xp.sum(v, axis=ax))
        red = xp.any if name == "any" else xp.all
        return _reduce_regions(xp, a, bounds, lambda v, ax: red(v, axis=ax))
    if name == "sum" and kind in ("b", "u", "i"):
        return _reduce_regions(xp, xp.astype(image, xp.int64), bounds,
                               lambda v, ax: xp.sum(v, axis=ax))
    a = xp.astype(image, xp.float64)
    reducers = {
        "mean": lambda v, ax: xp.mean(v, axis=ax),
        "std": lambda v, ax: xp.std(v, axis=ax),
        "var": lambda v, ax: xp.var(v, axis=ax),
        "sum": lambda v, ax: xp.sum(v, axis=ax),
        "min": lambda v, ax: xp.min(v, axis=ax),
        "max": lambda v, ax: xp.max(v, axis=ax),
    }
    if name in ("min", "max"):
        a = image  # keep the dtype, as np.min/np.max do
    return _reduce_regions(xp, a, bounds, reducers[name])


# ----------------------------------------------------------------------------- windows


def window_map(image, func, radius, *, progress=None):
    """Apply any Python callable to the (2r+1)-box around each pixel: the notebook's ``mapbox``.

    The window is clipped at the borders (``mode="clip"``): the notebook's
    ``box(x, y, r) = a[max(0, x-r):x+r+1, max(0, y-r):y+r+1]``.

    This is the generic, **slow** path: one Python call per pixel (about a million
    calls for a 1000 x 1000 image). Use :func:`local_mean`, :func:`local_std` or
    :func:`gpuent.local_entropy` for those quantities; they are orders of magnitude
    faster.

    The loop over windows runs in Python on the host, on every namespace: ``func``
    gets each window as a view in the image's namespace (on its device for CuPy),
    and its number is brought to the host (one device-to-host copy of a scalar per
    pixel for CuPy data). The map is returned in the image's namespace and device.

    Parameters
    ----------
    image : array
        1-, 2- or 3-D array of any array-API library; ``func`` gets views of it.
    func : callable
        Maps a window (an array) to a number.
    radius : int or tuple of int
        Window radius (one per axis allowed).
    progress : bool or None, optional
        Show a tqdm progress bar. ``None`` (default): on images of more than 10^5
        pixels when stderr is a terminal.

    Returns
    -------
    array of float64
        Same shape as ``image``, in its namespace.
    """
    xp, image = check_image(image, ndims=(1, 2, 3))
    if not callable(func):
        raise TypeError("func must be a callable mapping a window (an array) to a number")
    radii = _radii(radius, image.ndim)
    shape = tuple(image.shape)
    # the float64 map and its copy into the image's namespace (windows are views)
    check_map(shape, bytes_per_pixel=16, what="a window map",
              hint="use a smaller image (crop or downsample it)")
    total = int(np.prod(shape))
    if progress is None:
        progress = total > 100_000 and sys.stderr.isatty()
    it = np.ndindex(*shape)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=total, desc="window_map", unit="px")
    out = np.empty(total, dtype=np.float64)
    for k, idx in enumerate(it):
        sl = tuple(
            slice(max(0, i - r), min(n, i + r + 1))
            for i, r, n in zip(idx, radii, shape, strict=True)
        )
        out[k] = float(func(image[sl]))
    return _asindex(xp, out.reshape(shape), image)
