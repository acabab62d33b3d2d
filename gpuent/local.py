"""Windowed maps: local entropy and friends.

Every output pixel gets a quantity of the histogram of intensity levels in a
window around it: the *boxcar intensity-level entropy* of the Rensselaer REU
notebook (``mapbox(r, intensity_entropy, data)``), generalized to other
estimators, other functions of the distribution, footprints, boundary modes,
masks and 3-D volumes, and computed in O(r) per pixel instead of O(r^2 + bins).

All paths add the same int64 fixed-point table values and finish with the
same IEEE operations, so they agree bit for bit. The window options are
described in each function's docstring.
"""

from __future__ import annotations

from . import _dask
from ._backend import array_namespace
from ._levels import array_stats
from ._local_stats import block_map, local_mean, local_std, window_map
from ._memory import check_map
from ._stream import execute, make_request
from ._validate import UNSET, check_channel_axis, check_image, check_mask

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

#: the window options every windowed map takes, templated into each docstring
WINDOW_PARAMETERS = """\
radius : int or tuple of int, optional
    The (2r+1)-wide box (one radius per axis allowed). Exactly one of
    ``radius`` and ``footprint``.
footprint : array of bool, optional
    Any window shape with odd sides, centred on the pixel.
mode : {"clip", "reflect", "mirror", "wrap"}, default "clip"
    ``"clip"``: pixels outside the image are not counted, the window shrinks
    at borders (the notebook's ``mapbox`` and scikit-image's
    ``rank.entropy``); a window wider than the image is the image, so cost
    and memory are bounded by the image. ``"reflect"`` (d c b a|a b c d|d c b
    a), ``"mirror"`` (d c b|a b c d|c b a) and ``"wrap"`` (periodic) follow
    scipy.ndimage; there a window wider than the image counts pixels several
    times, and windows whose tables or run time are out of proportion are
    refused before anything is allocated.
bins : int, optional
    Bin the values into K levels: level = floor((x - lo) / (hi - lo) K),
    clipped to [0, K - 1]. Needed for floating-point images.
value_range : (float, float), optional
    (lo, hi) for ``bins``; the image's finite min and max by default.
nlevels : int, optional
    K, the number of possible levels, for bool and integer images whose
    values are the levels (scikit-image's ``n_bins``); every value must lie
    below it. By default uint8 has K = 256, bool 2 and other integers
    K = max + 1 (values below 65536). Only estimators that know K
    ("dirichlet") depend on it.
mask : array of bool, optional
    Only pixels where True are counted; every pixel still gets an output.
    NaN pixels are never counted. A window with no counted pixel gives NaN.
dtype : {float32, float64}, optional
    Output dtype, float32 by default.
backend : {None, "auto", "reference", "cpu", "cuda"}, optional
    None or "auto" pick the fastest path for the input (Numba for NumPy,
    CUDA for 2-D CuPy; gpuent warns once when only the slow reference path
    serves it); the others force one path (for tests and comparisons).
channel_axis : int or None, optional
    The axis of colour channels, as in scikit-image: an int computes one map
    per channel (a 2-D or 3-D image plus the channel axis; the output keeps
    the axis; ``mask`` has the shape without it), None says there is none
    (a (Z, Y, 3) or (Z, Y, 4) array is a volume). When not given, a 3-D array
    with 3 or 4 samples on its last axis may be either and is refused with a
    message saying to pass one of them.
progress : bool, default False
    Show a progress bar (``tqdm.auto``, also in notebooks) while the map is
    computed in bands of lines (the same bits). Ignored for Dask arrays (use
    ``dask.diagnostics.ProgressBar``)."""

_RAISES = """\
Raises
------
ValueError
    For both or neither of ``radius`` and ``footprint``, an unknown mode or
    estimator, a floating-point image without ``bins``, integer values outside
    the levels, a mask of another shape, or a window whose tables or run time
    exceed the limits of :func:`gpuent._kernels.histogram.spec.check_cost`.
TypeError
    For a non-numeric image, a mask of another array library, or a bad dtype."""


def _document(func):
    """Put the shared sections in place of ``{window}`` and ``{raises}``, at their indent
    (docstrings keep it before Python 3.13 and lose it from 3.13 on)."""
    if func.__doc__ is None:  # python -OO
        return func
    lines = []
    for line in func.__doc__.splitlines():
        key = line.strip()
        block = {"{window}": WINDOW_PARAMETERS, "{raises}": _RAISES}.get(key)
        if block is None:
            lines.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        lines.extend(indent + b if b else b for b in block.splitlines())
    func.__doc__ = "\n".join(lines)
    return func


