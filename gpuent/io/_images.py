"""Pictures and TIFF: PNG/APNG, JPEG, GIF, WebP, BMP, PDF/SVG and 8/16-bit/float TIFF.

Readers go through Pillow (tifffile when installed, for TIFF). Colour images become
grayscale by luminance (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B), keeping the bit
depth. :func:`read_image` and :func:`write_map` find the format of a file by its suffix
(:mod:`gpuent.io._registry`); the formats of this module are in :data:`FORMATS`, with
how the provenance record goes into each (PNG text chunks, the TIFF ImageDescription
and Software tag, GIF and JPEG comments; WebP, PDF and SVG have a sidecar).

Writers are atomic (:class:`gpuent.io.AtomicOutput`): an output file is whole or absent.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

from .._colormaps import apply_colormap
from .._memory import MemoryLimitError, check_allocation, nbytes_of
from ._atomic import atomic_path
from ._registry import Format, format_of

__all__ = ["read_image", "to_grayscale", "write_image", "write_map", "FORMATS"]

_LUMA = np.array([0.299, 0.587, 0.114])


def to_grayscale(rgb):
    """Luminance of an (..., 3) or (..., 4) colour array, in its own integer dtype.

    Alpha is ignored. Integer inputs are rounded back to their dtype.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim < 3 or rgb.shape[-1] not in (3, 4):
        raise ValueError(f"expected a colour image of shape (..., 3|4), got {rgb.shape}")
    y = rgb[..., :3].astype(np.float64) @ _LUMA
    if np.issubdtype(rgb.dtype, np.integer):
        info = np.iinfo(rgb.dtype)
        return np.clip(np.rint(y), info.min, info.max).astype(rgb.dtype)
    return y.astype(rgb.dtype)


def _tifffile():
    try:
        import tifffile
    except ImportError:
        return None
    return tifffile


class _TooBig(MemoryLimitError):
    """A file whose declared size is refused before decoding."""


def _check_decoded(path, shape, dtype, gray):
    """Refuse, before decoding, a file whose declared pixels would not fit in memory."""
    n = nbytes_of(shape, np.dtype(dtype).itemsize)
    if gray and len(shape) == 3 and shape[-1] in (3, 4):  # float64 luminance on the way
        n += nbytes_of(shape, 8) + nbytes_of(shape[:-1], 8)
    try:
        check_allocation(n, f"{path} (declared {' x '.join(map(str, shape))} pixels)",
                         "for images larger than memory use TIFF, .npy or .zarr with "
                         "gpuent entropy, which streams them tile by tile")
    except MemoryLimitError as exc:
        raise _TooBig(f"cannot read {exc}") from None


def read_image(path, *, gray=True):
    """Read an image file into a NumPy array (grayscale by luminance when ``gray``).

    Parameters
    ----------
    path : str or Path
        ``.npy`` files are memory-mapped copy-on-write; TIFF goes through tifffile
        when installed (16-bit, multi-page stacks as 3-D volumes), else Pillow.
    gray : bool
        Colour images become grayscale by luminance, in their own dtype.

    Returns
    -------
    numpy.ndarray
        A writeable array (changes never reach the file), uint8/uint16 for most images.

    Raises
    ------
    OSError
        Missing or unreadable file, with the reason.
    """
    path = Path(path)
    fmt = format_of(path)
    if fmt is not None and fmt.folder and fmt.read is not None:  # a Zarr store: a folder
        return fmt.read(path, gray)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    read = fmt.read if fmt is not None and fmt.read is not None else _read_pil
    try:
        data = read(path, gray)
    except _TooBig:
        raise
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot read {path}: {exc}") from None
    except Exception as exc:  # Pillow and tifffile raise assorted errors on bad files
        raise OSError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    if gray and data.ndim == 3 and data.shape[-1] in (3, 4) and (fmt is None or fmt.gray):
        data = to_grayscale(data)
    if not data.flags.writeable:  # Pillow's buffers are read-only; scikit-image writes
        data = np.array(data)
    return data


def _read_tiff(path, gray):
    """TIFF through tifffile (else Pillow); colour is the file's sample axis, not a guess."""
    if _tifffile() is None:
        data = _read_pil(path, gray)
        colour = True
    else:
        colour = True
        with _tifffile().TiffFile(path) as tif:
            if tif.series:  # what the header declares, before decoding anything
                series = tif.series[0]
                colour = series.axes.endswith("S")  # samples (RGB), not a guess
                _check_decoded(path, series.shape, series.dtype, gray)
            data = tif.asarray()
    if gray and colour and data.ndim == 3 and data.shape[-1] in (3, 4):
        data = to_grayscale(data)
    return data


