"""local_entropy & friends against scikit-image, brute force and the reference path."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _expected import expected
from conftest import to_host
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

import gpuent as ge
from gpuent.footprints import diamond, disk

skimage = pytest.importorskip("skimage")
from skimage import data  # noqa: E402
from skimage.filters.rank import entropy as sk_entropy  # noqa: E402


def _box(r):
    return np.ones((2 * r + 1, 2 * r + 1), dtype=bool)


@pytest.fixture(scope="module")
def camera():
    return data.camera()[100:356, 128:384].copy()


# ---------------------------------------------------------------- scikit-image oracle
@pytest.mark.parametrize("r", [1, 3, 7, 15])
def test_square_matches_skimage(camera, r):
    ours = ge.local_entropy(camera, r, dtype=np.float64)
    theirs = sk_entropy(camera, _box(r))
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("r", [1, 2, 5, 9])
def test_disk_matches_skimage(camera, r):
    fp = disk(r)
    ours = ge.local_entropy(camera, footprint=fp, dtype=np.float64)
    np.testing.assert_allclose(ours, sk_entropy(camera, fp), atol=1e-5, rtol=0)


@pytest.mark.parametrize("r", [1, 4])
@pytest.mark.filterwarnings("ignore:Bad rank filter performance")
def test_uint16_matches_skimage(camera, r):
    image = camera.astype(np.uint16) * 16 + (camera % 7)  # 12-bit values, 4000+ levels
    ours = ge.local_entropy(image, r, dtype=np.float64)
    np.testing.assert_allclose(ours, sk_entropy(image, _box(r)), atol=1e-5, rtol=0)
    ours = ge.local_entropy(image, footprint=diamond(r), dtype=np.float64)
    np.testing.assert_allclose(ours, sk_entropy(image, diamond(r)), atol=1e-5, rtol=0)


def test_other_skimage_images():
    for image in (data.coins(), data.moon()[:200, :200], data.text()):
        ours = ge.local_entropy(image, 2, dtype=np.float64)
        np.testing.assert_allclose(ours, sk_entropy(image, _box(2)), atol=1e-5, rtol=0)


def test_float32_default_output(camera):
    out = ge.local_entropy(camera, 2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, sk_entropy(camera, _box(2)), atol=2e-6, rtol=0)


# ---------------------------------------------------------------- brute-force oracle
def _window_values(image, valid, fp, mode, i, j):
    ry, rx = fp.shape[0] // 2, fp.shape[1] // 2
    h, w = image.shape
    values = []
    for dy in range(-ry, ry + 1):
        for dx in range(-rx, rx + 1):
            if not fp[dy + ry, dx + rx]:
                continue
            y, x = i + dy, j + dx
            if mode == "clip" and not (0 <= y < h and 0 <= x < w):
                continue
            y = _fold(y, h, mode)
            x = _fold(x, w, mode)
            if valid[y, x]:
                values.append(image[y, x])
    return np.asarray(values)


def _fold(i, n, mode):
    if mode == "clip":
        return i
    if mode == "wrap":
        return i % n
    if mode == "reflect":
        period = 2 * n
        i %= period
        return period - 1 - i if i >= n else i
    if n == 1:
        return 0
    period = 2 * n - 2
    i %= period
    return period - i if i >= n else i


def _brute_entropy(values, estimator, nlevels):
    if values.size == 0:
        return np.nan
    _, counts = np.unique(values, return_counts=True)
    n = counts.sum()
    p = counts / n
    if estimator == "plugin":
        return -np.sum(p * np.log(p))
    if estimator == "miller-madow":
        return -np.sum(p * np.log(p)) + (counts.size - 1) / (2 * n)
    if estimator == "grassberger":
        g = special.digamma(counts) + 0.5 * (-1.0) ** counts * (
            special.digamma((counts + 1) / 2) - special.digamma(counts / 2))
        return np.log(n) - np.sum(counts * g) / n
    alpha = np.concatenate([counts + 1.0, np.ones(nlevels - counts.size)])
    big_a = alpha.sum()
    return special.digamma(big_a + 1) - np.sum(alpha / big_a * special.digamma(alpha + 1))


@pytest.mark.parametrize("mode", ["clip", "reflect", "mirror", "wrap"])
@pytest.mark.parametrize("estimator", ["plugin", "miller-madow", "grassberger", "dirichlet"])
def test_estimators_and_modes_against_brute_force(mode, estimator):
    rng = np.random.default_rng(7)
    image = rng.integers(0, 6, (9, 11)).astype(np.uint8)
    mask = rng.random(image.shape) > 0.2
    fp = disk(2)
    ours = ge.local_entropy(image, footprint=fp, mode=mode, estimator=estimator, mask=mask,
                            base=math.e, dtype=np.float64)
    want = np.array([[_brute_entropy(_window_values(image, mask, fp, mode, i, j), estimator, 256)
                      for j in range(image.shape[1])] for i in range(image.shape[0])])
    np.testing.assert_allclose(ours, want, atol=1e-9, rtol=1e-9)


def test_expected_laurent_taylor_and_renyi_against_brute_force():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 5, (10, 8)).astype(np.uint8)
    valid = np.ones(image.shape, dtype=bool)
    fp = np.ones((5, 3), dtype=bool)
    laurent = ge.local_expected(image, lambda p: 1 / p - 1, footprint=fp, dtype=np.float64)
    taylor = ge.local_expected(image, lambda p: -(1 + p), footprint=fp, dtype=np.float64)
    renyi2 = ge.local_renyi_entropy(image, 2, footprint=fp, dtype=np.float64)
    renyi0 = ge.local_renyi_entropy(image, 0, footprint=fp, dtype=np.float64)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            v = _window_values(image, valid, fp, "clip", i, j)
            p = np.unique(v, return_counts=True)[1] / v.size
            assert laurent[i, j] == pytest.approx(p.size - 1, abs=1e-9)
            assert taylor[i, j] == pytest.approx(np.sum(p * -(1 + p)), abs=1e-9)
            assert renyi2[i, j] == pytest.approx(-np.log2(np.sum(p * p)), abs=1e-9)
            assert renyi0[i, j] == pytest.approx(np.log2(p.size), abs=1e-9)


def test_renyi_order_one_is_shannon(camera):
    a = ge.local_renyi_entropy(camera[:40, :40], 1.0, 2)
    b = ge.local_entropy(camera[:40, :40], 2)
    np.testing.assert_array_equal(a, b)
    near = ge.local_renyi_entropy(camera[:40, :40], 1.0 + 1e-7, 2, dtype=np.float64)
    np.testing.assert_allclose(near, b, atol=1e-5)


# ---------------------------------------------------------------- levels
def test_bool_float_and_nan_levels():
    rng = np.random.default_rng(0)
    x = rng.random((12, 12))
    binned = ge.local_entropy(x, 1, bins=8, value_range=(0, 1), dtype=np.float64)
    levels = np.clip(np.floor(x * 8), 0, 7).astype(np.uint8)
    np.testing.assert_array_equal(binned, ge.local_entropy(levels, 1, dtype=np.float64))
    b = x > 0.5
    np.testing.assert_array_equal(ge.local_entropy(b, 1), ge.local_entropy(b.astype(np.uint8), 1))
    x[3, 4] = np.nan
    with_nan = ge.local_entropy(x, 1, bins=8, value_range=(0, 1))
    masked = ge.local_entropy(levels, 1, mask=~np.isnan(x))
    np.testing.assert_array_equal(with_nan, masked)


def test_fully_masked_window_is_nan():
    image = np.zeros((5, 5), np.uint8)
    mask = np.zeros((5, 5), bool)
    mask[0, 0] = True
    out = ge.local_entropy(image, 1, mask=mask)
    assert out[0, 0] == 0 and np.isnan(out[4, 4])


def test_radius_per_axis_and_large_radius():
    image = np.random.default_rng(1).integers(0, 256, (7, 30), dtype=np.uint8)
    out = ge.local_entropy(image, (0, 2), dtype=np.float64)
    want = sk_entropy(image, np.ones((1, 5), bool))
    np.testing.assert_allclose(out, want, atol=1e-9)
    for mode in ("clip", "reflect", "mirror", "wrap"):  # radius beyond the image size
        a = ge.local_entropy(image, 9, mode=mode, backend="cpu")
        b = ge.local_entropy(image, 9, mode=mode, backend="reference")
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- all namespaces
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_reference_path_on_every_namespace(xp, mode):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 9, (9, 10)).astype(np.uint8)
    mask = rng.random(image.shape) > 0.1
    want = expected(("local_entropy", image, mask, 1, mode, "miller-madow"),
                    lambda: ge.local_entropy(image, 1, mode=mode, mask=mask,
                                             estimator="miller-madow", backend="cpu"))
    if xp is None:  # GPU run that only fills or checks the stored cpu side
        return
    got = ge.local_entropy(xp.asarray(image), 1, mode=mode, mask=xp.asarray(mask),
                           estimator="miller-madow", backend="reference")
    assert type(got).__module__.split(".")[0] == xp.__name__.split(".")[0]
    np.testing.assert_array_equal(to_host(got), want)


def test_float_bins_on_every_namespace(xp):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(8, 9))
    x[2, 2] = np.nan
    want = expected(("local_expected", "laurent", x, 1, 5),
                    lambda: ge.local_expected(x, lambda p: 1 / p - 1, 1, bins=5, backend="cpu"))
    if xp is None:  # GPU run that only fills or checks the stored cpu side
        return
    got = ge.local_expected(xp.asarray(x), lambda p: 1 / p - 1, 1, bins=5, backend="reference")
    np.testing.assert_array_equal(to_host(got), want)


# ---------------------------------------------------------------- cpu == reference, bit for bit
_MODES = st.sampled_from(["clip", "reflect", "mirror", "wrap"])
_ESTIMATORS = st.sampled_from(["plugin", "miller-madow", "grassberger", "dirichlet"])


@st.composite
def _images(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    kind = draw(st.sampled_from(["uint8", "bool", "uint16", "int32", "float"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    nlev = draw(st.sampled_from([2, 3, 8, 256]))
    if kind == "bool":
        return rng.random((h, w)) > 0.5, {}
    if kind == "float":
        x = rng.normal(size=(h, w))
        x[rng.random((h, w)) < 0.15] = np.nan
        return x, {"bins": draw(st.integers(1, 12))}
    values = rng.integers(0, nlev, (h, w))
    return values.astype(kind), {}


@st.composite
def _windows(draw):
    if draw(st.booleans()):
        return {"radius": draw(st.integers(0, 3))}
    fh = draw(st.sampled_from([1, 3, 5]))
    fw = draw(st.sampled_from([1, 3, 5, 7]))
    seed = draw(st.integers(0, 2**32 - 1))
    fp = np.random.default_rng(seed).random((fh, fw)) > 0.4
    fp[fh // 2, fw // 2] = True
    return {"footprint": fp}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=_images(), window=_windows(), mode=_MODES, estimator=_ESTIMATORS,
       use_mask=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]),
       base=st.sampled_from([2, math.e, 10]))
def test_cpu_equals_reference_bit_for_bit(image, window, mode, estimator, use_mask, dtype, base):
    arr, level_opts = image
    mask = None
    if use_mask:
        mask = np.random.default_rng(arr.size).random(arr.shape) > 0.3
    kw = dict(window, mode=mode, estimator=estimator, mask=mask, dtype=dtype, base=base,
              **level_opts)
    a = ge.local_entropy(arr, backend="cpu", **kw)
    b = ge.local_entropy(arr, backend="reference", **kw)
    assert a.dtype == b.dtype == dtype
    np.testing.assert_array_equal(a, b)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=_images(), window=_windows(), mode=_MODES, use_mask=st.booleans(),
       which=st.sampled_from(["laurent", "taylor", "renyi2", "renyi0.5"]))
def test_cpu_equals_reference_for_expected_values(image, window, mode, use_mask, which):
    arr, level_opts = image
    mask = np.random.default_rng(1).random(arr.shape) > 0.3 if use_mask else None
    kw = dict(window, mode=mode, mask=mask, **level_opts)
    if which.startswith("renyi"):
        alpha = float(which[5:])
        a = ge.local_renyi_entropy(arr, alpha, backend="cpu", **kw)
        b = ge.local_renyi_entropy(arr, alpha, backend="reference", **kw)
    else:
        f = (lambda p: 1 / p - 1) if which == "laurent" else (lambda p: -(1 + p))
        a = ge.local_expected(arr, f, backend="cpu", **kw)
        b = ge.local_expected(arr, f, backend="reference", **kw)
    np.testing.assert_array_equal(a, b)


def test_three_d_volume_cpu_equals_reference():
    rng = np.random.default_rng(2)
    vol = rng.integers(0, 5, (5, 6, 7)).astype(np.uint8)
    for mode in ("clip", "reflect"):
        a = ge.local_entropy(vol, 1, mode=mode, backend="cpu")
        b = ge.local_entropy(vol, 1, mode=mode, backend="reference")
        np.testing.assert_array_equal(a, b)


def _fast_path_image(content, shape, rng):
    if content == "random":
        return rng.integers(0, 256, shape).astype(np.uint8)
    if content == "flat":
        return np.full(shape, 9, dtype=np.uint8)
    # flat patches: most leaving and entering levels are equal, some are not
    patches = np.kron(rng.integers(0, 4, (shape[0] // 4 + 1, shape[1] // 5 + 1)),
                      np.ones((4, 5), dtype=np.int64))
    return (patches[:shape[0], :shape[1]] * 60).astype(np.uint8)


@pytest.mark.parametrize("content", ["random", "flat", "patches"])
@pytest.mark.parametrize("estimator", ["plugin", "miller-madow", "grassberger", "dirichlet"])
def test_four_lines_at_once_and_padded_rows_equal_reference(content, estimator):
    # Without a mask, interior lines slide four at a time through one histogram and skip
    # rows whose leaving and entering levels are equal: windows of 3 rows and more, heights
    # that are not multiples of four, every boundary mode, 8-bit and 16-bit levels. Rows of
    # 256 levels (8-bit) or 64 (int32 in the kernel) are read from a copy in longer rows.
    rng = np.random.default_rng(11)
    for shape, radii in (((23, 41), (1, 2, 5)), ((13, 256), (1, 4)), ((9, 64), (2,))):
        image = _fast_path_image(content, shape, rng)
        for r in radii:
            for mode in ("clip", "reflect", "wrap"):
                for fp in (_box(r), disk(r)):
                    for levels in (image, image.astype(np.uint16) * 7):
                        kw = dict(footprint=fp, mode=mode, estimator=estimator,
                                  dtype=np.float64)
                        a = ge.local_entropy(levels, backend="cpu", **kw)
                        b = ge.local_entropy(levels, backend="reference", **kw)
                        np.testing.assert_array_equal(a, b)
    image = _fast_path_image(content, (10, 64), rng)  # the general loop on longer rows
    kw = dict(mask=rng.random(image.shape) > 0.2, estimator=estimator, dtype=np.float64)
    np.testing.assert_array_equal(ge.local_entropy(image, 2, backend="cpu", **kw),
                                  ge.local_entropy(image, 2, backend="reference", **kw))
    image = _fast_path_image(content, (10, 256), rng)
    np.testing.assert_array_equal(ge.local_expected(image, np.sqrt, 2, backend="cpu"),
                                  ge.local_expected(image, np.sqrt, 2, backend="reference"))
    vol = _fast_path_image(content, (3, 17, 13), rng)  # lines of several planes
    a = ge.local_entropy(vol, 1, estimator=estimator, backend="cpu")
    np.testing.assert_array_equal(a, ge.local_entropy(vol, 1, estimator=estimator,
                                                      backend="reference"))
