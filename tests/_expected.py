"""Stored expectations for GPU tests: the cpu side of a ``cuda == cpu`` check, computed here.

A GPU test compares the CUDA path with the cpu path (Numba). On a fresh GPU machine every
Numba signature would compile first (30-50 s each), so the cpu results are computed ahead,
on a CPU machine, by ``make gpu-bundle`` and stored in ``.gpu-expected/``; the GPU machine
only loads them. A test asks for its cpu result with one call::

    from _expected import expected, gpu_part

    want = expected(("local_entropy", image, mask, kw), lambda: func(image, mask=mask, **kw))
    cp = gpu_part()
    if cp is None:  # a run that only fills or checks the expectations: no GPU part
        return
    got = func(cp.asarray(image), ...)

A result whose compressed size exceeds ``DIGEST_ABOVE`` bytes is stored as a :class:`Digest`
(SHA-256 of its bits, NaNs made canonical, and every k-th element for diagnostics): compare
with ``assert_same(got, want)``, which takes either form.

The key is any nesting of tuples, lists and dicts of str, int, float, bool, None, NumPy
dtypes and NumPy arrays (hashed by dtype, shape and bytes): it must name everything the
result depends on (give a lambda a string label). The environment variable
``GPUENT_EXPECTED`` picks the mode:

``use`` (the default)
    return the stored result when there is one, else compute it (a *miss*).
``fill``
    compute what is not stored yet and store it (``make gpu-bundle``); GPU tests of modules
    that import this module run on a machine without a GPU, up to :func:`gpu_part`.
``require``
    as ``fill``, but a result that is not stored fails the test (the rehearsal).

``GPUENT_EXPECTED_DIR`` overrides the folder; when ``GPUENT_EXPECTED_LOG`` names a file,
each call appends one line ``hit|miss|store NAME`` to it (the GPU check counts them).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import zlib
from pathlib import Path

import numpy as np

__all__ = ["Digest", "adopts", "assert_same", "expected", "fixed_examples", "gpu_part",
           "key_digest", "mode", "store_dir"]

MODES = ("use", "fill", "require")
#: results that compress to more bytes than this are stored as a digest (keeps the bundle small)
DIGEST_ABOVE = 1 << 20
#: elements kept from a digested result, to say where a mismatch is
SAMPLE = 1 << 16


class Digest:
    """A stored result too large to keep whole: its shape, dtype, SHA-256 and a sample."""

    def __init__(self, shape, dtype, sha256, sample, stride):
        self.shape, self.dtype, self.sha256 = tuple(shape), np.dtype(dtype), sha256
        self.sample, self.stride = sample, stride

    @classmethod
    def of(cls, a):
        a = np.ascontiguousarray(a)
        stride = max(1, -(-a.size // SAMPLE))
        return cls(a.shape, a.dtype, array_sha256(a), a.reshape(-1)[::stride].copy(), stride)

    def __repr__(self):
        return f"Digest(shape={self.shape}, dtype={self.dtype}, sha256={self.sha256[:16]}...)"


def array_sha256(a) -> str:
    """SHA-256 of an array's dtype, shape and bits (every NaN as NumPy's canonical NaN)."""
    a = np.ascontiguousarray(a)
    if a.dtype.kind in "fc":
        a = np.where(np.isnan(a), np.array(np.nan, a.dtype), a)
    h = hashlib.sha256(a.dtype.str.encode() + repr(a.shape).encode() + b":")
    h.update(a.tobytes())
    return h.hexdigest()


def assert_same(got, want, err_msg=""):
    """Assert ``got`` equals a stored result bit for bit: an array (NaNs equal) or a Digest."""
    got = np.asarray(got)
    if not isinstance(want, Digest):
        np.testing.assert_array_equal(got, want, err_msg=err_msg)
        return
    assert (got.shape, got.dtype) == (want.shape, want.dtype), (
        f"{err_msg} shape/dtype {got.shape} {got.dtype}, stored {want.shape} {want.dtype}")
    np.testing.assert_array_equal(got.reshape(-1)[::want.stride], want.sample,
                                  err_msg=f"{err_msg} (every {want.stride}th element)")
    assert array_sha256(got) == want.sha256, (
        f"{err_msg} not bit-identical to the stored result (the sampled elements agree)")


class MissingExpectation(AssertionError):
    """A stored expectation was required (``GPUENT_EXPECTED=require``) but is not there."""


def mode() -> str:
    """The expectation mode from ``GPUENT_EXPECTED`` (``use``, ``fill`` or ``require``)."""
    value = os.environ.get("GPUENT_EXPECTED", "use") or "use"
    if value not in MODES:
        raise ValueError(f"GPUENT_EXPECTED={value!r}: use one of {', '.join(MODES)}")
    return value


def store_dir() -> Path:
    """The folder of stored expectations (``.gpu-expected/`` at the repository root)."""
    env = os.environ.get("GPUENT_EXPECTED_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".gpu-expected"


def _feed(h, obj) -> None:
    if obj is None:
        h.update(b"N;")
    elif isinstance(obj, (bool, np.bool_)):
        h.update(b"B1;" if obj else b"B0;")
    elif isinstance(obj, (int, np.integer)):
        h.update(b"I%d;" % int(obj))
    elif isinstance(obj, (float, np.floating)):
        h.update(b"F" + float(obj).hex().encode() + b";")
    elif isinstance(obj, str):
        data = obj.encode()
        h.update(b"S%d:" % len(data) + data)
    elif isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)):
        h.update(b"D" + np.dtype(obj).str.encode() + b";")
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(b"A" + a.dtype.str.encode() + repr(a.shape).encode() + b":")
        h.update(a.tobytes())
    elif isinstance(obj, (tuple, list)):
        h.update(b"T%d(" % len(obj))
        for item in obj:
            _feed(h, item)
        h.update(b")")
    elif isinstance(obj, dict):
        h.update(b"M%d(" % len(obj))
        for k in sorted(obj, key=str):
            _feed(h, str(k))
            _feed(h, obj[k])
        h.update(b")")
    else:
        raise TypeError(f"cannot key a stored expectation on a {type(obj).__name__}: "
                        "name it with a string instead (a lambda's label, say)")


def key_digest(key) -> str:
    """Hex SHA-256 of a key's canonical encoding (same on every machine and Python)."""
    h = hashlib.sha256()
    _feed(h, key)
    return h.hexdigest()


