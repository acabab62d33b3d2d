"""How an output was made: the provenance record written into every file gpuent makes.

One JSON object (schema ``gpuent.provenance``, :data:`SCHEMA_VERSION`) holds the gpuent
version, the command and all its parameters (defaults included), the compute path and
device, each input's file name, shape, dtype and the SHA-256 of its pixel bytes, the
SHA-256 of the output's pixel bytes, an ISO 8601 time, the versions of Python, NumPy,
Numba and CuPy, and a CF-style one-line ``history``.

Where it goes (written by :func:`stamp`, called by :class:`gpuent.io.AtomicOutput` just
before an output is renamed into place, so every writer records it; each format's
module in :mod:`gpuent.io` says how, see :mod:`gpuent.io._registry`):

=====================  ==============================================================
PNG / APNG             an ``iTXt`` chunk ``gpuent`` (the JSON) and ``tEXt`` ``history``
TIFF                   ImageDescription: tifffile's shaped JSON plus ``gpuent`` and
                       ``history`` keys; the Software tag says ``gpuent VERSION``
Zarr / OME-Zarr        attributes ``gpuent`` and ``history`` (the array's, or the group's)
CSV                    ``#`` lines before the header: ``# gpuent-provenance: {...}``
GIF / JPEG             a comment (GIF comment extension, JPEG ``COM`` segment)
WebP, .npy, PDF, SVG,  a sidecar ``NAME.json`` next to the file (``map.npy`` ->
MP4                    ``map.npy.json``); these formats have no room we can fill safely
=====================  ==============================================================

"Pixel bytes" are the array's values in C order, little-endian: for a map the float32
values, for a picture the decoded pixels (RGB or gray), for a movie each frame (its
checksum listed under ``frames``). Inputs are hashed as gpuent reads them (colour images
by luminance), so the hash does not depend on the file's compression or tiling.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np

__all__ = ["SCHEMA", "SCHEMA_VERSION", "RECORD_SCHEMA", "check_record", "read_provenance",
           "pixel_digest", "recording", "note", "stamp", "sidecar_path"]

SCHEMA = "gpuent.provenance"
SCHEMA_VERSION = 1
_STRIP_BYTES = 4 << 20  # pixels hashed this many bytes at a time (bounded memory)
_SIDECAR = (".webp", ".npy", ".pdf", ".svg", ".mp4")

_HASH = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_SHAPE = {"type": "array", "items": {"type": "integer"}}
#: the record's JSON Schema (draft 2020-12); :func:`check_record` checks a record against it
RECORD_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gpuent provenance record",
    "type": "object",
    "required": ["schema", "version", "gpuent", "command", "function", "argv", "parameters",
                 "path", "device", "inputs", "output", "time", "versions", "history"],
    "properties": {
        "schema": {"const": SCHEMA},
        "version": {"type": "integer", "minimum": 1},
        "gpuent": {"type": "string"},
        "command": {"type": ["string", "null"]},
        "function": {"type": ["string", "null"]},
        "argv": {"type": ["array", "null"], "items": {"type": "string"}},
        "parameters": {"type": "object"},
        "path": {"enum": ["reference", "cpu", "cuda"]},
        "device": {"type": "string"},
        "inputs": {"type": "array", "items": {
            "type": "object", "required": ["role", "file", "path", "shape", "dtype", "sha256"],
            "properties": {"role": {"type": "string"}, "file": {"type": "string"},
                           "path": {"type": "string"}, "shape": _SHAPE,
                           "dtype": {"type": "string"}, "sha256": _HASH}}},
        "output": {"type": "object", "required": ["file", "sha256", "of"],
                   "properties": {"file": {"type": "string"}, "sha256": _HASH,
                                  "of": {"enum": ["pixels", "file"]}, "shape": _SHAPE,
                                  "dtype": {"type": "string"},
                                  "frames": {"type": "array", "items": _HASH}}},
        "time": {"type": "string"},
        "versions": {"type": "object", "required": ["python", "numpy", "numba", "cupy"]},
        "history": {"type": "string", "pattern": "^[^\\n]*$"},
        "cwd": {"type": "string"},
        "notes": {"type": "object"},
    },
}
_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "null": type(None),
          "number": (int, float), "boolean": bool}


def check_record(record, schema=RECORD_SCHEMA, where="record"):
    """Raise ``ValueError`` naming the first place ``record`` breaks :data:`RECORD_SCHEMA`
    (the keywords it uses: type, required, properties, items, enum, const, minimum, pattern)."""
    import re

    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        ok = any(isinstance(record, _TYPES[n]) and not (n == "integer" and
                                                        isinstance(record, bool))
                 for n in names)
        if not ok:
            raise ValueError(f"{where}: expected {' or '.join(names)}, got {record!r:.60}")
    if "const" in schema and record != schema["const"]:
        raise ValueError(f"{where}: expected {schema['const']!r}, got {record!r:.60}")
    if "enum" in schema and record not in schema["enum"]:
        raise ValueError(f"{where}: {record!r:.60} is not one of {schema['enum']}")
    if "minimum" in schema and record < schema["minimum"]:
        raise ValueError(f"{where}: {record} is below {schema['minimum']}")
    if "pattern" in schema and not re.search(schema["pattern"], record):
        raise ValueError(f"{where}: {record!r:.60} does not match {schema['pattern']}")
    if isinstance(record, dict):
        for key in schema.get("required", ()):
            if key not in record:
                raise ValueError(f"{where}: missing {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in record:
                check_record(record[key], sub, f"{where}.{key}")
    if isinstance(record, list) and "items" in schema:
        for i, item in enumerate(record):
            check_record(item, schema["items"], f"{where}[{i}]")
    return record


_active: contextvars.ContextVar = contextvars.ContextVar("gpuent_provenance", default=None)


class Recording:
    """What is known about the run before its outputs exist (one per command)."""

    def __init__(self, command=None, function=None, parameters=None, argv=None, inputs=()):
        self.command = command
        self.function = function
        self.parameters = _jsonable(parameters or {})
        self.argv = list(argv) if argv is not None else None
        self.inputs = [(role, str(p)) for role, p in inputs if p is not None]
        self.notes = {}
        self.cwd = os.getcwd()
        self._hashed = None

    def input_records(self):
        if self._hashed is None:
            self._hashed = [input_record(path, role) for role, path in self.inputs]
        return self._hashed


@contextlib.contextmanager
def recording(command=None, *, function=None, parameters=None, argv=None, inputs=()):
    """Record the run of ``command`` (or Python ``function``): outputs written inside get it.

    ``inputs`` is a sequence of ``(role, path)``: each is hashed once, when the first
    output is stamped.
    """
    token = _active.set(Recording(command, function, parameters, argv, inputs))
    try:
        yield _active.get()
    finally:
        _active.reset(token)


@contextlib.contextmanager
def default_recording(function, parameters):
    """:func:`recording` for a Python call, unless a command is already being recorded."""
    if _active.get() is not None:
        yield _active.get()
        return
    with recording(function=function, parameters=parameters) as rec:
        yield rec


def note(**fields):
    """Add fields (e.g. ``path="cpu"``, ``device=...``, ``model=...``) to the active record."""
    rec = _active.get()
    if rec is not None:
        rec.notes.update(_jsonable(fields))


def versions():
    """Python, NumPy, Numba and CuPy versions (None for what is not installed)."""
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("numba", "cupy"):
        mod = sys.modules.get(name)
        if mod is None:
            try:
                from importlib.metadata import version

                out[name] = version(name)
            except Exception:
                out[name] = None
        else:
            out[name] = getattr(mod, "__version__", None)
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else repr(v)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


# ------------------------------------------------------------------------- pixel hashing

def _strips(array):
    """Blocks of ``array`` along its first axis, about 4 MiB (or whole chunk rows up to 128 MiB)."""
    shape = tuple(array.shape)
    if len(shape) == 0:
        yield np.asarray(array[()])
        return
    row = max(1, int(np.prod(shape[1:])) * np.dtype(array.dtype).itemsize)
    step = max(1, _STRIP_BYTES // row)
    chunks = getattr(array, "chunks", None)
    if chunks and chunks[0] * row <= 32 * _STRIP_BYTES:  # whole chunk rows: each chunk is
        step = max(1, step // chunks[0]) * chunks[0]  # decompressed once, not once a strip
    for a in range(0, shape[0], step):
        yield np.asarray(array[a:min(shape[0], a + step)])


def _le(block):
    block = np.asarray(block)
    dt = block.dtype
    if dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big"):
        block = block.astype(dt.newbyteorder("<"))
    return np.ascontiguousarray(block)


def _bytes(block):
    """The pixel bytes of ``block`` (C order, little-endian) without another copy."""
    block = _le(block)
    return memoryview(block.reshape(-1)).cast("B") if block.size else b""


def digest_array(array):
    """SHA-256 of an array's pixel bytes (C order, little-endian), read in strips."""
    h = hashlib.sha256()
    for block in _strips(array):
        h.update(_bytes(block))
    return h.hexdigest()


