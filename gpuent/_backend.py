"""Namespace, device and backend resolution: the single delegation layer.

Every public function finds the array namespace of its input here, and every
hot function asks :func:`choose_backend` which of its three paths serves a
request:

``"reference"``
    written only against the array API standard; runs on NumPy, CuPy and
    array-api-strict. It is the executable specification.
``"cpu"``
    Numba kernels, for NumPy inputs.
``"cuda"``
    CuPy ``RawKernel`` s, for CuPy inputs.

Nothing here imports CuPy at import time, and nothing fails on a machine with
CuPy installed but no GPU: :func:`gpu_available` answers ``False`` there.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Iterable

import array_api_compat
import numpy as np

BACKENDS = ("reference", "cpu", "cuda")

__all__ = [
    "BACKENDS",
    "array_namespace",
    "choose_backend",
    "cupy_or_none",
    "gpu_available",
    "is_cupy",
    "is_numpy",
    "numba_available",
    "to_numpy",
]


def array_namespace(*arrays):
    """Return the array-API namespace shared by ``arrays``.

    Python lists, tuples and scalars are taken as NumPy data; anything else
    goes through :func:`array_api_compat.array_namespace`.
    """
    real = [a for a in arrays if a is not None and not isinstance(a, (int, float, bool))]
    if not real:
        return array_api_compat.array_namespace(np.empty(0))
    try:
        return array_api_compat.array_namespace(*real)
    except TypeError as exc:
        raise TypeError(
            "expected NumPy, CuPy or array-API arrays, got "
            f"{', '.join(type(a).__name__ for a in real)}; convert with numpy.asarray first"
        ) from exc


def is_numpy(xp) -> bool:
    """True if ``xp`` is NumPy (bare or array-api-compat wrapped)."""
    return array_api_compat.is_numpy_namespace(xp)


def is_cupy(xp) -> bool:
    """True if ``xp`` is CuPy (bare or array-api-compat wrapped)."""
    return array_api_compat.is_cupy_namespace(xp)


@functools.cache
def cupy_or_none():
    """Return the ``cupy`` module if it imports, else ``None`` (never raises)."""
    try:
        return importlib.import_module("cupy")
    except Exception:  # ImportError, or a broken CUDA install raising at import
        return None


@functools.cache
def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    cp = cupy_or_none()
    if cp is None:
        return False
    try:
        return bool(cp.cuda.is_available())
    except Exception:
        return False


@functools.cache
def numba_available() -> bool:
    """True when Numba is installed (a run-time dependency, but stay graceful).

    Only looked up, not imported: importing Numba takes a noticeable part of a
    second, paid when a kernel is first used (and counted as preparation there).
    """
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def to_numpy(x) -> np.ndarray:
    """Explicit copy of any supported array to a NumPy array (device to host for CuPy)."""
    if isinstance(x, np.ndarray):
        return x
    xp = array_namespace(x)
    if is_cupy(xp):
        return x.get()
    return np.asarray(x)


def choose_backend(requested, xp, available: Iterable[str]) -> str:
    """Pick the path that serves a call.

    Parameters
    ----------
    requested : {None, "auto", "reference", "cpu", "cuda"}
        ``None`` or ``"auto"`` picks the fastest path that applies.
    xp : namespace
        Namespace of the input arrays.
    available : iterable of str
        Paths this particular request can use (a function may exclude one
        for an option it does not implement).

    Returns
    -------
    str
        One of :data:`BACKENDS`.

    Raises
    ------
    ValueError
        For an unknown name, or a forced path that cannot serve this input.
    """
    available = tuple(available)
    if requested in (None, "auto"):
        if is_cupy(xp) and "cuda" in available and gpu_available():
            return "cuda"
        if is_numpy(xp) and "cpu" in available and numba_available():
            return "cpu"
        return "reference"
    if requested not in BACKENDS:
        raise ValueError(
            f"unknown backend {requested!r}; use one of None, 'auto', "
            + ", ".join(repr(b) for b in BACKENDS)
        )
    if requested == "reference":
        return requested
    if requested not in available:
        raise ValueError(f"backend {requested!r} does not support this request; use backend=None")
    if requested == "cpu":
        if not is_numpy(xp):
            raise ValueError(
                "backend='cpu' needs NumPy input; pass numpy arrays "
                "(cupy.asnumpy(x) for GPU data) or use backend=None"
            )
        if not numba_available():
            raise ValueError("backend='cpu' needs Numba; pip install numba")
        return requested
    # cuda
    if not is_cupy(xp):
        raise ValueError(
            "backend='cuda' needs CuPy input; pass cupy.asarray(image) or use backend=None"
        )
    if not gpu_available():
        raise ValueError("backend='cuda' needs a CUDA GPU, and none is visible to CuPy")
    return requested
