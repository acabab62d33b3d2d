"""The file formats gpuent knows, found by suffix: a new format is one module.

Every module of the :mod:`gpuent.io` package may define ``FORMATS``, a list of
:class:`Format`; the registry imports the package's modules and collects them the first
time a format is looked up. Adding a format is adding one module that defines its
readers, writers and how the provenance record goes into (and comes out of) its files.

Each part of a :class:`Format` is optional; what a format lacks, gpuent does not do with
it (e.g. no ``embed``: the record goes into a ``NAME.json`` sidecar).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Format", "format_of", "formats", "suffixes", "reset"]


@dataclass(frozen=True)
class Format:
    """One file format: its suffixes and what gpuent can do with it.

    Parameters
    ----------
    name : str
        A short name (``"PNG"``, ``"OME-Zarr"``).
    suffixes : tuple of str
        Lower-case suffixes with the dot; several dots are allowed (``".ome.zarr"``), the
        longest match wins.
    kinds : frozenset of str
        What the format is used for: ``"image"`` (read as an input), ``"map"`` (a float
        map written by :func:`gpuent.io.write_map`), ``"picture"`` (a rendered picture),
        ``"movie"``, ``"table"``, ``"stream"`` (read and written tile by tile).
    folder : bool
        The "file" is a folder (a Zarr store).
    read : callable, optional
        ``read(path, gray) -> numpy.ndarray``: the whole image (:func:`gpuent.io.read_image`).
    gray : bool
        Colour pixels read by ``read`` become luminance when asked (False: kept as stored).
    write : callable, optional
        ``write(path, values, colormap, vmin, vmax) -> path``: a map, atomically.
    source : callable, optional
        ``source(path) -> array-like``: read lazily, box by box (:func:`gpuent.io.open_source`).
    sink : callable, optional
        ``sink(path, shape, tile, *, like, resume, fingerprint)``: an output written tile by
        tile (:func:`gpuent.io.create_sink`).
    embed : callable, optional
        ``embed(tmp, record) -> bool``: write the provenance record into a finished
        temporary output; False when this file has no room (a sidecar is written).
    extract : callable, optional
        ``extract(path) -> dict or None``: the embedded record.
    digest : callable, optional
        ``digest(tmp) -> dict``: the output's checksum for the record, when it is not the
        SHA-256 of its pixels (:func:`gpuent.provenance.pixel_digest`).
    """

    name: str
    suffixes: tuple
    kinds: frozenset = field(default_factory=frozenset)
    folder: bool = False
    read: Callable | None = None
    gray: bool = True
    write: Callable | None = None
    source: Callable | None = None
    sink: Callable | None = None
    embed: Callable | None = None
    extract: Callable | None = None
    digest: Callable | None = None


_lock = threading.RLock()
_by_suffix: dict = {}
_loaded = False


def _load():
    """Import every module of the package once and register the formats it defines."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        package = importlib.import_module(__name__.rpartition(".")[0])
        table = {}
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for fmt in getattr(module, "FORMATS", ()):
                for suffix in fmt.suffixes:
                    if suffix in table and table[suffix] is not fmt:
                        raise RuntimeError(f"two formats claim {suffix}: {table[suffix].name} "
                                           f"and {fmt.name} ({module.__name__})")
                    table[suffix] = fmt
        _by_suffix.clear()
        _by_suffix.update(table)
        _loaded = True


def reset():
    """Forget the registered formats (they are collected again on the next look-up)."""
    global _loaded
    with _lock:
        _loaded = False
        _by_suffix.clear()


def format_of(path) -> Format | None:
    """The format of ``path`` by its (longest registered) suffix, or None."""
    _load()
    name = Path(path).name.lower()
    best = None
    for suffix in _by_suffix:
        if name.endswith(suffix) and (best is None or len(suffix) > len(best)):
            best = suffix
    return None if best is None else _by_suffix[best]


def formats() -> list:
    """Every registered format, once each."""
    _load()
    seen = []
    for fmt in _by_suffix.values():
        if fmt not in seen:
            seen.append(fmt)
    return seen


def suffixes(kind=None) -> tuple:
    """The registered suffixes (of formats of ``kind`` when given), sorted."""
    _load()
    return tuple(sorted(s for s, f in _by_suffix.items() if kind is None or kind in f.kinds))
