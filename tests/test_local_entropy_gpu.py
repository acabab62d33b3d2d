"""The CUDA path of windowed histograms (gpuent/_kernels/histogram/_cuda.py).

Tests marked ``gpu`` run on a machine with CuPy and an NVIDIA GPU and check that
``backend="cuda"`` equals ``backend="cpu"`` bit for bit for every option; their cpu side
comes from the stored expectations of ``make gpu-bundle`` when present (tests/_expected.py),
so the GPU machine compiles no Numba kernel for it. The
unmarked tests run everywhere: the host-side launch configuration and geometry. The
kernel itself runs on the host in ``test_local_entropy_host.py`` (g++, sanitizers).
"""

from __future__ import annotations

import numpy as np
import pytest
from _expected import assert_same, expected, gpu_part
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gpuent as ge
from gpuent._kernels.histogram import _cuda
from gpuent._kernels.histogram._cpu import windowed_cpu
from gpuent._kernels.histogram.spec import plan_window
from gpuent.footprints import diamond, disk

MODES = ("clip", "reflect", "mirror", "wrap")
ESTIMATORS = ("plugin", "miller-madow", "grassberger", "dirichlet")
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: the GPU tests draw the same examples on every machine, so that their cpu side is stored
GPU_SETTINGS = dict(SETTINGS, derandomize=True, database=None)

H100 = {
    "multiProcessorCount": 132, "maxThreadsPerMultiProcessor": 2048,
    "sharedMemPerMultiprocessor": 233472, "sharedMemPerBlockOptin": 232448,
    "reservedSharedMemPerBlock": 1024, "regsPerMultiprocessor": 65536,
    "maxBlocksPerMultiProcessor": 32,
}


