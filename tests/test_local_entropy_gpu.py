"""The CUDA path of windowed histograms (gpuent/_kernels/histogram/_cuda.py).

Tests marked ``gpu`` run on a machine with CuPy and an NVIDIA GPU and check that
``backend="cuda"`` equals ``backend="cpu"`` bit for bit for every option; their cpu side
comes from the stored expectations of ``make gpu-bundle`` when present (tests/_expected.py),
so the GPU machine compiles no Numba kernel. The unmarked tests run everywhere: a
pure-Python emulation of the kernel's loop (same work items, pairs, drain and re-sum rules)
checked against the Numba path, and the host-side launch configuration.
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

def _emulate(levels, plan, run):
    """The kernel's loop in Python: one 'thread' doing every work item in turn."""
    h, w = plan.shape
    rowmap = plan.index_maps[0]
    colmap = plan.index_maps[1]
    offy, offx = plan.offsets[:, 0], plan.offsets[:, 1]
    npix = plan.npix
    px, start, gl, ge_ = _cuda.vertical_pairs(plan)
    inc = plan.increments()
    row_off = plan.row_offsets()
    per_n = plan.triangular
    hist = np.zeros(plan.nlevels, dtype=np.int64)
    sums = np.zeros((h, w), dtype=np.int64)
    ns = np.zeros((h, w), dtype=np.int64)
    koccs = np.zeros((h, w), dtype=np.int64)

    def lvl(r, c):
        return -1 if r < 0 or c < 0 else int(levels[r, c])

    def window(y, x):
        return [lvl(rowmap[y + offy[t]], colmap[x + offx[t]]) for t in range(npix)]

    nitems = w * (-(-h // run))
    for item in range(nitems):
        x, y0 = item % w, (item // w) * run
        y1 = min(y0 + run, h)
        vals = [v for v in window(y0, x) if v >= 0]
        n = len(vals)
        o = int(row_off[n]) if per_n else 0
        s, kocc = 0, 0
        for v in vals:
            c = hist[v]
            s += int(inc[o + c])
            hist[v] = c + 1
            kocc += c == 0
        sums[y0, x], ns[y0, x], koccs[y0, x] = s, n, kocc
        for y in range(y0 + 1, y1):
            pairs = []
            for g in range(len(gl)):
                rl, re = rowmap[y - 1 + gl[g]], rowmap[y + ge_[g]]
                for t in range(start[g], start[g + 1]):
                    cc = colmap[x + px[t]]
                    pairs.append((lvl(rl, cc), lvl(re, cc)))
            recount = per_n and sum((ve >= 0) - (vl >= 0) for vl, ve in pairs) != 0
            for vl, ve in pairs:
                if vl == ve:
                    continue
                if vl >= 0:
                    c = hist[vl]
                    assert c >= 1
                    if not recount:
                        s -= int(inc[o + c - 1])
                    hist[vl] = c - 1
                    n -= 1
                    kocc -= c == 1
                if ve >= 0:
                    c = hist[ve]
                    assert c < 256 if npix < 256 else True
                    if not recount:
                        s += int(inc[o + c])
                    hist[ve] = c + 1
                    n += 1
                    kocc += c == 0
            if recount:
                o = int(row_off[n])
                s = 0
                cur = [v for v in window(y, x) if v >= 0]
                for v in cur:
                    hist[v] -= 1
                for v in cur:
                    c = hist[v]
                    s += int(inc[o + c])
                    hist[v] = c + 1
            sums[y, x], ns[y, x], koccs[y, x] = s, n, kocc
        for v in window(y1 - 1, x):
            if v >= 0:
                hist[v] -= 1
        assert not hist.any()
    sums = ((sums.astype(object) + 2**63) % 2**64 - 2**63).astype(np.int64)
    return sums, ns, koccs


def _finish(plan, s, n, kocc, out_dtype):
    x = s.astype(np.float64) * plan.inv_scale
    if plan.kind == 0:
        nn = np.where(n > 0, n, 1)
        h = plan.a[nn] - (x + plan.b) / plan.d[nn]
        if plan.miller_madow:
            h = h + (kocc - 1).astype(np.float64) / (2.0 * nn.astype(np.float64))
        x = h / plan.ln_base
    return np.where(n > 0, x, np.nan).astype(out_dtype)


@st.composite
def _requests(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["uint8", "few", "masked"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    nlevels = 256 if kind == "uint8" else draw(st.integers(1, 6))
    levels = rng.integers(0, nlevels, (h, w)).astype(np.int32)
    if kind == "masked":
        levels[rng.random((h, w)) < 0.3] = -1
    if draw(st.booleans()):
        fp = rng.random((2 * draw(st.integers(0, 3)) + 1, 2 * draw(st.integers(0, 3)) + 1)) < 0.6
        if not fp.any():
            fp[fp.shape[0] // 2, fp.shape[1] // 2] = True
    else:
        fp = np.ones((2 * draw(st.integers(0, 4)) + 1, 2 * draw(st.integers(0, 4)) + 1), bool)
    mode = draw(st.sampled_from(MODES))
    expected = draw(st.booleans())
    estimator = draw(st.sampled_from(ESTIMATORS))
    run = draw(st.integers(1, h + 1))
    return levels, nlevels, fp, mode, expected, estimator, run


@settings(max_examples=60, **SETTINGS)
@given(_requests())
def test_kernel_algorithm_emulated_equals_cpu(request):
    """The column-sliding loop of the kernel gives the CPU path's bits (no GPU needed)."""
    levels, nlevels, fp, mode, expected, estimator, run = request
    if expected:
        plan = plan_window(levels.shape, fp, mode, nlevels, f=lambda p: 1.0 / p - 1.0)
    else:
        plan = plan_window(levels.shape, fp, mode, nlevels, estimator=estimator, base=2.0)
    s, n, kocc = _emulate(levels, plan, run)
    ours = _finish(plan, s, n, kocc, np.float64)
    valid = levels >= 0
    want = windowed_cpu(np.where(valid, levels, 0), valid, plan, np.float64)
    np.testing.assert_array_equal(ours, want)


@pytest.mark.parametrize("nlevels,npix,shared", [
    (2, 9, True), (256, 225, True), (256, 2601, True), (256, 22801, True),
    (4096, 225, False), (4096, 5625, False), (70000, 70225, False),
])
def test_launch_config_choices(nlevels, npix, shared):
    cfg = _cuda.launch_config(H100, nlevels=nlevels, npix=npix, shape=(8192, 8192), ry=7)
    assert cfg.shared is shared
    assert cfg.threads % 32 == 0 and cfg.blocks >= 1  # bank-conflict-free word interleave
    words = _cuda.histogram_words(nlevels, npix)
    assert words == -(-nlevels * _cuda.count_type(npix)[1] // 4)
    if shared:
        assert cfg.shared_bytes == cfg.threads * words * 4
        assert cfg.shared_bytes <= H100["sharedMemPerBlockOptin"]
    else:
        assert cfg.scratch_threads * words * 4 <= _cuda.SCRATCH_LIMIT
    assert cfg.nitems == 8192 * -(-8192 // cfg.run)


def test_launch_config_small_images_and_runs():
    cfg = _cuda.launch_config(H100, nlevels=256, npix=9, shape=(1, 1), ry=1)
    assert (cfg.run, cfg.nitems, cfg.blocks) == (1, 1, 1)
    cfg = _cuda.launch_config(H100, nlevels=256, npix=9, shape=(1080, 1920), ry=1, run=7)
    assert cfg.run == 7 and cfg.nitems == 1920 * 155
    cfg = _cuda.launch_config(H100, nlevels=256, npix=9, shape=(1080, 1920), ry=1,
                              force_global=True, scratch_limit=1 << 20)
    assert not cfg.shared and cfg.scratch_threads * 256 <= 1 << 20


@pytest.mark.parametrize("npix", [9, 300, 70000])
@pytest.mark.parametrize("nlevels", [1, 2, 3, 5, 256, 257])
def test_histogram_layout_fits_and_is_conflict_free(npix, nlevels):
    """The kernel's slot(): thread t's level v is count v % P of word (v // P) * T + t."""
    count_bytes = _cuda.count_type(npix)[1]
    per_word = 4 // count_bytes
    words = _cuda.histogram_words(nlevels, npix)
    for threads in (32, 96):
        t = np.arange(threads)[:, None]
        v = np.arange(nlevels)[None, :]
        slot = t * per_word + (v // per_word) * (threads * per_word) + v % per_word
        assert len(np.unique(slot)) == slot.size  # no two (thread, level) share a count
        assert slot.max() < words * 4 // count_bytes * threads  # fits the allocation
        word = slot // per_word
        assert np.all(word % 32 == t % 32)  # a lane's words all lie in its own bank


def test_kernel_names():
    name = _cuda.kernel_name(np.uint8, 225, np.float32, True, False)
    assert name == ("gpuent::windowed_vertical<unsigned char, unsigned char, float, "
                    "true, false>")
    assert "unsigned short" in _cuda.kernel_name(np.int32, 300, np.float64, False, True)
    assert "unsigned int" in _cuda.kernel_name(np.uint16, 70000, np.float64, False, True)


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

