"""Numba dispatch shared by the CPU kernels: few signatures, a message when one compiles.

Every Numba kernel of gpuent is compiled with ``cache=True``: a signature is
compiled once per install and then loaded from Numba's on-disk cache (in the
package's ``__pycache__``, or under ``NUMBA_CACHE_DIR`` when set). Launchers
normalize their inputs (read-only views, one output dtype) so that a handful of
signatures serve every call, and go through :func:`ensure_compiled`, which

* says ``gpuent: compiling kernels for <what> (first use only)`` on stderr when
  a signature is really compiled (not when it is loaded from the cache), and
* adds the time spent compiling or loading to :func:`preparation_seconds`, so
  that reported speeds can leave it out.

:func:`_skip_blas_probe` keeps Numba's target start-up from importing
``scipy.linalg`` (about 140 ms) only to learn that a BLAS exists: SciPy is a
dependency of gpuent, so it does.
"""

from __future__ import annotations

import sys
import threading
import time

import numba
from numba.core import event

__all__ = ["add_preparation", "ensure_compiled", "preparation_seconds", "readonly"]

_lock = threading.Lock()
_prepared = {"seconds": 0.0}
_blas_done = []


def preparation_seconds() -> float:
    """Seconds this process spent compiling kernels or loading them from the cache."""
    return _prepared["seconds"]


def add_preparation(seconds: float) -> None:
    """Count ``seconds`` (e.g. importing Numba and the kernels) as preparation."""
    _prepared["seconds"] += seconds


def readonly(a):
    """A read-only view of ``a``: one Numba type whatever the caller's flags."""
    view = a.view()
    view.flags.writeable = False
    return view


def _skip_blas_probe():
    """Import Numba's array-math lowering with its BLAS probe answered without SciPy."""
    if _blas_done or "numba.np.arraymath" in sys.modules:
        _blas_done.append(True)
        return
    _blas_done.append(True)
    try:
        import numba.np.linalg as linalg
    except Exception:  # pragma: no cover - a Numba without this module: let it probe
        return
    original = getattr(linalg, "ensure_blas", None)
    if original is None:  # pragma: no cover - another Numba layout: let it probe
        return
    linalg.ensure_blas = lambda: None
    try:
        import numba.np.arraymath as arraymath
    finally:
        linalg.ensure_blas = original
    if getattr(arraymath, "ensure_blas", None) is not original:
        arraymath.ensure_blas = original


class _Announce(event.Listener):
    def __init__(self, what):
        self.what = what
        self.said = False

    def on_start(self, ev):
        from .. import _kernels

        if not self.said and _kernels.announce_compiles:
            self.said = True
            print(f"gpuent: compiling kernels for {self.what} (first use only)",
                  file=sys.stderr, flush=True)

    def on_end(self, ev):
        pass


def ensure_compiled(dispatcher, args, what):
    """Make sure ``dispatcher`` has the signature of ``args`` (compiled or loaded from disk).

    ``what`` names the variant in the message (e.g. "uint8 images").
    """
    sig = tuple(numba.typeof(a) for a in args)
    if sig in dispatcher.overloads:
        return
    with _lock:
        if sig in dispatcher.overloads:
            return
        start = time.perf_counter()
        _skip_blas_probe()
        with event.install_listener("numba:compile", _Announce(what)):
            dispatcher.compile(sig)
        _prepared["seconds"] += time.perf_counter() - start
