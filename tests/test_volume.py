"""3-D volumes: local_entropy against scikit-image's rank.entropy on 3-D input."""

from __future__ import annotations

import numpy as np
import pytest

import gpuent as ge

rank = pytest.importorskip("skimage.filters.rank")
morphology = pytest.importorskip("skimage.morphology")


@pytest.fixture(scope="module")
def vol():
    return np.random.default_rng(0).integers(0, 256, (14, 17, 19), dtype=np.uint8)


@pytest.mark.parametrize("backend", ["reference", "cpu"])
@pytest.mark.parametrize("fp", ["cube1", "box", "ball2", "octa"])
def test_matches_skimage_3d(vol, backend, fp):
    footprint = {
        "cube1": np.ones((3, 3, 3), bool),
        "box": np.ones((3, 5, 7), bool),
        "ball2": morphology.ball(2).astype(bool),
        "octa": morphology.octahedron(2).astype(bool),
    }[fp]
    want = rank.entropy(vol, footprint)  # bits, clip-like borders
    got = ge.local_entropy(vol, footprint=footprint, backend=backend)
    assert got.shape == vol.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_cube_radius_equals_cube_footprint(vol):
    a = ge.local_entropy(vol, 1)
    b = ge.local_entropy(vol, footprint=np.ones((3, 3, 3), bool))
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a, rank.entropy(vol, np.ones((3, 3, 3), bool)), atol=1e-5)


def test_uint16_volume(vol):
    v = np.random.default_rng(1).integers(0, 700, (9, 10, 11), dtype=np.uint16)
    want = rank.entropy(v, np.ones((3, 3, 3), bool))
    np.testing.assert_allclose(ge.local_entropy(v, 1), want, atol=1e-5)


@pytest.mark.parametrize("mode", ["clip", "reflect", "mirror", "wrap"])
def test_cpu_equals_reference_3d(mode):
    v = np.random.default_rng(2).integers(0, 6, (7, 8, 9), dtype=np.uint8)
    fp = morphology.ball(1).astype(bool)
    for est in ("plugin", "dirichlet"):
        a = ge.local_entropy(v, footprint=fp, mode=mode, estimator=est, backend="reference")
        b = ge.local_entropy(v, footprint=fp, mode=mode, estimator=est, backend="cpu")
        assert np.array_equal(a, b, equal_nan=True)