def _read_pil(path, gray):
    from PIL import Image

    try:
        im = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise _TooBig(f"cannot read {path}: {exc} Pillow refuses it as a possible "
                      "decompression bomb; for images this large use TIFF, .npy or "
                      ".zarr, which are streamed") from None
    with im:
        bands = len(im.getbands())
        depth = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}.get(im.mode, 1)
        _check_decoded(path, (im.height, im.width, bands), np.dtype(f"u{depth}"),
                       gray)
        im.load()
        if im.mode in ("P", "PA", "LA", "1"):
            im = im.convert("RGBA" if "A" in im.mode or im.mode == "P" else "L")
        if im.mode == "CMYK" or im.mode == "YCbCr":
            im = im.convert("RGB")
        data = np.asarray(im)
    return data


def write_image(path, array):
    """Write a uint8/uint16 grayscale or RGB array as an image file (atomically)."""
    from PIL import Image

    from ..provenance import default_recording

    array = np.asarray(array)
    with default_recording("gpuent.io.write_image", {"path": str(path)}):
        with atomic_path(path) as tmp:
            Image.fromarray(array).save(tmp, format=_pil_format(path))


def _pil_format(path):
    from PIL import Image

    ext = Path(path).suffix.lower()
    Image.preinit()  # the common formats (PNG, JPEG, BMP, GIF, PPM): no plugin scan
    fmt = Image.EXTENSION.get(ext)
    if fmt is None:
        Image.init()
        fmt = Image.EXTENSION.get(ext)
    if fmt is None:
        raise ValueError(f"unknown image format {ext!r}; use .png, .tif or .npy")
    return fmt


def write_map(path, values, *, colormap="inferno", vmin=None, vmax=None):
    """Write a float map: ``.png`` (etc.) through a colormap, ``.tif``/``.npy``/``.zarr`` as
    raw float32.

    Parameters
    ----------
    path : str or Path
    values : array, 2-D
        Host (NumPy) values; convert CuPy arrays explicitly first.
    colormap : {"inferno", "gray"}
        For image formats; NaN pixels are black.
    vmin, vmax : float, optional
        Colour scale limits; the map's finite min and max by default.
    """
    from ..provenance import default_recording

    with default_recording("gpuent.io.write_map", {"path": str(path), "colormap": colormap,
                                                    "vmin": vmin, "vmax": vmax}):
        return _write_map(Path(path), np.asarray(values), colormap, vmin, vmax)


def _write_map(path, values, colormap, vmin, vmax):
    fmt = format_of(path)
    write = fmt.write if fmt is not None and fmt.write is not None else _write_picture
    return write(path, values, colormap, vmin, vmax)


def _write_tiff(path, values, colormap, vmin, vmax):
    """Raw float32 (the colormap is for pictures)."""
    data = values.astype(np.float32, copy=False)
    with atomic_path(path) as tmp:
        tf = _tifffile()
        if tf is not None:
            tf.imwrite(tmp, data)
        else:
            from PIL import Image

            Image.fromarray(data, mode="F").save(tmp, format="TIFF")
    return path


def _write_picture(path, values, colormap, vmin, vmax):
    ext = path.suffix.lower()
    fmt = _pil_format(path)
    if values.ndim != 2:
        raise ValueError(f"a {ext} picture needs a 2-D map, got shape {values.shape}; use .npy")
    from PIL import Image

    rgb = apply_colormap(values, name=colormap, vmin=vmin, vmax=vmax)
    # a colour-mapped map compresses well at zlib level 1, several times faster than 6
    options = {"compress_level": 1} if fmt == "PNG" else {}
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format=fmt, **options)
    return path


# ------------------------------------------------------------ the provenance record

def _png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _png_first(data, kinds):
    """Offset (of its type field) of the first chunk of one of ``kinds``, walking the chunks."""
    pos = 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] in kinds:
            return pos + 4
        pos += 12 + length
    return None


def _png_insert(path, record):
    data = Path(path).read_bytes()
    end = _png_first(data, (b"IDAT", b"acTL", b"IEND"))  # before the pixels: read by
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or end is None:  # Image.open
        raise OSError(f"{path}: not a PNG file")
    itxt = b"gpuent\0\0\0\0\0" + json.dumps(record, separators=(",", ":")).encode()
    history = b"history\0" + record["history"].encode("latin-1", "replace")
    chunks = _png_chunk(b"iTXt", itxt) + _png_chunk(b"tEXt", history)
    with open(path, "r+b") as fh:
        fh.seek(end - 4)
        fh.write(chunks + data[end - 4:])


