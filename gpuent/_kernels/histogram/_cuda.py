"""CUDA path of windowed histograms: CuPy launchers of ``cuda/windowed_histogram.cu``.

The kernel slides each window *down a column* (see the comment at the top of the
``.cu`` file): one thread owns a column x and a run of output rows, keeps its
own histogram (shared memory, or global scratch memory for many levels), and
adds the same int64 fixed-point increments as the Numba path (:mod:`._cpu`),
finishing with the same IEEE double operations, so results are bit-identical.

Everything device-specific is chosen here, on the host, from
``cupy.cuda.runtime.getDeviceProperties``:

* histogram storage: shared memory when a block of at least 128 resident
  threads per SM fits (``sharedMemPerBlockOptin``, ``sharedMemPerMultiprocessor``),
  else global scratch memory, capped in size;
* threads per block and resident blocks (``multiProcessorCount``, registers);
* the run length (output rows per thread), a tuning parameter: long runs
  amortize the N-pixel fill of the window, short runs give enough work items
  to fill the chip;
* a bounded grid: threads loop over work items, so images larger than one
  launch's scratch memory are processed in several passes of the same launch.

Nothing here compiles or imports CuPy at import time; modules are compiled
lazily, once per (device, variant), with NVRTC.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..._backend import cupy_or_none
from .spec import WindowPlan
from .spec import edge_pairs as _edge_pairs

__all__ = [
    "SOURCE", "describe", "histogram_words", "kernel_name", "launch_config", "prepare_windowed",
    "windowed_cuda",
]

SOURCE = Path(__file__).with_name("cuda") / "windowed_histogram.cu"

#: -fmad=false: no a*b+c contraction anywhere (the finish also uses __d*_rn intrinsics)
OPTIONS = ("--std=c++14", "-fmad=false")

_LEVEL_CTYPES = {
    np.dtype(np.uint8): "unsigned char",
    np.dtype(np.uint16): "unsigned short",
    np.dtype(np.int32): "int",
}
_OUT_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

#: largest global scratch (bytes) for per-thread histograms when they do not fit in shared memory
SCRATCH_LIMIT = 512 << 20


def count_type(npix: int) -> tuple[str, int]:
    """C type and size of a histogram count that holds any count of an N-pixel window."""
    if npix < 256:
        return "unsigned char", 1
    if npix < 65536:
        return "unsigned short", 2
    return "unsigned int", 4


def histogram_words(nlevels: int, npix: int) -> int:
    """32-bit words of one thread's histogram: ``4 // count bytes`` counts share a word."""
    per_word = 4 // count_type(npix)[1]
    return -(-int(nlevels) // per_word)


def kernel_name(level_dtype, npix: int, out_dtype, shared: bool, per_n: bool) -> str:
    """The C++ name expression of one kernel variant."""
    lt = _LEVEL_CTYPES[np.dtype(level_dtype)]
    ct = count_type(npix)[0]
    ot = _OUT_CTYPES[np.dtype(out_dtype)]
    flag = {True: "true", False: "false"}
    return f"gpuent::windowed_vertical<{lt}, {ct}, {ot}, {flag[bool(shared)]}, {flag[bool(per_n)]}>"


@functools.cache
def _source() -> str:
    return SOURCE.read_text()


@functools.cache
def _kernel(device_id: int, name: str):
    """Compile (NVRTC) and load one variant on one device; cached per (device, variant)."""
    cp = cupy_or_none()
    with cp.cuda.Device(device_id):
        module = cp.RawModule(code=_source(), options=OPTIONS, name_expressions=(name,))
        return module.get_function(name)


@functools.cache
def _properties(device_id: int) -> dict:
    cp = cupy_or_none()
    props = cp.cuda.runtime.getDeviceProperties(device_id)
    return {k: props[k] for k in props if not isinstance(props[k], (bytes, str))} | {
        "name": _text(props.get("name", b"GPU")),
    }


def _text(x) -> str:
    return x.decode(errors="replace") if isinstance(x, bytes) else str(x)


@dataclass(frozen=True)
class LaunchConfig:
    shared: bool
    threads: int          # per block
    blocks: int           # grid size (threads loop over work items)
    shared_bytes: int     # dynamic shared memory per block
    run: int              # output rows per work item
    nitems: int           # work items: columns x row runs
    scratch_threads: int  # threads with a global-memory histogram (0 when shared)


def launch_config(props: dict, *, nlevels: int, npix: int, shape, ry: int,
                  num_regs: int = 64, max_threads_per_block: int = 1024,
                  run: int | None = None, force_global: bool = False,
                  scratch_limit: int = SCRATCH_LIMIT) -> LaunchConfig:
    """Block shape, histogram storage, grid and run length for one request (pure host code)."""
    h, w = (int(s) for s in shape)
    per_thread = 4 * histogram_words(nlevels, npix)  # bytes of one thread's histogram
    nsm = int(props.get("multiProcessorCount", 1))
    thr_sm = int(props.get("maxThreadsPerMultiProcessor", 2048))
    smem_sm = int(props.get("sharedMemPerMultiprocessor", 48 << 10))
    optin = int(props.get("sharedMemPerBlockOptin", props.get("sharedMemPerBlock", 48 << 10)))
    reserved = int(props.get("reservedSharedMemPerBlock", 1024))
    regs_sm = int(props.get("regsPerMultiprocessor", 65536))
    blocks_sm_max = int(props.get("maxBlocksPerMultiProcessor", 32))
    # threads per block: multiples of 32 keep the word-interleaved histogram free of
    # bank conflicts (lane l's words all lie in bank l, see the .cu file)
    best = None
    if not force_global:
        for t in (32, 64, 128, 256, 512, 1024):
            if t > max_threads_per_block:
                continue
            smem = t * per_thread
            if smem > optin:
                continue
            by_regs = regs_sm // max(1, num_regs * t)
            blocks_sm = min(thr_sm // t, smem_sm // (smem + reserved), by_regs, blocks_sm_max)
            if blocks_sm < 1:
                continue
            resident = blocks_sm * t
            if best is None or resident > best[0] or (resident == best[0] and t == 256):
                best = (resident, t, blocks_sm, smem)
        if best is not None and best[0] < 128:
            best = None  # too few threads per SM: global scratch serves better
    if best is not None:
        resident_sm, threads, blocks_sm, smem = best
        total = resident_sm * nsm
    else:
        threads = min(256, max_threads_per_block)
        smem = 0
        by_regs = max(1, regs_sm // max(1, num_regs * threads)) * threads
        total = min(thr_sm, by_regs) * nsm
        cap = max(threads, (scratch_limit // per_thread) // threads * threads)
        total = min(total, cap)
    if run is None:
        prefer = max(32, 8 * (2 * ry + 1))            # fill of N pixels amortized over the run
        enough = -(-h * w // max(1, total))           # at least one work item per resident thread
        run = max(4, min(prefer, enough))
    run = max(1, min(int(run), h))
    nitems = w * (-(-h // run))
    blocks = max(1, min(-(-nitems // threads), -(-total // threads)))
    scratch_threads = 0 if best is not None else blocks * threads
    return LaunchConfig(best is not None, threads, blocks, smem, run, nitems, scratch_threads)


def vertical_pairs(plan: WindowPlan):
    """(leave, enter) row offsets per footprint column, grouped as in :func:`.spec.edge_pairs`.

    Returns int32 arrays ``pair_x`` (column offset of each pair), ``start``
    (ngroups + 1), ``gl`` and ``ge`` (row offsets of each group's leaving and
    entering pixels, relative to the window of the previous and current row).
    """
    offs = plan.offsets
    px, start, gl, ge = _edge_pairs(offs[:, 1], offs[:, 0])
    return tuple(np.ascontiguousarray(a, dtype=np.int32) for a in (px, start, gl, ge))


def _device_levels(cp, levels, valid):
    if valid is not None:
        lv = cp.where(valid, levels.astype(cp.int32, copy=False), cp.int32(-1))
    elif np.dtype(levels.dtype) in _LEVEL_CTYPES:
        lv = levels
    else:
        lv = levels.astype(cp.int32)
    return cp.ascontiguousarray(lv)


def prepare_windowed(levels, valid, plan: WindowPlan, out_dtype, *, out=None, run=None,
                     force_global: bool = False, scratch_limit: int = SCRATCH_LIMIT):
    """Upload the plan, compile the variant and return ``(launch, out, config)``.

    ``launch()`` runs only the kernel (what the benchmark times as "kernel-only");
    every launch writes every pixel of ``out``. ``out`` may be given (C-contiguous,
    the plan's shape, ``out_dtype``): the tests poison it to catch unwritten pixels.
    """
    cp = cupy_or_none()
    if cp is None:  # pragma: no cover - guarded by choose_backend
        raise RuntimeError("the cuda path needs CuPy")
    if len(plan.shape) != 2:
        raise ValueError("the cuda path serves 2-D images")
    out_dtype = np.dtype(out_dtype)
    if out_dtype not in _OUT_CTYPES:
        raise ValueError(f"the cuda path writes float32 or float64, not {out_dtype}")
    h, w = (int(s) for s in plan.shape)
    device = levels.device
    dev = int(device.id)
    with device:
        lv = _device_levels(cp, levels, valid)
        if out is None:
            out = cp.empty((h, w), dtype=out_dtype)
        elif out.shape != (h, w) or np.dtype(out.dtype) != out_dtype or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous array of the plan's shape and dtype")
        npix = plan.npix
        ry = int(plan.radii[0])
        per_n = bool(plan.triangular)
        props = _properties(dev)
        # variant: compile the shared and global kernels lazily, only the one used
        probe = _kernel(dev, kernel_name(lv.dtype, npix, out_dtype, True, per_n))
        cfg = launch_config(props, nlevels=int(plan.nlevels), npix=npix, shape=(h, w), ry=ry,
                            num_regs=int(probe.num_regs),
                            max_threads_per_block=int(probe.max_threads_per_block),
                            run=run, force_global=force_global, scratch_limit=scratch_limit)
        if cfg.shared:
            kern = probe
            if cfg.shared_bytes > 48 << 10:
                kern.max_dynamic_shared_size_bytes = cfg.shared_bytes
            scratch = cp.empty(1, dtype=np.uint8)  # unused placeholder pointer
        else:
            kern = _kernel(dev, kernel_name(lv.dtype, npix, out_dtype, False, per_n))
            # whole 32-bit words per thread (the kernel's slot()), in the count type
            scratch = cp.empty(histogram_words(plan.nlevels, npix) * cfg.scratch_threads,
                               dtype=np.uint32)

        i32 = np.int32
        pair_x, pair_start, pair_gl, pair_ge = vertical_pairs(plan)
        rowmap = cp.asarray(plan.index_maps[0].astype(np.int32))
        colmap = cp.asarray(plan.index_maps[1].astype(np.int32))
        offy = cp.asarray(plan.offsets[:, 0].astype(np.int32))
        offx = cp.asarray(plan.offsets[:, 1].astype(np.int32))
        inc = cp.asarray(np.ascontiguousarray(plan.increments(), dtype=np.int64))
        row_off = cp.asarray(np.ascontiguousarray(plan.row_offsets(), dtype=np.int64))
        a = cp.asarray(np.ascontiguousarray(plan.a, dtype=np.float64))
        d = cp.asarray(np.ascontiguousarray(plan.d, dtype=np.float64))
        args = (
            lv, i32(h), i32(w), rowmap, colmap, offy, offx, i32(npix),
            cp.asarray(pair_x), cp.asarray(pair_start), cp.asarray(pair_gl), cp.asarray(pair_ge),
            i32(pair_gl.shape[0]), inc, row_off, a, d, np.float64(plan.b),
            i32(bool(plan.miller_madow)), i32(plan.kind), np.float64(plan.ln_base),
            np.float64(plan.inv_scale), i32(plan.nlevels), i32(cfg.run), np.int64(cfg.nitems),
            scratch, out,
        )

    def launch():
        if h == 0 or w == 0:
            return out
        with cp.cuda.Device(dev):
            kern((cfg.blocks,), (cfg.threads,), args, shared_mem=cfg.shared_bytes)
        return out

    return launch, out, cfg


def windowed_cuda(levels, valid, plan: WindowPlan, out_dtype, *, out=None, run=None,
                  force_global: bool = False, scratch_limit: int = SCRATCH_LIMIT):
    """Run the sliding kernel on CuPy ``levels`` (and ``valid``) for a 2-D ``plan``.

    Returns a CuPy array on the input's device; nothing is copied to the host.
    ``out``, ``run``, ``force_global`` and ``scratch_limit`` are internal hooks for
    tests and tuning.
    """
    launch, out, _ = prepare_windowed(levels, valid, plan, out_dtype, out=out, run=run,
                                      force_global=force_global, scratch_limit=scratch_limit)
    return launch()


def describe(levels, plan: WindowPlan) -> dict:
    """The launch configuration chosen for a request (for benchmarks and debugging)."""
    _, _, cfg = prepare_windowed(levels, None, plan, np.float32)
    return dataclasses.asdict(cfg)
