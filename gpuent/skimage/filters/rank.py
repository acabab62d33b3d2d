"""``gpuent.skimage.filters.rank``: scikit-image's rank filters that gpuent computes.

:func:`entropy` and :func:`mean` take the arguments of ``skimage.filters.rank``
and follow its conventions:

* The footprint's centre is ``shape // 2 + shift`` along each axis (so even
  footprints work); 2-D: ``shift_y`` moves axis 0 and ``shift_x`` axis 1;
  3-D: ``shift_x``, ``shift_y``, ``shift_z`` move axes 0, 1, 2 (as
  scikit-image does). The window at a pixel holds the footprint's pixels
  inside the image (no padding).
* ``mask``: only pixels where the mask is non-zero are counted; every pixel
  gets an output, and a window without a counted pixel gives 0.
* Images must be uint8 or uint16 (bool is refused in 2-D); other dtypes are
  converted by ``skimage.util.img_as_ubyte`` with scikit-image's warning.
* Output: float64 for :func:`entropy`, the image's dtype for :func:`mean`
  (truncated, as scikit-image), or the dtype of ``out=``.

NumPy images run on gpuent's CPU path and CuPy images on its GPU path. The
footprint is served unchanged by embedding it, shifted, into the smallest odd
footprint centred on the output pixel.
"""

from __future__ import annotations

import warnings

import array_api_compat
import numpy as np

from ..._backend import array_namespace, to_numpy

__all__ = ["entropy", "mean"]


def _is_cupy(a):
    return array_api_compat.is_cupy_array(a)


def _host(a):
    return to_numpy(a) if _is_cupy(a) else np.asarray(a)


def _convert(xp, image):
    """uint8/uint16 pass; bool and others as scikit-image does (with its warning)."""
    if image.dtype in (np.uint8, np.uint16):
        return image
    try:
        from skimage.util import img_as_ubyte
    except ImportError as exc:  # no conversion, so no warning that one happens
        raise TypeError(
            f"rank filters take uint8 or uint16 images, got {image.dtype}; convert it to "
            "uint8 first, or install scikit-image, whose img_as_ubyte converts it here"
        ) from exc
    warnings.warn(
        f"Possible precision loss converting image of type {image.dtype} to uint8 as "
        "required by rank filters. Convert manually using skimage.util.img_as_ubyte to "
        "silence this warning.",
        UserWarning,
        stacklevel=4,
    )
    converted = img_as_ubyte(_host(image))
    return xp.asarray(converted) if _is_cupy(image) else converted


def _shifts(ndim, shift_x, shift_y, shift_z):
    for name, value in zip(("shift_x", "shift_y", "shift_z"), (shift_x, shift_y, shift_z)):
        if isinstance(value, (bool, np.bool_)):
            warnings.warn(
                f"Parameter `{name}` is boolean and will be interpreted as int. "
                "This is not officially supported, use int instead.",
                UserWarning,
                stacklevel=4,
            )
    if ndim == 2:
        return (("shift_y", int(shift_y)), ("shift_x", int(shift_x)))
    return (("shift_x", int(shift_x)), ("shift_y", int(shift_y)), ("shift_z", int(shift_z)))


def _centred(footprint, shifts):
    """The footprint (bool) shifted into an odd footprint whose centre is the output pixel."""
    fp = _host(footprint) > 0
    pads = []
    for size, (name, shift) in zip(fp.shape, shifts):
        centre = size // 2 + shift
        if not 0 <= centre < size:
            raise ValueError(
                f"half footprint + {name} must be between 0 and footprint "
                f"(centre {centre} for a side of {size}); use a smaller shift"
            )
        radius = max(centre, size - 1 - centre)
        pads.append((radius - centre, radius - (size - 1 - centre)))
    return np.pad(fp, pads)


def _prepare(image, footprint, out, mask, shift_x, shift_y, shift_z):
    xp = array_namespace(image)
    image = xp.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"`image` must have 2 or 3 dimensions, got {image.ndim}.")
    if image.ndim == 2 and image.dtype == np.bool_:
        raise ValueError("dtype cannot be bool.")
    if out is not None and out is image:
        raise NotImplementedError("Cannot perform rank operation in place.")
    image = _convert(xp, image)
    if np.ndim(_host(footprint)) != image.ndim:
        raise ValueError("Image dimensions and neighborhood dimensions do not match")
    fp = _centred(footprint, _shifts(image.ndim, shift_x, shift_y, shift_z))
    if mask is not None:
        mask = xp.asarray(mask)
        if mask.shape != image.shape:
            raise ValueError(f"mask has shape {mask.shape}; it must match the image {image.shape}")
        mask = mask != 0
    return xp, image, fp, mask


