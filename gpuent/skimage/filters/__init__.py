"""``gpuent.skimage.filters``: only :mod:`.rank` (the windowed-histogram filters)."""

from . import rank

__all__ = ["rank"]
