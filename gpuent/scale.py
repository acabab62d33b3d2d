"""Gaussian blur and the intensity entropy as a function of blur (REU notebook, section 4).

The notebook asks how the intensity-level entropy of an image falls as the image is
smoothed: :func:`entropy_vs_blur` computes that curve, :func:`gaussian_blur` the blur.

A note on the notebook's "Beware: GIGO" (section 4.2.1)
---------------------------------------------------
The notebook blurred with Pillow's ``ImageFilter.GaussianBlur`` with radii up to a
large fraction of the image (``k * max(shape)``). For white noise it saw the entropy
stop falling and the most blurred image -- which should be uniform -- show structure
that the display's renormalization (contrast stretching) made obvious. The causes are
boundary effects and the discrete kernel: Pillow approximates the Gaussian with
repeated box blurs and extends the image by repeating its edge pixels, so once the
kernel is as wide as the image a few edge pixels get an ever larger weight, and their
deviations survive the blur instead of averaging out; the entropy then measures those
artefacts, not the image.

Here the blur is scipy.ndimage's sampled Gaussian (truncated at 4 sigma) and the
default ``mode="reflect"`` extends the image by mirror copies of itself for any
kernel width (also wider than the image). Each output pixel is then a weighted mean
of the *whole* image with weights that sum to one and favour no edge pixel, so as
sigma grows the blur tends to the global mean, the rounded image becomes uniform and
the entropy falls to 0 (or to 1 bit when the mean lies near a level boundary) as it
should. ``mode="wrap"`` has the same property. The blurred image is rounded back to
the input's levels (see :func:`entropy_vs_blur`), so the curve compares like with like.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._backend import is_cupy, is_numpy, to_numpy
from ._memory import check_allocation, check_map
from ._validate import check_image, dtype_kind

__all__ = ["BLUR_MODES", "entropy_vs_blur", "gaussian_blur"]

#: Boundary modes of :func:`gaussian_blur` (scipy.ndimage's names).
BLUR_MODES = ("reflect", "mirror", "wrap", "nearest", "constant")


def _check_sigma(sigma, ndim):
    values = sigma if isinstance(sigma, (tuple, list, np.ndarray)) else [sigma] * ndim
    values = [float(s) for s in values]
    if len(values) != ndim:
        raise ValueError(f"sigma has {len(values)} entries; give one per axis ({ndim})")
    for s in values:
        if not (math.isfinite(s) and s >= 0):
            raise ValueError(f"sigma must be finite and >= 0, got {s}")
    return values


def _check_truncate(truncate, sigmas):
    """``truncate`` finite and > 0, and each kernel's weights (and line buffer) fit in memory."""
    if isinstance(truncate, bool) or not isinstance(truncate, numbers.Real):
        raise TypeError(f"truncate must be a number, got {truncate!r}")
    if not (math.isfinite(truncate) and truncate > 0):
        raise ValueError(f"truncate must be finite and > 0, got {truncate}")
    for s in sigmas:
        half = truncate * s + 0.5
        if not math.isfinite(half):
            raise ValueError(f"sigma {s} with truncate {truncate} is too large")
        check_allocation(2 * 8 * (2 * int(half) + 1), f"a Gaussian kernel of sigma {s}",
                         "use a smaller sigma or truncate")


def _check_blur_mode(mode):
    if mode not in BLUR_MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(map(repr, BLUR_MODES))}")
    return mode


def gaussian_blur(image, sigma, *, mode="reflect", truncate=4.0):
    """Gaussian blur with standard deviation ``sigma`` pixels.

    Parameters
    ----------
    image : array
        1-, 2- or 3-D image of any array-API library; the result is in the same
        library and on the same device.
    sigma : float or sequence of float
        Standard deviation in pixels (one per axis allowed); 0 leaves an axis as it is.
    mode : {"reflect", "mirror", "wrap", "nearest", "constant"}
        How the image is extended beyond its borders, with scipy.ndimage's meaning.
        The default ``"reflect"`` (d c b a | a b c d | d c b a) tends to the global
        mean for large sigma (see the module notes on the notebook's "GIGO").
    truncate : float, optional
        The kernel is cut at ``truncate * sigma`` (default 4.0).

    Returns
    -------
    array
        float64 for bool and integer images, the input's type for floating point.

    Notes
    -----
    NumPy images go through :func:`scipy.ndimage.gaussian_filter`, CuPy images through
    :func:`cupyx.scipy.ndimage.gaussian_filter` (on the GPU). Other array-API
    libraries (e.g. array-api-strict) are copied to NumPy explicitly, filtered with
    SciPy and copied back: the blur is not a hot path of this package, and SciPy's is
    the reference everyone checks against.
    """
    xp, image = check_image(image, ndims=(1, 2, 3))
    sigmas = _check_sigma(sigma, image.ndim)
    mode = _check_blur_mode(mode)
    _check_truncate(truncate, sigmas)
    check_map(image.shape, bytes_per_pixel=24, what="a Gaussian blur")  # float64 in, out, cast
    out_dtype = image.dtype if dtype_kind(image) == "f" else xp.float64
    if is_cupy(xp):
        import cupy
        from cupyx.scipy import ndimage as cndi

        x = cupy.asarray(image).astype(cupy.float64)
        y = cndi.gaussian_filter(x, sigmas, mode=mode, truncate=truncate)
        return xp.astype(xp.asarray(y), out_dtype)
    from scipy import ndimage

    x = to_numpy(image).astype(np.float64)
    y = ndimage.gaussian_filter(x, sigmas, mode=mode, truncate=truncate)
    if is_numpy(xp):
        return xp.astype(xp.asarray(y), out_dtype)
    return xp.astype(xp.asarray(y, device=image.device), out_dtype)


