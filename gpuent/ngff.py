"""Former home of the OME-Zarr output: now :mod:`gpuent.io.ngff`.

Kept so that ``gpuent.ngff.pyramid_shapes`` and the other names still work.
"""

from .io import ngff as _ngff
from .io.ngff import *  # noqa: F403
from .io.ngff import __all__  # noqa: F401


def __getattr__(name):
    return getattr(_ngff, name)
