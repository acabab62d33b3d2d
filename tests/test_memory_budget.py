"""Maps over the memory budget are computed in tiles with halos, bit for bit the same map.

On a GPU the budget is the free device memory; here it is injected
(:func:`gpuent._stream.memory_budget`) so the tiled path runs on the reference
path of every host namespace. A device out-of-memory error is stood in for by a
``MemoryError`` (CuPy's ``OutOfMemoryError`` is one).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import to_host

import gpuent as ge
from gpuent import _stream
from gpuent._stream import memory_budget

skimage_rank = pytest.importorskip("skimage.filters.rank")


@pytest.fixture
def tiles(monkeypatch):
    """Counts the tiles computed (calls of compute_tile)."""
    calls = []
    real = _stream.compute_tile

    def counting(region, mask, maps, tile_shape, req):
        calls.append(tuple(tile_shape))
        return real(region, mask, maps, tile_shape, req)

    monkeypatch.setattr(_stream, "compute_tile", counting)
    return calls


def _img(shape, seed=0, high=256, dtype=np.uint8):
    return np.random.default_rng(seed).integers(0, high, shape, dtype=dtype)


@pytest.mark.parametrize("mode", ["clip", "reflect", "mirror", "wrap"])
def test_small_budget_tiles_bit_identical(xp, mode, tiles):
    img = _img((37, 29))
    mask = np.random.default_rng(1).random(img.shape) > 0.2
    a, m = xp.asarray(img), xp.asarray(mask)
    whole = to_host(ge.local_entropy(a, 3, mode=mode, mask=m, backend="reference"))
    assert len(tiles) == 1
    with memory_budget(16000):  # ~ 63 bytes per pixel: tiles of about 10 x 8
        tiled = ge.local_entropy(a, 3, mode=mode, mask=m, backend="reference")
    assert len(tiles) > 4
    assert type(tiled) is type(a)
    np.testing.assert_array_equal(to_host(tiled), whole)


def test_tiled_clip_is_skimage(tiles):
    from skimage.morphology import footprint_rectangle

    img = _img((40, 33), seed=2)
    with memory_budget(12000):
        out = ge.local_entropy(img, 2, backend="reference")
    assert len(tiles) > 4
    want = skimage_rank.entropy(img, footprint_rectangle((5, 5))).astype(np.float32)
    np.testing.assert_allclose(out, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("kind", ["expected", "renyi", "binned"])
def test_other_maps_and_volumes(xp, kind, tiles):
    if kind == "binned":
        img = np.random.default_rng(3).normal(size=(9, 14, 11))
        run = lambda a: ge.local_entropy(a, (1, 2, 1), bins=7, mode="reflect",  # noqa: E731
                                         backend="reference")
    elif kind == "expected":
        img = _img((30, 26), high=20, dtype=np.uint16)
        run = lambda a: ge.local_expected(a, lambda p: p, 2, backend="reference")  # noqa: E731
    else:
        img = _img((30, 26), seed=4)
        run = lambda a: ge.local_renyi_entropy(a, 2.0, 2, mode="wrap",  # noqa: E731
                                               backend="reference")
    a = xp.asarray(img)
    whole = to_host(run(a))
    with memory_budget(25000):
        tiled = to_host(run(a))
    assert len(tiles) > 2
    np.testing.assert_array_equal(tiled, whole)


def test_out_of_memory_falls_back_to_tiles(monkeypatch, tiles):
    """A MemoryError on the whole image (the device's OOM) reruns the map in tiles."""
    img = _img((48, 40), seed=5)
    want = ge.local_entropy(img, 2, mode="reflect", backend="reference")
    real = _stream._run_path

    def small_device(xp, levels, valid, plan, out_dtype, req):
        if int(np.prod(plan.shape)) > 600:
            raise MemoryError("out of memory allocating (stand-in for the GPU)")
        return real(xp, levels, valid, plan, out_dtype, req)

    monkeypatch.setattr(_stream, "_run_path", small_device)
    tiles.clear()
    got = ge.local_entropy(img, 2, mode="reflect", backend="reference")
    assert len(tiles) > 2
    np.testing.assert_array_equal(got, want)


def test_budget_too_small_for_one_window_says_what_to_do():
    img = _img((20, 20))
    with memory_budget(100), pytest.raises(MemoryError, match="memory budget"):
        ge.local_entropy(img, 4, backend="reference")
    with pytest.raises(ValueError, match="positive"), memory_budget(0):
        pass


def test_budget_is_restored_and_unbounded_on_the_host():
    assert _stream.current_budget(np) is None
    with memory_budget(1234):
        assert _stream.current_budget(np) == 1234
        with memory_budget(None):
            assert _stream.current_budget(np) is None
    assert _stream.current_budget(np) is None