# --------------------------------------------------------------------------------------
# Host side, everywhere
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nlevels,npix,shared", [
    (2, 9, True), (256, 225, True), (256, 2601, True), (256, 22801, True),
    (4096, 225, False), (4096, 5625, False), (65536, 225, False), (70000, 70225, False),
])
def test_launch_config_choices(nlevels, npix, shared):
    limit = _cuda.scratch_limit_from_free(140 << 30)  # an H200 with its memory free
    cfg = _cuda.launch_config(H100, nlevels=nlevels, npix=npix, shape=(8192, 8192), ry=7,
                              scratch_limit=limit)
    assert cfg.shared is shared
    assert cfg.threads % 32 == 0 and cfg.blocks >= 1  # whole warp tiles of histograms
    words = _cuda.histogram_words(nlevels, npix)
    assert words == -(-nlevels * _cuda.count_type(npix)[1] // 4)
    if shared:
        assert cfg.shared_bytes == cfg.threads * words * 4
        assert cfg.shared_bytes <= H100["sharedMemPerBlockOptin"]
    else:
        assert cfg.scratch_threads * words * 4 <= limit
    # every SM has work, and the split is balanced: every thread does the same number of
    # items (or one less), and no thread does much more than its share of the rows
    assert cfg.blocks >= H100["multiProcessorCount"]
    assert cfg.nitems == 8192 * cfg.nruns
    launched = cfg.blocks * cfg.threads
    assert cfg.items_per_thread == -(-cfg.nitems // min(launched, cfg.resident))
    assert (cfg.items_per_thread - 1) * launched < cfg.nitems
    share = 8192 * 8192 / cfg.resident
    assert cfg.items_per_thread * cfg.run <= 1.1 * share + cfg.run


def test_launch_config_balances_the_last_wave():
    """8192^2 at r = 7 on 132 SMs: today's run of 120 rows left the last wave ~14% empty."""
    cfg = _cuda.launch_config(H100, nlevels=256, npix=225, shape=(8192, 8192), ry=7)
    share = 8192 * 8192 / cfg.resident  # rows per thread if the work split perfectly
    assert cfg.items_per_thread * cfg.run <= 1.05 * share + 1  # was 6 items of 120 rows: 1.18
    assert (cfg.nitems + cfg.items_per_thread - 1) // cfg.items_per_thread <= cfg.resident


def test_launch_config_small_images_and_runs():
    cfg = _cuda.launch_config(H100, nlevels=256, npix=9, shape=(1, 1), ry=1)
    assert (cfg.run, cfg.nitems, cfg.blocks) == (1, 1, 1)
    cfg = _cuda.launch_config(H100, nlevels=256, npix=9, shape=(1080, 1920), ry=1, run=7)
    assert cfg.run == 7 and cfg.nitems == 1920 * 155
    cfg = _cuda.launch_config(H100, nlevels=256, npix=9, shape=(1080, 1920), ry=1,
                              force_global=True, scratch_limit=1 << 20)
    assert not cfg.shared and cfg.scratch_threads * 256 <= 1 << 20
    cfg = _cuda.launch_config(H100, nlevels=4096, npix=9, shape=(100, 100), ry=1,
                              force_global=True, scratch_limit=1)
    assert (cfg.blocks, cfg.threads, cfg.scratch_threads) == (1, 32, 32)  # one warp tile


def test_scratch_limit_scales_with_free_memory():
    assert _cuda.scratch_limit_from_free(None) == _cuda.SCRATCH_LIMIT
    assert _cuda.scratch_limit_from_free(0) == _cuda.SCRATCH_MIN
    assert _cuda.scratch_limit_from_free(140 << 30) == 35 << 30
    # 65536 levels and a 15 x 15 window: 64 KiB per thread; every SM gets resident threads
    cfg = _cuda.launch_config(H100, nlevels=65536, npix=225, shape=(8192, 8192), ry=7,
                              scratch_limit=_cuda.scratch_limit_from_free(140 << 30))
    assert cfg.blocks * cfg.threads >= 132 * 256


@pytest.mark.parametrize("npix", [9, 300, 70000])
@pytest.mark.parametrize("nlevels", [1, 2, 3, 5, 256, 257])
def test_histogram_layout_fits_and_is_conflict_free(npix, nlevels):
    """The kernel's slot(): lane l's level v is count v % P of word (v // P) * 32 + l of its
    warp's tile, written as 32 v - 31 (v % P) counts from the lane's first count."""
    count_bytes = _cuda.count_type(npix)[1]
    per_word = 4 // count_bytes
    words = _cuda.histogram_words(nlevels, npix)
    for threads in (32, 96):
        t = np.arange(threads)[:, None]
        v = np.arange(nlevels)[None, :]
        hoff = ((t // 32) * words * 32 + t % 32) * per_word
        slot = hoff + 32 * v - 31 * (v % per_word)
        assert np.array_equal(slot, hoff + (v // per_word) * 32 * per_word + v % per_word)
        assert len(np.unique(slot)) == slot.size  # no two (thread, level) share a count
        assert slot.max() < words * 4 // count_bytes * threads  # fits the allocation
        word = slot // per_word
        assert np.all(word % 32 == t % 32)  # a lane's words all lie in its own bank


def test_kernel_names():
    name = _cuda.kernel_name(np.uint8, 225, np.float32, True, False, 15)
    assert name == ("gpuent::windowed_sliding<unsigned char, unsigned char, float, "
                    "true, false, 15>")
    assert "unsigned short" in _cuda.kernel_name(np.int32, 300, np.float64, False, True)
    assert "unsigned int" in _cuda.kernel_name(np.uint16, 70000, np.float64, False, True)


def test_box_width_only_for_full_boxes_without_invalid_pixels():
    box = plan_window((20, 20), np.ones((3, 5), bool), "clip", 256, estimator="plugin")
    assert _cuda.box_width(box, True) == 5 and _cuda.box_width(box, False) == 0
    d = plan_window((20, 20), disk(2), "clip", 256, estimator="plugin")
    assert _cuda.box_width(d, True) == 0
    vol = plan_window((6, 7, 8), np.ones((3, 3, 7), bool), "wrap", 256, estimator="plugin")
    assert _cuda.box_width(vol, True) == 7


def test_volumes_are_offered_to_the_cuda_path():
    """A 3-D request may ask for backend="cuda": without CuPy the error is about CuPy, not
    about the path refusing volumes (it used to fall back to the reference path)."""
    vol = np.zeros((4, 5, 6), np.uint8)
    with pytest.raises(ValueError, match="CuPy") as info:
        ge.local_entropy(vol, 1, backend="cuda")
    assert "does not support" not in str(info.value)


def test_sliding_geometry_2d_and_3d():
    fp = np.zeros((3, 5), bool)
    fp[1, :] = True
    fp[:, 2] = True
    geo = _cuda.sliding_geometry(plan_window((9, 11), fp, "reflect", 4, estimator="plugin"))
    assert (geo["D"], geo["HY"], geo["W"], geo["ry"]) == (9, 1, 11, 0)
    assert list(geo["ymap"]) == [0] and not geo["offy"].any() and not geo["pair_y"].any()
    # every footprint column has one run: one pair per column offset
    assert sorted(geo["pair_x"]) == [0, 1, 2, 3, 4]
    fp3 = np.ones((3, 3, 3), bool)
    geo = _cuda.sliding_geometry(plan_window((5, 6, 7), fp3, "clip", 4, estimator="plugin"))
    assert (geo["D"], geo["HY"], geo["W"]) == (5, 6, 7)
    assert len(geo["pair_x"]) == 9 and list(geo["pair_gl"]) == [0] and list(geo["pair_ge"]) == [2]


# --------------------------------------------------------------------------------------
# On the GPU
# --------------------------------------------------------------------------------------

def _cp():
    """CuPy, or None in a run that only fills or checks the stored expectations."""
    return gpu_part()


def _cp_or_skip():
    cp = _cp()
    if cp is None:
        pytest.skip("no cpu-side expectation to store: GPU part only")
    return cp


@st.composite
def _images(draw):
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["uint8", "bool", "uint16", "float", "lowcontrast"]))
    bins = None
    if kind == "uint8":
        image = rng.integers(0, 256, (h, w), dtype=np.uint8)
    elif kind == "lowcontrast":
        image = rng.integers(100, 104, (h, w), dtype=np.uint8)
    elif kind == "bool":
        image = rng.random((h, w)) < 0.5
    elif kind == "uint16":
        image = rng.integers(0, draw(st.integers(1, 4096)), (h, w), dtype=np.uint16)
    else:
        image = rng.normal(size=(h, w))
        image[rng.random((h, w)) < 0.1] = np.nan
        bins = draw(st.integers(1, 64))
    return image, bins, rng


@st.composite
def _windows(draw, max_r=6):
    if draw(st.booleans()):
        r = draw(st.integers(0, max_r))
        return dict(radius=r if draw(st.booleans()) else (r, draw(st.integers(0, max_r))))
    shape = draw(st.sampled_from(["disk", "diamond", "random"]))
    r = draw(st.integers(0, min(5, max_r)))
    if shape == "disk":
        return dict(footprint=disk(r))
    if shape == "diamond":
        return dict(footprint=diamond(r))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fp = rng.random((2 * draw(st.integers(0, min(4, max_r))) + 1, 2 * r + 1)) < 0.5
    fp[fp.shape[0] // 2, r] = True
    return dict(footprint=fp)


def _both(func, image, rng, use_mask, label=None, **kw):
    """(cuda result, cpu result); ``label`` names ``kw['f']`` in the expectation's key. In a
    run that only fills or checks the expectations there is no GPU part: both are cpu."""
    mask = rng.random(image.shape) < 0.7 if use_mask else None
    key = (func.__name__, label, image, mask, {k: v for k, v in kw.items() if k != "f"})
    want = expected(key, lambda: func(image, mask=mask, backend="cpu", **kw))
    cp = _cp()
    if cp is None:
        return want, want
    got = func(cp.asarray(image), mask=None if mask is None else cp.asarray(mask),
               backend="cuda", **kw)
    assert isinstance(got, cp.ndarray)
    assert got.dtype == want.dtype and got.shape == want.shape
    return got.get(), want


@pytest.mark.gpu
@settings(max_examples=150, **GPU_SETTINGS)
@given(_images(), _windows(), st.sampled_from(MODES), st.sampled_from(ESTIMATORS),
       st.booleans(), st.sampled_from([None, "float64"]), st.sampled_from([2.0, np.e, 10.0]))
def test_cuda_equals_cpu_bit_for_bit(img, window, mode, estimator, use_mask, dtype, base):
    image, bins, rng = img
    got, want = _both(ge.local_entropy, image, rng, use_mask, mode=mode, bins=bins,
                      estimator=estimator, dtype=dtype, base=base, **window)
    assert_same(got, want)


@pytest.mark.gpu
@settings(max_examples=60, **GPU_SETTINGS)
@given(_images(), _windows(), st.sampled_from(MODES), st.booleans(),
       st.sampled_from(["laurent", "taylor", "square"]), st.sampled_from([None, "float64"]))
def test_cuda_equals_cpu_for_expected_values(img, window, mode, use_mask, which, dtype):
    image, bins, rng = img
    f = {"laurent": lambda p: 1.0 / p - 1.0, "taylor": lambda p: -(1.0 + p),
         "square": lambda p: p}[which]
    got, want = _both(ge.local_expected, image, rng, use_mask, label=which, f=f, mode=mode,
                      bins=bins, dtype=dtype, **window)
    assert_same(got, want)


@pytest.mark.gpu
@settings(max_examples=30, **GPU_SETTINGS)
@given(_images(), _windows(max_r=2), st.sampled_from(MODES), st.booleans(),
       st.sampled_from([0.0, 0.5, 2.0, 3.0]))
def test_cuda_renyi(img, window, mode, use_mask, alpha):
    """The fixed-point power sum is bit-identical; the final log is CuPy's, so compare it
    bit for bit with the reference path on CuPy and closely with the CPU path."""
    image, bins, rng = img
    mask = rng.random(image.shape) < 0.7 if use_mask else None
    kw = dict(mode=mode, bins=bins, dtype="float64", **window)
    cpu = expected(("local_renyi_entropy", image, mask, alpha, kw),
                   lambda: ge.local_renyi_entropy(image, alpha, mask=mask, backend="cpu", **kw))
    cp = _cp()
    if cp is None:
        return
    dmask = None if mask is None else cp.asarray(mask)
    got = ge.local_renyi_entropy(cp.asarray(image), alpha, mask=dmask, backend="cuda", **kw)
    ref = ge.local_renyi_entropy(cp.asarray(image), alpha, mask=dmask, backend="reference", **kw)
    np.testing.assert_array_equal(got.get(), ref.get())
    np.testing.assert_allclose(got.get(), cpu, rtol=1e-13, atol=1e-13)


def _plan_and_want(image, r, dtype, mode="clip", estimator="plugin", nlevels=256):
    """The plan of a square window and its cpu result (stored when present)."""
    fp = np.ones((2 * r + 1, 2 * r + 1), bool)
    plan = plan_window(image.shape, fp, mode, nlevels, estimator=estimator, base=2.0)
    key = ("windowed_cpu", image, r, np.dtype(dtype), mode, estimator, nlevels)
    return plan, expected(key, lambda: windowed_cpu(image, None, plan, dtype))


@pytest.mark.gpu
@pytest.mark.parametrize("sentinel", [12345.0, np.nan])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,r", [((1, 1), 0), ((37, 301), 3), ((300, 129), 11),
                                     ((1030, 517), 2)])
def test_poisoned_output_is_fully_written(sentinel, dtype, shape, r):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    plan, want = _plan_and_want(image, r, dtype)
    cp = _cp()
    if cp is None:
        return
    lv = cp.asarray(image)
    for kw in (dict(), dict(run=1), dict(run=5), dict(force_global=True),
               dict(force_global=True, scratch_limit=64 * 256)):
        out = cp.full(shape, sentinel, dtype=dtype)
        if np.isnan(sentinel):  # a NaN with a payload no path produces
            bits = np.uint64(0x7FF8DEADBEEF0001) if dtype == np.float64 else np.uint32(0x7FC0BEEF)
            out.view(bits.dtype)[...] = bits
        got = _cuda.windowed_cuda(lv, None, plan, dtype, out=out, **kw)
        assert got is out
        host = got.get()
        assert_same(host, want)
        if np.isnan(sentinel):
            assert not np.any(host.view(bits.dtype) == bits)
        else:
            assert not np.any(host == sentinel)


@pytest.mark.gpu
@pytest.mark.parametrize("r", [1, 7, 25])
def test_variants_agree(r):
    """Shared vs global histograms, any run length: the same bits."""
    rng = np.random.default_rng(r)
    image = rng.integers(0, 256, (257, 389), dtype=np.uint8)
    plan, want = _plan_and_want(image, r, np.float32, mode="reflect", estimator="miller-madow")
    cp = _cp()
    if cp is None:
        return
    lv = cp.asarray(image)
    for kw in (dict(), dict(run=1), dict(run=3), dict(run=1000), dict(force_global=True),
               dict(force_global=True, run=2, scratch_limit=4096 * 256)):
        got = _cuda.windowed_cuda(lv, None, plan, np.float32, **kw)
        assert_same(got.get(), want)
        del got
    cp.cuda.Device().synchronize()


@pytest.mark.gpu
def test_4096_levels_uint16_global_scratch_and_tiling():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 4096, (700, 900), dtype=np.uint16)
    wants = {r: expected(("local_entropy", image, r, "wrap"),
                         lambda r=r: ge.local_entropy(image, r, mode="wrap", backend="cpu"))
             for r in (2, 9)}
    plan, want = _plan_and_want(image, 4, np.float64, nlevels=4096)
    cp = _cp()
    if cp is None:
        return
    for r in (2, 9):
        got = ge.local_entropy(cp.asarray(image), r, mode="wrap", backend="cuda")
        assert_same(got.get(), wants[r])
    lv = cp.asarray(image)
    # a scratch too small for one block: one block of 256 threads (the minimum), each
    # looping over thousands of items
    got = _cuda.windowed_cuda(lv, None, plan, np.float64, scratch_limit=64 * 4096 * 2)
    assert_same(got.get(), want)


@pytest.mark.gpu
def test_large_image_many_items():
    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (2048, 3001), dtype=np.uint8)
    image[:, 1000:1500] //= 32
    cases = ((7, "clip"), (1, "mirror"))
    wants = [expected(("local_entropy", image, r, mode),
                      lambda r=r, mode=mode: ge.local_entropy(image, r, mode=mode, backend="cpu"))
             for r, mode in cases]
    cp = _cp()
    if cp is None:
        return
    for (r, mode), want in zip(cases, wants):
        got = ge.local_entropy(cp.asarray(image), r, mode=mode)  # auto picks cuda for CuPy
        assert_same(got.get(), want)


@pytest.mark.gpu
def test_non_contiguous_and_device_placement():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (64, 90), dtype=np.uint8)
    sub = np.ascontiguousarray(image[::2, 1::3])
    want = expected(("local_entropy", sub, 2, "clip"),
                    lambda: ge.local_entropy(sub, 2, mode="clip", backend="cpu"))
    cp = _cp()
    if cp is None:
        return
    dimg = cp.asarray(image)[::2, 1::3]
    got = ge.local_entropy(dimg, 2)
    assert isinstance(got, cp.ndarray) and got.device == dimg.device
    assert_same(got.get(), want)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["camera", "coins", "moon", "text", "page"])
