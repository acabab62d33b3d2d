"""Plug-in entropies are exact where the exact value is a float, and close to it elsewhere.

The oracle is the entropy of the window's counts with 60 significant digits
(:mod:`decimal`), independent of gpuent's fixed point.
"""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest

import gpuent as ge
from gpuent._exact import GLOBAL_BITS, log2_fixed, log2_fixed_int, plugin_bits
from gpuent._kernels.histogram.spec import plan_window

_CTX = decimal.Context(prec=60)


def exact_bits(counts):
    counts = [int(c) for c in np.asarray(counts).ravel() if c > 0]
    n = sum(counts)
    ln = _CTX.ln
    s = sum(decimal.Decimal(c) * ln(decimal.Decimal(c)) for c in counts)
    return float(_CTX.divide(ln(decimal.Decimal(n)) - s / n, ln(decimal.Decimal(2))))


def test_log2_tables_are_exact_under_powers_of_two():
    c = np.arange(1, 3000, dtype=np.int64)
    for bits in (20, 45, 52):
        lc = log2_fixed(c, bits)
        for k in range(1, 6):
            np.testing.assert_array_equal(log2_fixed(c << k, bits), lc + (k << bits))
        np.testing.assert_array_equal(log2_fixed(1 << np.arange(20), bits),
                                      np.arange(20) << bits)
    for x in (1, 3, 5, 7, 12345, 2**31 - 1):
        for k in (1, 7, 30):
            assert log2_fixed_int(x << k) == (k << GLOBAL_BITS) + log2_fixed_int(x)
        assert abs(log2_fixed_int(x) / 2**GLOBAL_BITS - math.log2(x)) <= 4 * math.ulp(31.0)
    assert log2_fixed_int(1) == 0 and log2_fixed_int(1 << 50) == 50 << GLOBAL_BITS


def _equal_levels_image(k, reps=8):
    tile = np.arange(2**k).reshape(2 ** (k // 2), 2 ** (k - k // 2))
    return np.tile(tile, (reps, reps)).astype(np.uint16)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("estimator", ["plugin", "miller-madow"])
def test_maps_of_equally_frequent_levels_are_exact(backend, estimator):
    for k in (0, 1, 2, 3, 4):
        image = _equal_levels_image(k)
        side = 2 ** (k - k // 2)  # a window of side*side periods holds each level equally
        fp = np.zeros((2 * side + 1,) * 2, dtype=bool)
        fp[:2 * side, :2 * side] = True
        got = ge.local_entropy(image, footprint=fp, dtype=np.float64, backend=backend,
                               estimator=estimator)
        inner = got[side:-side, side:-side]
        if estimator == "plugin" or k == 0:
            assert np.all(inner == k), (k, np.unique(inner))
        for base, value in ((4, k / 2), (16, k / 4)):
            if estimator == "plugin":
                got = ge.local_entropy(image, footprint=fp, dtype=np.float64, base=base,
                                       backend=backend)
                assert np.all(got[side:-side, side:-side] == value)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_one_level_is_zero_with_masks_and_modes(backend):
    image = np.full((13, 14), 5, dtype=np.uint8)
    mask = np.random.default_rng(0).random(image.shape) > 0.5
    for mode in ("clip", "reflect", "wrap"):
        for estimator in ("plugin", "miller-madow"):
            got = ge.local_entropy(image, 2, mode=mode, mask=mask, dtype=np.float64,
                                   estimator=estimator, backend=backend)
            assert np.all((got == 0) | np.isnan(got))


def test_random_windows_within_the_fixed_point_bound():
    rng = np.random.default_rng(1)
    for levels, r in ((2, 1), (16, 2), (256, 3), (7, 5)):
        image = rng.integers(0, levels, (24, 25)).astype(np.uint8)
        got = ge.local_entropy(image, r, dtype=np.float64, backend="cpu")
        fp = np.ones((2 * r + 1,) * 2, dtype=bool)
        bits = plan_window(image.shape, fp, "clip", 256, estimator="plugin").frac_bits
        for _ in range(60):
            y, x = int(rng.integers(0, 24)), int(rng.integers(0, 25))
            window = image[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1]
            exact = exact_bits(np.bincount(window.ravel()))
            # quantized logs (<= 2**-F bits) plus two roundings
            assert abs(got[y, x] - exact) <= math.ldexp(1.0, -bits) + 2 * math.ulp(exact)


def test_reference_and_cpu_stay_bit_identical():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 6, (21, 23)).astype(np.uint8)
    mask = rng.random(image.shape) > 0.2
    for estimator in ("plugin", "miller-madow"):
        for base in (2, math.e, 10):
            kw = dict(mode="reflect", mask=mask, estimator=estimator, base=base,
                      dtype=np.float64)
            np.testing.assert_array_equal(ge.local_entropy(image, 2, backend="reference", **kw),
                                          ge.local_entropy(image, 2, backend="cpu", **kw))


def test_global_entropy_is_exact_where_representable():
    half = np.zeros((10, 10), np.uint8)
    half[5:] = 1
    assert ge.intensity_entropy(half) == 1.0
    assert ge.intensity_entropy(np.zeros((4, 4), np.uint8)) == 0.0
    for k in range(1, 11):
        image = np.repeat(np.arange(2**k, dtype=np.uint16), 3)
        assert ge.intensity_entropy(image) == k
        assert ge.intensity_entropy(image, estimator="miller-madow") > k
    assert math.isclose(ge.intensity_entropy(half, base=math.e), math.log(2), rel_tol=2e-16)
    assert ge.shannon_entropy([1, 1]) == 1.0
    assert ge.shannon_entropy([0.5, 0.25, 0.25]) == 1.5


def test_global_entropy_is_within_two_ulps_of_the_exact_value():
    rng = np.random.default_rng(3)
    for _ in range(200):
        counts = rng.integers(0, int(rng.integers(2, 10**6)), int(rng.integers(2, 300)))
        h, n, _ = plugin_bits(counts)
        if n == 0:
            continue
        exact = exact_bits(counts)
        assert abs(h - exact) <= 2 * math.ulp(exact), counts
