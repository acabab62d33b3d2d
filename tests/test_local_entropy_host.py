"""The CUDA local-entropy kernel, run on the host: real ``.cu``, real launcher, no GPU.

``cuda/windowed_histogram.cu`` is compiled with g++ against small CUDA stand-ins
(``tests/cuda_host/``), with AddressSanitizer and UBSan, into one program that runs a
launch thread after thread, block after block, every array in its own exact-size heap
block and the shared memory of each block a fresh heap block full of garbage. The CuPy
launcher (``_cuda.prepare_windowed``) runs unchanged against a stand-in CuPy whose kernels
call that program, so launch shapes, argument types and the work split are the ones a
GPU would get. Random requests over every mode, mask, NaN, level type, footprint (2-D and
3-D), estimator, ``local_expected`` and both output dtypes, on four launch shapes, must
give the CPU path's output bit for bit.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import types
import weakref
from pathlib import Path

import numpy as np
import pytest
from _cstruct import struct_fields

from gpuent._kernels.histogram import _cuda
from gpuent._kernels.histogram._cpu import windowed_cpu
from gpuent._kernels.histogram.spec import plan_window
from gpuent._levels import image_levels
from gpuent.footprints import diamond, disk

HERE = Path(__file__).resolve().parent / "cuda_host"
GXX = shutil.which("g++")
pytestmark = pytest.mark.skipif(GXX is None, reason="g++ is not on the PATH")

MODES = ("clip", "reflect", "mirror", "wrap")
ESTIMATORS = ("plugin", "miller-madow", "grassberger", "dirichlet")
FUNCTIONS = {"laurent": lambda p: 1.0 / p - 1.0, "taylor": lambda p: -(1.0 + p),
             "square": lambda p: p}

H200 = {
    "multiProcessorCount": 132, "maxThreadsPerMultiProcessor": 2048,
    "sharedMemPerMultiprocessor": 233472, "sharedMemPerBlockOptin": 232448,
    "sharedMemPerBlock": 49152, "reservedSharedMemPerBlock": 1024,
    "regsPerMultiprocessor": 65536, "maxBlocksPerMultiProcessor": 32,
    "maxThreadsPerBlock": 1024, "name": b"NVIDIA H200 (host stand-in)",
}
ONE_SM = H200 | {"multiProcessorCount": 1, "maxThreadsPerMultiProcessor": 128,
                 "maxBlocksPerMultiProcessor": 4, "sharedMemPerMultiprocessor": 65536,
                 "sharedMemPerBlockOptin": 65536}
#: (device properties, launcher options)
SHAPES = {
    "one-sm-many-items": (ONE_SM, {}),
    "h200": (H200, {}),
    "global-scratch": (H200, {"force_global": True}),
    "tiny-scratch": (ONE_SM, {"force_global": True, "scratch_limit": 1}),
}
N_REQUESTS = 36

_CTYPES = {"unsigned char": np.uint8, "unsigned short": np.uint16, "unsigned int": np.uint32,
           "int": np.int32, "long long": np.int64, "float": np.float32, "double": np.float64}


def _code(dtype) -> str:
    dtype = np.dtype(dtype)
    return f"{dtype.kind}{dtype.itemsize}"


def _signature():
    """(C type, is pointer, name) of each parameter of windowed_sliding, from the source."""
    src = _cuda.SOURCE.read_text()
    body = src[src.index("void windowed_sliding("):]
    body = body[body.index("(") + 1:body.index(") {")]
    body = re.sub(r"//[^\n]*", "", body)
    params = []
    for p in body.split(","):
        words = p.replace("*", " * ").split()
        ptr = "*" in words
        words = [w for w in words if w not in ("const", "*", "__restrict__")]
        params.append((" ".join(words[:-1]), ptr, words[-1]))
    return params


def _template_args(name: str):
    inner = name[name.index("<") + 1:name.rindex(">")]
    lt, ct, ot, sh, pn, bw = (s.strip() for s in inner.split(","))
    return {"LT": lt, "CT": ct, "OT": ot}, inner


# ---------------------------------------------------------------------------- stand-in CuPy

#: live stand-in device arrays by address: what a struct's pointer fields point to
_BUFFERS = weakref.WeakValueDictionary()


class DevArray(np.ndarray):
    """A NumPy array posing as a CuPy array on device 0."""

    @property
    def device(self):
        return _Device(0)

    @property
    def data(self):  # CuPy's MemoryPointer: .ptr is the address
        return types.SimpleNamespace(ptr=self.ctypes.data)

    def get(self):
        return np.array(self)


class _Device:
    def __init__(self, i=0):
        self.id = int(i)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _dev(a, dtype=None):
    out = np.array(np.asarray(a), dtype=dtype, order="C", copy=True).view(DevArray)
    _BUFFERS[out.ctypes.data] = out
    return out


class _Harness:
    """Compiles the program for a set of variants and runs launches through it."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.exe = None
        self.names = set()
        self.count = 0

    def build(self, names):
        lines = []
        for name in sorted(names):
            _, inner = _template_args(name)
            lines.append(f'GPUENT_VARIANT("{name}", {inner})')
        (self.workdir / "variants.inc").write_text("\n".join(lines) + "\n")
        exe = self.workdir / "windowed_harness"
        cmd = [GXX, "-std=c++17", "-O0", "-g", "-fsanitize=address,undefined",
               "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-ffp-contract=off",
               "-fno-fast-math", "-fno-strict-aliasing", "-Wall", "-Wno-unused-variable",
               f"-I{HERE}", f"-I{self.workdir}",
               f'-DGPUENT_KERNEL_FILE="{_cuda.SOURCE}"',
               str(HERE / "windowed_harness.cpp"), "-o", str(exe)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-5000:]
        self.exe = exe
        self.names = set(names)

    def run(self, name, grid, block, shared_bytes, args):
        self.count += 1
        req = self.workdir / "request.bin"
        out_path = self.workdir / "output.bin"
        parts = [b"GPUENTH1", np.uint32(len(name)).tobytes(), name.encode(),
                 np.uint32(grid).tobytes(), np.uint32(block).tobytes(),
                 np.uint64(shared_bytes).tobytes(), np.uint64(self.count).tobytes(),
                 np.uint32(len(args)).tobytes()]
        for code, value in args:
            parts.append(code.encode())
            if code == "st":  # struct bytes, then the arrays its pointers point to
                raw, members = value
                parts += [b"\x02", np.uint64(len(raw)).tobytes(), raw,
                          np.uint32(len(members)).tobytes()]
                for offset, mcode, array in members:
                    data = np.ascontiguousarray(array).tobytes()
                    parts += [np.uint64(offset).tobytes(), mcode.encode(), b"\x01",
                              np.uint64(len(data)).tobytes(), data]
            elif isinstance(value, np.ndarray):
                data = np.ascontiguousarray(value).tobytes()
                parts += [b"\x01", np.uint64(len(data)).tobytes(), data]
            else:
                parts += [b"\x00", value.tobytes().ljust(8, b"\x00")]
        req.write_bytes(b"".join(parts))
        proc = subprocess.run([str(self.exe), str(req), str(out_path)], capture_output=True,
                              text=True, timeout=120,
                              env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
                                   "UBSAN_OPTIONS": "print_stacktrace=1"})
        assert proc.returncode == 0, f"{name}: {proc.stderr[-6000:]}"
        return out_path.read_bytes()