def test_agrees_with_scikit_image(name):
    skimage = pytest.importorskip("skimage")
    from skimage.filters.rank import entropy as sk_entropy
    from skimage.util import img_as_ubyte

    cp = _cp_or_skip()
    image = img_as_ubyte(getattr(skimage.data, name)())
    for fp in (np.ones((5, 5), bool), np.ones((15, 15), bool), disk(4), diamond(3)):
        ours = ge.local_entropy(cp.asarray(image), footprint=fp, backend="cuda").get()
        np.testing.assert_allclose(ours, sk_entropy(image, fp), atol=1e-5, rtol=0)


@pytest.mark.gpu
def test_cli_backend_cuda(tmp_path):
    from gpuent.cli import main

    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (50, 70), dtype=np.uint8)
    src = tmp_path / "img.npy"
    np.save(src, image)

    def run(backend):
        assert main(["entropy", str(src), "-r", "3", "-q", "--backend", backend,
                     "-o", str(tmp_path / f"{backend}.npy")]) == 0
        return np.load(tmp_path / f"{backend}.npy")

    cpu = expected(("cli-entropy", image, "-r", "3"), lambda: run("cpu"))
    if _cp() is None:
        return
    cuda = run("cuda")
    assert_same(cuda, cpu)
    np.testing.assert_array_equal(cuda, run("auto"))


