"""CUDA path of windowed histograms: CuPy launchers of ``cuda/windowed_histogram.cu``.

The kernel slides each window *down a column* of the first axis (see the comment at
the top of the ``.cu`` file): one thread owns a column (a pixel of the plane of the
other axes: x in 2-D, (y, x) in 3-D) and a run of rows, keeps its own histogram
(shared memory, or global scratch memory for many levels), and adds the same int64
fixed-point increments as the Numba path (:mod:`._cpu`), finishing with the same IEEE
double operations, so results are bit-identical. Full-box footprints without invalid
pixels get a variant with the box width as a template parameter: an interior fast
path with no index-map loads.

Everything device-specific is chosen here, on the host, from
``cupy.cuda.runtime.getDeviceProperties``:

* histogram storage: shared memory when a block of at least 128 resident
  threads per SM fits (``sharedMemPerBlockOptin``, ``sharedMemPerMultiprocessor``),
  else global scratch memory, limited to a share of the device's free memory
  (:func:`scratch_limit_from_free`), with blocks small enough for every SM to get one;
* threads per block and resident threads (``multiProcessorCount``, registers);
* the work split (:func:`launch_config`): runs per column chosen so that every
  thread does the same whole number of items (or one less) and the longest thread,
  window fills included, is as short as possible;
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

from ..._backend import array_namespace, cupy_or_none
from ..._levels import sentinel_levels
from .spec import WindowPlan
from .spec import edge_pairs as _edge_pairs

__all__ = [
    "SOURCE", "WINDOW_ARGS", "WINDOW_ARGS_DTYPE", "describe", "histogram_words", "kernel_name",
    "launch_config", "pack_window_args", "prepare_windowed", "windowed_cuda",
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

#: The plan structure of ``windowed_sliding`` (``struct WindowArgs`` in the ``.cu`` file):
#: every argument besides the levels, the scratch memory and the output, as (name, C type)
#: in the struct's order. This is the one list of the kernel's arguments on the host: the
#: NumPy dtype CuPy passes by value is built from it (C alignment), and
#: ``tests/test_kernel_structs.py`` checks it against the struct (names, types, offsetof,
#: sizeof), so the two cannot drift apart.
WINDOW_ARGS = (
    ("D", "int"), ("HY", "int"), ("W", "int"),
    ("zmap", "const int*"), ("ymap", "const int*"), ("xmap", "const int*"),
    ("rz", "int"), ("ry", "int"), ("rx", "int"),
    ("offz", "const int*"), ("offy", "const int*"), ("offx", "const int*"),
    ("npix", "int"),
    ("pair_y", "const int*"), ("pair_x", "const int*"), ("pair_start", "const int*"),
    ("pair_gl", "const int*"), ("pair_ge", "const int*"),
    ("ngroups", "int"),
    ("inc", "const long long*"), ("row_off", "const long long*"),
    ("a", "const double*"), ("d", "const double*"), ("b", "double"),
    ("mm", "int"), ("kind", "int"), ("ln_base", "double"), ("inv_scale", "double"),
    ("nlevels", "int"), ("all_valid", "int"), ("nruns", "int"), ("nitems", "long long"),
)

#: NumPy types of the C types of :data:`WINDOW_ARGS` (a pointer's: of the data it points to)
C_TYPES = {"int": np.dtype(np.int32), "long long": np.dtype(np.int64),
           "double": np.dtype(np.float64)}


def _field_dtype(ctype: str) -> np.dtype:
    """The dtype a field is stored as in the struct: pointers as 64-bit addresses."""
    return np.dtype(np.uint64) if ctype.endswith("*") else C_TYPES[ctype]


#: ``struct WindowArgs`` as a NumPy dtype with C layout (a one-item array of it is the
#: kernel argument, CuPy's convention for a struct passed by value)
WINDOW_ARGS_DTYPE = np.dtype({"names": [n for n, _ in WINDOW_ARGS],
                              "formats": [_field_dtype(t) for _, t in WINDOW_ARGS]},
                             align=True)


def pack_window_args(fields: dict, address) -> np.ndarray:
    """The kernel's plan structure from ``fields`` (every name of :data:`WINDOW_ARGS`).

    Pointer fields take device arrays of the pointed-to type (``address(array)`` gives
    the pointer), the others numbers. Missing or extra names and wrong array types raise,
    so a field added on one side only fails at once.
    """
    names = [n for n, _ in WINDOW_ARGS]
    if set(fields) != set(names):
        raise ValueError(f"plan structure fields differ from WINDOW_ARGS: missing "
                         f"{sorted(set(names) - set(fields))}, extra "
                         f"{sorted(set(fields) - set(names))}")
    packed = np.zeros(1, WINDOW_ARGS_DTYPE)
    for name, ctype in WINDOW_ARGS:
        value = fields[name]
        if ctype.endswith("*"):
            want = C_TYPES[ctype[:-1].replace("const ", "")]
            if np.dtype(value.dtype) != want or not value.flags.c_contiguous:
                raise TypeError(f"plan structure field {name} must be a C-contiguous "
                                f"{want} array, got {value.dtype}")
            packed[name] = address(value)
        else:
            packed[name] = value
    return packed


#: global scratch (bytes) for per-thread histograms when they do not fit in shared memory:
#: this fraction of the device's free memory (at the time of the call), at most ...
SCRATCH_FREE_FRACTION = 0.25
#: ... and at least this much (a launch always has at least one warp of histograms)
SCRATCH_MIN = 64 << 20
#: the fallback when free memory cannot be read
SCRATCH_LIMIT = 512 << 20
#: widest box (pixels along the last axis) that gets the compile-time interior fast path
MAX_FAST_WIDTH = 151


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


def kernel_name(level_dtype, npix: int, out_dtype, shared: bool, per_n: bool,
                box_width: int = 0) -> str:
    """The C++ name expression of one kernel variant (``box_width`` 0: general path only)."""
    lt = _LEVEL_CTYPES[np.dtype(level_dtype)]
    ct = count_type(npix)[0]
    ot = _OUT_CTYPES[np.dtype(out_dtype)]
    flag = {True: "true", False: "false"}
    return (f"gpuent::windowed_sliding<{lt}, {ct}, {ot}, {flag[bool(shared)]}, "
            f"{flag[bool(per_n)]}, {int(box_width)}>")


def box_width(plan: WindowPlan, all_valid: bool) -> int:
    """Template width of the interior fast path: the footprint's width when it is a full
    box and every pixel is counted, else 0 (general path only)."""
    fp = np.asarray(plan.footprint)
    width = int(fp.shape[-1])
    if all_valid and bool(fp.all()) and width <= MAX_FAST_WIDTH:
        return width
    return 0


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


def scratch_limit_from_free(free_bytes) -> int:
    """Scratch bytes allowed for a launch with ``free_bytes`` of free device memory."""
    if free_bytes is None:
        return SCRATCH_LIMIT
    return max(SCRATCH_MIN, int(free_bytes * SCRATCH_FREE_FRACTION))


def _free_memory(cp, device_id: int):
    try:
        with cp.cuda.Device(device_id):
            free = int(cp.cuda.runtime.memGetInfo()[0])
        # memory held by CuPy's pool can be reused too
        return free + int(cp.get_default_memory_pool().free_bytes())
    except Exception:  # noqa: BLE001 - a stand-in without memGetInfo: the fixed fallback
        return None


@dataclass(frozen=True)
class LaunchConfig:
    shared: bool
    threads: int          # per block
    blocks: int           # grid size (threads loop over work items)
    shared_bytes: int     # dynamic shared memory per block
    run: int              # most rows of one work item
    nruns: int            # runs (work items) per column
    nitems: int           # work items: columns x runs
    items_per_thread: int  # every thread does this many items, or one less
    resident: int         # threads the device can hold at once for this variant
    scratch_threads: int  # threads with a global-memory histogram (0 when shared)


def _balanced_runs(rows: int, columns: int, resident: int, fill_steps: float) -> int:
    """Runs per column q minimizing the longest thread: ceil(items / resident) items of
    ceil(rows / q) steps plus the window fill (``fill_steps``, in steps) each."""
    q = np.arange(1, max(1, rows) + 1, dtype=np.int64)
    per_thread = -(-(columns * q) // max(1, resident))
    cost = per_thread * ((-(-rows // q)) + fill_steps)
    return int(q[int(np.argmin(cost))])  # the first minimum: fewest items


def launch_config(props: dict, *, nlevels: int, npix: int, shape, ry: int,
                  num_regs: int = 64, max_threads_per_block: int = 1024,
                  run: int | None = None, force_global: bool = False,
                  scratch_limit: int | None = None) -> LaunchConfig:
    """Block shape, histogram storage, grid and work split for one request (pure host code).

    ``shape`` is ``(rows, columns)``: the length of the sliding (first) axis and the number
    of pixels of one row (the product of the other axes); ``ry`` the window's radius along
    the sliding axis.
    """
    if scratch_limit is None:
        scratch_limit = SCRATCH_LIMIT
    h, w = (int(s) for s in shape)
    per_thread = 4 * histogram_words(nlevels, npix)  # bytes of one thread's histogram
    nsm = int(props.get("multiProcessorCount", 1))
    thr_sm = int(props.get("maxThreadsPerMultiProcessor", 2048))
    smem_sm = int(props.get("sharedMemPerMultiprocessor", 48 << 10))
    optin = int(props.get("sharedMemPerBlockOptin", props.get("sharedMemPerBlock", 48 << 10)))
    reserved = int(props.get("reservedSharedMemPerBlock", 1024))
    regs_sm = int(props.get("regsPerMultiprocessor", 65536))
    blocks_sm_max = int(props.get("maxBlocksPerMultiProcessor", 32))
    # threads per block: multiples of 32 (a warp shares one bank-conflict-free tile)
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
        smem = 0
        threads = max(32, min(256, max_threads_per_block) // 32 * 32)
        by_regs = max(1, regs_sm // max(1, num_regs * threads)) * threads
        total = min(thr_sm, by_regs) * nsm
        cap = max(32, (int(scratch_limit) // per_thread) // 32 * 32)
        if cap < nsm * threads:  # smaller blocks, so that every SM gets one
            threads = max(32, min(threads, (cap // nsm) // 32 * 32))
        total = max(threads, min(total, cap) // threads * threads)
    fill_steps = (2 * ry + 1) / 2 + 2  # a fill adds N pixels, a step moves 2 N / (2 ry + 1)
    if run is not None:
        nruns = -(-h // max(1, min(int(run), max(h, 1))))
    else:
        nruns = _balanced_runs(h, w, total, fill_steps)
    nruns = max(1, min(nruns, max(h, 1)))
    nitems = w * nruns
    per = max(1, -(-nitems // total))
    launched = -(-nitems // per)
    blocks = max(1, -(-launched // threads))
    scratch_threads = 0 if best is not None else blocks * threads
    return LaunchConfig(best is not None, threads, blocks, smem, -(-h // nruns) if h else 0,
                        nruns, nitems, per, total, scratch_threads)


def sliding_geometry(plan: WindowPlan) -> dict:
    """Host arrays of the kernel's geometry: rows slide along the first axis.

    A 2-D plan is a volume with one plane row (``HY = 1``, ``ymap = [0]``). Returns
    ``D, HY, W`` (rows, plane rows, plane columns), the index maps ``zmap, ymap, xmap``,
    radii ``rz, ry, rx``, footprint offsets ``offz, offy, offx`` and the (leave, enter)
    pairs ``pair_y, pair_x`` (plane offsets) grouped by ``pair_start, pair_gl, pair_ge``
    (row offsets): the names of the kernel's plan structure (:data:`WINDOW_ARGS`).
    """
    shape = tuple(int(s) for s in plan.shape)
    offs = np.asarray(plan.offsets, dtype=np.int64)
    maps = [np.asarray(m) for m in plan.index_maps]
    radii = tuple(int(r) for r in plan.radii)
    if len(shape) == 2:
        shape = (shape[0], 1, shape[1])
        maps = [maps[0], np.zeros(1, np.int64), maps[1]]
        radii = (radii[0], 0, radii[1])
        offs = np.stack([offs[:, 0], np.zeros_like(offs[:, 0]), offs[:, 1]], axis=1)
    bw = 2 * radii[2] + 1
    plane = offs[:, 1] * bw + offs[:, 2]  # one id per footprint column (dy, dx)
    pu, start, gl, ge = _edge_pairs(plane, offs[:, 0])
    i32 = functools.partial(np.ascontiguousarray, dtype=np.int32)
    return dict(
        D=shape[0], HY=shape[1], W=shape[2],
        zmap=i32(maps[0]), ymap=i32(maps[1]), xmap=i32(maps[2]),
        rz=radii[0], ry=radii[1], rx=radii[2],
        offz=i32(offs[:, 0]), offy=i32(offs[:, 1]), offx=i32(offs[:, 2]),
        pair_y=i32(pu // bw), pair_x=i32(pu % bw), pair_start=i32(start), pair_gl=i32(gl),
        pair_ge=i32(ge),
    )


def _address(array) -> int:
    """Device address of a CuPy array's first element."""
    return int(array.data.ptr)


