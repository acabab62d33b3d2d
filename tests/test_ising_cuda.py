"""CUDA path of the Ising engine: nvcc compiles the kernels (CPU CI); GPU == CPU bit for bit.

The ``gpu`` tests take their cpu side from the stored expectations of ``make gpu-bundle``
when present (tests/_expected.py), so the GPU machine compiles no Numba kernel for it.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _expected import expected, gpu_part

from gpuent import ising

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


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not on PATH")
def test_every_launched_kernel_is_an_entry_point_of_the_ptx(tmp_path):
    import re

    from gpuent._kernels.ising._cuda import KERNELS, SYNC_KERNELS

    out = tmp_path / "ising.ptx"
    r = subprocess.run(["nvcc", "-ptx", "-arch=compute_90", "--fmad=false", "-o", str(out),
                        str(CUDA_DIR / "ising.cu")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ptx = out.read_text()
    entries = dict(re.findall(r"\.entry (\w+)\(([^)]*)\)", ptx))
    assert set(entries) == set(KERNELS)
    for name, params in KERNELS.items():  # one PTX parameter per C parameter
        assert entries[name].count(".param") == len(params), name
        assert ("bar.sync" in ptx.split(f".entry {name}(")[1].split(".entry")[0]) == (
            name in SYNC_KERNELS), name


def _models(xp, shape=(130, 198)):
    rng = np.random.default_rng(5)
    img = (rng.random(shape) * 255).astype(np.uint8)
    letters = ising.letters_image(shape) if min(shape) >= 8 else img
    return {
        "torus": ising.torus(shape, init="random", seed=1),
        "continuous": ising.torus(shape, init="random", spins="continuous", seed=2),
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
    """The cpu path's final spins and trace (stored when present): a dict of arrays."""
    def compute():
        sim = ising.Simulation(model, seed=seed, backend="cpu")
        tr = sim.run(sweeps, **kw)
        frames = tr.frames or []
        return {"spins": np.asarray(sim.spins), "energy": tr.energy,
                "magnetization": tr.magnetization,
                "frames": np.stack(frames) if frames else np.zeros((0, 0, 0), np.uint8)}

    beta = kw["beta"]  # a schedule is keyed by its values
    betas = beta.values(sweeps) if hasattr(beta, "values") else np.full(sweeps, float(beta))
    key = ("ising-cpu", model.kind, np.asarray(model.spins),
           None if model.aux is None else np.asarray(model.aux), model.edge_spins, seed,
           sweeps, betas, {k: v for k, v in kw.items() if k != "beta"})
    return expected(key, compute)


_FAMILIES = {"torus": ("packed", "fused", "rows"), "edge": ("packed", "fused", "rows"),
             "edge-fixed": ("packed", "fused", "rows"), "block": ("rows",),
             "symmetric": ("rows",), "continuous": (None,)}


@pytest.mark.gpu
@pytest.mark.parametrize("name,kernel", [(n, k) for n, ks in _FAMILIES.items() for k in ks])
@pytest.mark.parametrize("shape", [(130, 198), (128, 256)])
def test_cuda_equals_cpu_bit_for_bit(name, kernel, shape):
    model = _models(np, shape)[name]
    w = model.shape[1]
    if kernel == "packed" and w % 32 or kernel == "fused" and w % 8:
        pytest.skip("width does not fit the kernel")
    sched = ising.piecewise(ising.linear(3.0, 0.05), ising.geometric(0.05, 2.0))
    tc = _cpu_run(model, 2**37 + 3, 300, beta=sched, record_every=7, frames=50)
    cp = gpu_part()
    if cp is None:  # a run that only fills or checks the stored expectations
        return
    gpu_sim = ising.Simulation(_to_cupy(model), seed=2**37 + 3, kernel=kernel)
    assert gpu_sim.backend == "cuda"
    tg = gpu_sim.run(300, beta=sched, record_every=7, frames=50)
    assert isinstance(gpu_sim.spins, cp.ndarray)
    assert np.array_equal(tc["spins"], cp.asnumpy(gpu_sim.spins))
    assert np.array_equal(tc["energy"], tg.energy)
    assert np.array_equal(tc["magnetization"], tg.magnetization)
    assert all(np.array_equal(a, b) for a, b in zip(tc["frames"], tg.frames))