def _emit(xp, values, image, out, dtype):
    """Write ``values`` (float64, image-shaped) into ``out`` (or a new ``dtype`` array)."""
    if out is None:
        return xp.astype(values, dtype)
    if out.shape not in (image.shape, image.shape + (1,)):
        raise ValueError(f"out has shape {out.shape}; it must be the image's {image.shape}")
    view = xp.reshape(out, image.shape)
    view[...] = xp.astype(values, out.dtype)
    return view


def entropy(image, footprint, out=None, mask=None, shift_x=0, shift_y=0, shift_z=0):
    """Local entropy in bits, as ``skimage.filters.rank.entropy``.

    The plug-in entropy of the levels under the footprint, -sum p log2 p;
    exact whenever the exact value is a float (2**k equally frequent levels
    give exactly k), on the CPU and GPU paths alike.

    Parameters
    ----------
    image : ([P,] M, N) array (uint8, uint16), NumPy or CuPy
        Input image.
    footprint : array
        The neighborhood as an array of 1's and 0's, any sides (odd or even).
    out : ([P,] M, N) array, optional
        Written in place and returned; its dtype is kept (float64 by default).
    mask : array, optional
        Pixels where the mask is non-zero are counted; every pixel gets an output.
    shift_x, shift_y, shift_z : int, optional
        Offset added to the footprint centre (``shape // 2``); see the module notes.

    Returns
    -------
    out : ([P,] M, N) array (float64 unless ``out`` says otherwise)

    See Also
    --------
    gpuent.local_entropy : the native call (``footprint=``, ``mode="clip"``,
        ``dtype=np.float64``), which also offers other estimators, bases and modes.

    Examples
    --------
    >>> import numpy as np
    >>> from gpuent.skimage.filters import rank
    >>> tiles = np.tile(np.array([[0, 1], [2, 3]], dtype=np.uint8), (8, 8))
    >>> float(rank.entropy(tiles, np.ones((4, 4))).max())
    2.0
    """
    from ...local import local_entropy

    xp, image, fp, mask = _prepare(image, footprint, out, mask, shift_x, shift_y, shift_z)
    if not fp.any():
        values = xp.zeros(image.shape, dtype=xp.float64)
    else:
        values = local_entropy(image, footprint=fp, mode="clip", mask=mask, base=2,
                               dtype=np.float64)
        values = xp.where(xp.isnan(values), 0.0, values)  # no counted pixel: 0
    return _emit(xp, values, image, out, xp.float64)


def _correlate(xp, image):
    if _is_cupy(image):
        from cupyx.scipy import ndimage
    else:
        from scipy import ndimage
    return ndimage.correlate


def mean(image, footprint, out=None, mask=None, shift_x=0, shift_y=0, shift_z=0):
    """Local mean, as ``skimage.filters.rank.mean``.

    The mean of the counted pixels under the footprint, the sum and the count
    taken exactly (float64 sums of integers) and divided once, then cast to the
    output dtype (integers truncate, as scikit-image).

    Parameters
    ----------
    image : ([P,] M, N) array (uint8, uint16), NumPy or CuPy
        Input image.
    footprint : array
        The neighborhood as an array of 1's and 0's, any sides.
    out : ([P,] M, N) array, optional
        Written in place and returned; default a new array of the image's dtype.
    mask : array, optional
        Pixels where the mask is non-zero are counted; every pixel gets an output.
    shift_x, shift_y, shift_z : int, optional
        Offset added to the footprint centre (``shape // 2``).

    Returns
    -------
    out : ([P,] M, N) array (the image's dtype unless ``out`` says otherwise)

    See Also
    --------
    gpuent.local_mean : the native call (square windows, ``radius=``).
    """
    xp, image, fp, mask = _prepare(image, footprint, out, mask, shift_x, shift_y, shift_z)
    correlate = _correlate(xp, image)
    weights = xp.asarray(fp.astype(np.float64))
    data = xp.astype(image, xp.float64)
    if mask is not None:
        data = xp.where(mask, data, 0.0)
        counted = xp.astype(mask, xp.float64)
    else:
        counted = xp.ones(image.shape, dtype=xp.float64)
    total = correlate(data, weights, mode="constant", cval=0.0)
    count = correlate(counted, weights, mode="constant", cval=0.0)
    values = xp.where(count > 0, total / xp.where(count > 0, count, 1.0), 0.0)
    return _emit(xp, values, image, out, image.dtype)
