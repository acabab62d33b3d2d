"""A scikit-image drop-in: change one import, keep the call.

::

    from skimage.filters import rank
    from skimage.measure import shannon_entropy
    # becomes
    from gpuent.skimage.filters import rank
    from gpuent.skimage.measure import shannon_entropy

Signatures, footprint centres (even footprints, ``shift_x``/``shift_y``/``shift_z``),
masks, ``out=``, output dtypes, 2-D and 3-D follow scikit-image; NumPy input runs on
the CPU path, CuPy input on the GPU path (results stay on the GPU). Entropies are
exact where the exact value is a float (2**k equally frequent levels give k bits).
The mapping to gpuent's own API is in the README ("scikit-image drop-in").
scikit-image itself is only needed to convert images that are not uint8/uint16.
"""

from . import filters, measure

__all__ = ["filters", "measure"]