@pytest.mark.gpu
def test_cuda_exact_physics_1024():
    from scipy.special import ellipk

    cp = gpu_part()
    if cp is None:
        pytest.skip("no cpu side to store: GPU part only")

    t = 2.0
    b = 1 / t
    k = 2 * np.sinh(2 * b) / np.cosh(2 * b) ** 2
    u = -1 / np.tanh(2 * b) * (1 + 2 / np.pi * (2 * np.tanh(2 * b) ** 2 - 1) * ellipk(k * k))
    m_exact = (1 - np.sinh(2 * b) ** -4) ** 0.125
    model = ising.torus((1024, 1024), init="up", xp=cp)
    sim = ising.Simulation(model, seed=11)
    sim.run(300, beta=b, record_every=0)
    tr = sim.run(1000, beta=b, record_every=2)
    assert abs(tr.energy.mean() - u) < 0.005
    assert abs(np.abs(tr.magnetization).mean() - m_exact) < 0.005


@pytest.mark.gpu
def test_cuda_movie_and_downscaled_frames(tmp_path):
    model = ising.torus((256, 256), init="random", seed=0)
    tc = _cpu_run(model, 4, 20, beta=0.5, frames=2, downscale=4)
    cp = gpu_part()
    if cp is None:  # a run that only fills or checks the stored expectations
        return
    dev = ising.Simulation(_to_cupy(model), seed=4)
    td = dev.run(20, beta=0.5, frames=2, downscale=4)
    assert all(np.array_equal(a, b) for a, b in zip(tc["frames"], td.frames))
    path = tmp_path / "gpu.gif"
    dev.run(30, beta=0.5, frames=1, movie=path)
    from PIL import Image

    with Image.open(path) as im:
        assert im.n_frames == 30 and im.size == (256, 256)
        im.seek(29)
        assert np.array_equal(np.asarray(im.convert("L")),
                              ising.spins_to_frame(cp.asnumpy(dev.spins)))


# ---- the .cu kernels run on the host (g++ with CUDA stand-ins: tests/ising_standin.py) ----
# Every kernel family the engine launches, on lattices that exercise its paths (a tile larger
# than the lattice, several tiles, widths that are and are not multiples of 8 and 32), driven
# through the engine protocol by the real launcher against a stand-in CuPy: the lattice, the
# observables and the frames must equal the cpu path bit for bit. Once more in a subprocess
# under AddressSanitizer and UndefinedBehaviorSanitizer.
SEED = 2**37 + 3
SCHED = ising.piecewise(ising.linear(3.0, 0.05), ising.geometric(0.05, 2.0))
SHAPES = {"small": (34, 64), "tiles": (40, 288), "odd8": (34, 70), "odd32": (40, 72),
          "tiny": (2, 32), "narrow": (6, 8)}


