"""Windowed maps: local entropy and friends.

Every output pixel gets a quantity of the histogram of intensity levels in a
window around it: the REU notebook's *boxcar intensity-level entropy*
(section 7, ``mapbox(r, intensity_entropy, data)``), generalized to other
estimators, other functions of the distribution, footprints, boundary modes,
masks and 3-D volumes, and computed in O(r) per pixel instead of O(r^2 + bins).

Window options shared by these functions
-----------------------------------------
radius : int or tuple of int
    The (2r+1)-wide box (one radius per axis allowed). Exactly one of
    ``radius`` and ``footprint``.
footprint : array of bool
    Any window shape with odd sides, centred on the pixel.
mode : {"clip", "reflect", "mirror", "wrap"}
    ``"clip"`` (default): pixels outside the image are not counted, the
    window shrinks at borders (the notebook's ``mapbox`` and scikit-image's
    ``rank.entropy``). ``"reflect"`` (d c b a|a b c d|d c b a), ``"mirror"``
    (d c b|a b c d|c b a) and ``"wrap"`` (periodic) follow scipy.ndimage.
bins, value_range : int, (float, float)
    Levels: uint8 has 256, bool 2, other integers use their value (below
    65536); floats need ``bins``: level = floor((x - lo)/(hi - lo) bins),
    clipped, with (lo, hi) the image's min and max unless given.
mask : array of bool
    Only pixels where True are counted; every pixel still gets an output.
    NaN pixels are never counted. A window with no counted pixel gives NaN.
dtype : float32 (default) or float64
backend : None, "reference", "cpu" or "cuda"
    None picks the fastest path for the input (Numba for NumPy, CUDA for
    CuPy); the others force one path (for tests and comparisons).

All paths add the same int64 fixed-point table values and finish with the
same IEEE operations, so they agree bit for bit.
"""

from __future__ import annotations

import math

from . import _dask
from ._backend import choose_backend
from ._kernels.histogram.reference import windowed_reference
from ._kernels.histogram.spec import plan_window
from ._levels import image_levels
from ._local_stats import block_map, local_mean, local_std, window_map
from ._memory import check_map
from ._validate import (
    check_base,
    check_dtype,
    check_estimator,
    check_image,
    check_mask,
    check_mode,
    check_window,
)

__all__ = [
    "block_map",
    "local_entropy",
    "local_expected",
    "local_mean",
    "local_renyi_entropy",
    "local_std",
    "window_map",
]

_NDIMS = (2, 3)
_is_dask = _dask.is_dask


def _prepare(image, radius, footprint, mode, bins, value_range, mask, dtype):
    xp, image = check_image(image, ndims=_NDIMS)
    check_mode(mode)
    fp = check_window(radius, footprint, image.ndim)
    # float64 binning temporaries, int32 levels, the valid mask, a float64 output; offsets
    check_map(image.shape, bytes_per_pixel=29, table_bytes=24 * fp.size, what="a local map")
    mask = check_mask(mask, image, xp)
    out_dtype = check_dtype(dtype, xp)
    levels = image_levels(xp, image, bins=bins, value_range=value_range, mask=mask)
    return xp, image, fp, levels, out_dtype


def _run(xp, levels, plan, out_dtype, backend):
    available = ["reference", "cpu", "cuda"]  # cuda: 2-D images and 3-D volumes
    path = choose_backend(backend, xp, available)
    if path == "cpu":
        from ._kernels.histogram._cpu import windowed_cpu

        return windowed_cpu(levels.levels, levels.valid, plan, out_dtype)
    if path == "cuda":
        from ._kernels.histogram._cuda import windowed_cuda

        return windowed_cuda(levels.levels, levels.valid, plan, out_dtype)
    return windowed_reference(xp, levels.levels, levels.valid, plan, out_dtype)