def _per_channel(func, image, channel_axis, **kwargs):
    """``func`` on each colour channel (``channel_axis=None`` each), stacked on that axis."""
    if isinstance(image, (list, tuple)):
        image = check_image(image, ndims=(3, 4))[1]
    if not hasattr(image, "ndim"):
        check_image(image)  # raises the standard "must be an array" message
    axis = check_channel_axis(channel_axis, image.ndim)
    lead = (slice(None),) * axis
    maps = [func(image[lead + (c,)], channel_axis=None, **kwargs)
            for c in range(int(image.shape[axis]))]
    return array_namespace(maps[0]).stack(maps, axis=axis)


def _windowed(kind, image, radius, footprint, mode, bins, value_range, nlevels, mask, dtype,
              backend, progress, channel_axis, **options):
    """One request, built and executed: the body of every in-memory windowed map."""
    guess = channel_axis is UNSET
    xp, image = check_image(image, ndims=_NDIMS, guess_channels=guess, channel_param=True)
    mask = check_mask(mask, image, xp)
    req = make_request(kind, image.shape, image.dtype, radius=radius, footprint=footprint,
                       mode=mode, bins=bins, value_range=value_range, nlevels=nlevels,
                       dtype_out=dtype, backend=backend, stats=array_stats(xp, image, mask),
                       image=image, guess_channels=guess, **options)
    # float64 binning temporaries, int32 levels, the valid mask, a float64 output; offsets
    check_map(image.shape, bytes_per_pixel=29, table_bytes=24 * int(req.footprint.sum()),
              what="a local map")
    return execute(req, image, mask, progress=bool(progress))


@_document
def local_entropy(image, radius=None, *, footprint=None, mode="clip", bins=None,
                  value_range=None, nlevels=None, estimator="plugin", base=2, mask=None,
                  dtype=None, backend=None, channel_axis=UNSET, progress=False):
    """Entropy of the intensity-level histogram in a window around every pixel.

    Parameters
    ----------
    image : array, 2-D or 3-D
        NumPy, CuPy, Dask or any array-API array; bool, integer or float (with
        ``bins``). A Dask array gives a lazy Dask array, chunk by chunk, equal to
        the in-memory map.
    {window}
    estimator : {"plugin", "miller-madow", "grassberger", "dirichlet"}
        "plugin" (default) is -sum p log p of the window's histogram, as the
        notebook and scikit-image. The others correct its small-sample bias
        (formulas in ``gpuent/_estimators.py``); "dirichlet" is the posterior
        mean under a uniform Dirichlet prior over the K levels (the notebook's
        rule of succession), so it depends on K (see ``nlevels``).
    base : float
        Logarithm base, 2 (bits) by default.

    Returns
    -------
    array
        Same shape, namespace and device as ``image``; float32 unless ``dtype``
        (with ``channel_axis``, one map per channel along that axis).

    {raises}

    See Also
    --------
    local_renyi_entropy, local_expected : other functions of the window's histogram.
    gpuent.intensity_entropy : the entropy of the whole image.
    skimage.filters.rank.entropy : the same map (mode "clip", plugin) for uint8/uint16.

    References
    ----------
    .. [1] P. Grassberger, "Entropy estimates from insufficient samplings",
       arXiv:physics/0307138 (2003).
    .. [2] G. A. Miller, "Note on the bias of information estimates" (1955).

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> img = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    >>> ge.local_entropy(img, 3).shape
    (64, 64)
    """
    if channel_axis is not None and channel_axis is not UNSET:
        return _per_channel(local_entropy, image, channel_axis, radius=radius,
                            footprint=footprint, mode=mode, bins=bins, value_range=value_range,
                            nlevels=nlevels, estimator=estimator, base=base, mask=mask,
                            dtype=dtype, backend=backend, progress=progress)
    if _is_dask(image):
        return _dask.windowed("entropy", image, radius=radius, footprint=footprint, mode=mode,
                              bins=bins, value_range=value_range, nlevels=nlevels,
                              estimator=estimator, base=base, mask=mask, dtype=dtype,
                              backend=backend, guess_channels=channel_axis is UNSET)
    return _windowed("entropy", image, radius, footprint, mode, bins, value_range, nlevels,
                     mask, dtype, backend, progress, channel_axis, estimator=estimator,
                     base=base)