def _cases(shape_name, sweeps=6):
    h, w = SHAPES[shape_name]
    models = _models(np, (h, w))
    betas = SCHED.values(sweeps)
    out = {}
    for name, families in _FAMILIES.items():
        for kernel in families:
            if kernel == "packed" and w % 32 or kernel == "fused" and w % 8:
                continue
            out[f"{shape_name}-{name}-{kernel}"] = dict(
                model=models[name], seed=SEED, kernel=kernel, betas=betas,
                record_at={sweeps // 2, sweeps}, downscales=[1, 2])
    return out


ALL_CASES = {k: v for s in SHAPES for k, v in _cases(s).items()}


def _check_against_cpu(case, result):
    model = case["model"]
    spins, records, frames = result
    cpu = ising.Simulation(model, seed=case["seed"], backend="cpu")
    betas = np.asarray(case["betas"])
    tr = cpu.run(len(betas), beta=betas, record_every=1)
    assert spins.dtype == np.asarray(model.spins).dtype
    assert np.array_equal(spins, cpu.spins)
    assert not np.array_equal(spins, model.spins)
    scale = cpu.size * (2**24 if model.continuous else 1)
    want = [(tr.energy[t - 1], tr.magnetization[t - 1]) for t in sorted(case["record_at"])]
    assert [(e / scale, m / scale) for e, m in records] == want
    for k, frame in zip(case["downscales"], frames):
        ref = ising.spins_to_frame(cpu.spins, k)
        if k == 1 or not model.continuous:
            assert np.array_equal(frame, ref)
        else:  # float block means: summation order differs, at most one grey level
            assert frame.shape == ref.shape and np.abs(frame.astype(int) - ref).max() <= 1


@pytest.fixture(scope="module")
def emu_lib(tmp_path_factory):
    import ctypes

    if shutil.which("g++") is None:
        pytest.skip("g++ not on PATH")
    import ising_standin

    return ctypes.CDLL(str(ising_standin.build(tmp_path_factory.mktemp("emu") / "emu.so")))


@pytest.mark.parametrize("case", list(ALL_CASES))
def test_every_kernel_emulated_on_host_equals_cpu(emu_lib, case):
    import ising_standin

    result = ising_standin.run_cases(emu_lib, {case: ALL_CASES[case]})[case]
    _check_against_cpu(ALL_CASES[case], result)


@pytest.mark.parametrize("kernel", ["packed", "fused", "rows"])
@pytest.mark.parametrize("name", ["torus", "edge", "edge-fixed"])
def test_emulated_kernels_at_extreme_betas(emu_lib, name, kernel):
    # beta 0 and 1e-18 make every threshold 2**32 (acc = 16: nothing is compared), 40 makes
    # every dE > 0 threshold 0; the 32-bit tables must still give the 64-bit rule's flips
    import ising_standin

    case = dict(model=_models(np, (34, 64))[name], seed=7, kernel=kernel,
                betas=[0.0, 1e-18, 40.0, 0.44, 0.0, 40.0], record_at={2, 6}, downscales=[1])
    _check_against_cpu(case, ising_standin.run_cases(emu_lib, {"c": case})["c"])


def test_kernels_under_address_and_ub_sanitizers(tmp_path):
    import pickle
    import sys

    import ising_standin

    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not on PATH")
    asan = subprocess.run([gxx, "-print-file-name=libasan.so"], capture_output=True,
                          text=True).stdout.strip()
    if not Path(asan).is_file():
        pytest.skip("g++ has no AddressSanitizer runtime")
    lib = ising_standin.build(tmp_path / "emu_san.so", sanitize=True)
    # every kernel once: each family and model, the general-width path, several fused tiles
    names = ["small-torus-packed", "small-edge-fixed-packed", "small-torus-fused",
             "small-edge-rows", "small-block-rows", "small-symmetric-rows",
             "small-continuous-None", "odd8-torus-rows", "odd8-symmetric-rows",
             "tiles-edge-fused"]
    cases = {k: ALL_CASES[k] for k in names}
    (tmp_path / "in.pkl").write_bytes(pickle.dumps(cases))
    import os

    env = dict(os.environ, LD_PRELOAD=asan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]),
                                           os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, ising_standin.__file__, str(lib),
                        str(tmp_path / "in.pkl"), str(tmp_path / "out.pkl")],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-6000:]
    assert "runtime error" not in r.stderr, r.stderr[-6000:]  # UBSan
    results = pickle.loads((tmp_path / "out.pkl").read_bytes())
    assert set(results) == set(cases)
    for name, case in cases.items():
        _check_against_cpu(case, results[name])


def test_table32_is_the_64_bit_rule():
    from gpuent._kernels.ising import thresholds
    from gpuent._kernels.ising._cuda import table32

    words = np.array([0, 1, 2**31 - 1, 2**31, 2**32 - 2, 2**32 - 1], dtype=np.uint64)
    for beta in (0.0, 1e-300, 1e-17, 1e-9, 0.05, 0.44, 1.0, 3.0, 40.0):
        t = thresholds(beta, False)
        t32, acc = table32(t)
        assert acc >= 8 and t32.dtype == np.uint32
        for idx in range(len(t)):
            w = np.unique(np.concatenate([words, np.clip(t[idx] + np.array([-1, 0, 1]), 0,
                                                         2**32 - 1).astype(np.uint64)]))
            want = w < t[idx]
            got = (idx <= acc) | (w.astype(np.uint32) < t32[idx])
            assert np.array_equal(got, want), (beta, idx)


