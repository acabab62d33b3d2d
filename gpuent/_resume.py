"""Resumable streamed maps: a journal of finished tiles next to a partial Zarr output.

A streamed ``.zarr`` map is built in ``.NAME.partial.zarr`` next to the target and
each finished tile is appended to the journal ``.NAME.partial.tiles`` (its first
line: the input and settings that made it, as JSON), after the tile's chunk is
written. A run killed by a crash or ``SIGKILL`` leaves both behind;
``gpuent entropy ... --resume`` checks the journal was made from the same input
and settings and computes only the tiles it does not list. Tiles are computed
independently from the same input statistics, so the resumed map equals an
uninterrupted run bit for bit.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["Journal", "fingerprint", "stream_missing"]

_VERSION = 1


def fingerprint(input_path, shape, dtype, tile, **settings) -> dict:
    """What must not change between a run and its resumption."""
    p = Path(input_path)
    st = os.stat(p) if p.is_file() else None
    if st is None and p.is_dir():  # a .zarr input: its metadata file
        meta = next((m for m in (p / "zarr.json", p / ".zarray") if m.is_file()), None)
        st = os.stat(meta) if meta is not None else None
    return {
        "version": _VERSION,
        "input": str(p.resolve()),
        "input_size": None if st is None else st.st_size,
        "input_mtime_ns": None if st is None else st.st_mtime_ns,
        "shape": [int(s) for s in shape],
        "dtype": str(np.dtype(dtype)),
        "tile": [int(t) for t in tile],
        "settings": {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
                     for k, v in sorted(settings.items())},
    }


def _tile_key(tile) -> str:
    return ";".join(f"{int(a)},{int(b)}" for a, b in tile)


class Journal:
    """The ``.NAME.partial.tiles`` file of a partial output ``.NAME.partial.zarr``."""

    def __init__(self, target):
        target = Path(target)
        folder = target.parent if str(target.parent) else Path(".")
        self.partial = folder / f".{target.name}.partial.zarr"
        self.path = folder / f".{target.name}.partial.tiles"

    def exists(self) -> bool:
        return self.partial.exists()

    def read(self):
        """``(fingerprint or None, set of finished tile keys)``; a torn last line is ignored."""
        try:
            text = self.path.read_text()
        except (OSError, UnicodeDecodeError):
            return None, set()
        lines = text.split("\n")
        complete = lines[:-1]  # the text after the last newline was cut by a kill
        if not complete:
            return None, set()
        try:
            head = json.loads(complete[0])
        except ValueError:
            return None, set()
        return head, {line for line in complete[1:] if line}

    def start(self, head: dict):
        """A new journal holding only the fingerprint (written before the partial store)."""
        tmp = self.path.with_name(self.path.name + ".new")
        with open(tmp, "w") as fh:
            fh.write(json.dumps(head, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def record(self, tile):
        """Append one finished tile (one ``write`` with O_APPEND: safe across processes)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (_tile_key(tile) + "\n").encode())
        finally:
            os.close(fd)

    def remove(self):
        with contextlib.suppress(OSError):
            self.path.unlink()

    def refusal(self, target, total=None) -> str:
        head, done = self.read()
        count = f" ({len(done)} of {total} tiles done)" if total else \
            f" ({len(done)} tiles done)"
        return (f"{target}: an interrupted run left a partial output{count} in {self.partial}; "
                f"add --resume to finish it, or delete {self.partial} to start over")


def is_done(sink, tile) -> bool:
    done = getattr(sink, "done", None)
    return bool(done) and _tile_key(tile) in done


def stream_missing(source, sink, req, tile, *, progress=False, device=None):
    """As :func:`gpuent._stream.stream_map`, skipping the tiles ``sink.done`` lists.

    Returns
    -------
    int
        The number of tiles computed.
    """
    from tqdm.auto import tqdm

    from ._stream import _tile_path, check_tile, tile_from_reader, tiles_of

    dtype = np.dtype(source.dtype)
    check_tile(req, tile, dtype.itemsize, what="a streamed tile",
               hint="use a smaller tile (--tile) or radius", path=_tile_path(req, device))

    def read(slices):
        return np.asarray(source[slices])

    tiles = list(tiles_of(req.shape, tile))
    bar = tqdm(total=int(np.prod(req.shape)), unit="pix", unit_scale=True,
               disable=not progress, desc="entropy", leave=False)
    computed = 0
    try:
        for t in tiles:
            if not is_done(sink, t):
                sink(t, tile_from_reader(read, None, req, t, dtype, device=device))
                computed += 1
            bar.update(int(np.prod([b - a for a, b in t])))
    finally:
        bar.close()
    return computed