@_document
def local_expected(image, f, radius=None, *, footprint=None, mode="clip", bins=None,
                   value_range=None, nlevels=None, mask=None, dtype=None, backend=None,
                   channel_axis=UNSET, progress=False):
    """Expected value of ``f`` under each window's intensity distribution: sum of p f(p).

    The notebook replaces the surprisal -log p by other functions: its
    "Laurent" map is ``f = lambda p: 1/p - 1`` (the number of distinct levels
    minus one) and its "Taylor" map ``f = lambda p: -(1 + p)``.

    Parameters
    ----------
    image : array, 2-D or 3-D
        As for :func:`local_entropy`.
    f : callable
        Vectorized function of an array of probabilities in (0, 1], finite
        there. It is evaluated once, on the host, on every p = c/n a window of
        this size can produce (a table with about N^2/2 entries for an
        N-pixel window, so windows are limited to 8000 pixels); the sums are
        then kept exactly in fixed point.
    {window}

    Returns
    -------
    array
        Same shape, namespace and device as ``image``.

    {raises}

    See Also
    --------
    gpuent.expected : the same sum over one distribution.
    local_entropy, local_renyi_entropy
    """
    if channel_axis is not None and channel_axis is not UNSET:
        return _per_channel(local_expected, image, channel_axis, f=f, radius=radius,
                            footprint=footprint, mode=mode, bins=bins, value_range=value_range,
                            nlevels=nlevels, mask=mask, dtype=dtype, backend=backend,
                            progress=progress)
    if _is_dask(image):
        return _dask.windowed("expected", image, f=f, radius=radius, footprint=footprint,
                              mode=mode, bins=bins, value_range=value_range, nlevels=nlevels,
                              mask=mask, dtype=dtype, backend=backend,
                              guess_channels=channel_axis is UNSET)
    return _windowed("expected", image, radius, footprint, mode, bins, value_range, nlevels,
                     mask, dtype, backend, progress, channel_axis, f=f)


@_document
def local_renyi_entropy(image, alpha, radius=None, *, footprint=None, mode="clip", bins=None,
                        value_range=None, nlevels=None, base=2, mask=None, dtype=None,
                        backend=None, channel_axis=UNSET, progress=False):
    """Rényi entropy of order ``alpha`` of each window's intensity distribution.

    H_alpha = log(sum p^alpha) / (1 - alpha) (the notebook's Definition 6);
    ``alpha = 1`` is :func:`local_entropy` (plugin), ``alpha = 0`` the log of
    the number of distinct levels in the window, ``alpha = math.inf`` the
    min-entropy -log(largest count / n), as :func:`gpuent.renyi_entropy`.

    Parameters
    ----------
    image : array, 2-D or 3-D
        As for :func:`local_entropy`.
    alpha : float
        Order >= 0; ``math.inf`` gives the min-entropy.
    {window}
    base : float
        Logarithm base, 2 by default.

    Returns
    -------
    array
        Same shape, namespace and device as ``image``; float32 unless ``dtype``
        (with ``channel_axis``, one map per channel along that axis).

    {raises}

    See Also
    --------
    gpuent.renyi_entropy : the Rényi entropy of one distribution.
    local_entropy

    Notes
    -----
    sum p^alpha is kept exactly in fixed point like every windowed sum; the
    final logarithm is the namespace's ``log`` on float64, so paths on the same
    library agree bit for bit. Sums cannot give a window's largest count, so
    ``alpha = inf`` has its own scan on every backend (each window's levels
    sorted, ``O(F log F)`` per pixel for a footprint of F pixels; slower than
    the sliding sums of finite orders), equal to :func:`gpuent.renyi_entropy`
    with ``alpha=math.inf`` of each window's histogram.

    References
    ----------
    .. [1] A. Rényi, "On measures of entropy and information", Proc. Fourth
       Berkeley Symp. Math. Statist. Prob., 1 (1961) 547-561.
    """
    if channel_axis is not None and channel_axis is not UNSET:
        return _per_channel(local_renyi_entropy, image, channel_axis, alpha=alpha,
                            radius=radius, footprint=footprint, mode=mode, bins=bins,
                            value_range=value_range, nlevels=nlevels, base=base, mask=mask,
                            dtype=dtype, backend=backend, progress=progress)
    if _is_dask(image):
        return _dask.windowed("renyi", image, alpha=alpha, radius=radius, footprint=footprint,
                              mode=mode, bins=bins, value_range=value_range, nlevels=nlevels,
                              base=base, mask=mask, dtype=dtype, backend=backend,
                              guess_channels=channel_axis is UNSET)
    return _windowed("renyi", image, radius, footprint, mode, bins, value_range, nlevels,
                     mask, dtype, backend, progress, channel_axis, alpha=alpha, base=base)
