"""Fractal dimensions of masks and mass distributions (REU notebook, sections 8 and 9).

- :func:`box_counting_dimension`: how the number of occupied boxes N(s) grows as the
  box side s shrinks, N ~ s^-D (notebook 9.1).
- :func:`generalized_dimensions`: the Rényi (generalized) dimensions D_q of a
  non-negative mass distribution, from the Rényi entropies of its box masses
  (notebook Definitions 6 and 7). D_0 is the box-counting dimension of the support,
  D_1 the information dimension, D_2 the correlation dimension; D_q does not
  increase with q, and is constant for a uniform mass on a self-similar set.
- :func:`information_dimension`: the information dimension of a 1-D probability
  mass on a uniform grid (notebook 9.2).

Boxes are laid on a grid from the origin; the box counts and masses are computed
in the input's array-API namespace (NumPy, CuPy, array-api-strict). The few numbers
per scale are brought to the host for the straight-line fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._backend import is_numpy
from ._memory import check_allocation, nbytes_of
from ._validate import ParameterTypeError, ParameterValueError, check_image, dtype_kind

__all__ = [
    "BoxCountingResult",
    "GeneralizedDimensionsResult",
    "InformationDimensionResult",
    "box_counting_dimension",
    "generalized_dimensions",
    "information_dimension",
]


# ----------------------------------------------------------------------------- helpers


def _linear_fit(x, y):
    """Least squares y = slope x + intercept: (slope, intercept, r2, stderr of slope)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    ss_res = float(resid @ resid)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    sxx = float(((x - x.mean()) ** 2).sum())
    stderr = math.sqrt(ss_res / (x.size - 2) / sxx) if x.size > 2 and sxx > 0 else 0.0
    return float(slope), float(intercept), float(r2), stderr


def _check_sizes(sizes, shape, name="sizes"):
    if sizes is None:
        limit = min(shape) // 4
        if limit < 2:
            raise ParameterValueError(
                "image of shape {shape} is too small for the default box sizes "
                "(powers of two up to a quarter of the shorter side); give {" + name
                + "=S1,S2,...}", shape=tuple(shape))
        out = [1 << k for k in range(int(math.log2(limit)) + 1)]
        return np.asarray(out, dtype=np.int64)
    try:
        out = np.asarray(sizes).reshape(-1)
    except (TypeError, ValueError):
        raise ParameterTypeError("{" + name + "} must be a sequence of positive integers"
                                 ) from None
    if out.size < 2:
        raise ParameterValueError("{" + name + "} needs at least two box sizes for a fit, "
                                  "got {n}", n=out.size)
    if not np.all(np.isfinite(out.astype(np.float64))) or np.any(out != np.round(out)):
        raise ParameterTypeError("{" + name + "} must be positive integers (box sides in "
                                 "pixels)")
    out = out.astype(np.int64)
    if np.any(out < 1) or np.any(out > max(shape)):
        raise ParameterValueError("{" + name + "} must lie between 1 and the image size "
                                  "{size}", size=max(shape))
    if np.unique(out).size != out.size:
        raise ValueError(f"{name} must be distinct")
    return out


def _pad_to_multiple(xp, a, s):
    """Pad every axis of ``a`` with zeros at the end up to a multiple of ``s``."""
    for axis, n in enumerate(a.shape):
        extra = (-n) % s
        if extra:
            shape = list(a.shape)
            shape[axis] = extra
            dev = getattr(a, "device", None)
            kw = {} if dev is None or is_numpy(xp) else {"device": dev}
            a = xp.concat([a, xp.zeros(tuple(shape), dtype=a.dtype, **kw)], axis=axis)
    return a


_SIZES_HINT = ("use box sizes that divide the image more evenly or fewer large sizes "
               "(sizes=), or a smaller image")


