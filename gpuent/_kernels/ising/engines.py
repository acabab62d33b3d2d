"""The Ising engines: one per path, one small protocol.

An engine owns a lattice on its path and does what :class:`gpuent.ising.Simulation` asks,
nothing else (the simulation keeps the sweep count, the beta schedule, the threshold tables
and the trace):

``sweep(sweep_index, table)``
    one sweep (every colour phase) with the host threshold table of this sweep's beta
    (:func:`gpuent._kernels.ising.thresholds`; engines cache what they derive from it by
    identity, so the caller keeps one table object per beta);
``record()`` / ``take_records()``
    queue the integer observable sums ``(energy, spin)`` of the current lattice, and
    collect every queued pair in order (a device engine queues on the device and copies
    them back in one go: no host synchronisation per sweep);
``frame(downscale)``
    a uint8 picture of the current lattice (NumPy, or an array-like whose copy may still
    be in flight);
``spins``
    the current lattice, in the model's namespace; ``sync()`` waits for queued work;
``default_record_every``
    the recording interval used when the caller gives none.

:func:`open_engine` picks the engine of a path; the CUDA engine lives in :mod:`._cuda`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from . import HALF, NEVER

__all__ = ["CpuEngine", "Engine", "ReferenceEngine", "open_engine"]


@runtime_checkable
class Engine(Protocol):
    default_record_every: int

    def sweep(self, sweep_index: int, table) -> None: ...

    def record(self) -> None: ...

    def take_records(self) -> list[tuple[int, int]]: ...

    def frame(self, downscale: int = 1): ...

    @property
    def spins(self): ...

    def sync(self) -> None: ...


def edge_index(model) -> int:
    """Table index of the edge model's edge pixels (frozen or heat-bath 1/2)."""
    return NEVER if model.edge_spins == "fixed" else HALF


class _HostEngine:
    """Observables computed at once on the host: records are plain Python pairs."""

    default_record_every = 1

    def __init__(self):
        self._records = []

    def record(self):
        self._records.append(self._observables())

    def take_records(self):
        out, self._records = self._records, []
        return out

    def sync(self):
        pass


class ReferenceEngine(_HostEngine):
    """The array-API reference path (NumPy, CuPy, array-api-strict lattices)."""

    def __init__(self, model, key):
        from ..._backend import array_namespace
        from . import reference

        super().__init__()
        self._ref = reference
        self.xp = array_namespace(model.spins)
        self.kind = model.kind
        self.s = self.xp.asarray(model.spins, copy=True)
        self.aux = model.aux
        self.key = key
        self.edge_index = edge_index(model)
        self.device = getattr(self.s, "device", None)

    def sweep(self, sweep_index, table):
        tab = self.xp.asarray(table, device=self.device)
        self.s = self._ref.sweep(self.xp, self.kind, self.s, self.aux, sweep_index, self.key,
                                 tab, self.edge_index)

    def _observables(self):
        return self._ref.observables(self.xp, self.kind, self.s, self.aux)

    def frame(self, downscale=1):
        from ..._backend import to_numpy
        from ...ising.movie import spins_to_frame

        return spins_to_frame(to_numpy(self.s), downscale)

    @property
    def spins(self):
        return self.s


class CpuEngine(_HostEngine):
    """The Numba path (NumPy lattices)."""

    def __init__(self, model, key):
        from . import _cpu

        super().__init__()
        self._cpu = _cpu
        self.kind = model.kind
        self.s = np.array(model.spins, copy=True, order="C")
        self.aux = None if model.aux is None else np.ascontiguousarray(model.aux)
        self.key = key
        self.edge_index = edge_index(model)

    def sweep(self, sweep_index, table):
        self._cpu.sweep(self.kind, self.s, self.aux, sweep_index, self.key, table,
                        self.edge_index)

    def _observables(self):
        return self._cpu.observables(self.kind, self.s, self.aux)

    def frame(self, downscale=1):
        from ...ising.movie import spins_to_frame

        return spins_to_frame(self.s, downscale)

    @property
    def spins(self):
        return self.s


def open_engine(backend: str, model, key, *, kernel=None) -> Engine:
    """The engine of ``backend`` for ``model`` with Philox key ``key``.

    ``kernel`` chooses the CUDA kernel family (``"packed"``, ``"fused"``, ``"rows"``;
    None picks the fastest that serves the model) and is refused on the other paths.
    """
    if backend == "cuda":
        from ._cuda import CudaEngine

        return CudaEngine(model, key, kernel=kernel)
    if kernel is not None:
        raise ValueError(f"kernel={kernel!r} (and packed=True) needs the cuda backend, a model "
                         "with CuPy arrays; leave them unset on the cpu and reference paths")
    if backend == "cpu":
        return CpuEngine(model, key)
    return ReferenceEngine(model, key)