class _Kernel:
    def __init__(self, fake, name):
        self.fake, self.name = fake, name
        self.num_regs = 56
        self.max_threads_per_block = 1024
        self.max_dynamic_shared_size_bytes = 48 << 10

    def __call__(self, grid, block, args, shared_mem=0):
        fake = self.fake
        fake.launches.append((self.name, tuple(grid), tuple(block), int(shared_mem)))
        assert len(grid) == 1 and len(block) == 1
        grid, block = int(grid[0]), int(block[0])
        props = fake.props
        assert 1 <= block <= 1024 and block % 32 == 0, block
        assert 1 <= grid < 2**31
        assert shared_mem <= self.max_dynamic_shared_size_bytes, "shared memory not opted in"
        assert shared_mem <= props["sharedMemPerBlockOptin"]
        tmpl, _ = _template_args(self.name)
        params = _signature()
        assert len(params) == len(args), (len(params), len(args))
        packed = []
        for (ctype, ptr, pname), value in zip(params, args):
            if ctype == "WindowArgs":
                packed.append(("st", _struct_argument(value)))
                continue
            ctype = tmpl.get(ctype, ctype)
            want = _CTYPES[ctype]
            if ptr:
                assert isinstance(value, DevArray) and value.flags.c_contiguous, pname
                if pname == "scratch":  # raw memory, whole 32-bit words
                    packed.append(("rw", np.asarray(value)))
                    continue
                assert value.dtype == want, (pname, value.dtype, ctype)
                packed.append((_code(want), np.asarray(value)))
            else:  # CuPy passes a Python int as 8 bytes: scalars must be NumPy of the exact type
                assert type(value) is want, (pname, type(value), ctype)
                packed.append((_code(want), value))
        if fake.mode == "record":
            fake.needed.add(self.name)
            return
        # the output: what the program wrote, every byte (unwritten pixels stay garbage)
        out = args[-1]
        data = fake.harness.run(self.name, grid, block, int(shared_mem), packed)
        out.view(np.uint8).reshape(-1)[...] = np.frombuffer(data, np.uint8)


