"""Global information quantities of distributions and images.

These follow the REU notebook (section 3): the *intensity-level entropy* is
the Shannon entropy of the empirical distribution of an image's intensity
levels. All functions take arrays of any array-API library and answer in the
same library.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from array_api_compat import device as device_of

from ._backend import array_namespace, is_numpy, to_numpy
from ._estimators import global_entropy
from ._levels import image_levels
from ._memory import check_allocation, check_map, nbytes_of
from ._validate import check_base, check_estimator, check_image, dtype_kind

__all__ = [
    "expected",
    "intensity_distribution",
    "intensity_entropy",
    "renyi_entropy",
    "shannon_entropy",
]


def _as_array(p, axis=-1):
    if isinstance(p, (list, tuple)):
        try:
            p = np.asarray(p, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"p must be an array of probabilities or counts ({exc})") from None
    if not hasattr(p, "shape") or not hasattr(p, "dtype"):
        raise TypeError(f"p must be an array of probabilities or counts, got {type(p).__name__}")
    xp = array_namespace(p)
    if dtype_kind(p) not in "biuf":
        raise TypeError(f"p has dtype {p.dtype}; use real (non-complex) probabilities or counts")
    # float64 copies: p, q = p / sum, log q, q log q, and bool planes (finite, q > 0)
    check_allocation(nbytes_of(p.shape, 48),
                     f"the entropy of a distribution of shape {tuple(int(n) for n in p.shape)}",
                     "pass fewer or shorter distributions (e.g. a histogram instead of samples)")
    if not xp.isdtype(p.dtype, "real floating"):
        p = xp.astype(p, xp.float64)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if p.ndim == 0 or not -p.ndim <= axis < p.ndim:
        raise ValueError(f"axis {axis} is out of range for p of shape {tuple(p.shape)}")
    if not bool(xp.all(xp.isfinite(p))):
        raise ValueError("p holds NaN or infinite values; probabilities and counts must be finite")
    return xp, p


def _normalize(xp, p, axis):
    if bool(xp.any(p < 0)):
        raise ValueError("probabilities (or counts) must be non-negative")
    total = xp.sum(p, axis=axis, keepdims=True)
    return p / xp.where(total > 0, total, 1.0)


def shannon_entropy(p, *, base=2, axis=-1):
    """Shannon entropy H = -sum p log p of a distribution.

    Parameters
    ----------
    p : array_like
        Probabilities or non-negative counts along ``axis`` (normalized here).
        Zero entries contribute nothing (0 log 0 = 0).
    base : float, optional
        Logarithm base; 2 (default) gives bits, ``math.e`` nats.
    axis : int, optional
        Axis holding the distribution.

    Returns
    -------
    array
        Entropy, reduced over ``axis``, in the namespace of ``p``.

    Examples
    --------
    >>> import gpuent as ge
    >>> float(ge.shannon_entropy([0.5, 0.5]))
    1.0
    """
    xp, p = _as_array(p, axis)
    q = _normalize(xp, p, axis)
    pos = q > 0
    # base-2 logarithms: a dyadic distribution (1/2, 1/4, ...) gives its entropy exactly
    logq = xp.log2(xp.where(pos, q, 1.0))
    return -xp.sum(xp.where(pos, q * logq, 0.0), axis=axis) / math.log2(check_base(base))


def renyi_entropy(p, alpha, *, base=2, axis=-1):
    """Rényi entropy of order ``alpha`` (REU notebook, Definition 6).

    H_alpha = log(sum p^alpha) / (1 - alpha). ``alpha = 1`` is the Shannon
    entropy (the limit), ``alpha = 0`` the log of the support size (Hartley),
    ``alpha = inf`` the min-entropy -log max p.

    Parameters
    ----------
    p : array_like
        Probabilities or counts along ``axis``.
    alpha : float
        Order, >= 0 (``math.inf`` allowed).
    base, axis
        As :func:`shannon_entropy` (defaults 2 and -1).

    Returns
    -------
    array
        Entropy, reduced over ``axis``, in the namespace of ``p``.
    """
    alpha = float(alpha)
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")
    if alpha == 1.0:
        return shannon_entropy(p, base=base, axis=axis)
    xp, p = _as_array(p, axis)
    q = _normalize(xp, p, axis)
    lnb = math.log(check_base(base))
    pos = q > 0
    if alpha == 0.0:
        return xp.log(xp.astype(xp.sum(xp.astype(pos, xp.int64), axis=axis), q.dtype)) / lnb
    if math.isinf(alpha):
        return -xp.log(xp.max(q, axis=axis)) / lnb
    power = xp.sum(xp.where(pos, xp.where(pos, q, 1.0) ** alpha, 0.0), axis=axis)
    scale = (1.0 - alpha) * lnb
    if not abs(scale) <= float(xp.finfo(q.dtype).max):  # huge alpha: two steps, no -inf/-inf
        h = xp.astype(xp.log(xp.astype(power, xp.float64)) / (1.0 - alpha) / lnb, q.dtype)
    else:
        h = xp.log(power) / scale
    top = xp.max(q, axis=axis)
    lost = xp.logical_and(power == 0, top > 0)  # p^alpha underflowed (a large alpha)
    if bool(xp.any(lost)):
        # scaled by the largest p: (p / max)^alpha <= 1 and one term is 1, so no underflow
        m = xp.max(q, axis=axis, keepdims=True)
        ratio = xp.where(pos, q / xp.where(m > 0, m, 1.0), 1.0)
        scaled = xp.sum(xp.where(pos, ratio ** alpha, 0.0), axis=axis)
        stable = (alpha / (1.0 - alpha)) * xp.log(xp.where(top > 0, top, 1.0)) \
            + xp.log(xp.where(scaled > 0, scaled, 1.0)) / (1.0 - alpha)
        h = xp.where(lost, stable / lnb, h)
    return h + 0.0  # + 0.0: no -0.0 for alpha > 1


def expected(p, f, *, axis=-1):
    """Expected value of ``f`` under ``p``: sum of p f(p) over the entries with p > 0.

    This is the notebook's ``intensity_expected``; with f(p) = -log p it is the
    Shannon entropy in nats. The notebook's "Laurent" f(p) = 1/p - 1 gives the
    support size minus one, and its "Taylor" f(p) = -(1 + p) gives
    -(1 + sum p^2).

    Parameters
    ----------
    p : array_like
        Probabilities or counts along ``axis`` (normalized here).
    f : callable
        Vectorized function of an array of probabilities.
    axis : int, optional
        Axis holding the distribution (default -1, the last).

    Returns
    -------
    array
        sum of p f(p), reduced over ``axis``, in the namespace of ``p`` (a NumPy
        scalar for a 1-D NumPy ``p``, as NumPy's own reductions).

    Raises
    ------
    TypeError
        ``f`` is not callable, or ``p`` is not an array of real numbers.
    ValueError
        ``p`` has negative, NaN or infinite entries, or ``axis`` is out of range.

    See Also
    --------
    gpuent.local_expected : the same sum in a window around every pixel.

    Notes
    -----
    The data come first, as in :func:`gpuent.local_expected` and in SciPy and
    scikit-image. The old order ``expected(f, p)`` still works and warns
    (``FutureWarning``); it will be removed in a future release.

    Examples
    --------
    >>> import gpuent as ge
    >>> float(ge.expected([0.5, 0.25, 0.25], lambda p: 1 / p - 1))  # support size - 1
    2.0
    """
    if callable(p) and not callable(f):
        warnings.warn("expected(f, p) is deprecated: the distribution comes first, as in "
                      "local_expected(image, f); write expected(p, f)", FutureWarning,
                      stacklevel=2)
        p, f = f, p
    if not callable(f):
        raise TypeError("f must be a callable taking an array of probabilities")
    xp, p = _as_array(p, axis)
    q = _normalize(xp, p, axis)
    pos = q > 0
    values = f(xp.where(pos, q, 1.0))
    return xp.sum(xp.where(pos, q * values, 0.0), axis=axis)


def _levels_bytes_per_pixel(xp, image, bins, mask):
    """Peak temporaries per pixel of :func:`_level_counts` (levels, masks, selections)."""
    kind = dtype_kind(image)
    if bins is not None or kind == "f":
        per_px = 36  # float64 binning temporaries, int32 levels, NaN/valid masks, selection
    elif kind == "b" or image.dtype == xp.uint8 or image.dtype == xp.uint16:
        # the values are the levels: at most a uint8 copy of bool or a flattened copy
        per_px = 2 if kind == "b" else 1
        if mask is not None:
            per_px += 2  # the selection of the counted pixels
    else:
        per_px = 10  # int32 levels, valid mask and selection
    return per_px if is_numpy(xp) else per_px + 16  # int64 copy and its sort


def _level_counts(image, bins, value_range, mask=None, nlevels=None):
    xp, image = check_image(image, ndims=(1, 2, 3, 4))
    # the histogram itself is small (K <= 65536 levels); the per-pixel levels are not
    check_map(image.shape, bytes_per_pixel=_levels_bytes_per_pixel(xp, image, bins, mask),
              what="the intensity histogram", hint="use a smaller image (crop or downsample it)")
    lv = image_levels(xp, image, bins=bins, value_range=value_range, mask=mask, nlevels=nlevels)
    levels = lv.levels
    if lv.valid is not None:
        levels = levels[lv.valid]
        if int(levels.shape[0]) == 0:  # like an empty image: nothing to count
            raise ValueError("no pixel of the image is counted (every value is NaN); pass an "
                             "image with finite values")
    k = lv.nlevels
    if is_numpy(xp):
        counts = np.bincount(np.asarray(levels).ravel(), minlength=k)
        return xp, xp.asarray(counts), k
    flat = xp.sort(xp.reshape(xp.astype(levels, xp.int64), (-1,)))
    edges = xp.searchsorted(flat, xp.arange(k + 1, dtype=xp.int64))
    return xp, edges[1:] - edges[:-1], k


def intensity_distribution(image, *, bins=None, value_range=None, nlevels=None, prior=0):
    """Empirical distribution of an image's intensity levels.

    With ``prior=a > 0`` it is the posterior predictive distribution under a
    symmetric Dirichlet(a) prior, (c_k + a) / (N + K a); a = 1 is the REU
    notebook's rule of succession (n + 1) / (N + 2) for two levels.

    Parameters
    ----------
    image : array
        Any-dimensional image. Levels as in :func:`gpuent.local_entropy`: uint8 has
        256 levels, bool 2, other integers ``max + 1``; floats need ``bins``.
    bins : int, optional
        Number of levels to bin into.
    value_range : (float, float), optional
        Binning range; default the image's finite min and max.
    nlevels : int, optional
        K for bool and integer images whose values are the levels (scikit-image's
        ``n_bins``); every value must lie below it.
    prior : float, optional
        Pseudo-count a >= 0 added to every one of the K levels (default 0: the
        empirical frequencies c_k / N).

    Returns
    -------
    array of float64, length K
        Probabilities summing to 1 (NaN pixels are not counted).

    Examples
    --------
    Three heads in ten tosses, and the rule of succession (a = 1):

    >>> import numpy as np
    >>> import gpuent as ge
    >>> tosses = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    >>> ge.intensity_distribution(tosses).tolist()
    [0.7, 0.3]
    >>> float(ge.intensity_distribution(tosses, prior=1)[1])  # (3 + 1) / (10 + 2)
    0.3333333333333333
    """
    a = float(prior)
    if not (a >= 0 and math.isfinite(a)):
        raise ValueError(f"prior must be a finite pseudo-count >= 0, got {prior!r}")
    xp, counts, k = _level_counts(image, bins, value_range, nlevels=nlevels)
    counts = xp.astype(counts, xp.float64)
    if a == 0:
        return counts / xp.sum(counts)
    return (counts + a) / (xp.sum(counts) + k * a)


def intensity_entropy(image, *, bins=None, value_range=None, nlevels=None, estimator="plugin",
                      base=2):
    """Intensity-level entropy of an image: the entropy of its level histogram.

    Parameters
    ----------
    image : array
        As :func:`intensity_distribution`.
    bins, value_range, nlevels
        As :func:`intensity_distribution`.
    estimator : {"plugin", "miller-madow", "grassberger", "dirichlet"}, optional
        Default "plugin", the notebook's (and scikit-image's) definition; the formulas
        are in ``gpuent/_estimators.py``. "dirichlet" depends on K, the number of
        levels (see ``nlevels``).
    base : float, optional
        Logarithm base; 2 (default) gives bits.

    Returns
    -------
    numpy.float64 or 0-d array
        The entropy in units of ``base``: a NumPy scalar (``numpy.float64``, a
        subclass of ``float``) for NumPy images, as NumPy's full reductions and
        :func:`shannon_entropy` of a 1-D NumPy array give; a 0-d float64 array
        of the image's namespace, on its device, for other array libraries (as
        :func:`shannon_entropy` and ``cupy.sum`` give). ``float(...)`` turns
        either into a Python float. For "plugin" and "miller-madow" the sum is
        taken integer-first in base 2 (``gpuent/_exact.py``): exact whenever the
        exact value is a float, e.g. 1.0 for an image that is half 0 and half 1.

    Notes
    -----
    Earlier versions returned a Python float for every array library.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> h = ge.intensity_entropy(np.array([[0, 1], [1, 0]], dtype=np.uint8))
    >>> type(h).__name__, float(h)
    ('float64', 1.0)
    """
    xp, value = _intensity_entropy(image, bins, value_range, nlevels, estimator, base)
    if is_numpy(xp):
        return np.float64(value)
    return xp.asarray(value, dtype=xp.float64, device=device_of(image))


def _intensity_entropy(image, bins, value_range, nlevels, estimator, base):
    """``(xp, entropy as a Python float)``: the host value behind :func:`intensity_entropy`."""
    check_estimator(estimator)
    base = check_base(base)
    xp, counts, k = _level_counts(image, bins, value_range, nlevels=nlevels)
    return xp, float(global_entropy(to_numpy(counts), estimator, k, base))
