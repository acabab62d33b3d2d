"""CUDA path of the Ising engine: nvcc compiles the kernels (CPU CI); GPU == CPU bit for bit.

The GPU tests' cpu side comes from the stored expectations of ``make gpu-bundle`` when
present (tests/_expected.py), so the GPU machine compiles no Numba kernel.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _expected import assert_same, expected, gpu_part

from gpuent import ising
from gpuent._kernels.ising import HALF, NEVER

CUDA_DIR = Path(ising.__file__).parents[1] / "_kernels" / "ising" / "cuda"
CU_FILES = sorted(CUDA_DIR.glob("*.cu"))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
@pytest.mark.parametrize("cu", CU_FILES, ids=[p.name for p in CU_FILES])
def test_cu_file_compiles_with_nvcc(cu, tmp_path):
    out = tmp_path / (cu.stem + ".ptx")
    r = subprocess.run(["nvcc", "-ptx", "-arch=compute_90", "--fmad=false", "-o", str(out),
                        str(cu)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0


def test_there_are_cuda_sources():
    assert [p.name for p in CU_FILES] == ["ising.cu"]


def _models(xp):
    rng = np.random.default_rng(5)
    img = (rng.random((130, 198)) * 255).astype(np.uint8)
    letters = ising.letters_image((128, 200))
    return {
        "torus": ising.torus((130, 198), init="random", seed=1),
        "continuous": ising.torus((130, 198), init="random", spins="continuous", seed=2),
        "edge": ising.edge_model(letters),
        "edge-fixed": ising.edge_model(img, edge_spins="fixed"),
        "block": ising.metric_model(letters),
        "symmetric": ising.metric_model(img, energy="symmetric"),
    }


def _to_cupy(model):
    import cupy as cp

    aux = None if model.aux is None else cp.asarray(model.aux)
    return ising.IsingModel(model.kind, cp.asarray(model.spins), aux, model.edge_spins)


def _cpu_run(model, seed, sweeps, **kw):
    """Spins and trace of a cpu-path run (stored when present): kw are run()'s options,
    a schedule given by name (``sched``: the heat-then-cool one) or as a float beta."""
    beta = kw.pop("beta")
    sched = (ising.piecewise(ising.linear(3.0, 0.05), ising.geometric(0.05, 2.0))
             if beta == "sched" else beta)

    def compute():
        sim = ising.Simulation(model, seed=seed, backend="cpu")
        tr = sim.run(sweeps, beta=sched, **kw)
        return {"spins": np.asarray(sim.spins), "energy": np.asarray(tr.energy),
                "magnetization": np.asarray(tr.magnetization),
                "frames": np.stack(tr.frames) if tr.frames else np.zeros((0, 0, 0), np.uint8)}

    key = ("ising-cpu", model.kind, model.spins, model.aux, model.edge_spins, seed, sweeps,
           beta, kw)
    return expected(key, compute)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["torus", "continuous", "edge", "edge-fixed", "block",
                                  "symmetric"])
def test_cuda_equals_cpu_bit_for_bit(name):
    model = _models(np)[name]
    want = _cpu_run(model, 2**37 + 3, 300, beta="sched", record_every=7, frames=50)
    cp = gpu_part()
    if cp is None:
        return
    sched = ising.piecewise(ising.linear(3.0, 0.05), ising.geometric(0.05, 2.0))
    gpu_sim = ising.Simulation(_to_cupy(model), seed=2**37 + 3)
    assert gpu_sim.backend == "cuda"
    tg = gpu_sim.run(300, beta=sched, record_every=7, frames=50)
    assert isinstance(gpu_sim.spins, cp.ndarray)
    assert_same(cp.asnumpy(gpu_sim.spins), want["spins"])
    assert_same(tg.energy, want["energy"])
    assert_same(tg.magnetization, want["magnetization"])
    assert_same(np.stack(tg.frames), want["frames"])


@pytest.mark.gpu
def test_cuda_exact_physics_1024():
    from scipy.special import ellipk

    cp = gpu_part()
    if cp is None:
        pytest.skip("no cpu-side expectation to store: GPU part only")

    t = 2.0
    b = 1 / t
    k = 2 * np.sinh(2 * b) / np.cosh(2 * b) ** 2
    u = -1 / np.tanh(2 * b) * (1 + 2 / np.pi * (2 * np.tanh(2 * b) ** 2 - 1) * ellipk(k * k))
    m_exact = (1 - np.sinh(2 * b) ** -4) ** 0.125
    model = ising.torus((1024, 1024), init="up", xp=cp)
    sim = ising.Simulation(model, seed=11)
    sim.run(300, beta=b, record_every=0)
    tr = sim.run(1000, beta=b)
    assert abs(tr.energy.mean() - u) < 0.005
    assert abs(np.abs(tr.magnetization).mean() - m_exact) < 0.005


@pytest.mark.gpu
def test_cuda_movie_and_downscaled_frames(tmp_path):
    model = ising.torus((256, 256), init="random", seed=0)
    want = _cpu_run(model, 4, 20, beta=0.5, frames=2, downscale=4)
    cp = gpu_part()
    if cp is None:
        return
    dev = ising.Simulation(_to_cupy(model), seed=4)
    td = dev.run(20, beta=0.5, frames=2, downscale=4)
    assert_same(np.stack(td.frames), want["frames"])
    path = tmp_path / "gpu.gif"
    dev.run(30, beta=0.5, frames=1, movie=path)
    from PIL import Image

    with Image.open(path) as im:
        assert im.n_frames == 30 and im.size == (256, 256)
        im.seek(29)
        assert np.array_equal(np.asarray(im.convert("L")),
                              ising.spins_to_frame(cp.asnumpy(dev.spins)))


# ---- the .cu kernels run on the host (g++ with a tiny CUDA emulation), CPU CI only --------
# Sites of one phase never see each other, so running the threads one after another gives
# what the GPU gives. This checks the kernels' logic (Philox, counters, indices, tables,
# observables, frames) where no GPU is present; the CuPy launcher is checked on a GPU.
_EMU = r"""
#include <cmath>
#include <cstdlib>
#include <cstddef>
#include <cstring>
using std::floor; using std::abs;
struct emu_dim3 { unsigned x, y, z; };
static emu_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
static inline unsigned __umulhi(unsigned a, unsigned b)
{ return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
static inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
static inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
static inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }
template <class T> static inline T __shfl_down_sync(unsigned, T, int) { return 0; }
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v)
{ unsigned long long o = *p; *p += v; return o; }
#include "KERNEL_FILE"
#define LAUNCH(GX, GY, BX, BY, CALL) \
  for (unsigned by_ = 0; by_ < (unsigned)(GY); ++by_) \
  for (unsigned bx_ = 0; bx_ < (unsigned)(GX); ++bx_) \
  for (unsigned ty_ = 0; ty_ < (unsigned)(BY); ++ty_) \
  for (unsigned tx_ = 0; tx_ < (unsigned)(BX); ++tx_) { \
    blockIdx = {bx_, by_, 0}; threadIdx = {tx_, ty_, 0}; \
    blockDim = {(unsigned)(BX), (unsigned)(BY), 1}; gridDim = {(unsigned)(GX), (unsigned)(GY), 1}; \
    CALL; }
