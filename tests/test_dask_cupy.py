"""Dask arrays keep their chunk type: NumPy chunks give NumPy chunks, CuPy chunks CuPy chunks.

The CuPy half runs on a GPU machine (``-m gpu``); the README's dask_cuda example is
run there too when dask_cuda is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpuent as ge
from gpuent._backend import cupy_or_none

da = pytest.importorskip("dask.array")

MAPS = {
    "entropy": lambda x: ge.local_entropy(x, 3, mode="reflect"),
    "expected": lambda x: ge.local_expected(x, lambda p: p * p, 2, mode="wrap"),
    "renyi": lambda x: ge.local_renyi_entropy(x, 2.0, 2),
}


def _img():
    return np.random.default_rng(7).integers(0, 256, (70, 53), dtype=np.uint8)


@pytest.mark.parametrize("kind", sorted(MAPS))
def test_numpy_chunks_keep_numpy_meta(kind):
    img = _img()
    lazy = MAPS[kind](da.from_array(img, chunks=(16, 20)))
    assert type(lazy._meta) is np.ndarray
    blocks = lazy.to_delayed().ravel()
    assert all(type(b.compute()) is np.ndarray for b in blocks[:3])
    np.testing.assert_array_equal(lazy.compute(), MAPS[kind](img))


@pytest.mark.gpu
@pytest.mark.parametrize("kind", sorted(MAPS))
def test_cupy_chunks_give_cupy_chunks(kind):
    cp = cupy_or_none()
    img = _img()
    image = da.from_array(img, chunks=(16, 20)).map_blocks(cp.asarray)
    lazy = MAPS[kind](image)
    assert type(lazy._meta) is cp.ndarray
    out = lazy.compute(scheduler="threads")
    assert type(out) is cp.ndarray
    # the chunked CUDA map is bit for bit the in-memory CUDA map
    cp.testing.assert_array_equal(out, MAPS[kind](cp.asarray(img)))


@pytest.mark.gpu
def test_readme_dask_cuda_example(tmp_path):
    """The README's LocalCUDACluster example, on the machine's GPU(s), with a small image."""
    pytest.importorskip("dask_cuda")
    zarr = pytest.importorskip("zarr")
    cp = cupy_or_none()
    from dask_cuda import LocalCUDACluster
    from distributed import Client

    img = _img()
    zarr.save_array(str(tmp_path / "big.zarr"), img, chunks=(32, 32))
    with LocalCUDACluster(n_workers=1) as cluster, Client(cluster):
        image = da.from_zarr(str(tmp_path / "big.zarr"), chunks=(32, 32)).map_blocks(cp.asarray)
        ge.local_entropy(image, 7).map_blocks(cp.asnumpy).to_zarr(str(tmp_path / "e.zarr"))
    got = zarr.open_array(str(tmp_path / "e.zarr"), mode="r")[:]
    np.testing.assert_array_equal(got, ge.local_entropy(cp.asarray(img), 7).get())