def _gif_insert(path, text):
    data = Path(path).read_bytes()
    if data[:3] != b"GIF":
        raise OSError(f"{path}: not a GIF file")
    pos = 13
    flags = data[10]
    if flags & 0x80:
        pos += 3 * (2 ** ((flags & 7) + 1))
    payload = text.encode()
    blocks = b"".join(bytes([len(payload[i:i + 255])]) + payload[i:i + 255]
                      for i in range(0, len(payload), 255))
    Path(path).write_bytes(data[:pos] + b"\x21\xfe" + blocks + b"\x00" + data[pos:])


def _jpeg_insert(path, text):
    data = Path(path).read_bytes()
    if data[:2] != b"\xff\xd8":
        raise OSError(f"{path}: not a JPEG file")
    payload = text.encode()
    if len(payload) > 65533:
        raise ValueError("provenance record too long for a JPEG comment")
    pos = 2
    while data[pos] == 0xFF and 0xE0 <= data[pos + 1] <= 0xEF:  # after APPn (JFIF, Exif)
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    seg = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
    Path(path).write_bytes(data[:pos] + seg + data[pos:])


def _tiff_stamp(path, record):
    """Rewrite page 0's ImageDescription (shaped JSON + record) and Software; False when the
    file has no description to extend (then a sidecar is written)."""
    try:
        import tifffile
    except ImportError:
        return False
    from .. import __version__

    with tifffile.TiffFile(str(path), mode="r+b") as tif:
        tags = tif.pages[0].tags
        tag = tags.get("ImageDescription")
        if tag is None:
            return False
        try:
            desc = json.loads(tag.value)
            if not isinstance(desc, dict):
                desc = {"description": tag.value}
        except ValueError:
            desc = {"description": tag.value}
        desc["gpuent"] = record
        desc["history"] = record["history"]
        tag.overwrite(json.dumps(desc, separators=(",", ":")))
        software = tags.get("Software")
        if software is not None:
            software.overwrite(f"gpuent {__version__}")
    return True


def _embed_png(path, record):
    _png_insert(path, record)
    return True


def _embed_gif(path, record):
    _gif_insert(path, json.dumps(record, separators=(",", ":")))
    return True


def _embed_jpeg(path, record):
    _jpeg_insert(path, json.dumps(record, separators=(",", ":")))
    return True


def _extract_tiff(path):
    import tifffile

    with tifffile.TiffFile(str(path)) as tif:
        tag = tif.pages[0].tags.get("ImageDescription")
        if tag is None:
            return None
        desc = json.loads(tag.value)
        return desc.get("gpuent") if isinstance(desc, dict) else None


def _extract_picture(path):
    from PIL import Image

    with Image.open(path) as im:
        text = im.info.get("gpuent") or im.info.get("comment")
        if text is None:
            im.load()
            text = im.info.get("gpuent") or im.info.get("comment")
    if isinstance(text, bytes):
        text = text.decode()
    return json.loads(text) if text else None


_PICTURE = frozenset({"image", "map", "picture"})
#: the formats of this module (see :mod:`gpuent.io._registry`); WebP, BMP, PDF and SVG have
#: no embedded record (a ``NAME.json`` sidecar)
FORMATS = [
    Format("PNG", (".png", ".apng"), _PICTURE | {"movie"}, read=_read_pil,
           embed=_embed_png, extract=_extract_picture),
    Format("JPEG", (".jpg", ".jpeg"), _PICTURE, read=_read_pil, embed=_embed_jpeg,
           extract=_extract_picture),
    Format("GIF", (".gif",), _PICTURE | {"movie"}, read=_read_pil, embed=_embed_gif,
           extract=_extract_picture),
    Format("WebP", (".webp",), _PICTURE | {"movie"}, read=_read_pil),
    Format("BMP", (".bmp",), _PICTURE, read=_read_pil),
    Format("PDF", (".pdf",), frozenset({"picture"})),
    Format("SVG", (".svg",), frozenset({"picture"})),
    Format("TIFF", (".tif", ".tiff"), frozenset({"image", "map", "stream"}), read=_read_tiff,
           gray=False, write=_write_tiff, source=lambda path: _tiles()._tiff_source(path),
           sink=lambda path, shape, tile, **_: _tiles().TiffSink(path, shape, tile),
           embed=_tiff_stamp, extract=_extract_tiff),
]


def _tiles():
    from . import _tiles

    return _tiles
