"""Reading images and writing maps.

Readers: PNG/JPEG/BMP/GIF/WebP and 8/16-bit TIFF through Pillow (tifffile when
installed, for TIFF), ``.npy`` (memory-mapped), ``.zarr`` arrays. For images
larger than memory, :mod:`gpuent.io_big` reads boxes lazily and writes maps
tile by tile. Colour images become
grayscale by luminance (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B), keeping
the bit depth.

Writers are atomic: the file is written to a temporary name in the target
folder and renamed into place, so an output file is whole or absent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ._colormaps import apply_colormap
from ._memory import MemoryLimitError, check_allocation, nbytes_of

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

_LUMA = np.array([0.299, 0.587, 0.114])


def read_provenance(path):
    """The provenance record of a file gpuent wrote, as a dict (see :mod:`gpuent.provenance`).

    Raises ``ValueError`` when the file holds none, ``FileNotFoundError`` when it is missing.
    """
    from .provenance import read_provenance as read

    return read(path)


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
    if path.suffix.lower() == ".zarr":  # a Zarr v3 (or v2) array: a folder
        from .io_big import open_source

        source = open_source(path)
        _check_decoded(path, source.shape, source.dtype, gray=False)
        return source[tuple(slice(None) for _ in source.shape)]
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    suffix = path.suffix.lower()
    colour = suffix != ".npy"  # a .npy array is never taken for colour
    try:
        if suffix == ".npy":
            data = np.load(path, mmap_mode="c", allow_pickle=False)
        elif suffix in (".tif", ".tiff") and _tifffile() is not None:
            with _tifffile().TiffFile(path) as tif:
                if tif.series:  # what the header declares, before decoding anything
                    series = tif.series[0]
                    colour = series.axes.endswith("S")  # samples (RGB), not a guess
                    _check_decoded(path, series.shape, series.dtype, gray)
                data = tif.asarray()
        else:
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
    except _TooBig:
        raise
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot read {path}: {exc}") from None
    except Exception as exc:  # Pillow and tifffile raise assorted errors on bad files
        raise OSError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    if gray and colour and data.ndim == 3 and data.shape[-1] in (3, 4):
        data = to_grayscale(data)
    if not data.flags.writeable:  # Pillow's buffers are read-only; scikit-image writes
        data = np.array(data)
    return data


@contextlib.contextmanager
def deferred_interrupt():
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt.

    Creating, publishing and removing an output are short steps that must not be cut in
    half (a temporary folder nobody removes, or an old output moved away and no new one in
    its place). Outside the main thread, or when SIGINT is not Python's, it does nothing.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def publish(tmp, target):
    """Rename a finished temporary file or folder to ``target``.

    ``mkstemp``/``mkdtemp`` create private (0600/0700) entries; the published
    output gets the permissions a plain ``open``/``mkdir`` would have given it
    under the user's umask. A folder already at ``target`` (a previous .zarr) is
    moved aside first and removed after the rename.
    """
    umask = os.umask(0)
    os.umask(umask)
    mode = (0o777 if os.path.isdir(tmp) else 0o666) & ~umask
    os.chmod(tmp, mode)
    target = Path(target)
    if target.is_dir() and not target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.replace(target, old / "x")
        try:
            os.replace(tmp, target)
        except BaseException:
            os.replace(old / "x", target)  # put the previous output back
            raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
        return
    os.replace(tmp, target)


class AtomicOutput:
    """The one atomic writer: a temporary file (or folder) next to ``path``.

    Write to :attr:`tmp`, then :meth:`commit` renames it to ``path``; :meth:`abort`
    (or leaving a ``with`` block by an exception, KeyboardInterrupt included)
    removes it, so an output is whole or absent. Every writer of gpuent (maps,
    streamed sinks, movies, tables) goes through it.

    Parameters
    ----------
    path : str or Path
        The final output.
    folder : bool
        Reserve a folder (e.g. a Zarr store) instead of a file.
    create : bool
        Leave the reserved name created (default); with ``False`` it is freed for
        a library that insists on creating it, and only the unique name is kept.
    record : bool
        Write the provenance record (:mod:`gpuent.provenance`) into the output (or a
        ``NAME.json`` sidecar) before it is renamed into place (default).
    tmp : str or Path, optional
        A fixed temporary name next to ``path`` instead of a unique one (a resumable
        partial output, :mod:`gpuent._resume`); nothing is created for it here.
    """

    def __init__(self, path, *, folder=False, create=True, record=True, tmp=None):
        self.path = Path(path)
        self.record = record
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.is_dir():
            raise FileNotFoundError(f"output folder does not exist: {parent}")
        self.folder = parent
        prefix = f".{self.path.name}."
        self.tmp = None
        self.done = False
        if tmp is not None:
            self.tmp = Path(tmp)
            return
        try:
            with deferred_interrupt():  # a Ctrl-C here would leave a temporary name behind
                self.tmp = self._reserve(parent, prefix, folder, create)
        except KeyboardInterrupt:
            if self.tmp is not None:
                self.abort()
            raise
        self.done = False

    def _reserve(self, parent, prefix, folder, create):
        try:
            if folder:
                tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=self.path.suffix, dir=parent))
                if not create:
                    os.rmdir(tmp)
                return tmp
            else:
                fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=self.path.suffix, dir=parent)
                os.close(fd)
                return Path(tmp)
        except OSError as exc:
            raise OSError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def commit(self):
        """Record how it was made, then rename the finished temporary output to the target."""
        sidecar = None
        if self.record:
            from .provenance import stamp

            try:
                sidecar = stamp(self.tmp, self.path)
            except KeyboardInterrupt:
                self.abort()
                raise
            except Exception as exc:  # the output is fine; say that its record is missing
                import sys

                print(f"gpuent: warning: {self.path} is written without its provenance "
                      f"record ({type(exc).__name__}: {exc})", file=sys.stderr)
        try:
            with deferred_interrupt():
                publish(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise OSError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.done = True
        if sidecar is not None:
            from .provenance import sidecar_path

            with AtomicOutput(sidecar_path(self.path), record=False) as side:
                side.tmp.write_text(sidecar)
        return self.path

    def abort(self):
        """Remove the temporary output (nothing is written)."""
        self.done = True
        with deferred_interrupt():
            if self.tmp.is_dir() and not self.tmp.is_symlink():
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    self.tmp.unlink()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success rename it to ``path``."""
    with AtomicOutput(path) as out:
        yield out.tmp


def write_image(path, array):
    """Write a uint8/uint16 grayscale or RGB array as an image file (atomically)."""
    from PIL import Image

    from .provenance import default_recording

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
    from .provenance import default_recording

    with default_recording("gpuent.io.write_map", {"path": str(path), "colormap": colormap,
                                                    "vmin": vmin, "vmax": vmax}):
        return _write_map(Path(path), np.asarray(values), colormap, vmin, vmax)


def _write_map(path, values, colormap, vmin, vmax):
    ext = path.suffix.lower()
    if ext == ".zarr":
        from .io_big import create_sink

        sink = create_sink(path, values.shape, values.shape)
        try:
            sink(tuple((0, n) for n in values.shape), values)
            sink.commit()
        except BaseException:
            sink.abort()
            raise
        return path
    if ext == ".npy":
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, values.astype(np.float32, copy=False))
        return path
    if ext in (".tif", ".tiff"):
        data = values.astype(np.float32, copy=False)
        with atomic_path(path) as tmp:
            tf = _tifffile()
            if tf is not None:
                tf.imwrite(tmp, data)
            else:
                from PIL import Image

                Image.fromarray(data, mode="F").save(tmp, format="TIFF")
        return path
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