def _is_ngff(path):
    return str(path).lower().rstrip("/").endswith(".ome.zarr")


def open_pixels(path, *, suffix=None, gray=True):
    """An array-like of a file's pixels (sliceable along axis 0), or None if it has none.

    Maps (.tif/.npy/.zarr; NGFF: its full-resolution level) are opened lazily; pictures
    are decoded (RGB, or gray for gray pictures); animated pictures give their frames
    stacked along axis 0 (see :func:`frames_of`).
    """
    path = Path(path)
    suffix = (suffix or path.suffix).lower()
    if _is_ngff(path) or (suffix == ".zarr" and _group_has_ome(path)):
        from .io._tiles import ZarrSource

        return ZarrSource(path / "0")
    if suffix in (".tif", ".tiff", ".npy", ".zarr"):
        from .io._tiles import open_source

        if suffix in (".tif", ".tiff"):
            from .io._tiles import _tiff_source

            src = _tiff_source(path)
            return src if gray else getattr(src, "source", src)
        return open_source(path)
    if suffix in (".png", ".apng", ".gif", ".webp", ".jpg", ".jpeg", ".bmp"):
        frames = frames_of(path)
        return frames[0] if len(frames) == 1 else np.stack(frames)
    return None


def _group_has_ome(path):
    try:
        meta = json.loads((Path(path) / "zarr.json").read_text())
    except (OSError, ValueError):
        return False
    return meta.get("node_type") == "group" and "ome" in meta.get("attributes", {})