def _check_pyramid(shape, sizes, itemsize, what="box counting"):
    """Refuse box sizes whose padded grids would exceed the memory limit.

    A box side ``s`` pads every axis up to a multiple of ``s`` (a 10 x 100000 mask with
    ``s = 100000`` is padded to 100000 x 100000), so the peak is set by the worst size:
    the input copy, the padded grid and its concatenation temporaries (``itemsize``
    each per padded pixel), and the box values with the temporaries of one order.
    """
    base = nbytes_of(shape, itemsize)
    worst, worst_s = 0, None
    for s in (int(v) for v in sizes):
        padded = nbytes_of([-(-int(n) // s) * s for n in shape], itemsize)
        boxes = nbytes_of([-(-int(n) // s) for n in shape], 40)
        need = base + 2 * padded + boxes
        if need > worst:
            worst, worst_s = need, s
    check_allocation(worst, f"{what} of a {' x '.join(str(int(n)) for n in shape)} image "
                     f"(box side {worst_s})", _SIZES_HINT)


def _box_reduce(xp, a, s, reduce):
    """Reduce ``a`` over the s-boxes of a grid from the origin (partial boxes padded)."""
    a = _pad_to_multiple(xp, a, s)
    shape = []
    for n in a.shape:
        shape += [n // s, s]
    return reduce(xp.reshape(a, tuple(shape)), tuple(range(1, 2 * a.ndim, 2)))


def _whole_box_masses(xp, a, s):
    """Masses of the whole s-boxes of a grid from the origin (the partial edge strips dropped)."""
    a = a[tuple(slice(0, (n // s) * s) for n in a.shape)]
    shape = []
    for n in a.shape:
        shape += [n // s, s]
    return xp.sum(xp.reshape(a, tuple(shape)), axis=tuple(range(1, 2 * a.ndim, 2)))


# ----------------------------------------------------------------------------- box counting


@dataclass
class BoxCountingResult:
    """Result of :func:`box_counting_dimension`.

    ``log N(s) = dimension * log(1/s) + intercept`` (natural logs) fitted to
    ``counts`` N at box sides ``sizes`` s (pixels); ``r2`` is the fit's R^2.
    """

    dimension: float
    sizes: np.ndarray
    counts: np.ndarray
    intercept: float
    r2: float
    stderr: float = 0.0

    def plot(self, ax=None):
        """Plot log N against log(1/s) with the fitted line (needs matplotlib)."""
        from ._plot import axes, fit_plot

        ax = axes(ax)
        fit_plot(ax, -np.log(self.sizes), np.log(self.counts), self.dimension, self.intercept,
                 xlabel="scale  ln(1/s)  (s = box side, pixels)",
                 ylabel="box count  ln N", label=f"D = {self.dimension:.3f}")
        ax.legend(loc="upper left")
        return ax


def box_counting_dimension(mask, *, sizes=None):
    """Box-counting (Minkowski) dimension of a mask (notebook section 9.1).

    The mask is covered with a grid of s x s boxes (from the origin; partial boxes
    at the far edges count) and N(s), the number of boxes holding a True pixel, is
    counted for each box side s. The dimension is the slope of log N against
    log(1/s).

    Parameters
    ----------
    mask : array
        1-, 2- or 3-D array of any array-API library; non-zero pixels are the set.
    sizes : sequence of int, optional
        Box sides in pixels. Default: powers of two up to a quarter of the shorter
        side (1, 2, 4, ...). Use the natural scales of the set when it has them (3^k
        for the Sierpinski carpet).

    Returns
    -------
    BoxCountingResult
        ``.dimension``, ``.sizes``, ``.counts``, ``.intercept``, ``.r2`` and ``.plot()``.

    Notes
    -----
    The notebook's ``boxdim`` split the image into k x k blocks with ``np.array_split``
    (k = 2..50), so its boxes were not square on non-square images; here they are.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> round(ge.box_counting_dimension(np.ones((64, 64), bool)).dimension, 6)
    2.0
    """
    xp, mask = check_image(mask, ndims=(1, 2, 3), name="mask")
    sizes = _check_sizes(sizes, tuple(mask.shape))
    _check_pyramid(tuple(mask.shape), sizes, 1, what="box counting")  # bool grids
    if dtype_kind(mask) != "b":
        mask = mask != 0
    def occupied(s):
        boxes = _box_reduce(xp, mask, s, lambda v, ax: xp.any(v, axis=ax))
        return int(xp.sum(xp.astype(boxes, xp.int64)))

    counts = np.asarray([occupied(int(s)) for s in sizes], dtype=np.int64)
    if counts.min() == 0:
        raise ValueError("the mask is empty (no non-zero pixel); nothing to measure")
    slope, intercept, r2, stderr = _linear_fit(-np.log(sizes.astype(np.float64)), np.log(counts))
    return BoxCountingResult(slope, sizes, counts, intercept, r2, stderr)


# ----------------------------------------------------------------------------- D_q


def _renyi_bits(xp, p, q):
    """Rényi entropy in bits of probabilities ``p`` (zeros ignored); any real q."""
    pos = p > 0
    if q == 1.0:
        safe = xp.where(pos, p, xp.ones_like(p))
        return float(-xp.sum(xp.where(pos, p * xp.log2(safe), xp.zeros_like(p))))
    if q == 0.0:
        return math.log2(int(xp.sum(xp.astype(pos, xp.int64))))
    safe = xp.where(pos, p, xp.ones_like(p))
    total = float(xp.sum(xp.where(pos, safe**q, xp.zeros_like(p))))
    return math.log2(total) / (1.0 - q)


@dataclass
class GeneralizedDimensionsResult:
    """Result of :func:`generalized_dimensions`.

    For each order ``q[i]``: ``entropies[i, j]`` is the Rényi entropy H_q (bits) of
    the whole-box masses at box side ``sizes[j]``, and ``H_q = dimensions[i] *
    log2(boxes[j]) + intercepts[i]`` is the fit (R^2 in ``r2[i]``), where ``boxes[j]``
    is the number of whole boxes per side of the measured region (the geometric mean
    over the axes; ``n / s`` when the box side divides the image side ``n``);
    ``stderr[i]`` is the standard error of the slope D_q.
    """

    q: np.ndarray
    dimensions: np.ndarray
    sizes: np.ndarray
    entropies: np.ndarray
    intercepts: np.ndarray
    r2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    boxes: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stderr: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def dimension(self, q):
        """D_q for one of the computed orders."""
        hits = np.nonzero(np.isclose(self.q, float(q)))[0]
        if hits.size == 0:
            raise KeyError(f"q = {q} was not computed; orders are {self.q.tolist()}")
        return float(self.dimensions[hits[0]])

    def plot(self, ax=None, *, kind="spectrum"):
        """``kind="spectrum"``: D_q against q; ``"fits"``: H_q against log2(boxes per side)."""
        from ._plot import axes, fit_plot

        ax = axes(ax)
        if kind == "spectrum":
            ax.plot(self.q, self.dimensions, "o-", ms=4)
            ax.set_xlabel("order q")
            ax.set_ylabel("generalized dimension $D_q$")
            return ax
        if kind != "fits":
            raise ValueError("kind must be 'spectrum' or 'fits'")
        x = np.log2(self.boxes)
        for qi, d, h, b in zip(self.q, self.dimensions, self.entropies, self.intercepts,
                               strict=True):
            fit_plot(ax, x, h, d, b,
                     xlabel="scale  log2(L/s)  (whole boxes per side)",
                     ylabel="Rényi entropy $H_q$ (bits)", label=f"q = {qi:g}: D = {d:.3f}")
        ax.legend(fontsize="small")
        return ax


def generalized_dimensions(image, q, *, sizes=None):
    """Generalized (Rényi) dimensions D_q of a non-negative mass distribution.

    The image is a mass distribution (a boolean mask is a uniform mass on its True
    pixels). For each box side s the image is covered with the whole s-boxes of a grid
    from the origin; their masses, normalized to probabilities p_i, give the Rényi
    entropy H_q(s) = log2(sum p_i^q) / (1 - q) (Shannon for q = 1, log2 of the occupied
    boxes for q = 0), and D_q is the slope of H_q against log2(L/s), L/s being the
    number of whole boxes per side (notebook Definitions 6 and 7).

    Parameters
    ----------
    image : array
        1-, 2- or 3-D non-negative array (or mask) of any array-API library.
    q : float or sequence of float
        Orders; any real numbers (negative orders weight the sparse boxes).
    sizes : sequence of int, optional
        Box sides in pixels, at most the shorter side. Default: powers of two up to a
        quarter of the shorter side, as :func:`box_counting_dimension`.

    Returns
    -------
    GeneralizedDimensionsResult
        ``.q``, ``.dimensions`` (one per q), ``.sizes``, ``.entropies``
        (len(q) x len(sizes), bits), ``.intercepts``, ``.r2``, ``.boxes``, ``.stderr``,
        ``.plot()``.

    Notes
    -----
    D_0 is the box-counting dimension of the support, D_1 the information dimension,
    D_2 the correlation dimension. In the limit of fine boxes D_q does not increase
    with q, and it is constant for a uniform mass on a self-similar set (a filled square
    gives 2 for every q). For a deterministic multiplicative cascade that splits the
    mass of every box among its 2^d halves with weights p_k, H_q grows by exactly
    log2(sum_k p_k^q) / (1 - q) bits per halving of s, so D_q is that number at every
    scale (the binomial measure p, 1 - p in 1-D; Halsey et al., Phys. Rev. A 33, 1141,
    1986). Both are exact here, for every q.

    Only whole boxes are used: a partial box at the far edge holds less mass only because
    it is cut, and counting it made a uniform 100 x 100 square give D_0 = 1.92 < D_2 =
    1.98 instead of 2 for every q. The measured region is the origin corner whose sides
    are multiples of the least common multiple of ``sizes`` (96 x 96 of that square for
    boxes 1 .. 16), the same region at every scale; when that multiple exceeds the
    shorter side, each scale drops its own strip of partial boxes and the fit uses
    the number of whole boxes per side of its region. (:func:`box_counting_dimension`
    covers the set, so it counts the partial boxes.)

    The slope is fitted over the given scales, so at finite resolution D_q estimates
    the limit and can break the ordering, within ``stderr``, where the measure is not
    self-similar over those scales (the camera image: D_4 - D_2 = 0.0017, standard
    errors 0.0035). A uniform mass on a thresholded photograph is the classic case: at
    s = 1 every pixel of the set weighs the same, so all H_q agree, while at coarse s the
    boxes on the set's boundary are partly filled; D_q then rises towards the set's
    area dimension 2 as q grows (D_infinity is exactly 2 for any set with a full box at
    every scale), although every D_q of a set with positive area is 2 in the limit.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> r = ge.generalized_dimensions(np.ones((64, 64)), [0, 1, 2])
    >>> np.round(r.dimensions, 6).tolist()
    [2.0, 2.0, 2.0]
    """
    xp, image = check_image(image, ndims=(1, 2, 3))
    qs = np.asarray(q, dtype=np.float64).reshape(-1)
    if qs.size == 0 or not np.all(np.isfinite(qs)):
        raise ParameterValueError("{q} must be one or more finite real orders")
    # the float64 masses and two bool planes (NaN, negative) of the checks below
    check_allocation(nbytes_of(image.shape, 10), "the masses of a "
                     f"{' x '.join(str(int(n)) for n in image.shape)} image",
                     "use a smaller image (crop or downsample it)")
    mass = xp.astype(image, xp.float64)
    if bool(xp.any(xp.isnan(mass))) or bool(xp.any(mass < 0)):
        raise ValueError("the image must be a non-negative mass distribution without NaN")
    total = float(xp.sum(mass))
    if not total > 0 or not math.isfinite(total):
        raise ValueError("the image has no mass (all zero); nothing to measure")
    shape = tuple(int(n) for n in image.shape)
    sizes = _check_sizes(sizes, shape)
    if int(sizes.max()) > min(shape):
        raise ValueError(f"sizes must be at most the shorter side {min(shape)}: masses are "
                         "measured in whole boxes")
    # whole boxes only: every scale's masses are at most the float64 masses checked above
    entropies = np.empty((qs.size, sizes.size), dtype=np.float64)
    boxes = np.empty(sizes.size, dtype=np.float64)
    common = math.lcm(*(int(s) for s in sizes))
    if common <= min(shape):  # one region tiled by whole boxes at every scale
        mass = mass[tuple(slice(0, (n // common) * common) for n in shape)]
        shape = tuple(int(n) for n in mass.shape)
    for j, s in enumerate(sizes):
        s = int(s)
        boxes[j] = math.prod(n // s for n in shape) ** (1.0 / len(shape))
        m = _whole_box_masses(xp, mass, s)
        whole = float(xp.sum(m))
        if not whole > 0:
            raise ValueError(f"no mass in the whole {s}-pixel boxes (all of it lies in the "
                             "partial boxes at the far edges); use other sizes")
        p = xp.reshape(m, (-1,)) / whole
        for i, qi in enumerate(qs):
            entropies[i, j] = _renyi_bits(xp, p, float(qi))
    x = np.log2(boxes)
    fits = [_linear_fit(x, entropies[i]) for i in range(qs.size)]
    return GeneralizedDimensionsResult(
        q=qs,
        dimensions=np.asarray([f[0] for f in fits]),
        sizes=sizes,
        entropies=entropies,
        intercepts=np.asarray([f[1] for f in fits]),
        r2=np.asarray([f[2] for f in fits]),
        boxes=boxes,
        stderr=np.asarray([f[3] for f in fits]),
    )


# ----------------------------------------------------------------------------- D_1 in 1-D


@dataclass
class InformationDimensionResult:
    """Result of :func:`information_dimension`.

    ``entropies[j]`` is the Shannon entropy (bits) of the distribution coarse-grained
    into ``cells[j]`` cells of ``scales[j]`` samples; ``H = dimension * log2(cells) +
    intercept`` is the fit, with slope standard error ``stderr`` and R^2 ``r2``.
    """

    dimension: float
    scales: np.ndarray
    cells: np.ndarray
    entropies: np.ndarray
    intercept: float
    r2: float
    stderr: float

    def plot(self, ax=None):
        """Plot the entropy against log2(cells) with the fitted line (needs matplotlib)."""
        from ._plot import axes, fit_plot

        ax = axes(ax)
        fit_plot(ax, np.log2(self.cells), self.entropies, self.dimension, self.intercept,
                 xlabel="scale  log2(number of cells)", ylabel="Shannon entropy (bits)",
                 label=f"$D_1$ = {self.dimension:.3f}", marker="+")
        ax.legend(loc="upper left")
        return ax


def information_dimension(distribution, *, scales=None):
    """Information dimension of a 1-D probability mass on a uniform grid (notebook 9.2).

    The distribution (N samples, normalized here) is coarse-grained into cells of
    ``s`` consecutive samples; the Shannon entropy H(s) of the cell masses grows like
    ``D_1 log2(N / s)`` as the cells shrink. D_1 is the slope of H against log2 of the
    number of cells, fitted over the fine scales where the curve is linear.

    A sampled (smooth) density gives 1, a point mass 0, and a mixture of half a point
    mass and half a density gives 1/2.

    Parameters
    ----------
    distribution : array
        1-D non-negative array (probabilities or counts) of any array-API library.
    scales : sequence of int, optional
        Cell sizes in samples. Default: the fine scales 1, 2, 4, 8, 16 (those up to an
        eighth of the length).

    Returns
    -------
    InformationDimensionResult
        ``.dimension``, ``.scales``, ``.cells``, ``.entropies``, ``.intercept``,
        ``.r2``, ``.stderr`` and ``.plot()``.

    Notes
    -----
    The notebook's ``infodim`` smoothed the samples with a spline and integrated it over
    cells of width 1/10 .. 1; here the samples themselves are summed, which is exact
    for a probability mass on a grid.

    The notebook's "rectified Gaussian" example, ``np.concatenate([[0]*256, half-Gaussian])``,
    holds no point mass: it is zeros then a half-Gaussian density, whose information
    dimension is 1 (here: 0.999). The half-point-mass case needs an explicit atom:

    >>> import numpy as np, gpuent as ge
    >>> x = np.linspace(0, 5, 256)
    >>> half = np.exp(-x**2 / 2)
    >>> dist = np.concatenate([np.zeros(256), 0.5 * half / half.sum()])
    >>> dist[128] += 0.5                      # an explicit point mass of weight 1/2
    >>> round(ge.information_dimension(dist).dimension, 3)
    0.499

    An atom on the edge of the density's support (``dist[256] += 0.5``, the notebook's
    Theta(x) f(x) + delta(x)/2) converges more slowly, because the atom's cell also
    collects density mass in proportion to its width: 0.59 with 256 samples per half,
    0.51 with 4096.
    """
    if isinstance(distribution, (list, tuple)):
        distribution = np.asarray(distribution, dtype=np.float64)
    xp, p = check_image(distribution, ndims=(1,), name="distribution")
    # float64 samples, their cumulative sum, and per scale the cell bounds and masses
    check_allocation(nbytes_of(p.shape, 48), f"the information dimension of {p.shape[0]} "
                     "samples", "use fewer samples (coarse-grain the distribution first)")
    p = xp.astype(p, xp.float64)
    if bool(xp.any(xp.isnan(p))) or bool(xp.any(p < 0)):
        raise ValueError("the distribution must be non-negative (probabilities or counts)")
    total = float(xp.sum(p))
    if not total > 0 or not math.isfinite(total):
        raise ValueError("the distribution has no mass (all zero)")
    n = int(p.shape[0])
    if scales is None:
        scales = [1 << k for k in range(5) if (1 << k) <= max(1, n // 8)]
        if len(scales) < 2:
            raise ValueError(f"a distribution of {n} samples is too short; give scales=")
    scales = _check_sizes(scales, (n,), name="scales")
    cum = xp.cumulative_sum(p / total, include_initial=True)
    entropies = np.empty(scales.size, dtype=np.float64)
    cells = np.empty(scales.size, dtype=np.int64)
    for j, s in enumerate(scales):
        m = -(-n // int(s))
        bounds = np.minimum(np.arange(m + 1, dtype=np.int64) * int(s), n)
        idx = xp.asarray(bounds) if is_numpy(xp) else xp.asarray(bounds, device=cum.device)
        e = xp.take(cum, idx)
        mass = e[1:] - e[:-1]
        entropies[j] = _renyi_bits(xp, xp.where(mass > 0, mass, xp.zeros_like(mass)), 1.0)
        cells[j] = m
    slope, intercept, r2, stderr = _linear_fit(np.log2(cells.astype(np.float64)), entropies)
    return InformationDimensionResult(slope, scales, cells, entropies, intercept, r2, stderr)
