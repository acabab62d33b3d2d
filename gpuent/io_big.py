"""Former home of the lazy sources and tile-by-tile sinks: now :mod:`gpuent.io._tiles`.

Kept so that ``gpuent.io_big.open_source`` and ``create_sink`` (and the sink classes)
still work; new code imports them from :mod:`gpuent.io`.
"""

from .io import _tiles
from .io._tiles import *  # noqa: F403
from .io._tiles import __all__  # noqa: F401


def __getattr__(name):
    return getattr(_tiles, name)
