"""gpuent.skimage against what scikit-image's own tests assert, and against scikit-image itself.

The first tests restate the cases of scikit-image's ``test_rank.py`` (entropy of
tiled patterns of 2**k equally frequent levels, bit depths 1-12, asserted with
``==``; 16-bit means; trivial and empty footprints; in-place refusal) and of its
``test_entropy.py`` (shannon_entropy of constant and all-unique images); they
need no scikit-image. The comparisons with scikit-image skip without it.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

import gpuent.skimage
from gpuent.skimage.filters import rank
from gpuent.skimage.measure import shannon_entropy


def _tiled(k):
    tile = np.arange(2**k).reshape(2 ** (k // 2), 2 ** (k - k // 2))
    return np.tile(tile, (10, 10)).astype(np.uint8)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6, 8])
def test_entropy_of_tiled_bit_depths_is_exact(k):
    footprint = np.ones((16, 16), dtype=np.uint8)
    out = rank.entropy(_tiled(k), footprint)
    assert out.dtype == np.float64
    assert np.max(out) == k


def test_entropy_12_bits_uint16():
    data = np.zeros((65, 65), dtype=np.uint16)
    data[:64, :64] = np.reshape(np.arange(4096), (64, 64))
    assert np.max(rank.entropy(data, np.ones((64, 64), dtype=np.uint8))) == 12
    assert rank.entropy(data, np.ones((16, 16), dtype=np.uint8)).dtype == np.float64


def test_entropy_3d_tiled_volume_is_exact():
    volume = np.tile(np.arange(8).reshape(2, 2, 2), (4, 5, 6)).astype(np.uint8)
    out = rank.entropy(volume, np.ones((4, 4, 4)))
    assert out.dtype == np.float64
    assert np.max(out) == 3
    assert out[2:-2, 2:-2, 2:-2].min() == 3  # every full window holds each level 8 times


def test_entropy_of_one_level_is_zero_and_empty_windows_give_zero():
    image = np.full((9, 10), 7, dtype=np.uint8)
    assert np.all(rank.entropy(image, np.ones((3, 3))) == 0)
    assert np.all(rank.entropy(image, np.ones((3, 3)), mask=np.zeros_like(image)) == 0)
    assert np.all(rank.entropy(image, np.zeros((3, 3))) == 0)


@pytest.mark.parametrize("bitdepth", range(17))
def test_mean_16bit(bitdepth):
    image = np.zeros((100, 100), dtype=np.uint16)
    value = 2**bitdepth - 1
    image[10, 10] = value
    elem = np.ones((3, 3), dtype=np.uint8)
    assert rank.mean(image, elem)[10, 10] == int(value / elem.size)


def test_trivial_and_empty_footprints():
    image = np.random.default_rng(0).integers(0, 256, (20, 21)).astype(np.uint8)
    np.testing.assert_array_equal(rank.mean(image, np.ones((1, 1))), image)
    assert np.all(rank.entropy(image, np.ones((1, 1))) == 0)
    np.testing.assert_array_equal(rank.mean(image, np.zeros((3, 3))), np.zeros_like(image))


def test_output_dtypes_and_out():
    image = _tiled(2)
    fp = np.ones((4, 4))
    assert rank.mean(image, fp).dtype == np.uint8
    assert rank.mean(image.astype(np.uint16), fp).dtype == np.uint16
    out = np.empty(image.shape, dtype=np.float32)
    res = rank.entropy(image, fp, out=out)
    assert res.dtype == np.float32 and np.shares_memory(res, out)
    assert out.max() == 2
    out = np.empty(image.shape + (1,), dtype=np.float64)  # scikit-image's pixel-vector out
    res = rank.mean(image, fp, out=out)
    assert res.shape == image.shape and np.shares_memory(res, out)


def test_errors_and_warnings():
    image = _tiled(1)
    with pytest.raises(NotImplementedError, match="in place"):
        rank.entropy(image, np.ones((3, 3)), out=image)
    with pytest.raises(ValueError, match="bool"):
        rank.entropy(image.astype(bool), np.ones((3, 3)))
    with pytest.raises(ValueError, match="dimensions"):
        rank.entropy(image, np.ones((3, 3, 3)))
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        rank.entropy(np.zeros((2, 3, 4, 5), np.uint8), np.ones((3, 3, 3, 3)))
    with pytest.raises(ValueError, match="shift_x"):
        rank.entropy(image, np.ones((3, 3)), shift_x=2)
    with pytest.raises(ValueError, match="shift_z"):
        rank.entropy(np.zeros((4, 4, 4), np.uint8), np.ones((3, 3, 3)), shift_z=-2)
    pytest.importorskip("skimage")
    with pytest.warns(UserWarning, match="Possible precision loss"):
        res = rank.entropy(image.astype(np.float64) / 2, np.ones((3, 3)))
    assert res.dtype == np.float64
    with pytest.warns(UserWarning, match="boolean"):
        rank.mean(image, np.ones((3, 3)), shift_x=True)


def test_other_dtypes_without_scikit_image_refuse_without_a_conversion_warning(monkeypatch):
    # the warning said the image was being converted, then the call refused it
    import sys
    import warnings

    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.util", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match="convert it to uint8 first, or install scikit-image"):
            rank.entropy(_tiled(2).astype(np.int32), np.ones((3, 3)))


def test_shannon_entropy_cases():
    assert shannon_entropy(np.ones((10, 10)), base=np.e) == 0.0
    assert shannon_entropy(np.arange(64), base=2) == 6.0
    assert shannon_entropy(np.arange(64)) == 6.0
    assert shannon_entropy(np.repeat([3, 9], 7)) == 1.0
    assert shannon_entropy(np.arange(16), base=4) == 2.0
    assert math.isclose(shannon_entropy(np.arange(64), base=np.e), math.log(64), rel_tol=1e-15)


def test_docstring_examples():
    for module in (gpuent.skimage.filters.rank, gpuent.skimage.measure):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


# --- against scikit-image itself ----------------------------------------------------------


def _shifts(size):
    lo = -(size // 2)
    return sorted({lo, 0, size - 1 + lo})


@pytest.mark.parametrize("shape", [(16, 16), (2, 3), (4, 5), (3, 3), (1, 6)])
@pytest.mark.parametrize("use_mask", [False, True])
def test_2d_matches_scikit_image(shape, use_mask):
    sk = pytest.importorskip("skimage.filters.rank")
    rng = np.random.default_rng(sum(shape) + use_mask)
    image = rng.integers(0, 9, (23, 19)).astype(np.uint8)
    mask = (rng.random(image.shape) > 0.3).astype(np.uint8) if use_mask else None
    fp = rng.random(shape) > 0.2
    for sy in _shifts(shape[0]):
        for sx in _shifts(shape[1]):
            kw = dict(mask=mask, shift_x=sx, shift_y=sy)
            ours, theirs = rank.entropy(image, fp, **kw), sk.entropy(image, fp, **kw)
            assert ours.dtype == theirs.dtype
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
            ours, theirs = rank.mean(image, fp, **kw), sk.mean(image, fp, **kw)
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 3, 3)])
def test_3d_matches_scikit_image(shape):
    sk = pytest.importorskip("skimage.filters.rank")
    rng = np.random.default_rng(len(shape) + shape[0])
    volume = rng.integers(0, 5, (7, 8, 9)).astype(np.uint16)
    mask = (rng.random(volume.shape) > 0.2).astype(np.uint8)
    fp = rng.random(shape) > 0.2
    for sx, sy, sz in [(0, 0, 0), (-1, 0, 1), (0, 1, -1)]:
        kw = dict(mask=mask, shift_x=sx, shift_y=sy, shift_z=sz)
        ours, theirs = rank.entropy(volume, fp, **kw), sk.entropy(volume, fp, **kw)
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
        ours, theirs = rank.mean(volume, fp, **kw), sk.mean(volume, fp, **kw)
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_float_images_are_converted_as_scikit_image():
    sk = pytest.importorskip("skimage.filters.rank")
    image = np.random.default_rng(3).random((15, 16))
    with pytest.warns(UserWarning, match="Possible precision loss"):
        ours = rank.entropy(image, np.ones((5, 5)))
    with pytest.warns(UserWarning, match="Possible precision loss"):
        theirs = sk.entropy(image, np.ones((5, 5)))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_shannon_entropy_matches_scikit_image():
    skm = pytest.importorskip("skimage.measure")
    rng = np.random.default_rng(4)
    for image in (rng.integers(0, 50, (30, 30)), rng.random((8, 8)).round(1),
                  rng.integers(0, 3, 100).astype(bool)):
        for base in (2, math.e, 10):
            assert math.isclose(shannon_entropy(image, base=base),
                                skm.shannon_entropy(image, base=base), rel_tol=1e-14)


@pytest.mark.gpu
def test_cupy_input_runs_on_the_gpu_and_matches_numpy():
    import cupy as cp

    image = np.random.default_rng(5).integers(0, 16, (40, 41)).astype(np.uint8)
    mask = np.random.default_rng(6).random(image.shape) > 0.2
    fp = np.ones((4, 6))
    for fn in (rank.entropy, rank.mean):
        got = fn(cp.asarray(image), fp, mask=cp.asarray(mask), shift_x=1)
        assert isinstance(got, cp.ndarray)
        np.testing.assert_array_equal(got.get(), fn(image, fp, mask=mask, shift_x=1))
    assert shannon_entropy(cp.asarray(image)) == shannon_entropy(image)
