"""Reading images and writing maps: every file format gpuent knows, one module per family.

Readers: PNG/JPEG/BMP/GIF/WebP and 8/16-bit TIFF through Pillow (tifffile when
installed, for TIFF), ``.npy`` (memory-mapped), ``.zarr`` arrays and ``.ome.zarr``
(level 0). Colour images become grayscale by luminance (ITU-R BT.601: 0.299 R +
0.587 G + 0.114 B), keeping the bit depth. For images larger than memory,
:func:`open_source` reads boxes lazily and :func:`create_sink` writes maps tile by tile.

Writers are atomic (:class:`AtomicOutput`): the file is written to a temporary name in
the target folder, gets its provenance record (:mod:`gpuent.provenance`), and is renamed
into place, so an output file is whole or absent.

Where things are:

==========================  =================================================================
``gpuent.io._atomic``       the one atomic writer (:class:`AtomicOutput`, :func:`publish`)
``gpuent.io._images``       pictures and TIFF: read, write, their provenance records
``gpuent.io._tiles``        ``.npy`` and ``.zarr``; lazy sources and tile-by-tile sinks
``gpuent.io.ngff``          ``.ome.zarr`` (OME-NGFF 0.5) with its pyramid
``gpuent.io._csv``          CSV tables
``gpuent.io._movies``       movies (GIF, APNG, WebP, MP4) and their writer, ``MovieWriter``
``gpuent.io._registry``     suffix -> :class:`~gpuent.io._registry.Format`
==========================  =================================================================

A new format is one new module in this package defining ``FORMATS`` (see
:mod:`gpuent.io._registry`).
"""

from __future__ import annotations

from . import _atomic, _images, _tiles
from ._atomic import AtomicOutput, atomic_path, deferred_interrupt, publish
from ._images import read_image, to_grayscale, write_image, write_map
from ._registry import Format, format_of
from ._tiles import create_sink, open_source

__all__ = [
    "AtomicOutput",
    "atomic_path",
    "publish",
    "read_image",
    "read_provenance",
    "to_grayscale",
    "write_image",
    "write_map",
]


def read_provenance(path):
    """The provenance record of a file gpuent wrote, as a dict (see :mod:`gpuent.provenance`).

    Raises ``ValueError`` when the file holds none, ``FileNotFoundError`` when it is missing.
    """
    from ..provenance import read_provenance as read

    return read(path)


def __getattr__(name):
    """Private names of the former single ``gpuent.io`` module (e.g. ``_pil_format``)."""
    for module in (_images, _atomic, _tiles):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ = (deferred_interrupt, Format, format_of, create_sink, open_source)  # re-exported
