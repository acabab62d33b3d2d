"""Host emulation of the Ising CUDA kernels and a stand-in CuPy that launches them.

``build(path, sanitize=...)`` compiles ``ising.cu`` with g++ and CUDA stand-ins into a shared
library with one entry point per kernel of :data:`gpuent._kernels.ising._cuda.KERNELS` (the
launcher's own table: a pointer type that disagrees with the kernel does not compile).
Blocks run one after another; the threads of a block run one after another too, except in
the kernels that meet at ``__syncthreads`` (:data:`~gpuent._kernels.ising._cuda.SYNC_KERNELS`),
where every thread of the block is a fiber and ``__syncthreads`` hands over to the next one
(a round over the block passes the barrier). A ``__syncthreads`` outside such a launch
aborts. ``__shared__`` variables are statics: one
per kernel, shared by the block that runs.

``fake_cupy(lib)`` is a stand-in for the part of CuPy the launcher uses (streams, events,
RawModule, pinned buffers); it checks every launch against the kernel table (exact scalar
widths, C-contiguous arrays of the right dtype, the plan structure's dtype, non-blocking
streams) and runs it through the library.

Run as a script, ``python ising_standin.py LIB IN.npz OUT.npz`` drives the CUDA engine through
the engine protocol on the cases of IN and writes lattices, records and frames to OUT (the
tests run it under AddressSanitizer and UndefinedBehaviorSanitizer in a subprocess).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

_HEADER = r"""
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include <ucontext.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#endif
using std::floor; using std::abs;
struct emu_dim3 { unsigned x, y, z; };
static emu_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
// The threads of a block that meets at __syncthreads are fibers (ucontext) on one OS thread:
// each runs until it reaches __syncthreads or returns, then the next one; a round over all
// of them passes the barrier. Deterministic, and cheap enough for thousands of blocks.
struct emu_fiber { ucontext_t ctx; emu_dim3 tid; bool done; };
static ucontext_t emu_main;
static emu_fiber *emu_cur = nullptr;
static const std::function<void()> *emu_body = nullptr;
#ifdef EMU_ASAN
static const void *emu_main_bottom = nullptr;
static size_t emu_main_size = 0;
#endif
static void emu_to_main(bool exiting)
{
#ifdef EMU_ASAN
  void *fake = nullptr;
  __sanitizer_start_switch_fiber(exiting ? nullptr : &fake, emu_main_bottom, emu_main_size);
#endif
  swapcontext(&emu_cur->ctx, &emu_main);
#ifdef EMU_ASAN
  if (!exiting) __sanitizer_finish_switch_fiber(fake, &emu_main_bottom, &emu_main_size);
#endif
}
static inline void __syncthreads()
{
  if (!emu_cur) {
    std::fprintf(stderr, "__syncthreads in a kernel not in SYNC_KERNELS\n");
    std::abort();
  }
  emu_to_main(false);
}
static void emu_entry()
{
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &emu_main_bottom, &emu_main_size);
#endif
  (*emu_body)();
  emu_cur->done = true;
  emu_to_main(true);
}
static inline unsigned __umulhi(unsigned a, unsigned b)
{ return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
static inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
static inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
static inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }
#include "KERNEL_FILE"
static void emu_launch(unsigned gx, unsigned gy, unsigned bx, unsigned by, bool sync,
                       const std::function<void()> &body)
{
  static const size_t stack_size = 256 * 1024;
  static std::vector<std::vector<char>> stacks;
  std::vector<emu_fiber> fibers(sync ? bx * by : 0);
  while (stacks.size() < fibers.size()) stacks.emplace_back(stack_size);
  for (unsigned y = 0; y < gy; ++y)
    for (unsigned x = 0; x < gx; ++x) {
      blockIdx = {x, y, 0}; blockDim = {bx, by, 1}; gridDim = {gx, gy, 1};
      if (!sync) {
        for (unsigned ty = 0; ty < by; ++ty)
          for (unsigned tx = 0; tx < bx; ++tx) {
            threadIdx = {tx, ty, 0};
            body();
          }
        continue;
      }
      emu_body = &body;
      for (size_t k = 0; k < fibers.size(); ++k) {
        emu_fiber &f = fibers[k];
        f.tid = {(unsigned)(k % bx), (unsigned)(k / bx), 0};
        f.done = false;
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = stacks[k].data();
        f.ctx.uc_stack.ss_size = stack_size;
        f.ctx.uc_link = nullptr;
        makecontext(&f.ctx, emu_entry, 0);
      }
      for (bool running = true; running;) {  // one round = one barrier
        running = false;
        for (size_t k = 0; k < fibers.size(); ++k) {
          emu_fiber &f = fibers[k];
          if (f.done) continue;
          threadIdx = f.tid;
          emu_cur = &f;
#ifdef EMU_ASAN
          void *fake = nullptr;
          __sanitizer_start_switch_fiber(&fake, stacks[k].data(), stack_size);
#endif
          swapcontext(&emu_main, &f.ctx);
#ifdef EMU_ASAN
          __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
          emu_cur = nullptr;
          running |= !f.done;
        }
      }
    }
}
"""

_CTYPE = {"i8": np.int8, "u8": np.uint8, "u32": np.uint32, "u64": np.uint64, "i64": np.int64,
          "float": np.float32}
_SCALAR = {"int": (np.int32, ctypes.c_int32), "u32": (np.uint32, ctypes.c_uint32),
           "i64": (np.int64, ctypes.c_int64)}


def _wrappers(kernels, sync):
    out = []
    for name, types_ in kernels.items():
        decl, call = [], []
        for k, t in enumerate(types_):
            if t.endswith("*"):
                decl.append(f"void *a{k}")
                call.append(f"({t[:-1]} *)a{k}")
            elif t == "Params":
                decl.append(f"const Params *a{k}")
                call.append(f"*a{k}")
            else:
                decl.append(f"{t} a{k}")
                call.append(f"a{k}")
        flag = "true" if name in sync else "false"
        out.append(f'extern "C" void emu_{name}(unsigned gx, unsigned gy, unsigned bx, '
                   f'unsigned by, {", ".join(decl)})\n{{ emu_launch(gx, gy, bx, by, {flag}, '
                   f'[&] {{ {name}({", ".join(call)}); }}); }}')
    return "\n".join(out)


def build(path, *, sanitize=False):
    """Compile the emulation library to ``path``; returns the path (raises if g++ fails)."""
    from gpuent._kernels.ising import _cuda

    gxx = shutil.which("g++")
    if gxx is None:
        raise FileNotFoundError("g++ not on PATH")
    path = Path(path)
    src = path.with_suffix(".cpp")
    src.write_text(_HEADER.replace("KERNEL_FILE", str(_cuda._SOURCE))
                   + _wrappers(_cuda.KERNELS, _cuda.SYNC_KERNELS) + "\n")
    flags = ["-std=c++17", "-O0" if sanitize else "-O1", "-ffp-contract=off", "-fno-fast-math",
             "-fno-strict-aliasing",
             "-Wall", "-Wno-unused-variable", "-Wno-unused-function", "-shared", "-fPIC"]
    if sanitize:
        flags += ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer", "-g"]
    r = subprocess.run([gxx, *flags, "-o", str(path), str(src)], capture_output=True,
                       text=True, timeout=600)
    if r.returncode:
        raise RuntimeError(f"g++ failed:\n{r.stderr[-4000:]}")
    return path


def fake_cupy(lib):
    """Stand-in ``cupy`` and ``cupyx`` modules whose kernels run in ``lib`` (a ctypes.CDLL)."""
    from gpuent._kernels.ising._cuda import KERNELS, PARAMS

    class DevArray(np.ndarray):
        def get(self, stream=None, order="C", out=None, blocking=True):
            if out is None:
                return np.array(self)
            assert isinstance(out, Pinned), "async copies need a pinned buffer"
            assert stream is not None and stream.non_blocking and not blocking
            assert out.shape == self.shape and out.dtype == self.dtype
            np.copyto(out, self)
            return out

        def fill(self, v):
            assert stack[-1].non_blocking
            self[...] = v

    class Pinned(np.ndarray):
        pass

    class Event:
        def synchronize(self):
            pass

    class Stream:
        def __init__(self, null=False, non_blocking=False):
            self.non_blocking = non_blocking

        def __enter__(self):
            stack.append(self)
            return self

        def __exit__(self, *exc):
            stack.pop()

        def record(self, event=None):
            return Event()

        def wait_event(self, event):
            assert isinstance(event, Event)

        def synchronize(self):
            pass

    stack = [Stream(null=True)]

    def dev(a, dtype=None):
        return np.array(np.asarray(a), dtype=dtype, order="C", copy=True).view(DevArray)

    class Kernel:
        def __init__(self, name):
            self.name, self.params = name, KERNELS[name]
            self.fn = getattr(lib, f"emu_{name}")

        def __call__(self, grid, block, args, shared_mem=0):
            name = self.name
            assert stack[-1].non_blocking, f"{name} launched on the default stream"
            assert len(args) == len(self.params), name
            grid = tuple(grid) + (1,) * (3 - len(grid))
            block = tuple(block) + (1,) * (3 - len(block))
            assert all(isinstance(v, int) and v > 0 for v in grid + block), (name, grid)
            assert grid[2] == block[2] == 1
            cargs, keep = [], []
            for k, (t, a) in enumerate(zip(self.params, args)):
                if t.endswith("*"):
                    assert isinstance(a, DevArray) and a.flags.c_contiguous, (name, k)
                    assert a.dtype == _CTYPE[t[:-1]], (name, k, a.dtype)
                    cargs.append(ctypes.c_void_p(a.ctypes.data))
                elif t == "Params":  # by value: a one-item host array of the struct's dtype
                    assert type(a) is np.ndarray and a.dtype == PARAMS and a.shape == (1,), (
                        name, k, type(a))
                    buf = ctypes.create_string_buffer(a.tobytes(), PARAMS.itemsize)
                    keep.append(buf)
                    cargs.append(ctypes.cast(buf, ctypes.c_void_p))
                else:
                    np_t, c_t = _SCALAR[t]
                    assert type(a) is np_t, (name, k, type(a))  # CuPy sends a Python int as 8 bytes
                    cargs.append(c_t(int(a)))
            self.fn(ctypes.c_uint(grid[0]), ctypes.c_uint(grid[1]), ctypes.c_uint(block[0]),
                    ctypes.c_uint(block[1]), *cargs)

    class RawModule:
        def __init__(self, *, code, options=()):
            assert isinstance(options, tuple) and "--fmad=false" in options

        def compile(self):
            pass

        def get_function(self, name):
            return Kernel(name)

    class Device:
        id = 0

        def __init__(self, i=0):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    def asarray(a, dtype=None):
        if isinstance(a, DevArray) and (dtype is None or a.dtype == dtype):
            return a
        return dev(a, dtype)

    def asnumpy(a, stream=None, out=None, blocking=True):
        return np.array(a)

    cuda = types.SimpleNamespace(Stream=Stream, Event=Event, Device=Device,
                                 get_current_stream=lambda: stack[-1])
    cp = types.ModuleType("cupy")
    cp.__dict__.update(
        cuda=cuda, RawModule=RawModule, ndarray=DevArray, int8=np.int8, uint8=np.uint8,
        uint32=np.uint32, int64=np.int64, float32=np.float32, uint64=np.uint64,
        array=lambda a, dtype=None, order="C", copy=True: dev(a, dtype), asarray=asarray,
        ascontiguousarray=lambda a: a if a.flags.c_contiguous else dev(a),
        zeros=lambda shape, dtype: dev(np.zeros(shape, dtype)),
        empty=lambda shape, dtype: dev(np.full(shape, 0x5A, dtype)),  # not zero: catch reads
        empty_like=lambda a: dev(np.full(a.shape, 0x5A, a.dtype)), asnumpy=asnumpy)
    cpx = types.ModuleType("cupyx")
    cpx.empty_pinned = lambda shape, dtype=float, order="C": np.zeros(shape, dtype).view(Pinned)
    return cp, cpx


def install(lib):
    """Put the stand-in CuPy in ``sys.modules``; returns a function that removes it."""
    from gpuent._kernels.ising import _cuda

    saved = {k: sys.modules.get(k) for k in ("cupy", "cupyx")}
    cp, cpx = fake_cupy(lib)
    sys.modules["cupy"], sys.modules["cupyx"] = cp, cpx
    _cuda.module.cache_clear()

    def remove():
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        _cuda.module.cache_clear()

    return remove


def run_cases(lib, cases):
    """Drive the CUDA engine on each case; returns {name: (spins, records, frames)}.

    A case: model, seed, kernel family (None: the engine's choice), betas (one per sweep),
    ``record_at`` (sweep counts after which the observables are queued), frame downscales
    taken at the end.
    """
    from gpuent._kernels.ising import philox_key, thresholds
    from gpuent._kernels.ising.engines import open_engine

    remove = install(lib)
    try:
        out = {}
        for name, case in cases.items():
            model = case["model"]
            eng = open_engine("cuda", model, philox_key(case["seed"]), kernel=case["kernel"])
            tables = {}
            for t, b in enumerate(case["betas"]):
                tab = tables.setdefault(float(b), thresholds(float(b), model.continuous))
                eng.sweep(t, tab)
                if t + 1 in case["record_at"]:
                    eng.record()
            records = eng.take_records()
            frames = [np.asarray(eng.frame(k)) for k in case["downscales"]]
            eng.sync()
            out[name] = (np.array(eng.spins), records, frames)
        return out
    finally:
        remove()


def main(argv):
    """``ising_standin.py LIB IN.npz OUT.npz``: the cases of IN (pickled), results to OUT."""
    import pickle

    lib = ctypes.CDLL(argv[1])
    cases = pickle.loads(Path(argv[2]).read_bytes())
    Path(argv[3]).write_bytes(pickle.dumps(run_cases(lib, cases)))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv))
