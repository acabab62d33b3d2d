"""OME-Zarr (OME-NGFF 0.5, Zarr v3) output for viewers: a map and its 2x pyramid.

An output named ``*.ome.zarr`` is a Zarr v3 group whose attributes hold ``ome``
(``version`` 0.5, ``multiscales`` with ``axes`` and one scale per level) and gpuent's
provenance record. Level ``0`` is the map at full resolution, written tile by tile as the
map is computed; when it is complete each further level is the previous one averaged in
2x2 blocks of y and x (NaN pixels are not counted; a block of only NaN stays NaN), read
and written in strips, so memory stays bounded for maps of any size. Levels are added
until the smallest side is under 512 pixels.

Like a plain ``.zarr`` map it is resumable (:mod:`gpuent._resume`): level 0 is built in
``.NAME.ome.zarr.partial.zarr`` with a journal of finished tiles, and the pyramid is made
from the complete level 0 at the end, so a resumed output equals an uninterrupted one bit
for bit, every level.

Physical units come from the input when it has them: OME-XML ``PhysicalSize*`` or the
TIFF resolution tags (inch/centimetre, or ImageJ's ``unit``), converted to UDUNITS names
(``micrometer``...). Without them the axes carry no unit and the scale is in pixels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._registry import Format
from ._tiles import ZarrSink, ZarrSource, read_whole, write_whole, zarr_record, zarr_stamp

__all__ = ["NgffSink", "physical_size", "pyramid_shapes", "NGFF_VERSION", "FORMATS"]

NGFF_VERSION = "0.5"
#: the pyramid stops once the smallest side of a level is under this
SMALLEST = 512
_UNITS = {"µm": "micrometer", "um": "micrometer", "micron": "micrometer",
          "microns": "micrometer", "micrometer": "micrometer",
          "nm": "nanometer", "nanometer": "nanometer", "mm": "millimeter",
          "millimeter": "millimeter", "cm": "centimeter", "centimeter": "centimeter",
          "m": "meter", "meter": "meter", "Å": "angstrom", "angstrom": "angstrom",
          "pm": "picometer", "inch": "inch", "in": "inch"}


def pyramid_shapes(shape):
    """Shapes of the levels: halve y and x (rounding up) until the smallest side is < 512."""
    shapes = [tuple(int(n) for n in shape)]
    while min(shapes[-1][-2:]) >= SMALLEST:
        last = shapes[-1]
        shapes.append(last[:-2] + tuple(-(-n // 2) for n in last[-2:]))
    return shapes


def _unit(name):
    if not name:
        return None
    return _UNITS.get(str(name).strip(), _UNITS.get(str(name).strip().lower()))


def physical_size(path):
    """``{"z"?: (size, unit), "y": ..., "x": ...}`` of an input's pixels, or ``{}``.

    Read from OME-XML (``PhysicalSizeX/Y/Z`` and their units, micrometre by default) or
    the TIFF resolution tags; other inputs (or a TIFF without them) give ``{}``.
    """
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff") or not path.is_file():
        return {}
    try:
        import tifffile
    except ImportError:
        return {}
    with tifffile.TiffFile(str(path)) as tif:
        if tif.ome_metadata:
            sizes = _ome_sizes(tif.ome_metadata)
            if sizes:
                return sizes
        page = tif.pages[0]
        tags = page.tags
        xres, yres = tags.get("XResolution"), tags.get("YResolution")
        runit = tags.get("ResolutionUnit")
        if xres is None or yres is None:
            return {}
        per = {2: ("micrometer", 25400.0), 3: ("micrometer", 10000.0)}
        code = int(runit.value) if runit is not None else 2
        unit, factor = per.get(code, (None, 1.0))
        ij = tif.imagej_metadata or {}
        if unit is None and _unit(ij.get("unit")):
            unit, factor = _unit(ij.get("unit")), 1.0
        if unit is None:
            return {}

        def size(tag):
            num, den = tag.value
            return factor * den / num if num else None

        sy, sx = size(yres), size(xres)
        if not sy or not sx:
            return {}
        out = {"y": (sy, unit), "x": (sx, unit)}
        if ij.get("spacing"):
            out["z"] = (float(ij["spacing"]), unit)
        return out


def _ome_sizes(xml):
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    pixels = next((el for el in root.iter() if el.tag.endswith("Pixels")), None)
    if pixels is None:
        return {}
    out = {}
    for axis in ("z", "y", "x"):
        value = pixels.get(f"PhysicalSize{axis.upper()}")
        if value is None:
            continue
        unit = _unit(pixels.get(f"PhysicalSize{axis.upper()}Unit", "µm"))
        if unit:
            out[axis] = (float(value), unit)
    return out if "x" in out and "y" in out else {}


class NgffSink(ZarrSink):
    """A ``.ome.zarr`` output: level 0 written tile by tile, the pyramid at :meth:`commit`.

    Parameters
    ----------
    path : str or Path
        The ``.ome.zarr`` folder to create (atomically: whole or absent).
    shape : tuple of int
        The map's shape (2-D, or 3-D with z first).
    chunks : tuple of int
        Level 0's chunks (the tiles the map is computed in).
    like : str or Path, optional
        The input, whose physical pixel size (if any) goes into the axes.
    resume, fingerprint
        As :class:`gpuent.io._tiles.ZarrSink`: a partial output left by a killed run is
        refused unless ``resume``; then only the tiles its journal does not list are
        computed (``done``).
    """

    def __init__(self, path, shape, chunks, *, like=None, resume=False, fingerprint=None):
        self.shape = tuple(int(n) for n in shape)
        if len(self.shape) not in (2, 3):
            raise ValueError(f"an .ome.zarr map is 2-D or 3-D, got shape {self.shape}")
        self.chunks = tuple(min(int(c), n) for c, n in zip(chunks, self.shape))
        self.sizes = physical_size(like) if like is not None else {}
        super().__init__(path, self.shape, self.chunks, resume=resume, fingerprint=fingerprint)

    def _create(self, zarr, shape, chunks):
        group = zarr.open_group(self.tmp, mode="w", zarr_format=3)
        return group.create_array("0", shape=shape, chunks=chunks, dtype="float32",
                                  fill_value=float("nan"), dimension_names=self._names())

    def _names(self):
        return ["z", "y", "x"][-len(self.shape):]

    def _reopen(self):
        import zarr

        return zarr.open_array(os.path.join(self.tmp, "0"), mode="r+")

    def commit(self):
        try:
            self._pyramid()
        except BaseException:
            self.abort()
            raise
        super().commit()

    def _pyramid(self):
        import zarr

        group = zarr.open_group(self.tmp, mode="r+", zarr_format=3)
        shapes = pyramid_shapes(self.shape)
        prev = group["0"]
        for level, shape in enumerate(shapes[1:], start=1):
            chunks = tuple(min(c, n) for c, n in zip(self.chunks, shape))
            arr = group.create_array(str(level), shape=shape, chunks=chunks, dtype="float32",
                                     fill_value=float("nan"), dimension_names=self._names(),
                                     overwrite=True)  # a resumed run may find a part of it
            _downsample_into(prev, arr)
            prev = arr
        group.attrs.update({"ome": self._metadata(len(shapes))})

    def _metadata(self, levels):
        axes = []
        base = []
        for name in self._names():
            axis = {"name": name, "type": "space"}
            size, unit = self.sizes.get(name, (1.0, None))
            if unit:
                axis["unit"] = unit
            axes.append(axis)
            base.append(float(size))
        datasets = []
        for level in range(levels):
            f = [1.0] * (len(base) - 2) + [2.0 ** level] * 2
            scale = [b * k for b, k in zip(base, f)]
            shift = [b * (k - 1) / 2 for b, k in zip(base, f)]
            transforms = [{"type": "scale", "scale": scale}]
            if level:
                transforms.append({"type": "translation", "translation": shift})
            datasets.append({"path": str(level), "coordinateTransformations": transforms})
        return {"version": NGFF_VERSION,
                "multiscales": [{"name": self.path.name.removesuffix(".ome.zarr"),
                                 "axes": axes, "datasets": datasets,
                                 "type": "mean of 2x2 blocks (NaN not counted)"}]}


def _block_mean(block):
    """Mean over 2x2 blocks of the last two axes (odd edges: the pixels there), NaN-aware."""
    h, w = block.shape[-2:]
    pad = [(0, 0)] * (block.ndim - 2) + [(0, h % 2), (0, w % 2)]
    block = np.pad(block.astype(np.float64), pad, constant_values=np.nan)
    shape = block.shape[:-2] + (block.shape[-2] // 2, 2, block.shape[-1] // 2, 2)
    block = block.reshape(shape)
    ok = np.isfinite(block)
    total = np.where(ok, block, 0.0).sum(axis=(-3, -1))
    count = ok.sum(axis=(-3, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / count).astype(np.float32)


def _downsample_into(src, dst):
    """Fill ``dst`` with the 2x2 block means of ``src``, one output chunk at a time."""
    h, w = src.shape[-2:]
    rows, cols = 2 * dst.chunks[-2], 2 * dst.chunks[-1]
    lead = tuple(slice(None) for _ in src.shape[:-2])
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        for x0 in range(0, w, cols):
            x1 = min(w, x0 + cols)
            block = np.asarray(src[lead + (slice(y0, y1), slice(x0, x1))])
            dst[lead + (slice(y0 // 2, y0 // 2 + -(-(y1 - y0) // 2)),
                        slice(x0 // 2, x0 // 2 + -(-(x1 - x0) // 2)))] = _block_mean(block)


def _level0(path):
    return ZarrSource(Path(path) / "0")


FORMATS = [
    Format("OME-Zarr", (".ome.zarr",), frozenset({"image", "map", "stream"}), folder=True,
           read=read_whole, write=write_whole, source=_level0,
           sink=lambda path, shape, tile, *, like=None, resume=False, fingerprint=None: NgffSink(
               path, shape, tile, like=like, resume=resume, fingerprint=fingerprint),
           embed=zarr_stamp, extract=zarr_record),
]