def frames_of(path):
    """The decoded frames of a picture or movie: gray ("L") pictures stay 2-D uint8, others
    become RGB (palette GIF frames included), one array per frame."""
    from PIL import Image, ImageSequence

    frames = []
    with Image.open(path) as im:
        gray = im.mode in ("L", "I;16", "I", "F", "1")
        for frame in ImageSequence.Iterator(im):
            if gray:  # (Pillow gives GIF frames after the first as RGB: back to gray)
                data = np.asarray(frame if frame.mode in ("I;16", "I", "F")
                                  else frame.convert("L"))
            else:
                data = np.asarray(frame.convert("RGBA" if "A" in frame.mode else "RGB"))
            frames.append(np.array(data))
    return frames


def pixel_digest(path, *, suffix=None):
    """``{"sha256": ..., "shape": ..., "dtype": ..., "frames": [...]?}`` of a file's pixels.

    Files without pixels (PDF, SVG, MP4, CSV) are hashed as bytes (``"of": "file"``; for
    CSV, the lines after the ``#`` provenance lines).
    """
    path = Path(path)
    suffix = (suffix or path.suffix).lower()
    if suffix in (".png", ".apng", ".gif", ".webp"):
        frames = frames_of(path)
        h = hashlib.sha256()
        for f in frames:
            h.update(_bytes(f))
        out = {"sha256": h.hexdigest(), "shape": list(frames[0].shape),
               "dtype": str(frames[0].dtype), "of": "pixels"}
        if len(frames) > 1:
            out["frames"] = [hashlib.sha256(_bytes(f)).hexdigest() for f in frames]
        return out
    pixels = None
    if suffix not in (".csv", ".pdf", ".svg", ".mp4"):
        try:
            pixels = open_pixels(path, suffix=suffix, gray=False)
        except (OSError, ImportError):  # e.g. a Pillow TIFF without tifffile: its bytes
            pixels = None
    if pixels is None:
        data = Path(path).read_bytes()
        if suffix == ".csv":
            data = b"".join(line for line in data.splitlines(keepends=True)
                            if not line.startswith(b"# "))
        return {"sha256": hashlib.sha256(data).hexdigest(), "of": "file"}
    return {"sha256": digest_array(pixels), "shape": list(pixels.shape),
            "dtype": str(np.dtype(pixels.dtype)), "of": "pixels"}