def test_kernel_family_choices_and_errors():
    from gpuent._kernels.ising._cuda import kernel_family

    assert kernel_family("torus", (8, 64)) == "packed"
    assert kernel_family("edge", (8, 72)) == "fused"
    assert kernel_family("torus", (8, 70)) == "rows"
    assert kernel_family("symmetric", (8, 64)) == "rows"
    assert kernel_family("continuous", (8, 64)) == "cont"
    assert kernel_family("torus", (8, 64), "rows") == "rows"
    with pytest.raises(ValueError, match="multiple of 32"):
        kernel_family("torus", (8, 72), "packed")
    with pytest.raises(ValueError, match="multiple of 8"):
        kernel_family("edge", (8, 70), "fused")
    with pytest.raises(ValueError, match="binary torus and edge"):
        kernel_family("block", (8, 64), "packed")
    with pytest.raises(ValueError, match="continuous"):
        kernel_family("continuous", (8, 64), "packed")
    with pytest.raises(ValueError, match="unknown kernel"):
        kernel_family("torus", (8, 64), "tensor")


def test_packed_and_kernel_need_the_cuda_path():
    model = ising.torus((8, 64), init="random", seed=0)
    with pytest.raises(ValueError, match="cuda backend"):
        ising.Simulation(model, packed=True)
    with pytest.raises(ValueError, match="cuda backend"):
        ising.Simulation(model, backend="reference", kernel="rows")
    with pytest.raises(ValueError, match="contradicts"):
        ising.Simulation(model, packed=True, kernel="rows")
    with pytest.raises(ValueError, match="contradicts"):
        ising.Simulation(model, packed=False, kernel="packed")
    with pytest.raises(TypeError):
        ising.Simulation(model, packed="yes")
    assert ising.Simulation(model, packed=False).backend == "cpu"


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


# ---- the public Simulation on the cuda path, against the stand-in CuPy ------------------
# Only the backend choice is patched (there is no GPU to choose): the engine, the launcher,
# the record buffer, the pinned frame buffers and the movie writer thread are the real ones.
@pytest.mark.parametrize("name,kernel", [("torus", None), ("torus", "fused"),
                                         ("edge", "rows"), ("edge-fixed", None),
                                         ("symmetric", None), ("continuous", None)])
def test_simulation_on_stand_in_cupy_equals_cpu(emu_lib, monkeypatch, tmp_path, name, kernel):
    import ising_standin

    from gpuent.ising import simulation

    model = _models(np, (34, 64))[name]
    remove = ising_standin.install(emu_lib)
    try:
        choose = simulation.choose_backend
        monkeypatch.setattr(simulation, "choose_backend",
                            lambda req, xp, av: "cuda" if req == "cuda" else choose(req, xp, av))
        dev = ising.Simulation(model, seed=SEED, backend="cuda", kernel=kernel)
        cpu = ising.Simulation(model, seed=SEED, backend="cpu")
        assert (dev.backend, cpu.backend) == ("cuda", "cpu") and cpu.kernel is None
        tc = cpu.run(9, beta=SCHED, record_every=3, frames=2)
        td = dev.run(9, beta=SCHED, record_every=3, frames=2)
        assert np.array_equal(np.asarray(dev.spins), cpu.spins)
        assert np.array_equal(tc.sweep, td.sweep) and len(td.sweep) == 3
        assert np.array_equal(tc.energy, td.energy)
        assert np.array_equal(tc.magnetization, td.magnetization)
        assert dev.observables() == cpu.observables()
        assert len(td.frames) == 4 and all(np.array_equal(a, b)
                                           for a, b in zip(tc.frames, td.frames))
        # the default interval on the cuda path, frames through the writer thread
        every = dev.default_record_every
        assert every == 64 and cpu.default_record_every == 1  # 34 x 64 spins: launch-bound
        td = dev.run(64, beta=0.5, frames=16, movie=tmp_path / "m.gif")
        tc = cpu.run(64, beta=0.5, record_every=every)
        assert list(td.sweep) == [73] and np.array_equal(tc.energy, td.energy)
        from PIL import Image

        with Image.open(tmp_path / "m.gif") as im:
            assert im.n_frames == 4
            im.seek(3)
            assert np.array_equal(np.asarray(im.convert("L")), ising.spins_to_frame(cpu.spins))
        f2 = dev.frame(downscale=2)
        want = ising.spins_to_frame(cpu.spins, 2)
        assert f2.shape == want.shape and np.abs(f2.astype(int) - want).max() <= (
            1 if model.continuous else 0)
        assert dev.frame(downscale=1000).shape == ising.spins_to_frame(cpu.spins, 1000).shape
    finally:
        remove()