def _path(key) -> Path:
    first = key[0] if isinstance(key, (tuple, list)) and key else key
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", first)[:40] if isinstance(first, str) else "case"
    return store_dir() / f"{label}-{key_digest(key)[:24]}.npz"


def _log(event: str, path: Path) -> None:
    log = os.environ.get("GPUENT_EXPECTED_LOG")
    if log:
        with open(log, "a") as f:  # one short line per write: appends do not interleave
            f.write(f"{event} {path.name}\n")


def _compresses_within(a, limit) -> bool:
    """Whether ``a``'s bytes deflate (level 6) to at most ``limit`` bytes: stops as soon as
    the output passes it (a GiB lattice then costs megabytes of compression, not minutes)."""
    data = memoryview(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    z = zlib.compressobj(6)
    size = 0
    for start in range(0, len(data), 1 << 20):
        size += len(z.compress(data[start:start + (1 << 20)]))
        if size > limit:
            return False
    return size + len(z.flush()) <= limit


def _entries(name, a) -> dict:
    a = np.asarray(a)
    if a.dtype == object:
        raise TypeError("a stored expectation must be an array or a dict of arrays")
    if _compresses_within(a, DIGEST_ABOVE):
        return {name: a}
    d = Digest.of(a)
    return {f"{name}.sha256": np.array(d.sha256), f"{name}.shape": np.array(d.shape, np.int64),
            f"{name}.dtype": np.array(d.dtype.str), f"{name}.sample": d.sample,
            f"{name}.stride": np.array(d.stride, np.int64)}


def _save(path: Path, value) -> None:
    items = ({f"d_{k}": v for k, v in value.items()} if isinstance(value, dict)
             else {"value": value})
    arrays = {}
    for name, a in items.items():
        arrays.update(_entries(name, a))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)  # whole or not at all, also with several pytest workers


def _load(path: Path):
    with np.load(path, allow_pickle=False) as z:
        entries = {k: z[k] for k in z.files}
    items = {}
    for k in entries:
        name = k.split(".")[0]
        if name in items:
            continue
        if k == name:
            items[name] = entries[k]
        else:
            items[name] = Digest(entries[f"{name}.shape"].tolist(), str(entries[f"{name}.dtype"]),
                                 str(entries[f"{name}.sha256"]), entries[f"{name}.sample"],
                                 int(entries[f"{name}.stride"]))
    if "value" in items:
        return items["value"]
    return {k[2:]: v for k, v in items.items()}


def expected(key, compute):
    """The cpu-side result of a GPU test case: stored when there is one, else computed.

    Parameters
    ----------
    key : tuple
        Everything the result depends on (see the module docstring); its first item, a
        string, also names the stored file.
    compute : callable
        Computes the result on the cpu path: an array, or a dict of arrays.

    Returns
    -------
    numpy.ndarray or Digest, or a dict of them
        What ``compute()`` returns (arrays as NumPy arrays); from the store, a result that
        compresses to more than ``DIGEST_ABOVE`` bytes is a :class:`Digest` (compare with
        :func:`assert_same`).
    """
    path = _path(key)
    current = mode()
    if path.exists():
        _log("hit", path)
        return _load(path)
    if current == "require":
        _log("miss", path)
        raise MissingExpectation(f"no stored expectation {path.name} in {store_dir()}: "
                                 "rebuild it with `make gpu-bundle`")
    value = compute()
    if current == "fill":
        _save(path, value)
        _log("store", path)
        return _load(path)
    _log("miss", path)
    return value


def gpu_part():
    """CuPy for the GPU part of a test, or ``None`` when this run only fills or checks the
    stored expectations (``GPUENT_EXPECTED=fill|require``): the test then returns there."""
    if mode() != "use":
        return None
    from gpuent._backend import cupy_or_none

    return cupy_or_none()


@contextlib.contextmanager
def fixed_examples():
    """Hypothesis draws the same examples whatever else the process has imported.

    With ``derandomize=True`` the examples still depend on the constants Hypothesis collects
    from the project's modules loaded so far (its "local constants"), which differ with the
    tests run before, the pytest worker and the machine; this turns that off for the
    duration (conftest.py wraps every GPU test of a module that uses expectations in it).
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # no Hypothesis, or one without that feature: nothing to fix
        yield
        return
    get = getattr(providers, "_get_local_constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if get is None or cache is None:
        yield
        return
    empty = type(providers._local_constants)()
    cache.clear()
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = get
        cache.clear()


def adopts(module) -> bool:
    """True when a test module uses stored expectations (it imports :func:`expected`)."""
    return getattr(module, "expected", None) is expected