def input_record(path, role="input"):
    """File name, absolute path, shape, dtype and pixel SHA-256 of an input as gpuent reads it."""
    path = Path(path)
    rec = {"role": role, "file": path.name, "path": str(path.resolve())}
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff", ".npy", ".zarr"):
        from .io._tiles import open_source

        pixels = open_source(path)
    else:
        from .io._images import read_image

        pixels = read_image(path)
    rec.update(shape=list(pixels.shape), dtype=str(np.dtype(pixels.dtype)),
               sha256=digest_array(pixels))
    return rec


# ------------------------------------------------------------------------- the record

def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _path_and_device(rec):
    """The compute path and device actually used, from the notes or the backend option."""
    notes = rec.notes if rec else {}
    path = notes.get("path")
    if path is None:
        wanted = (rec.parameters.get("backend") if rec else None) or "auto"
        if wanted in ("reference", "cpu", "cuda"):
            path = wanted
        else:
            from ._backend import gpu_available

            path = "cuda" if gpu_available() else "cpu"
    device = notes.get("device")
    if device is None:
        device = gpu_name() if path == "cuda" else cpu_name()
    return path, device


def cpu_name():
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"CPU: {name}"


def gpu_name():
    try:
        from ._backend import cupy_or_none

        cp = cupy_or_none()
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"]
        return "GPU: " + (name.decode() if isinstance(name, bytes) else str(name))
    except Exception:
        return "GPU"


def build_record(target, output):
    """The record of ``target`` whose pixels digest to ``output`` (see :func:`pixel_digest`)."""
    from . import __version__

    rec = _active.get()
    when = _now()
    path, device = _path_and_device(rec)
    record = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "gpuent": __version__,
        "command": rec.command if rec else None,
        "function": rec.function if rec else None,
        "argv": rec.argv if rec else None,
        "parameters": rec.parameters if rec else {},
        "path": path,
        "device": device,
        "inputs": rec.input_records() if rec else [],
        "output": {"file": Path(target).name, **output},
        "time": when.isoformat(),
        "versions": versions(),
        "cwd": rec.cwd if rec else os.getcwd(),
    }
    if rec and rec.notes:
        record["notes"] = dict(rec.notes)
    if rec and rec.argv is not None:
        what = "gpuent " + shlex.join(rec.argv)
    elif rec and rec.function:
        what = f"{rec.function}({', '.join(f'{k}={v!r}' for k, v in rec.parameters.items())})"
    else:
        what = f"written by gpuent {__version__}"
    record["history"] = f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')}: {what}".replace("\n", " ")
    return record


