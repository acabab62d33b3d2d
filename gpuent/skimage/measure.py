"""``gpuent.skimage.measure``: :func:`shannon_entropy` as in scikit-image."""

from __future__ import annotations

import math

import numpy as np

from .._backend import array_namespace, to_numpy
from .._exact import plugin_bits
from .._validate import check_base

__all__ = ["shannon_entropy"]


def shannon_entropy(image, base=2):
    """Shannon entropy of an image's values, as ``skimage.measure.shannon_entropy``.

    S = -sum p_k log p_k over the distinct values k of ``image`` (any dtype,
    any shape), with p_k their frequencies. The sum is taken integer-first in
    base 2 (see :mod:`gpuent._exact`), so it is exact whenever the exact value
    is a float: a constant image gives 0.0, 2**k equally frequent values k bits.

    Parameters
    ----------
    image : array
        NumPy or CuPy array (CuPy: the values are counted on the GPU).
    base : float, optional
        Logarithm base: 2 (default) bits, ``math.e`` nats, 10 hartleys.

    Returns
    -------
    numpy.float64
        The entropy (NaN for an empty image).

    Examples
    --------
    >>> import numpy as np
    >>> from gpuent.skimage.measure import shannon_entropy
    >>> shannon_entropy(np.array([[0, 1], [1, 0]]))
    np.float64(1.0)
    """
    xp = array_namespace(image)
    image = xp.asarray(image)
    flat = xp.reshape(image, (-1,))
    if flat.shape[0] == 0:
        return np.float64(np.nan)
    counts = xp.unique_counts(flat).counts
    h, _, _ = plugin_bits(to_numpy(counts))
    return np.float64(h / math.log2(check_base(base)))