def _round_to_levels(xp, blurred, image, bins, value_range):
    """Bring a blurred image back to the input's levels: (image-like array, bins, range)."""
    kind = dtype_kind(image)
    if kind == "b":
        return blurred >= 0.5, bins, value_range
    if kind in ("u", "i"):
        r = xp.round(blurred)
        if image.dtype == xp.uint8:
            return xp.astype(xp.clip(r, 0.0, 255.0), xp.uint8), bins, value_range
        return xp.astype(r, image.dtype), bins, value_range
    return blurred, bins, value_range  # floats are binned with the input's value_range


def entropy_vs_blur(image, sigmas, *, relative=False, mode="reflect", bins=None,
                    value_range=None, estimator="plugin", base=2):
    """Intensity-level entropy of the image blurred by each sigma (notebook section 4).

    Parameters
    ----------
    image : array
        2-D (or 1-/3-D) image of any array-API library.
    sigmas : sequence of float
        Blur standard deviations: in pixels, or with ``relative=True`` as a fraction of
        the image size ``max(image.shape)``, like the notebook's ``intensity_blur``
        (``GaussianBlur(k * scale)``). ``0`` means no blur.
    relative : bool, optional
        Interpret ``sigmas`` as fractions of ``max(image.shape)`` (default False).
    mode : {"reflect", "mirror", "wrap", "nearest", "constant"}, optional
        Boundary mode of :func:`gaussian_blur`; the default ``"reflect"`` avoids the
        boundary artefacts behind the notebook's "GIGO" remark (section 4.2.1): see the
        notes of :mod:`gpuent.scale`.
    bins, value_range, estimator, base
        As :func:`gpuent.intensity_entropy`. For floating-point images the levels are
        fixed by the *unblurred* image: ``value_range`` defaults to its min and max.

    Returns
    -------
    (sigmas, entropies) : tuple of NumPy float64 arrays
        ``sigmas`` as given (pixels or fractions), ``entropies`` in units of ``base``
        (bits by default). The curve is a handful of numbers, so it lives on the host.

    Notes
    -----
    The blurred image is rounded back to the input's levels before its entropy is
    taken: integers to the nearest integer (uint8 clipped to 0..255), bool at 0.5,
    floats binned with the input's ``bins`` and ``value_range``. At sigma 0 the result
    is exactly ``intensity_entropy(image, ...)``.

    As the blur grows the entropy falls towards 0: the curve measures over how many
    pixels the image's intensities are correlated.

    Examples
    --------
    >>> import numpy as np, gpuent as ge
    >>> img = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    >>> s, h = ge.entropy_vs_blur(img, [0, 1, 4])
    >>> bool(h[0] > h[1] > h[2])
    True
    """
    from .entropy import _intensity_entropy

    xp, image = check_image(image, ndims=(1, 2, 3))
    # per sigma: the float64 blur with its input copy, the rounded copy and its levels
    check_map(image.shape, bytes_per_pixel=40, what="an entropy-versus-blur curve")
    try:
        s = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"sigmas must be a sequence of numbers, got {sigmas!r}") from None
    if isinstance(sigmas, numbers.Real):
        s = np.asarray([float(sigmas)])
    if s.size == 0:
        raise ValueError("sigmas is empty; give at least one blur width")
    if not np.all(np.isfinite(s) & (s >= 0)):
        raise ValueError("sigmas must be finite and >= 0")
    mode = _check_blur_mode(mode)
    scale = float(max(image.shape)) if relative else 1.0
    kind = dtype_kind(image)
    if kind == "f" and bins is not None and value_range is None:
        x = xp.astype(image, xp.float64)
        ok = xp.isfinite(x)
        if bool(xp.any(ok)):
            value_range = (float(xp.min(x[ok])), float(xp.max(x[ok])))
    entropies = np.empty(s.size, dtype=np.float64)
    for k, sigma in enumerate(s):
        if sigma == 0:
            entropies[k] = _intensity_entropy(image, bins, value_range, None, estimator, base)[1]
            continue
        blurred = gaussian_blur(image, sigma * scale, mode=mode)
        levels, b, vr = _round_to_levels(xp, blurred, image, bins, value_range)
        entropies[k] = _intensity_entropy(levels, b, vr, None, estimator, base)[1]
    return s, entropies