def local_entropy(image, radius=None, *, footprint=None, mode="clip", bins=None,
                  value_range=None, estimator="plugin", base=2, mask=None, dtype=None,
                  backend=None):
    """Entropy of the intensity-level histogram in a window around every pixel.

    Parameters
    ----------
    image : array, 2-D or 3-D
        NumPy, CuPy or any array-API array; bool, integer or float (with ``bins``).
    radius, footprint, mode, bins, value_range, mask, dtype, backend
        Window options, see :mod:`gpuent.local`.
    estimator : {"plugin", "miller-madow", "grassberger", "dirichlet"}
        "plugin" (default) is -sum p log p of the window's histogram, as the
        REU notebook and scikit-image. The others correct its small-sample
        bias (formulas in ``gpuent/_estimators.py``); "dirichlet" is the
        posterior mean under a uniform Dirichlet prior over the K levels (the
        notebook's rule of succession).
    base : float
        Logarithm base, 2 (bits) by default.

    Returns
    -------
    array
        Same shape, namespace and device as ``image``; float32 unless ``dtype``.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> img = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    >>> ge.local_entropy(img, 3).shape
    (64, 64)
    """
    if _is_dask(image):
        return _dask.windowed("entropy", image, radius=radius, footprint=footprint, mode=mode,
                              bins=bins, value_range=value_range, estimator=estimator,
                              base=base, mask=mask, dtype=dtype, backend=backend)
    check_estimator(estimator)
    base = check_base(base)
    xp, image, fp, levels, out_dtype = _prepare(
        image, radius, footprint, mode, bins, value_range, mask, dtype
    )
    plan = plan_window(image.shape, fp, mode, levels.nlevels, estimator=estimator, base=base)
    return _run(xp, levels, plan, out_dtype, backend)


def local_expected(image, f, radius=None, *, footprint=None, mode="clip", bins=None,
                   value_range=None, mask=None, dtype=None, backend=None):
    """Expected value of ``f`` under each window's intensity distribution: sum of p f(p).

    The REU notebook (section 7.3) replaces the surprisal -log p by other
    functions: its "Laurent" map is ``f = lambda p: 1/p - 1`` (the number of
    distinct levels minus one) and its "Taylor" map ``f = lambda p: -(1 + p)``.

    Parameters
    ----------
    image : array, 2-D or 3-D
    f : callable
        Vectorized function of an array of probabilities in (0, 1], finite
        there. It is evaluated once, on the host, on every p = c/n a window of
        this size can produce (a table with about N^2/2 entries for an
        N-pixel window, so windows are limited to 8000 pixels); the sums are
        then kept exactly in fixed point.
    radius, footprint, mode, bins, value_range, mask, dtype, backend
        Window options, see :mod:`gpuent.local`.

    Returns
    -------
    array
        Same shape, namespace and device as ``image``.
    """
    if _is_dask(image):
        return _dask.windowed("expected", image, f=f, radius=radius, footprint=footprint,
                              mode=mode, bins=bins, value_range=value_range, mask=mask,
                              dtype=dtype, backend=backend)
    if not callable(f):
        raise TypeError("f must be a callable taking an array of probabilities")
    xp, image, fp, levels, out_dtype = _prepare(
        image, radius, footprint, mode, bins, value_range, mask, dtype
    )
    plan = plan_window(image.shape, fp, mode, levels.nlevels, f=f)
    return _run(xp, levels, plan, out_dtype, backend)


def local_renyi_entropy(image, alpha, radius=None, *, footprint=None, mode="clip", bins=None,
                        value_range=None, base=2, mask=None, dtype=None, backend=None):
    """Rényi entropy of order ``alpha`` of each window's intensity distribution.

    H_alpha = log(sum p^alpha) / (1 - alpha) (REU notebook, Definition 6);
    ``alpha = 1`` is :func:`local_entropy` (plugin), ``alpha = 0`` the log of
    the number of distinct levels in the window.

    Parameters
    ----------
    image : array, 2-D or 3-D
    alpha : float
        Finite order >= 0.
    base : float
        Logarithm base, 2 by default.
    radius, footprint, mode, bins, value_range, mask, dtype, backend
        Window options, see :mod:`gpuent.local`.

    Returns
    -------
    array
        Same shape, namespace and device as ``image``; float32 unless ``dtype``.

    Notes
    -----
    sum p^alpha is kept exactly in fixed point like every windowed sum; the
    final logarithm is the namespace's ``log`` on float64, so paths on the same
    library agree bit for bit.
    """
    if _is_dask(image):
        return _dask.windowed("renyi", image, alpha=alpha, radius=radius, footprint=footprint,
                              mode=mode, bins=bins, value_range=value_range, base=base,
                              mask=mask, dtype=dtype, backend=backend)
    alpha = float(alpha)
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha}")
    if alpha == 1.0:
        return local_entropy(image, radius, footprint=footprint, mode=mode, bins=bins,
                             value_range=value_range, base=base, mask=mask, dtype=dtype,
                             backend=backend)
    base = check_base(base)
    xp, image, fp, levels, out_dtype = _prepare(
        image, radius, footprint, mode, bins, value_range, mask, dtype
    )
    exponent = alpha - 1.0
    plan = plan_window(image.shape, fp, mode, levels.nlevels, f=lambda p: p**exponent)
    power = _run(xp, levels, plan, xp.float64, backend)
    h = xp.log(power) / ((1.0 - alpha) * math.log(base))
    return xp.astype(h, out_dtype)