# ------------------------------------------------------------------------- writing

def sidecar_path(path):
    """``NAME.json`` next to ``NAME`` (the record of formats without room for it)."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def stamp(tmp, target):
    """Write the active record into the finished temporary output ``tmp`` of ``target``.

    How it goes in is the output format's (:mod:`gpuent.io._registry`, ``embed``).
    Returns the text of a sidecar to write next to ``target`` once it is in place, or None.
    """
    from .io._registry import format_of

    target = Path(target)
    suffix = ".zarr" if _is_ngff(target) else target.suffix.lower()
    tmp = Path(tmp)
    fmt = format_of(target)
    if fmt is not None and fmt.digest is not None:
        output = fmt.digest(tmp)
    else:
        output = pixel_digest(tmp, suffix=suffix)
    record = build_record(target, output)
    if fmt is not None and fmt.embed is not None and fmt.embed(tmp, record):
        return None
    return json.dumps(record, indent=1)


# ------------------------------------------------------------------------- reading

def read_provenance(path):
    """The provenance record of a file gpuent wrote (a dict), or raise ``ValueError``.

    Parameters
    ----------
    path : str or Path
        Any output of gpuent: PNG/TIFF/GIF/JPEG (embedded), Zarr/OME-Zarr (attributes),
        CSV (``#`` lines), or a file with a ``NAME.json`` sidecar (WebP, .npy, PDF, SVG).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    record = _read_embedded(path)
    if record is None and sidecar_path(path).is_file():
        record = json.loads(sidecar_path(path).read_text())
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise ValueError(f"{path} holds no gpuent provenance record (written by another tool, "
                         f"or by gpuent before 0.1.0 recorded how its outputs were made)")
    if record.get("version", 0) > SCHEMA_VERSION:
        raise ValueError(f"{path}: provenance schema version {record['version']} is newer than "
                         f"this gpuent reads ({SCHEMA_VERSION}); upgrade gpuent")
    return record


def _read_embedded(path):
    from .io._registry import format_of

    fmt = format_of(path)
    if fmt is None or fmt.extract is None:
        return None
    try:
        return fmt.extract(path)
    except (OSError, ValueError, KeyError):
        return None


def describe(record):
    """A readable multi-line rendering of a record (for ``gpuent provenance``)."""
    lines = [f"made by      gpuent {record.get('gpuent')} (provenance schema "
             f"{record.get('version')}) at {record.get('time')}"]
    if record.get("argv") is not None:
        lines.append(f"command      gpuent {shlex.join(str(a) for a in record['argv'])}")
    elif record.get("function"):
        lines.append(f"function     {record['function']}")
    lines.append(f"path         {record.get('path')} on {record.get('device')}")
    for inp in record.get("inputs") or []:
        shape = "x".join(str(n) for n in inp.get("shape", []))
        lines.append(f"input        {inp.get('path')} ({inp.get('role')}): {shape} "
                     f"{inp.get('dtype')}, sha256 {inp.get('sha256')}")
    out = record.get("output", {})
    shape = "x".join(str(n) for n in out.get("shape", []))
    what = f"{shape} {out.get('dtype')}, " if shape else ""
    lines.append(f"output       {out.get('file')}: {what}sha256 {out.get('sha256')} "
                 f"(of its {out.get('of', 'pixels')})")
    if out.get("frames"):
        lines.append(f"frames       {len(out['frames'])} frame checksums")
    params = record.get("parameters") or {}
    if params:
        lines.append("parameters   " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    for k, v in (record.get("notes") or {}).items():
        if k not in ("path", "device"):
            lines.append(f"{k:<12} {v}")
    ver = record.get("versions") or {}
    lines.append("versions     " + ", ".join(f"{k} {v}" for k, v in ver.items()))
    lines.append(f"history      {record.get('history')}")
    return "\n".join(lines)
