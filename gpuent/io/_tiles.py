"""Images larger than memory: lazy sources and tile-by-tile sinks (extra ``io``: tifffile, zarr).

Also the ``.npy`` and ``.zarr`` formats (:data:`FORMATS`; TIFF's entry is in
:mod:`gpuent.io._images`, OME-Zarr's in :mod:`gpuent.io.ngff`).

:func:`open_source` returns an array-like (``shape``, ``dtype``, ``ndim`` and
basic slicing ``src[y0:y1, x0:x1]`` -> NumPy) that reads only what is sliced:

* ``.npy``: read with ``os.pread`` from the file (no memory map, so reading a
  large file does not grow the process's resident memory);
* TIFF (8/16-bit, BigTIFF, tiled or striped, compressed or not; multi-page
  stacks as 3-D volumes; RGB by luminance): uncompressed contiguous data is
  read like ``.npy``, anything else through ``tifffile``'s Zarr view, which
  decodes only the tiles/strips sliced;
* ``.zarr`` (Zarr v3, or v2) arrays.

Sources pickle as their path, so Dask workers open the file themselves.

:func:`create_sink` creates the output up front (``.zarr``, BigTIFF ``.tif``,
``.npy``) under a temporary name next to the target; tiles are written as they
come and ``commit()`` renames it into place, so an output is whole or absent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path

import numpy as np

from ._atomic import AtomicOutput, deferred_interrupt
from ._registry import Format, format_of

__all__ = ["open_source", "create_sink", "ZARR_SUFFIXES", "TIFF_SUFFIXES", "FORMATS"]

ZARR_SUFFIXES = (".zarr",)
TIFF_SUFFIXES = (".tif", ".tiff")


def _need(module):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise OSError(f"{module} is needed for this file; pip install 'gpuent[io]'") from None


def _read_error(path, key, shape, chunks, exc):
    """An OSError naming the pixels (and the file's tiles or chunks) a failed read asked for."""
    key = key if isinstance(key, tuple) else (key,)
    key = key + (slice(None),) * (len(shape) - len(key))
    box, tiles = [], []
    for i, (k, n) in enumerate(zip(key, shape)):
        a, b = (k.indices(n)[:2] if isinstance(k, slice) else (int(k), int(k) + 1))
        box.append(f"{a}:{b}")
        if chunks:
            c = int(chunks[i])
            tiles.append(f"{a // c}" if (b - 1) // c <= a // c else f"{a // c}-{(b - 1) // c}")
    where = f"pixels [{', '.join(box)}]"
    if chunks:
        where += f" (tile {', '.join(tiles)} of the {'x'.join(map(str, chunks))} tiles)"
    return OSError(f"cannot read {path} at {where}: the data is truncated or corrupt "
                   f"({type(exc).__name__}: {exc})")


class RawSource:
    """C-ordered pixels at ``offset`` in a file, read with ``os.pread``."""

    def __init__(self, path, offset, shape, dtype):
        self.path = str(path)
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._fd = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_fd"] = None
        return state

    def _file(self):
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def __del__(self):
        with contextlib.suppress(Exception):
            if self._fd is not None:
                os.close(self._fd)

    def __getitem__(self, key):
        try:
            return self._read(key)
        except (OSError, ValueError) as exc:
            raise _read_error(self.path, key, self.shape, None, exc) from None

    def _read(self, key):
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        box = [range(*k.indices(n)) for k, n in zip(key, self.shape)]
        if any(b.step != 1 for b in box):
            raise IndexError("RawSource supports contiguous slices only")
        out = np.empty(tuple(len(b) for b in box), dtype=self.dtype)
        if out.size == 0:
            return out
        item = self.dtype.itemsize
        strides = np.cumprod((self.shape[1:] + (1,))[::-1])[::-1] * item
        fd = self._file()
        last = box[-1]
        nbytes = len(last) * item
        flat = out.reshape(-1, len(last))
        for i, lead in enumerate(np.ndindex(*out.shape[:-1])):
            pos = self.offset + int(sum((b.start + j) * s for b, j, s in zip(box, lead, strides)))
            pos += last.start * item
            data = os.pread(fd, nbytes, pos)
            if len(data) != nbytes:
                raise OSError(f"{self.path}: file is shorter than its header says")
            flat[i] = np.frombuffer(data, dtype=self.dtype)
        return out


class _Gray:
    """Luminance view of a (..., 3|4) colour source (ITU-R BT.601, in its own dtype)."""

    def __init__(self, source):
        self.source = source
        self.shape = tuple(source.shape[:-1])
        self.dtype = np.dtype(source.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key):
        from ._images import to_grayscale

        key = key if isinstance(key, tuple) else (key,)
        return to_grayscale(np.asarray(self.source[key + (slice(None),)]))


class _LazyArray:
    """A file-backed array opened on first read; pickles as its path (workers reopen it)."""

    _z = None

    def _open(self):  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_z"] = None
        return state

    def __getitem__(self, key):
        try:
            if self._z is None:
                self._z = self._open()
            return np.asarray(self._z[key])
        except Exception as exc:  # codecs and stores raise assorted errors on bad data
            chunks = getattr(self._z, "chunks", None) if self._z is not None else None
            if chunks:
                key = self._bad_chunk(key, chunks) or key
            raise _read_error(self.path, key, self.shape, chunks, exc) from None

    def _bad_chunk(self, key, chunks):
        """The first of the file's tiles (chunks) in ``key`` that cannot be read, or None."""
        import itertools

        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (len(self.shape) - len(key))
        ranges = []
        for k, n, c in zip(key, self.shape, chunks):
            a, b = k.indices(n)[:2] if isinstance(k, slice) else (int(k), int(k) + 1)
            ranges.append(range(a // c, (b - 1) // c + 1) if b > a else range(0))
        for idx in itertools.product(*ranges):
            box = tuple(slice(i * c, min((i + 1) * c, n))
                        for i, c, n in zip(idx, chunks, self.shape))
            try:
                np.asarray(self._z[box])
            except Exception:
                return box
        return None


class TiffSource(_LazyArray):
    """A TIFF series read lazily (tifffile's Zarr view); pickles as its path."""

    def __init__(self, path):
        self.path = str(path)
        tf = _need("tifffile")
        with tf.TiffFile(self.path) as tif:
            series = tif.series[0]
            self.shape = tuple(series.shape)
            self.dtype = np.dtype(series.dtype)
        self.ndim = len(self.shape)
        self._z = None

    def _open(self):
        store = _need("tifffile").imread(self.path, aszarr=True, series=0, level=0)
        return _need("zarr").open_array(store, mode="r")


def _tiff_source(path):
    tf = _need("tifffile")
    with tf.TiffFile(str(path)) as tif:
        series = tif.series[0]
        axes = series.axes
        offset = series.dataoffset  # None unless uncompressed and contiguous
        shape, dtype = tuple(series.shape), series.dtype
        if offset is not None and tif.byteorder != "<" and np.dtype(dtype).itemsize > 1:
            offset = None
    src = RawSource(path, offset, shape, dtype) if offset is not None else TiffSource(path)
    if axes.endswith("S") and shape[-1] in (3, 4):
        return _Gray(src)
    return src


class ZarrSource(_LazyArray):
    """A Zarr array read lazily; pickles as its path."""

    def __init__(self, path):
        self.path = str(path)
        zarr = _need("zarr")
        z = zarr.open_array(self.path, mode="r")
        self.shape, self.dtype, self.ndim = tuple(z.shape), np.dtype(z.dtype), z.ndim
        self.chunks = tuple(z.chunks)
        self._z = None

    def _open(self):
        return _need("zarr").open_array(self.path, mode="r")


def open_source(path):
    """Open an image file lazily: ``.npy``, TIFF or ``.zarr`` (see the module docstring)."""
    path = Path(path)
    fmt = format_of(path)
    if fmt is not None and fmt.folder and fmt.source is not None:
        if not path.exists():
            raise FileNotFoundError(f"no such image file: {path}")
        try:
            return fmt.source(path)
        except Exception as exc:
            raise OSError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        if fmt is not None and fmt.source is not None:
            return fmt.source(path)
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot read {path}: {exc}") from None
    except Exception as exc:
        raise OSError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    raise OSError(f"cannot stream {path}: use a .tif, .npy or .zarr image")


def _npy_source(path):
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
        except ValueError:
            raise ValueError(_NOT_NPY) from None
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if fortran or dtype.hasobject:
        raise ValueError("only C-ordered numeric .npy files can be streamed")
    return RawSource(path, offset, shape, dtype)


# --------------------------------------------------------------------------- sinks

class _Sink:
    """Output under a temporary name (:class:`gpuent.io.AtomicOutput`); ``commit()`` renames
    it into place, ``abort()`` removes it."""

    def _reserve(self, path, **kwargs):
        self.path = Path(path)
        self.output = AtomicOutput(path, **kwargs)
        self.folder = self.output.folder
        self.tmp = str(self.output.tmp)

    def commit(self):
        self.output.commit()

    def abort(self):
        self.output.abort()


class ZarrTiles(_Sink):
    """Tile writes into a Zarr store under a temporary name, safe against Ctrl-C and abort.

    zarr-python finishes a write on its own event-loop thread, so an interrupt landing in
    the middle of one would let that thread go on writing chunk files after :meth:`abort`
    removed the folder (a temporary store left behind). A write therefore holds Ctrl-C
    until it is done, and :meth:`abort` waits for writes in flight (Dask threads) and
    refuses later ones. Subclasses set ``self.array`` and define :meth:`_reopen`.
    """

    def _init_writes(self):
        self._lock = threading.Lock()
        self._abandoned = False

    def __call__(self, tile, values):
        values = np.asarray(values, dtype=np.float32)
        with self._lock, deferred_interrupt():
            if self._abandoned or not os.path.isdir(self.tmp):  # aborted: do not recreate it
                raise RuntimeError(f"output {self.path} was abandoned")
            self.array[tuple(slice(a, b) for a, b in tile)] = values
            self._written(tile)

    def _written(self, tile):
        """Called once a tile is stored, before the next write (a resume journal)."""

    def abort(self):
        with self._lock:
            self._abandoned = True
        self.output.abort()

    def __getstate__(self):  # workers reopen the store by path
        state = dict(self.__dict__)
        state["array"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self.array = self._reopen()


class ZarrSink(ZarrTiles):
    """A float32 Zarr map built in ``.NAME.partial.zarr`` with a journal of finished tiles.

    A partial output left by a killed run is refused unless ``resume``; then its
    journal must match ``fingerprint`` and ``done`` lists the tiles to skip
    (see :mod:`gpuent._resume`).
    """

    def __init__(self, path, shape, chunks, *, resume=False, fingerprint=None):
        zarr = _need("zarr")
        from .._resume import Journal

        self._init_writes()
        self.path = Path(path)
        self.journal = Journal(self.path)
        # the partial store has a fixed name, so that a killed run can be resumed
        self.output = AtomicOutput(path, folder=True, tmp=self.journal.partial)
        self.folder = self.output.folder
        self.tmp = str(self.journal.partial)
        self.done = set()
        self.resumed = False
        shape, chunks = tuple(int(s) for s in shape), tuple(int(c) for c in chunks)
        total = int(np.prod([-(-s // c) for s, c in zip(shape, chunks)]))
        if self.journal.exists():
            if not resume:
                raise ValueError(self.journal.refusal(self.path, total))
            head, done = self.journal.read()
            if head is not None and fingerprint is not None and head != fingerprint:
                raise ValueError(
                    f"{self.path}: the partial output {self.tmp} was made from another input "
                    f"or with other settings; delete it to start over, or resume with the "
                    f"same command")
            array = None
            if head is not None:
                with contextlib.suppress(Exception):
                    array = self._reopen()
                    if tuple(array.shape) != shape or tuple(array.chunks) != chunks:
                        array = None
            if array is not None:
                self.array, self.done, self.resumed = array, done, True
                return
            shutil.rmtree(self.tmp, ignore_errors=True)  # unusable: start it again
        try:
            self.journal.start(fingerprint or {})
            self.array = self._create(zarr, shape, chunks)
        except BaseException:
            self.abort()
            raise

    def _create(self, zarr, shape, chunks):
        """The new partial store's float32 array (NaN until a tile is written)."""
        return zarr.create_array(store=self.tmp, shape=shape, chunks=chunks, dtype="float32",
                                 fill_value=float("nan"))

    def _reopen(self):
        return _need("zarr").open_array(self.tmp, mode="r+")

    def _written(self, tile):
        self.journal.record(tile)  # after the chunk is written: a listed tile is whole

    def commit(self):
        self.output.commit()
        self.journal.remove()

    def abort(self):
        super().abort()
        self.journal.remove()


class NpySink(_Sink):
    """A float32 ``.npy`` written with ``os.pwrite`` (no memory map: bounded memory)."""

    def __init__(self, path, shape):
        self._reserve(path)
        self.shape = tuple(int(s) for s in shape)
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
                  "fortran_order": False, "shape": self.shape}
        with open(self.tmp, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header) if _fits_v1(header) else \
                np.lib.format.write_array_header_2_0(fh, header)
            self.offset = fh.tell()
            fh.truncate(self.offset + 4 * int(np.prod(self.shape)))

    def __call__(self, tile, values):
        values = np.ascontiguousarray(values, dtype="<f4")
        strides = np.cumprod((self.shape[1:] + (1,))[::-1])[::-1] * 4
        fd = os.open(self.tmp, os.O_WRONLY)
        try:
            x0 = tile[-1][0]
            rows = values.reshape(-1, values.shape[-1])
            for i, lead in enumerate(np.ndindex(*values.shape[:-1])):
                pos = self.offset + 4 * x0 + int(sum((t[0] + j) * s
                                                     for t, j, s in zip(tile, lead, strides)))
                os.pwrite(fd, rows[i].tobytes(), pos)
        finally:
            os.close(fd)


def _fits_v1(header):
    return len(repr(header)) < 60000


class TiffSink(_Sink):
    """A tiled BigTIFF float32 map; tiles must arrive in row-major tile order (pages in order)."""

    def __init__(self, path, shape, tile):
        tf = _need("tifffile")
        self._reserve(path)
        self.shape = tuple(int(s) for s in shape)
        self.tile = tuple(int(t) for t in tile[-2:])
        self._tf = tf

    def write_tiles(self, tiles):
        """``tiles``: an iterator of 2-D arrays, each at most ``tile``, in file order."""
        th, tw = self.tile

        def padded():
            for values in tiles:
                values = np.asarray(values, dtype=np.float32)
                if values.shape != (th, tw):
                    full = np.zeros((th, tw), dtype=np.float32)
                    full[:values.shape[0], :values.shape[1]] = values
                    values = full
                yield values

        with self._tf.TiffWriter(self.tmp, bigtiff=True) as tw_:
            tw_.write(padded(), shape=self.shape, dtype=np.float32, tile=self.tile,
                      photometric="minisblack", compression=None)


def create_sink(path, shape, tile, *, like=None, resume=False, fingerprint=None):
    """The output for a map of ``shape`` computed in ``tile`` blocks, by suffix.

    A ``.ome.zarr`` name gives an OME-NGFF group (:class:`gpuent.io.ngff.NgffSink`), whose
    axes take their units from the input ``like`` when it has them. Zarr outputs (plain
    and OME) are resumable (``resume``, ``fingerprint``: see :class:`ZarrSink`).
    """
    fmt = format_of(path)
    if fmt is None or fmt.sink is None:
        raise ValueError(f"output {path} must end in .zarr, .tif or .npy for a streamed map")
    sink = None
    try:
        with deferred_interrupt():  # a Ctrl-C in here is raised once the sink exists
            sink = fmt.sink(path, shape, tile, like=like, resume=resume,
                            fingerprint=fingerprint)
    except KeyboardInterrupt:
        if sink is not None:
            sink.abort()
        raise
    return sink


def write_whole(path, values, colormap=None, vmin=None, vmax=None):
    """A map written whole through its format's streamed sink (one tile: the map)."""
    sink = create_sink(path, values.shape, values.shape)
    try:
        sink(tuple((0, n) for n in values.shape), values)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    return path


def _write_npy(path, values, colormap, vmin, vmax):
    from ._atomic import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, values.astype(np.float32, copy=False))
    return path


#: a ``.npy`` name on another kind of file
_NOT_NPY = ("not a NumPy .npy file (no .npy header; write arrays with numpy.save, or give "
            "the file its real extension)")


def _read_npy(path, gray):
    with open(path, "rb") as fh:  # not numpy's fallback to pickle, and its advice to unpickle
        try:
            np.lib.format.read_magic(fh)
        except ValueError:
            raise ValueError(_NOT_NPY) from None
    return np.load(path, mmap_mode="c", allow_pickle=False)


def read_whole(path, gray):
    """A Zarr array read whole (after checking that it fits in memory)."""
    from ._images import _check_decoded

    source = open_source(path)
    _check_decoded(path, source.shape, source.dtype, gray=False)
    return source[tuple(slice(None) for _ in source.shape)]


def zarr_stamp(path, record):
    """The record as attributes ``gpuent`` and ``history`` of a Zarr array or group."""
    import zarr

    node = zarr.open(str(path), mode="r+")
    node.attrs.update({"gpuent": record, "history": record["history"]})
    return True


def zarr_record(path):
    """The ``gpuent`` attribute of a Zarr v3 store, or None."""
    import json

    meta = json.loads((Path(path) / "zarr.json").read_text())
    return meta.get("attributes", {}).get("gpuent")


FORMATS = [
    Format("NumPy", (".npy",), frozenset({"image", "map", "stream"}), read=_read_npy, gray=False,
           write=_write_npy, source=_npy_source,
           sink=lambda path, shape, tile, **_: NpySink(path, shape)),
    Format("Zarr", ZARR_SUFFIXES, frozenset({"image", "map", "stream"}), folder=True,
           read=read_whole, write=write_whole, source=ZarrSource,
           sink=lambda path, shape, tile, *, resume=False, fingerprint=None, **_: ZarrSink(
               path, shape, tile, resume=resume, fingerprint=fingerprint),
           embed=zarr_stamp, extract=zarr_record),
]
