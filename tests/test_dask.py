"""Dask arrays in, Dask arrays out: the map equals the in-memory map bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import gpuent as ge

da = pytest.importorskip("dask.array")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MODES = ["clip", "reflect", "mirror", "wrap"]


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.fixture(scope="module")
def img():
    return np.random.default_rng(0).integers(0, 40, (37, 45), dtype=np.uint16)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("chunks", [(2, 3), (5, 7), (16, 45), (37, 45)])
def test_entropy_every_mode_and_chunking(img, mode, chunks):
    # radius 4: chunks (2, 3) and (5, 7) are smaller than the halo on some axis
    ref = ge.local_entropy(img, 4, mode=mode)
    lazy = ge.local_entropy(da.from_array(img, chunks=chunks), 4, mode=mode)
    assert isinstance(lazy, da.Array) and lazy.chunks == da.from_array(img, chunks=chunks).chunks
    _same(lazy.compute(), ref)


@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_uint8_footprint_estimators(mode):
    img = np.random.default_rng(1).integers(0, 256, (40, 33), dtype=np.uint8)
    fp = np.zeros((5, 7), bool)
    fp[2, :] = fp[:, 3] = True
    for est in ("plugin", "miller-madow", "grassberger", "dirichlet"):
        ref = ge.local_entropy(img, footprint=fp, mode=mode, estimator=est, dtype="float64")
        got = ge.local_entropy(da.from_array(img, chunks=(9, 4)), footprint=fp, mode=mode,
                               estimator=est, dtype="float64")
        _same(got.compute(), ref)


def test_integer_levels_use_the_global_max():
    img = np.zeros((30, 30), np.int32)
    img[25, 25] = 999  # only one chunk sees the maximum: K must still be 1000 everywhere
    img[:10, :10] = np.arange(100).reshape(10, 10) % 7
    ref = ge.local_entropy(img, 2, estimator="dirichlet")
    _same(ge.local_entropy(da.from_array(img, chunks=10), 2, estimator="dirichlet").compute(),
          ref)


@pytest.mark.parametrize("mode", MODES)
def test_binned_float_global_range_nan_and_mask(mode):
    rng = np.random.default_rng(2)
    img = rng.normal(size=(30, 33))
    img[3, 4] = np.nan
    img[20:, 20:] *= 10  # the extremes live in one corner chunk
    mask = rng.random(img.shape) > 0.2
    ref = ge.local_entropy(img, 2, bins=16, mode=mode, mask=mask)
    got = ge.local_entropy(da.from_array(img, chunks=(4, 5)), 2, bins=16, mode=mode,
                           mask=da.from_array(mask, chunks=7))
    _same(got.compute(), ref)
    got = ge.local_entropy(da.from_array(img, chunks=(11, 33)), 2, bins=16, mode=mode,
                           mask=mask)  # a NumPy mask works too
    _same(got.compute(), ref)


def test_renyi_and_expected():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 9, (29, 31), dtype=np.uint8)
    d = da.from_array(img, chunks=(6, 8))
    for alpha in (0.0, 0.5, 2.0, 1.0):
        _same(ge.local_renyi_entropy(d, alpha, 3, mode="reflect").compute(),
              ge.local_renyi_entropy(img, alpha, 3, mode="reflect"))
    f = lambda p: 1 / p - 1  # noqa: E731
    _same(ge.local_expected(d, f, footprint=np.ones((3, 5), bool), mode="mirror").compute(),
          ge.local_expected(img, f, footprint=np.ones((3, 5), bool), mode="mirror"))


@pytest.mark.parametrize("mode", MODES)
def test_volume(mode):
    vol = np.random.default_rng(4).integers(0, 256, (12, 13, 14), dtype=np.uint8)
    got = ge.local_entropy(da.from_array(vol, chunks=(5, 2, 6)), 2, mode=mode)
    _same(got.compute(), ge.local_entropy(vol, 2, mode=mode))


def test_errors_are_eager():
    d = da.zeros((10, 10), chunks=5, dtype=np.float32)
    with pytest.raises(ValueError, match="bins"):
        ge.local_entropy(d, 1)
    with pytest.raises(ValueError, match="mode"):
        ge.local_entropy(da.zeros((10, 10), chunks=5, dtype=np.uint8), 1, mode="nearest")
    with pytest.raises(ValueError, match="infinite"):
        ge.local_entropy(da.from_array(np.array([[np.inf, 0.0], [1.0, 2.0]])), 1, bins=4)
    with pytest.raises(ValueError, match="mask"):
        ge.local_entropy(da.zeros((10, 10), chunks=5, dtype=np.uint8), 1,
                         mask=np.ones((3, 3), bool))


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 14), w=st.integers(1, 14), ch=st.integers(1, 9), cw=st.integers(1, 9),
       r=st.integers(0, 5), mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_random_chunkings(h, w, ch, cw, r, mode, seed):
    img = np.random.default_rng(seed).integers(0, 5, (h, w), dtype=np.uint8)
    got = ge.local_entropy(da.from_array(img, chunks=(ch, cw)), r, mode=mode)
    _same(got.compute(), ge.local_entropy(img, r, mode=mode))


def test_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    img = np.random.default_rng(5).integers(0, 256, (64, 70), dtype=np.uint8)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        lazy = ge.local_entropy(da.from_array(img, chunks=(20, 30)), 3, mode="wrap")
        got = client.compute(lazy).result()
    _same(got, ge.local_entropy(img, 3, mode="wrap"))
