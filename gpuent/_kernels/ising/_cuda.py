"""CUDA path of the Ising kernels: ``cuda/ising.cu`` through CuPy ``RawModule``.

Same spec as :mod:`.reference` and :mod:`._cpu` (see :mod:`gpuent._kernels.ising`). CuPy is
imported lazily and the module compiled on first use, once per device (NVRTC,
``--fmad=false``). :class:`CudaEngine` implements the engine protocol of :mod:`.engines`
with one of four kernel families (:func:`kernel_family` picks):

``"packed"``  binary torus and edge models, 1 bit per spin (width a multiple of 32);
``"fused"``   int8 torus and edge models, both colour phases in one launch (width % 8 == 0);
``"rows"``    int8, any model but continuous, one launch per colour phase;
``"cont"``    continuous spins.

Every family gives the same lattice bit for bit. Sweeps, observables and frames are queued
on one non-blocking stream; observables go to a device record buffer that the host reads
once per run (no synchronisation per sweep). Frames are rendered to uint8 on the device and
copied to pinned host buffers on a second stream (two buffers, used in turn);
:meth:`CudaEngine.frame` returns a :class:`PendingFrame` at once, and the movie writer's
thread waits for the copy.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from . import FIXED_SCALE, INT_OFFSET, PHILOX_W0, PHILOX_W1
from .engines import edge_index

__all__ = ["KERNELS", "PARAMS", "SYNC_KERNELS", "CudaEngine", "PendingFrame", "cuda_source",
           "kernel_family", "module", "table32"]

_SOURCE = Path(__file__).with_name("cuda") / "ising.cu"
_MASK = 0xFFFFFFFF
_BLOCK = (32, 8)  # every kernel: 256 threads, 32 words / columns wide
_FUSED_ROWS = 32  # FT_ROWS x FT_GROUPS: the tile of the fused kernels (see ising.cu)
_FUSED_GROUPS = 32
_OBS_ROWS = 64  # at most 64 blocks down the lattice for the observables (rows strided)
_RECORDS = 1024  # observables queued on the device before the host collects them

# The plan structure of the integer sweep kernels (struct Params in ising.cu), passed by value
# as a one-item host array of this structured dtype (CuPy's convention for struct arguments).
# tests/test_kernel_structs.py checks it against the struct (names, types, offsetof, sizeof).
PARAMS = np.dtype([("k0", "<u4", (10,)), ("k1", "<u4", (10,)), ("acc", "<u4"), ("H", "<i4"),
                   ("W", "<i4"), ("sweep", "<u4"), ("phase", "<u4"), ("eidx", "<i4")])

# Every kernel's C parameter types, in order. The launcher converts its arguments with this
# table, and the tests' host emulation generates its entry points from it (a pointer type
# that disagrees with ising.cu does not compile there).
KERNELS = {
    "ising_rows_torus": ("i8*", "u32*", "Params"),
    "ising_rows_edge": ("i8*", "i8*", "u32*", "Params"),
    "ising_rows_block": ("i8*", "i8*", "u32*", "Params"),
    "ising_rows_symmetric": ("i8*", "i8*", "u32*", "Params"),
    "ising_fused_torus": ("i8*", "i8*", "u32*", "Params"),
    "ising_fused_edge": ("i8*", "i8*", "i8*", "u32*", "Params"),
    "ising_packed_torus": ("u32*", "u32*", "Params"),
    "ising_packed_edge": ("u32*", "u32*", "u32*", "Params"),
    "ising_pack": ("i8*", "u32*", "int", "int"),
    "ising_unpack": ("u32*", "i8*", "int", "int"),
    "ising_sweep_cont": ("float*", "u64*", "int", "int", "u32", "u32", "u32", "u32"),
    "ising_obs_i8": ("i8*", "i8*", "int", "int", "int", "i64*"),
    "ising_obs_cont": ("float*", "int", "int", "i64*"),
    "ising_obs_packed": ("u32*", "u32*", "int", "int", "int", "i64*"),
    "ising_obs_finish": ("i64*", "int", "i64", "i64*"),
    "ising_frame_i8": ("i8*", "int", "int", "int", "u8*"),
    "ising_frame_packed": ("u32*", "int", "int", "int", "u8*"),
    "ising_frame_f32": ("float*", "int", "int", "int", "u8*"),
}
# kernels whose threads meet at __syncthreads (shared tables, tiles, block sums)
SYNC_KERNELS = frozenset(n for n in KERNELS if n.startswith(("ising_rows", "ising_fused",
                                                             "ising_packed", "ising_obs")))
_SCALAR = {"int": np.int32, "u32": np.uint32, "i64": np.int64}
_OBS_KIND = {"torus": 0, "edge": 1, "block": 2, "symmetric": 3}


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


def kernel_family(kind: str, shape, kernel=None) -> str:
    """The kernel family serving a model (``kernel`` None: the fastest that applies)."""
    w = int(shape[1])
    if kind == "continuous":
        if kernel not in (None, "rows"):
            raise ValueError(f"kernel={kernel!r} does not serve continuous spins; leave it unset")
        return "cont"
    binary = kind in ("torus", "edge")
    if kernel is None:
        if binary:
            return "packed" if w % 32 == 0 else ("fused" if w % 8 == 0 else "rows")
        return "rows"
    if kernel not in ("packed", "fused", "rows"):
        raise ValueError(f"unknown kernel {kernel!r}; use 'packed', 'fused', 'rows' or None")
    if kernel != "rows" and not binary:
        raise ValueError(f"kernel={kernel!r} (packed=True) serves the binary torus and edge "
                         f"models, not {kind!r}; leave it unset")
    need = 32 if kernel == "packed" else 8
    if kernel != "rows" and w % need:
        raise ValueError(f"kernel={kernel!r} needs a lattice width that is a multiple of "
                         f"{need}, got {w}; crop or pad the image, or leave it unset")
    return kernel


def table32(table) -> tuple[np.ndarray, int]:
    """32-bit thresholds of an integer model's table, and ``acc``: every index <= acc accepts.

    ``T`` is non-increasing over the indices 0..16 (``dE`` = -8..8), so ``T == 2**32``
    (always accepted, not representable in 32 bits) holds exactly for the indices up to
    ``acc`` (at least 8: every ``dE <= 0``); the kernels test ``idx <= acc`` first.
    """
    t = np.asarray(table, dtype=np.uint64)
    full = np.flatnonzero(t[: 2 * INT_OFFSET + 1] == np.uint64(2**32))
    acc = int(full[-1])
    return (t & np.uint64(_MASK)).astype(np.uint32), acc


def _grid(n, per):
    return max(1, (int(n) + per - 1) // per)


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
    """Lattice, kernels and streams of one :class:`gpuent.ising.Simulation` on the GPU.

    Parameters
    ----------
    model : IsingModel
        Its arrays may be NumPy or CuPy; they are copied to the current device.
    key : tuple of int
        Philox key ``(k0, k1)``.
    kernel : None | "packed" | "fused" | "rows"
        Kernel family (:func:`kernel_family`); None picks the fastest for the model.
    """

    @property
    def default_record_every(self) -> int:
        """Recording interval with observables under 5 % of the sweeps' time.

        An observables pass reads the lattice once in two launches; a sweep reads and
        writes it, with a random number per site, in one to four launches. Large lattices:
        a pass costs under half a sweep, so every 16th sweep. Below 2**20 sites launches
        dominate and a pass may cost two sweeps: every 64th.
        """
        return 16 if self.H * self.W >= 1 << 20 else 64

    def __init__(self, model, key, *, kernel=None):
        import cupy as cp

        self.cp = cp
        self.kind = model.kind
        self.family = kernel_family(model.kind, model.shape, kernel)
        self.device = cp.cuda.Device()
        self.mod = module(self.device.id)
        self._fns = {}
        self.stream = cp.cuda.Stream(non_blocking=True)
        self.copy_stream = cp.cuda.Stream(non_blocking=True)
        # non-blocking streams do not wait for the legacy default stream: the model's
        # arrays may still be in flight there (cp.asarray copies asynchronously)
        self.stream.wait_event(cp.cuda.get_current_stream().record())
        self.H, self.W = (int(v) for v in model.shape)
        H, W = np.int32(self.H), np.int32(self.W)
        k0, k1 = (int(k) for k in key)
        self._key = (np.uint32(k0), np.uint32(k1))
        p = np.zeros(1, PARAMS)
        r = np.arange(10, dtype=np.uint64)
        p["k0"] = (k0 + r * PHILOX_W0) & _MASK  # the round keys, once
        p["k1"] = (k1 + r * PHILOX_W1) & _MASK
        p["H"], p["W"], p["eidx"] = H, W, edge_index(model)
        self._params = p
        dtype = cp.float32 if self.family == "cont" else cp.int8
        with self.stream:
            s = cp.array(model.spins, dtype=dtype, order="C", copy=True)
            aux = (None if model.aux is None
                   else cp.ascontiguousarray(cp.asarray(model.aux, dtype=cp.int8)))
            self.aux = aux
            if self.family == "packed":
                q = self.W // 32
                self.x = cp.empty((self.H, q), cp.uint32)
                self._launch("ising_pack", (_grid(q, 32), _grid(self.H, 8)), s, self.x, H, W)
                self.wm = self.x
                if self.kind == "edge":
                    self.wm = cp.empty((self.H, q), cp.uint32)
                    self._launch("ising_pack", (_grid(q, 32), _grid(self.H, 8)), aux, self.wm,
                                 H, W)
                self.s = None
            else:
                self.s = s
                self.s_next = cp.empty_like(s) if self.family == "fused" else None
            cols = self.W // 32 if self.family == "packed" else self.W
            self._obs_grid = (_grid(cols, 32), min(_grid(self.H, 8), _OBS_ROWS))
            nblocks = self._obs_grid[0] * self._obs_grid[1]
            self._part = cp.zeros((nblocks, 2), cp.int64)
            self._rec = cp.zeros((_RECORDS, 2), cp.int64)
        self._nrec = 0
        self._host_records = []
        self._tables = {}
        self._fbuf = None  # (downscale, device buffers, pinned buffers, free events)
        self._exposed = False  # the lattice was handed out: the caller's stream may write it
        self._unpacked = None  # packed family: the int8 lattice handed out last
        self._slot = 0

    # ---- launching ----------------------------------------------------------------------
    def _launch(self, name, grid, *args):
        """Launch kernel ``name`` on the engine's stream, arguments converted per KERNELS."""
        fn = self._fns.get(name)
        if fn is None:
            fn = self._fns[name] = self.mod.get_function(name)
        types = KERNELS[name]
        if len(args) != len(types):
            raise TypeError(f"{name} takes {len(types)} arguments, got {len(args)}")
        conv = []
        for t, a in zip(types, args):
            if t == "Params":  # CuPy passes a host structured array of one item by value
                if not (isinstance(a, np.ndarray) and a.dtype == PARAMS and a.shape == (1,)):
                    raise TypeError(f"{name}: the plan structure must be a PARAMS array of 1")
                conv.append(a)
            elif t in _SCALAR:
                conv.append(_SCALAR[t](a))
            else:
                conv.append(a)
        with self.stream:  # RawKernel launches on the current stream
            fn(tuple(grid), _BLOCK if name != "ising_obs_finish" else (256,), tuple(conv))

    # ---- dynamics -----------------------------------------------------------------------
    def _table(self, table):
        # Simulation keeps one host table per beta: look it up by identity (the entry
        # holds the host array, so its id cannot be reused while cached)
        entry = self._tables.get(id(table))
        if entry is None or entry[0] is not table:
            if len(self._tables) > 256:
                self._tables.clear()  # stream-ordered pool: safe for queued kernels
            if self.family == "cont":
                host, acc = np.ascontiguousarray(table, dtype=np.uint64), None
            else:
                host, acc = table32(table)
            with self.stream:
                dev = self.cp.asarray(host)
            entry = (table, dev, acc)
            self._tables[id(table)] = entry
        return entry[1], entry[2]

    def sweep(self, sweep_index, table):
        if self._exposed:  # order after whatever the caller did with .spins since
            self.stream.wait_event(self.cp.cuda.get_current_stream().record())
            self._exposed = False
        self._unpacked = None
        thr, acc = self._table(table)
        t = int(sweep_index) & _MASK
        H, W = self.H, self.W
        if self.family == "cont":
            grid = (_grid((W + 7) // 8, 32), _grid(H, 8))
            for phase in range(2):
                self._launch("ising_sweep_cont", grid, self.s, thr, H, W, *self._key, t, phase)
            return
        p = self._params
        p["acc"], p["sweep"], p["phase"] = acc, t, 0
        edge = self.kind == "edge"
        if self.family == "fused":
            grid = (_grid(W // 8, _FUSED_GROUPS), _grid(H, _FUSED_ROWS))
            args = (self.s, self.aux) if edge else (self.s,)
            self._launch(f"ising_fused_{self.kind}", grid, *args, self.s_next, thr, p)
            self.s, self.s_next = self.s_next, self.s
            return
        if self.family == "packed":
            grid = (_grid(W // 32, 32), _grid(H, 8))
            args = (self.x, self.wm) if edge else (self.x,)
            for phase in range(2):
                p["phase"] = phase
                self._launch(f"ising_packed_{self.kind}", grid, *args, thr, p)
            return
        four = self.kind in ("block", "symmetric")
        grid = (_grid((W + 7) // 8, 32), _grid(H // 2 if four else H, 8))
        args = (self.s,) if self.kind == "torus" else (self.s, self.aux)
        for phase in range(4 if four else 2):
            p["phase"] = phase
            self._launch(f"ising_rows_{self.kind}", grid, *args, thr, p)

    # ---- observables --------------------------------------------------------------------
    def record(self):
        """Queue the observable sums of the current lattice into the device record buffer."""
        H, W, part = self.H, self.W, self._part
        e0 = 0
        if self.family == "packed":
            self._launch("ising_obs_packed", self._obs_grid, self.x, self.wm, H, W,
                         self.kind == "edge", part)
        elif self.family == "cont":
            self._launch("ising_obs_cont", self._obs_grid, self.s, H, W, part)
            e0 = -2 * H * W * FIXED_SCALE  # bond terms are |s_i - s_j|; energy uses |..| - 1
        else:
            aux = self.s if self.aux is None else self.aux
            self._launch("ising_obs_i8", self._obs_grid, self.s, aux, H, W,
                         _OBS_KIND[self.kind], part)
        self._launch("ising_obs_finish", (1,), part, part.shape[0], e0, self._rec[self._nrec])
        self._nrec += 1
        if self._nrec == _RECORDS:
            self._collect()

    def _collect(self):
        if self._nrec:
            with self.stream:
                host = self.cp.asnumpy(self._rec[: self._nrec], stream=self.stream)
            self.stream.synchronize()
            self._host_records.extend((int(e), int(m)) for e, m in host)
            self._nrec = 0

    def take_records(self):
        self._collect()
        out, self._host_records = self._host_records, []
        return out

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
        grid = (_grid(fw, 32), _grid(fh, 8))
        if self.family == "packed":
            self._launch("ising_frame_packed", grid, self.x, self.H, self.W, k, out)
        elif self.family == "cont":
            self._launch("ising_frame_f32", grid, self.s, self.H, self.W, k, out)
        else:
            self._launch("ising_frame_i8", grid, self.s, self.H, self.W, k, out)
        rendered = self.stream.record()
        self.copy_stream.wait_event(rendered)
        out.get(stream=self.copy_stream, out=host[slot], blocking=False)
        done = self.copy_stream.record()
        return PendingFrame(host[slot], done, free[slot])

    @property
    def spins(self):
        """The current lattice (int8 or float32, CuPy). A packed lattice is unpacked into a
        new int8 array: writing to it does not change the simulation."""
        if self.family == "packed":
            if self._unpacked is None:
                with self.stream:
                    s = self.cp.empty((self.H, self.W), self.cp.int8)
                self._launch("ising_unpack", (_grid(self.W // 32, 32), _grid(self.H, 8)),
                             self.x, s, self.H, self.W)
                self._unpacked = s
            self.stream.synchronize()
            return self._unpacked
        self.stream.synchronize()
        self._exposed = True
        return self.s

    def sync(self):
        self.stream.synchronize()
        self.copy_stream.synchronize()