def _device_levels(cp, levels, valid):
    """The level array the kernel reads: ``sentinel_levels`` where a pixel is not counted,
    else uint8 / uint16 / int32 as they are (anything else as int32)."""
    if valid is not None:
        lv = sentinel_levels(array_namespace(levels, valid), levels, valid)
    elif np.dtype(levels.dtype) in _LEVEL_CTYPES:
        lv = levels
    else:
        lv = levels.astype(cp.int32)
    return cp.ascontiguousarray(lv)


def prepare_windowed(levels, valid, plan: WindowPlan, out_dtype, *, out=None, run=None,
                     force_global: bool = False, scratch_limit: int | None = None):
    """Upload the plan, compile the variant and return ``(launch, out, config)``.

    ``launch()`` runs only the kernel (what the benchmark times as "kernel-only");
    every launch writes every pixel of ``out``. ``out`` may be given (C-contiguous,
    the plan's shape, ``out_dtype``): the tests poison it to catch unwritten pixels.
    ``scratch_limit`` (bytes) defaults to a share of the device's free memory.
    """
    cp = cupy_or_none()
    if cp is None:  # pragma: no cover - guarded by choose_backend
        raise RuntimeError("the cuda path needs CuPy")
    if len(plan.shape) not in (2, 3):
        raise ValueError("the cuda path serves 2-D images and 3-D volumes")
    out_dtype = np.dtype(out_dtype)
    if out_dtype not in _OUT_CTYPES:
        raise ValueError(f"the cuda path writes float32 or float64, not {out_dtype}")
    shape = tuple(int(s) for s in plan.shape)
    geo = sliding_geometry(plan)
    rows, columns = geo["D"], geo["HY"] * geo["W"]
    if columns >= 2**31 - 1:
        raise ValueError(f"the cuda path indexes a plane of at most 2**31 - 2 pixels, got "
                         f"{columns}; split the volume into tiles (a Dask array does that)")
    device = levels.device
    dev = int(device.id)
    with device:
        lv = _device_levels(cp, levels, valid)
        if out is None:
            out = cp.empty(shape, dtype=out_dtype)
        elif (tuple(out.shape) != shape or np.dtype(out.dtype) != out_dtype
              or not out.flags.c_contiguous):
            raise ValueError("out must be a C-contiguous array of the plan's shape and dtype")
        npix = plan.npix
        per_n = bool(plan.triangular)
        all_valid = valid is None
        bw = box_width(plan, all_valid)
        props = _properties(dev)
        if scratch_limit is None:
            scratch_limit = scratch_limit_from_free(_free_memory(cp, dev))
        # variant: compile the shared and global kernels lazily, only the one used
        probe = _kernel(dev, kernel_name(lv.dtype, npix, out_dtype, True, per_n, bw))
        cfg = launch_config(props, nlevels=int(plan.nlevels), npix=npix,
                            shape=(rows, columns), ry=geo["rz"],
                            num_regs=int(probe.num_regs),
                            max_threads_per_block=int(probe.max_threads_per_block),
                            run=run, force_global=force_global, scratch_limit=scratch_limit)
        if cfg.shared:
            kern = probe
            if cfg.shared_bytes > 48 << 10:
                kern.max_dynamic_shared_size_bytes = cfg.shared_bytes
            scratch = cp.empty(1, dtype=np.uint32)  # unused placeholder pointer
        else:
            kern = _kernel(dev, kernel_name(lv.dtype, npix, out_dtype, False, per_n, bw))
            # whole 32-bit words per thread, in warp tiles (the kernel's slot())
            scratch = cp.empty(histogram_words(plan.nlevels, npix) * cfg.scratch_threads,
                               dtype=np.uint32)

        # the plan structure: geometry (arrays uploaded), table, work split
        fields = {k: cp.asarray(v) if isinstance(v, np.ndarray) else v
                  for k, v in geo.items()} | {
            "npix": npix, "ngroups": geo["pair_gl"].shape[0],
            "inc": cp.asarray(np.ascontiguousarray(plan.increments(), dtype=np.int64)),
            "row_off": cp.asarray(np.ascontiguousarray(plan.row_offsets(), dtype=np.int64)),
            "a": cp.asarray(np.ascontiguousarray(plan.a, dtype=np.float64)),
            "d": cp.asarray(np.ascontiguousarray(plan.d, dtype=np.float64)),
            "b": plan.b, "mm": bool(plan.miller_madow), "kind": plan.kind,
            "ln_base": plan.ln_base, "inv_scale": plan.inv_scale, "nlevels": plan.nlevels,
            "all_valid": all_valid, "nruns": cfg.nruns, "nitems": cfg.nitems,
        }
        params = pack_window_args(fields, _address)
        args = (lv, params, scratch, out)
        keep = tuple(v for v in fields.values() if hasattr(v, "flags"))

    def launch():
        if out.size == 0:
            return out
        with cp.cuda.Device(dev):
            kern((cfg.blocks,), (cfg.threads,), args, shared_mem=cfg.shared_bytes)
        return out

    launch.plan_arrays = keep  # the structure holds raw addresses: keep its arrays alive

    return launch, out, cfg


def windowed_cuda(levels, valid, plan: WindowPlan, out_dtype, *, out=None, run=None,
                  force_global: bool = False, scratch_limit: int | None = None):
    """Run the sliding kernel on CuPy ``levels`` (and ``valid``) for a 2-D or 3-D ``plan``.

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
