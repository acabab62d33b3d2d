"""The one mask-to-sentinel step (``_levels.sentinel_levels``) that both fast paths use."""

from __future__ import annotations

import array_api_strict as xps
import numpy as np
import pytest

from gpuent._backend import array_namespace
from gpuent._kernels.histogram import _cpu, _cuda
from gpuent._levels import NOT_COUNTED, sentinel_levels


def _brute(levels, valid):
    out = np.empty(levels.shape, np.int32)
    for idx in np.ndindex(levels.shape):
        out[idx] = int(levels[idx]) if valid[idx] else -1
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, bool])
@pytest.mark.parametrize("shape", [(0, 3), (5, 7), (3, 4, 5)])
def test_sentinel_levels_numpy_and_strict(dtype, shape):
    rng = np.random.default_rng(7)
    top = 2 if dtype is bool else (65536 if dtype is np.uint16 else 256)
    levels = rng.integers(0, top, shape).astype(dtype)
    valid = rng.random(shape) < 0.6
    want = _brute(levels, valid)
    got = sentinel_levels(array_namespace(levels), levels, valid)
    assert got.dtype == np.int32 and np.array_equal(got, want)
    assert NOT_COUNTED == -1
    sl, sv = xps.asarray(levels), xps.asarray(valid)
    got = sentinel_levels(array_namespace(sl, sv), sl, sv)
    assert got.dtype == xps.int32 and np.array_equal(np.asarray(got), want)


def test_without_a_mask_the_levels_come_back_unchanged():
    levels = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert sentinel_levels(np, levels, None) is levels


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32])
def test_both_launchers_use_it(dtype):
    """The cpu and cuda launchers' kernel inputs equal ``sentinel_levels`` bit for bit
    (the cuda launcher run on NumPy arrays, its ``cp`` being NumPy)."""
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 200, (6, 9)).astype(dtype)
    valid = rng.random((6, 9)) < 0.5
    want = _brute(levels, valid)
    for got in (_cpu.kernel_levels(levels, valid), _cuda._device_levels(np, levels, valid)):
        assert got.dtype == np.int32 and np.array_equal(got, want)
        assert got.flags.c_contiguous
