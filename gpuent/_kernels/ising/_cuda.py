"""CUDA path of the Ising kernels: ``cuda/ising.cu`` through CuPy ``RawModule``.

Same spec as :mod:`.reference` and :mod:`._cpu` (see :mod:`gpuent._kernels.ising`); one
thread per Philox call (a row and 8 columns: 4 sites of the phase). CuPy is imported
lazily and the module compiled on first use, once per device (NVRTC, ``--fmad=false``).

Frames are rendered to uint8 on the device and copied to pinned host buffers on a
separate stream (two buffers, used in turn); :meth:`CudaEngine.frame` returns a
:class:`PendingFrame` at once, and the movie writer's thread waits for the copy.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from . import FIXED_SCALE, HALF, NEVER

__all__ = ["CudaEngine", "PendingFrame", "cuda_source", "module"]

_SOURCE = Path(__file__).with_name("cuda") / "ising.cu"
_ROWS = 8  # threads per block in y
_COLS = 32  # threads per block in x (column groups)


def cuda_source() -> str:
    return _SOURCE.read_text()


@functools.cache
def module(device_id: int):
    """The compiled kernels for one device (compiled once per device, on first use)."""
    import cupy as cp

    with cp.cuda.Device(device_id):
        mod = cp.RawModule(code=cuda_source(), options=("--std=c++14", "--fmad=false"))
        mod.compile()
    return mod


class PendingFrame:
    """A frame whose device-to-host copy may still be running; :meth:`resolve` waits."""

    dtype = np.dtype(np.uint8)
    ndim = 2

    def __init__(self, host, event, free):
        self._host = host
        self._event = event
        self._free = free
        self._out = None
        self.shape = host.shape

    def resolve(self) -> np.ndarray:
        # once only: after the first call the pinned buffer belongs to a later frame
        if self._out is None:
            self._event.synchronize()
            self._out = np.array(self._host, copy=True)
            self._free.set()
        return self._out

    def __del__(self):
        # a frame dropped unresolved (e.g. MovieWriter.append raised) must not leave its
        # buffer taken for ever: CudaEngine.frame would wait on it two frames later
        free = getattr(self, "_free", None)
        if free is not None and self._out is None:
            try:
                self._event.synchronize()
            except Exception:
                pass
            free.set()

    def __array__(self, dtype=None, copy=None):
        out = self.resolve()
        return out if dtype is None else out.astype(dtype)


class CudaEngine:
    """Lattice, kernels and streams of one :class:`gpuent.ising.Simulation` on the GPU."""

    def __init__(self, model, key):
        import cupy as cp

        self.cp = cp
        self.kind = model.kind
        self.device = cp.cuda.Device()
        self.mod = module(self.device.id)
        self.stream = cp.cuda.Stream(non_blocking=True)
        self.copy_stream = cp.cuda.Stream(non_blocking=True)
        # non-blocking streams do not wait for the legacy default stream: the model's
        # arrays may still be in flight there (cp.asarray copies asynchronously)
        self.stream.wait_event(cp.cuda.get_current_stream().record())
        dtype = cp.float32 if model.kind == "continuous" else cp.int8
        with self.stream:
            self.s = cp.array(model.spins, dtype=dtype, order="C", copy=True)
            self.aux = (cp.zeros((1, 1), cp.int8) if model.aux is None
                        else cp.ascontiguousarray(cp.asarray(model.aux, dtype=cp.int8)))
            self._obs = cp.zeros(2, dtype=cp.uint64)
        self.H, self.W = (int(v) for v in self.s.shape)
        self.k0, self.k1 = (np.uint32(k) for k in key)
        self.edge_index = np.int32(NEVER if model.edge_spins == "fixed" else HALF)
        self._tables = {}
        self._fbuf = None  # (downscale, device buffers, pinned buffers, free events)
        self._exposed = False  # the lattice was handed out: the caller's stream may write it
        self._slot = 0
        name = {"torus": "ising_sweep_torus", "edge": "ising_sweep_edge",
                "continuous": "ising_sweep_cont", "block": "ising_sweep_metric",
                "symmetric": "ising_sweep_metric"}[self.kind]
        self._sweep = self.mod.get_function(name)
        if self.kind == "continuous":
            self._obs_fn = self.mod.get_function("ising_obs_cont")
            self._frame_fn = self.mod.get_function("ising_frame_f32")
        else:
            self._obs_fn = self.mod.get_function("ising_obs_int")
            self._frame_fn = self.mod.get_function("ising_frame_i8")
        self._four = self.kind in ("block", "symmetric")
        groups = (self.W + 7) // 8
        rows = self.H // 2 if self._four else self.H
        self._grid = ((groups + _COLS - 1) // _COLS, (rows + _ROWS - 1) // _ROWS)

    # ---- dynamics -----------------------------------------------------------------------
    def _table(self, table):
        # Simulation keeps one host table per beta: look it up by identity (the entry
        # holds the host array, so its id cannot be reused while cached)
        entry = self._tables.get(id(table))
        if entry is None or entry[0] is not table:
            if len(self._tables) > 256:
                self._tables.clear()  # stream-ordered pool: safe for queued kernels
            host = np.ascontiguousarray(table, dtype=np.uint64)
            with self.stream:
                dev = self.cp.asarray(host)
            entry = (table, dev)
            self._tables[id(table)] = entry
        return entry[1]

    def sweep(self, t, table):
        if self._exposed:  # order after whatever the caller did with .spins since
            self.stream.wait_event(self.cp.cuda.get_current_stream().record())
            self._exposed = False
        thr = self._table(table)
        H, W = np.int32(self.H), np.int32(self.W)
        t = np.uint32(t & 0xFFFFFFFF)
        block = (_COLS, _ROWS)
        for phase in range(4 if self._four else 2):
            ph = np.uint32(phase)
            if self.kind == "torus":
                args = (self.s, thr, H, W, self.k0, self.k1, t, ph)
            elif self.kind == "continuous":
                args = (self.s, thr, H, W, self.k0, self.k1, t, ph)
            elif self.kind == "edge":
                args = (self.s, self.aux, thr, H, W, self.k0, self.k1, t, ph, self.edge_index)
            else:
                args = (self.s, self.aux, thr, H, W, self.k0, self.k1, t, ph,
                        np.int32(self.kind == "symmetric"))
            with self.stream:  # RawKernel launches on the current stream
                self._sweep(self._grid, block, args)

    def observables(self):
        cp = self.cp
        n = self.H * self.W
        blocks = int(min((n + 255) // 256, 65536))
        with self.stream:
            self._obs.fill(0)
            if self.kind == "continuous":
                self._obs_fn((blocks,), (256,),
                             (self.s, np.int32(self.H), np.int32(self.W), self._obs))
            else:
                kind = {"torus": 0, "edge": 1, "block": 2, "symmetric": 3}[self.kind]
                self._obs_fn((blocks,), (256,), (self.s, self.aux, np.int32(self.H),
                                                 np.int32(self.W), np.int32(kind), self._obs))
            host = cp.asnumpy(self._obs, stream=self.stream)
        self.stream.synchronize()
        e, m = (int(v) for v in host.view(np.int64))
        if self.kind == "continuous":  # bond terms are |s_i - s_j|; energy uses |..| - 1
            e -= 2 * n * FIXED_SCALE
        return e, m

    # ---- frames -------------------------------------------------------------------------
    def _frame_buffers(self, k):
        cp = self.cp
        if self._fbuf is None or self._fbuf[0] != k:
            if self._fbuf is not None:  # wait until the writer took the old frames
                for ev in self._fbuf[3]:
                    ev.wait()
            shape = (self.H // k, self.W // k)
            dev = [cp.empty(shape, cp.uint8) for _ in range(2)]
            import cupyx

            host = [cupyx.empty_pinned(shape, np.uint8) for _ in range(2)]
            free = [threading.Event() for _ in range(2)]
            for ev in free:
                ev.set()
            self._fbuf = (k, dev, host, free)
        return self._fbuf

    def frame(self, downscale=1):
        """Render a frame on the device; returns a :class:`PendingFrame` (copy in flight)."""
        k = int(downscale)
        _, dev, host, free = self._frame_buffers(k)
        slot = self._slot
        self._slot ^= 1
        free[slot].wait()  # the writer thread still reads this pinned buffer
        free[slot].clear()
        out = dev[slot]
        fh, fw = out.shape
        if fh == 0 or fw == 0:  # downscale larger than the lattice: no launch (grid 0)
            free[slot].set()
            return np.zeros((fh, fw), np.uint8)
        with self.stream:
            self._frame_fn(((fw + 31) // 32, (fh + 7) // 8), (32, 8),
                           (self.s, np.int32(self.H), np.int32(self.W), np.int32(k), out))
        rendered = self.stream.record()
        self.copy_stream.wait_event(rendered)
        out.get(stream=self.copy_stream, out=host[slot], blocking=False)
        done = self.copy_stream.record()
        return PendingFrame(host[slot], done, free[slot])

    @property
    def spins(self):
        self.stream.synchronize()
        self._exposed = True
        return self.s

    def sync(self):
        self.stream.synchronize()
        self.copy_stream.synchronize()