// kind: 0 torus, 1 edge, 2 continuous, 3 block, 4 symmetric (grid as in _cuda.py)
extern "C" void emu_sweeps(int kind, void *s, const i8 *aux, const u64 *tables, int ntab,
                           int H, int W, u32 k0, u32 k1, u32 sweep0, int nsweeps, int eidx)
{
  const int four = kind >= 3, groups = (W + 7) / 8, rows = four ? H / 2 : H;
  const int gx = (groups + 31) / 32, gy = (rows + 7) / 8;
  for (int t = 0; t < nsweeps; ++t) {
    const u64 *thr = tables + (size_t)t * ntab;
    const u32 sw = sweep0 + t;
    for (u32 ph = 0; ph < (four ? 4u : 2u); ++ph) {
      if (kind == 0) LAUNCH(gx, gy, 32, 8, ising_sweep_torus((i8 *)s, thr, H, W, k0, k1, sw, ph))
      if (kind == 1) LAUNCH(gx, gy, 32, 8,
          ising_sweep_edge((i8 *)s, aux, thr, H, W, k0, k1, sw, ph, eidx))
      if (kind == 2) LAUNCH(gx, gy, 32, 8, ising_sweep_cont((float *)s, thr, H, W, k0, k1, sw, ph))
      if (kind >= 3) LAUNCH(gx, gy, 32, 8,
          ising_sweep_metric((i8 *)s, aux, thr, H, W, k0, k1, sw, ph, kind == 4))
    }
  }
}
extern "C" void emu_obs(int kind, const void *s, const i8 *aux, int H, int W, u64 *out)
{
  out[0] = out[1] = 0;
  const int n = H * W, blocks = (n + 255) / 256;
  if (kind == 2) { LAUNCH(blocks * 256, 1, 1, 1, ising_obs_cont((const float *)s, H, W, out)) }
  else {
    const int k = kind == 0 ? 0 : kind == 1 ? 1 : kind == 3 ? 2 : 3;
    LAUNCH(blocks * 256, 1, 1, 1, ising_obs_int((const i8 *)s, aux, H, W, k, out))
  }
}
extern "C" void emu_frame(int kind, const void *s, int H, int W, int k, u8 *out)
{
  const int fw = W / k, fh = H / k;
  if (kind == 2)
    LAUNCH((fw + 31) / 32, (fh + 7) / 8, 32, 8, ising_frame_f32((const float *)s, H, W, k, out))
  else LAUNCH((fw + 31) / 32, (fh + 7) / 8, 32, 8, ising_frame_i8((const i8 *)s, H, W, k, out))
}
"""


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    import ctypes

    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not on PATH")
    d = tmp_path_factory.mktemp("emu")
    src = d / "emu.cpp"
    src.write_text(_EMU.replace("KERNEL_FILE", str(CUDA_DIR / "ising.cu")))
    lib = d / "emu.so"
    r = subprocess.run([gxx, "-O1", "-ffp-contract=off", "-fno-fast-math", "-w", "-shared",
                        "-fPIC", "-o", str(lib), str(src)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return ctypes.CDLL(str(lib))


_KIND = {"torus": 0, "edge": 1, "continuous": 2, "block": 3, "symmetric": 4}


@pytest.mark.parametrize("name", ["torus", "continuous", "edge", "edge-fixed", "block",
                                  "symmetric"])
def test_cuda_kernels_emulated_on_host_equal_cpu(emulated, name):
    import ctypes

    from gpuent._kernels.ising import philox_key, thresholds

    model = _models(np)[name]
    seed, n = 2**37 + 3, 12
    sched = ising.piecewise(ising.linear(3.0, 0.05), ising.geometric(0.05, 2.0))
    betas = sched.values(n)
    cpu = ising.Simulation(model, seed=seed, backend="cpu")
    tc = cpu.run(n, beta=sched, record_every=n, frames=n)
    s = np.array(model.spins, copy=True)
    aux = np.ascontiguousarray(model.aux if model.aux is not None else np.zeros((1, 1)),
                               dtype=np.int8)
    tables = np.ascontiguousarray(np.stack([thresholds(b, model.continuous) for b in betas]))
    k0, k1 = philox_key(seed)
    eidx = NEVER if model.edge_spins == "fixed" else HALF
    h, w = s.shape
    ptr = ctypes.c_void_p
    emulated.emu_sweeps(_KIND[model.kind], ptr(s.ctypes.data), ptr(aux.ctypes.data),
                        ptr(tables.ctypes.data), tables.shape[1], h, w, ctypes.c_uint32(k0),
                        ctypes.c_uint32(k1), ctypes.c_uint32(0), n, eidx)
    assert np.array_equal(s, cpu.spins)
    out = np.zeros(2, np.uint64)
    emulated.emu_obs(_KIND[model.kind], ptr(s.ctypes.data), ptr(aux.ctypes.data), h, w,
                     ptr(out.ctypes.data))
    e, m = (int(v) for v in out.view(np.int64))
    if model.continuous:  # as CudaEngine.observables
        e -= 2 * h * w * 2**24
    scale = h * w * (2**24 if model.continuous else 1)
    assert (e / scale, m / scale) == (tc.energy[-1], tc.magnetization[-1])
    for k in (1, 2):
        frame = np.zeros((h // k, w // k), np.uint8)
        emulated.emu_frame(_KIND[model.kind], ptr(s.ctypes.data), h, w, k,
                           ptr(frame.ctypes.data))
        want = ising.spins_to_frame(s, k)
        if k == 1 or not model.continuous:
            assert np.array_equal(frame, want)
        else:  # float block means: summation order differs, at most one grey level
            assert np.abs(frame.astype(int) - want).max() <= 1


def test_cuda_launcher_imports_without_cupy():
    from gpuent._kernels.ising import _cuda

    assert "ising_sweep_torus" in _cuda.cuda_source()
    for name in ("ising_sweep_edge", "ising_sweep_cont", "ising_sweep_metric", "ising_obs_int",
                 "ising_obs_cont", "ising_frame_i8", "ising_frame_f32"):
        assert f"void {name}(" in _cuda.cuda_source()


def test_pending_frames_are_resolved_by_the_writer(tmp_path):
    import threading

    class Event:
        def synchronize(self):
            pass

    free = threading.Event()
    host = np.full((4, 6), 255, np.uint8)
    from gpuent._kernels.ising._cuda import PendingFrame

    with ising.MovieWriter(tmp_path / "p.gif") as mw:
        mw.append(PendingFrame(host, Event(), free))
        mw.append(np.zeros((4, 6), np.uint8))
    assert free.is_set()
    from PIL import Image

    with Image.open(tmp_path / "p.gif") as im:
        assert im.n_frames == 2 and im.size == (6, 4)


# ---- the CuPy launcher (_cuda.CudaEngine) against a stand-in CuPy, CPU CI only ----------
# Kernels run through the host emulation above (one generated entry point per kernel);
# every argument is checked against the kernel's C signature (numpy scalars of the exact
# width: CuPy passes a Python int as 8 bytes), every launch must be on a non-blocking
# stream, and frames must be copied into pinned buffers without blocking.
_SIG = r'extern "C" __global__ void (\w+)\(([^)]*)\)'
_CTYPE = {"i8": np.int8, "u8": np.uint8, "u64": np.uint64, "float": np.float32}


def _kernel_signatures():
    import re

    sigs = {}
    for name, params in re.findall(_SIG, (CUDA_DIR / "ising.cu").read_text()):
        out = []
        for p in params.split(","):
            words = p.replace("*", " * ").split()
            ptr = "*" in words
            words = [w for w in words if w not in ("const", "*")]
            out.append((words[0], ptr, words[1]))
        sigs[name] = out
    return sigs


@pytest.fixture(scope="module")
def launchers(tmp_path_factory):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not on PATH")
    import ctypes

    sigs = _kernel_signatures()
    wrappers = []
    for name, params in sigs.items():
        decl = ", ".join(f"{'const ' if ptr else ''}{t} {'*' if ptr else ''}{n}"
                         for t, ptr, n in params)
        wrappers.append(f'extern "C" void emu_{name}(unsigned gx, unsigned gy, unsigned bx, '
                        f'unsigned by, {decl}) {{ LAUNCH(gx, gy, bx, by, '
                        f'{name}({", ".join(f"({t} *){n}" if p else n for t, p, n in params)})) }}')
    d = tmp_path_factory.mktemp("launch")
    src = d / "launch.cpp"
    src.write_text(_EMU.replace("KERNEL_FILE", str(CUDA_DIR / "ising.cu")) + "\n".join(wrappers))
    lib = d / "launch.so"
    r = subprocess.run([gxx, "-O1", "-ffp-contract=off", "-fno-fast-math", "-w", "-shared",
                        "-fPIC", "-o", str(lib), str(src)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return ctypes.CDLL(str(lib)), sigs


def _fake_cupy(lib, sigs):
    import ctypes
    import types

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
            self.waited = []

        def __enter__(self):
            stack.append(self)
            return self

        def __exit__(self, *exc):
            stack.pop()

        def record(self, event=None):
            return Event()

        def wait_event(self, event):
            assert isinstance(event, Event)
            self.waited.append(event)

        def synchronize(self):
            pass

    null = Stream(null=True)
    stack = [null]

    def dev(a, dtype=None):
        return np.array(np.asarray(a), dtype=dtype, order="C", copy=True).view(DevArray)

    class Kernel:
        def __init__(self, name):
            self.name, self.params = name, sigs[name]
            self.fn = getattr(lib, f"emu_{name}")

        def __call__(self, grid, block, args, shared_mem=0):
            assert stack[-1].non_blocking, f"{self.name} launched on the default stream"
            assert len(args) == len(self.params), self.name
            grid = tuple(grid) + (1,) * (3 - len(grid))
            block = tuple(block) + (1,) * (3 - len(block))
            assert all(isinstance(v, int) and v > 0 for v in grid + block), (self.name, grid)
            cargs = []
            for (t, ptr, n), a in zip(self.params, args):
                if ptr:
                    assert isinstance(a, DevArray) and a.flags.c_contiguous, (self.name, n)
                    assert a.dtype == _CTYPE[t], (self.name, n, a.dtype)
                    cargs.append(ctypes.c_void_p(a.ctypes.data))
                elif t == "int":
                    assert type(a) is np.int32, (self.name, n, type(a))
                    cargs.append(ctypes.c_int32(int(a)))
                else:
                    assert t == "u32" and type(a) is np.uint32, (self.name, n, type(a))
                    cargs.append(ctypes.c_uint32(int(a)))
            gx, gy, bx, by = grid[0], grid[1], block[0], block[1]
            if self.name.startswith("ising_obs"):  # emulated shuffles: one thread per block
                assert gy == by == 1
                gx, bx = gx * bx, 1
            self.fn(ctypes.c_uint(gx), ctypes.c_uint(gy), ctypes.c_uint(bx), ctypes.c_uint(by),
                    *cargs)

    class RawModule:
        def __init__(self, *, code, options=()):
            assert isinstance(options, tuple) and "--fmad=false" in options
            self.code, self.compiled = code, False

        def compile(self):
            self.compiled = True

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

    cuda = types.SimpleNamespace(Stream=Stream, Event=Event, Device=Device,
                                 get_current_stream=lambda: stack[-1])
    cp = types.ModuleType("cupy")
    cp.__dict__.update(
        cuda=cuda, RawModule=RawModule, ndarray=DevArray, int8=np.int8, uint8=np.uint8,
        float32=np.float32, uint64=np.uint64, array=lambda a, dtype=None, order="C", copy=True:
        dev(a, dtype), asarray=lambda a, dtype=None: a if isinstance(a, DevArray) and (
            dtype is None or a.dtype == dtype) else dev(a, dtype),
        ascontiguousarray=lambda a: a if a.flags.c_contiguous else dev(a),
        zeros=lambda shape, dtype: dev(np.zeros(shape, dtype)),
        empty=lambda shape, dtype: dev(np.zeros(shape, dtype)),
        asnumpy=lambda a, stream=None, out=None, blocking=True: np.array(a))
    cpx = types.ModuleType("cupyx")
    cpx.empty_pinned = lambda shape, dtype=float, order="C": np.zeros(shape, dtype).view(Pinned)
    return cp, cpx


@pytest.mark.parametrize("name", ["torus", "continuous", "edge", "edge-fixed", "block",
                                  "symmetric"])
def test_cuda_launcher_with_stand_in_cupy_equals_cpu(launchers, monkeypatch, tmp_path, name):
    import sys

    from gpuent._kernels.ising import _cuda

    cp, cpx = _fake_cupy(*launchers)
    monkeypatch.setitem(sys.modules, "cupy", cp)
    monkeypatch.setitem(sys.modules, "cupyx", cpx)
    _cuda.module.cache_clear()
    try:
        model = _models(np)[name]
        sched = ising.piecewise(ising.linear(3.0, 0.05), ising.geometric(0.05, 2.0))
        cpu = ising.Simulation(model, seed=2**37 + 3, backend="cpu")
        dev = ising.Simulation(model, seed=2**37 + 3, backend="cpu")
        dev._engine = _cuda.CudaEngine(model, dev.key)
        tc = cpu.run(9, beta=sched, record_every=3, frames=2)
        td = dev.run(9, beta=sched, record_every=3, frames=2)
        assert np.array_equal(np.asarray(dev.spins), cpu.spins)
        assert np.array_equal(tc.energy, td.energy)
        assert np.array_equal(tc.magnetization, td.magnetization)
        assert len(td.frames) == 4 and all(np.array_equal(a, b)
                                           for a, b in zip(tc.frames, td.frames))
        # frames through the writer thread (pinned double buffer), then another downscale
        dev.run(5, beta=0.5, frames=1, movie=tmp_path / "m.gif")
        cpu.run(5, beta=0.5, record_every=0)
        from PIL import Image

        with Image.open(tmp_path / "m.gif") as im:
            assert im.n_frames == 5
            im.seek(4)
            assert np.array_equal(np.asarray(im.convert("L")), ising.spins_to_frame(cpu.spins))
        f2 = dev.frame(downscale=2)
        want = ising.spins_to_frame(cpu.spins, 2)
        assert f2.shape == want.shape and np.abs(f2.astype(int) - want).max() <= (
            1 if model.continuous else 0)
        assert dev.frame(downscale=1000).shape == ising.spins_to_frame(cpu.spins, 1000).shape
    finally:
        _cuda.module.cache_clear()