@pytest.mark.gpu
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("window", [dict(radius=1), dict(radius=(1, 2, 3)), dict(radius=2),
                                    dict(footprint=np.ones((3, 1, 5), bool))])
def test_volumes_on_the_gpu_equal_cpu(mode, window):
    """3-D volumes run through the RawKernel (no reference fallback), bit for bit."""
    rng = np.random.default_rng(17)
    vol = rng.integers(0, 256, (19, 23, 37), dtype=np.uint8)
    mask = rng.random(vol.shape) < 0.8
    cases = (dict(), dict(mask=mask), dict(estimator="miller-madow", dtype="float64"))
    wants = [expected(("local_entropy-3d", vol, mode, window, kw),
                      lambda kw=kw: ge.local_entropy(vol, mode=mode, backend="cpu",
                                                     **window, **kw))
             for kw in cases]
    f = lambda p: 1.0 / p - 1.0  # noqa: E731
    want_f = expected(("local_expected-3d", "laurent", vol, mode, window),
                      lambda: ge.local_expected(vol, f, mode=mode, backend="cpu", **window))
    cp = _cp()
    if cp is None:
        return
    for kw, want in zip(cases, wants):
        dkw = dict(kw)
        if "mask" in kw:
            dkw["mask"] = cp.asarray(mask)
        got = ge.local_entropy(cp.asarray(vol), mode=mode, backend="cuda", **window, **dkw)
        assert_same(got.get(), want)
    got = ge.local_expected(cp.asarray(vol), f, mode=mode, backend="cuda", **window)
    assert_same(got.get(), want_f)


@pytest.mark.gpu
@pytest.mark.parametrize("side", [1, 3, 15, 51, 75])
def test_interior_fast_path_widths(side):
    rng = np.random.default_rng(side)
    image = rng.integers(0, 256, (301, 277), dtype=np.uint8)
    modes = ("clip", "reflect")
    wants = [expected(("local_entropy", image, side // 2, mode),
                      lambda mode=mode: ge.local_entropy(image, side // 2, mode=mode,
                                                         backend="cpu"))
             for mode in modes]
    cp = _cp()
    if cp is None:
        return
    for mode, want in zip(modes, wants):
        got = ge.local_entropy(cp.asarray(image), side // 2, mode=mode, backend="cuda")
        assert_same(got.get(), want)