def _struct_argument(value):
    """The plan structure as the harness takes it: its bytes and, per pointer field read
    from the struct in the .cu, (offset, type code, the live array at that address)."""
    assert type(value) is np.ndarray and value.shape == (1,), type(value)
    assert value.dtype == _cuda.WINDOW_ARGS_DTYPE
    members = []
    for fname, ftype, _ in struct_fields(_cuda._source(), "WindowArgs"):
        if not ftype.endswith("*"):
            continue
        array = _BUFFERS.get(int(value[fname][0]))
        assert array is not None, f"{fname}: no live device array at that address"
        want = _CTYPES[ftype[:-1].replace("const ", "")]
        assert array.dtype == want and array.flags.c_contiguous, (fname, array.dtype, ftype)
        members.append((value.dtype.fields[fname][1], _code(want), np.asarray(array)))
    return value.tobytes(), members


def _fake_cupy(harness, props, mode):
    fake = types.SimpleNamespace(harness=harness, props=props, mode=mode, needed=set(),
                                 launches=[])
    rng = np.random.default_rng(99)

    def empty(shape, dtype=np.float64):
        a = np.empty(shape, dtype=dtype)
        a.view(np.uint8).reshape(-1)[...] = rng.integers(0, 256, a.nbytes, dtype=np.uint8)
        a = a.view(DevArray)
        _BUFFERS[a.ctypes.data] = a
        return a

    class RawModule:
        def __init__(self, *, code, options=(), name_expressions=()):
            assert "-fmad=false" in options and code == _cuda._source()
            self.names = tuple(name_expressions)

        def get_function(self, name):
            assert name in self.names
            return _Kernel(fake, name)

    runtime = types.SimpleNamespace(getDeviceProperties=lambda i: dict(props),
                                    memGetInfo=lambda: (80 << 30, 141 << 30))
    cuda = types.SimpleNamespace(Device=_Device, runtime=runtime)
    cp = types.ModuleType("cupy")
    cp.__dict__.update(
        cuda=cuda, RawModule=RawModule, ndarray=DevArray, int32=np.int32,
        where=lambda c, x, y: _dev(np.where(c, x, y)),
        asarray=lambda a, dtype=None: (a if isinstance(a, DevArray) and dtype is None
                                       else _dev(a, dtype)),
        ascontiguousarray=lambda a: (a if isinstance(a, DevArray) and a.flags.c_contiguous
                                     else _dev(a)),
        empty=empty,
        get_default_memory_pool=lambda: types.SimpleNamespace(free_bytes=lambda: 0),
    )
    fake.cp = cp
    return fake


# ---------------------------------------------------------------------------- requests

def _request(i: int, rng):
    """Request i: random options and data (the coverage test checks every option occurs)."""
    vol = i % 5 == 4
    shape = (int(rng.integers(1, 7)), int(rng.integers(1, 8)), int(rng.integers(1, 9))) if vol \
        else (int(rng.integers(1, 13)), int(rng.integers(1, 14)))
    fkind = str(rng.choice(["box", "box", "box-aniso", "disk", "diamond", "random", "big-box"]))
    if fkind == "big-box" or rng.random() < 0.4:  # large enough for an interior
        shape = tuple(int(rng.integers(9, 12)) for _ in range(3)) if vol else \
            (int(rng.integers(20, 31)), int(rng.integers(20, 31)))
    kind = str(rng.choice(["uint8", "bool", "uint16", "float-nan", "lowcontrast", "int-few"]))
    bins = None
    if kind == "uint8":
        image = rng.integers(0, 256, shape, dtype=np.uint8)
    elif kind == "lowcontrast":
        image = rng.integers(100, 103, shape, dtype=np.uint8)
    elif kind == "bool":
        image = rng.random(shape) < 0.5
    elif kind == "uint16":
        image = rng.integers(0, int(rng.choice([3, 300, 4096])), shape, dtype=np.uint16)
    elif kind == "int-few":
        image = rng.integers(0, 5, shape).astype(np.int64)
    else:
        image = rng.normal(size=shape)
        image[rng.random(shape) < 0.15] = np.nan
        bins = int(rng.integers(1, 40))
    ndim = len(shape)
    if fkind == "box":
        fp = np.ones((2 * int(rng.integers(0, 3)) + 1,) * ndim, bool)
    elif fkind == "box-aniso":
        fp = np.ones(tuple(2 * int(rng.integers(0, 3)) + 1 for _ in range(ndim)), bool)
    elif fkind == "big-box":  # N >= 256: 16-bit counts
        fp = np.ones((17, 17) if ndim == 2 else (7, 7, 7), bool)
    elif fkind in ("disk", "diamond") and ndim == 2:
        fp = (disk if fkind == "disk" else diamond)(int(rng.integers(1, 4)))
    else:
        fp = rng.random(tuple(2 * int(rng.integers(0, 3)) + 1 for _ in range(ndim))) < 0.6
        fp[tuple(s // 2 for s in fp.shape)] = True
    mask = rng.random(shape) < 0.7 if rng.random() < 0.3 else None
    mode = str(rng.choice(MODES))
    out_dtype = (np.float32, np.float64)[int(rng.integers(0, 2))]
    if rng.random() < 0.25:
        what = dict(f=FUNCTIONS[str(rng.choice(list(FUNCTIONS)))])
        if fp.sum() > 400:
            fp = np.ones((3,) * ndim, bool)
    else:
        what = dict(estimator=str(rng.choice(ESTIMATORS)),
                    base=float(rng.choice([2.0, np.e, 10.0])))
    return image, bins, mask, fp, mode, out_dtype, what


def _fast_requests(rng):
    """Requests that run the interior fast path for many steps, with levels that come and
    go (occupied-level counts change): every estimator and local_expected in 2-D, two in
    3-D, and two large enough for the H200 shape to give threads more than one row."""
    reqs = []
    whats = [dict(estimator=e, base=2.0) for e in ESTIMATORS] + [dict(f=FUNCTIONS["laurent"])]
    for k, what in enumerate(whats):
        image = rng.integers(0, 256, (int(rng.integers(24, 33)), int(rng.integers(24, 33))),
                             dtype=np.uint8)
        reqs.append((image, None, None, np.ones((5, 5), bool), MODES[k % 4],
                     (np.float32, np.float64)[k % 2], what))
    for k, e in enumerate(("miller-madow", "dirichlet")):
        image = rng.integers(0, 256, (10, 11, 12), dtype=np.uint8)
        reqs.append((image, None, None, np.ones((3, 3, 5), bool), MODES[k + 1], np.float32,
                     dict(estimator=e, base=2.0)))
    reqs.append((rng.integers(0, 256, (400, 300), dtype=np.uint8), None, None,
                 np.ones((5, 7), bool), "clip", np.float32, dict(estimator="miller-madow")))
    reqs.append((rng.integers(0, 64, (40, 50, 60), dtype=np.uint8), None, None,
                 np.ones((3, 3, 3), bool), "reflect", np.float64, dict(estimator="plugin")))
    return reqs


def _prepare(request):
    image, bins, mask, fp, mode, out_dtype, what = request
    levels = image_levels(np, image, bins=bins, mask=mask)
    plan = plan_window(image.shape, fp, mode, levels.nlevels, **what)
    return levels, plan, out_dtype


@pytest.fixture(scope="module")
def requests_():
    rng = np.random.default_rng(20261145)  # a seed whose requests cover every option
    return [_request(i, rng) for i in range(N_REQUESTS)] + _fast_requests(rng)


def _run_all(fake, shape_opts, requests_, monkeypatch, compare):
    monkeypatch.setattr(_cuda, "cupy_or_none", lambda: fake.cp)
    _cuda._kernel.cache_clear()
    _cuda._properties.cache_clear()
    try:
        for i, request in enumerate(requests_):
            levels, plan, out_dtype = _prepare(request)
            lv = _dev(levels.levels)
            valid = None if levels.valid is None else _dev(levels.valid)
            got = _cuda.windowed_cuda(lv, valid, plan, out_dtype, **shape_opts)
            if compare:
                want = windowed_cpu(levels.levels, levels.valid, plan, out_dtype)
                assert got.shape == want.shape and got.dtype == want.dtype
                bits = np.uint32 if want.dtype == np.float32 else np.uint64
                if not np.array_equal(np.asarray(got).view(bits), want.view(bits)):
                    bad = np.argwhere(np.asarray(got).view(bits) != want.view(bits))
                    raise AssertionError(f"request {i} ({request[4]}, fp {request[3].shape}, "
                                         f"{fake.launches[-1]}): differs at {bad[:5].tolist()}")
    finally:
        _cuda._kernel.cache_clear()
        _cuda._properties.cache_clear()


@pytest.fixture(scope="module")
def harness(tmp_path_factory, requests_):
    """Collect the variants every launch shape uses, then compile them all once."""
    h = _Harness(tmp_path_factory.mktemp("cuda_host"))
    mp = pytest.MonkeyPatch()
    needed = set()
    try:
        for props, opts in SHAPES.values():
            fake = _fake_cupy(h, props, "record")
            _run_all(fake, opts, requests_, mp, compare=False)
            needed |= fake.needed
    finally:
        mp.undo()
    h.build(needed)
    return h


def test_signature_parses():
    params = _signature()
    assert params == [("LT", True, "lv"), ("WindowArgs", False, "p"), ("CT", True, "scratch"),
                      ("OT", True, "out")]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_kernel_on_host_equals_cpu_bit_for_bit(harness, requests_, monkeypatch, shape):
    props, opts = SHAPES[shape]
    fake = _fake_cupy(harness, props, "run")
    _run_all(fake, opts, requests_, monkeypatch, compare=True)
    assert len(fake.launches) == sum(1 for r in requests_ if np.prod(r[0].shape) > 0)
    used_shared = {launch[3] > 0 for launch in fake.launches}
    if opts.get("force_global"):
        assert used_shared == {False}
    if shape == "tiny-scratch":  # one warp of histograms does every item
        assert all(launch[1] == (1,) and launch[2] == (32,) for launch in fake.launches)
    # the interior fast path ran (box footprints, every pixel counted), 16-bit counts too
    fast = [launch[0] for launch in fake.launches if not launch[0].endswith(", 0>")]
    assert fast and any("unsigned short, float" in n or "unsigned short, double" in n
                        for n in fast)
    if shape == "one-sm-many-items":
        assert any(launch[1][0] * launch[2][0] < 64 * 4 for launch in fake.launches)


def test_requests_cover_every_option(requests_):
    seen = set()
    for image, bins, mask, fp, mode, out_dtype, what in requests_:
        seen |= {mode, np.dtype(out_dtype).name, f"ndim{image.ndim}", image.dtype.name,
                 "mask" if mask is not None else "nomask", "box" if fp.all() else "shaped",
                 what.get("estimator", "expected")}
        if bins is not None and np.isnan(image).any():
            seen.add("nan")
        if fp.sum() >= 256:
            seen.add("u16counts")
        fast = (fp.all() and mask is None and bins is None
                and all(n > f for n, f in zip(image.shape, fp.shape)))
        if fast:  # the interior fast path runs: with every estimator and local_expected
            seen.add(("fast", what.get("estimator", "expected"), image.ndim))
    want = {*MODES, "float32", "float64", "ndim2", "ndim3", "uint8", "bool", "uint16",
            "int64", "mask", "nomask", "box", "shaped", *ESTIMATORS, "expected",
            "nan", "u16counts", *(("fast", e, 2) for e in (*ESTIMATORS, "expected")),
            ("fast", "plugin", 3)}
    assert want <= seen, want - seen


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
