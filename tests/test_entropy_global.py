"""Global quantities: Rényi limits, expected(f), and Shannon/intensity entropy against
scipy.stats.entropy and skimage.measure.shannon_entropy (oracles no one here wrote)."""

import math

import numpy as np
import pytest

from gpuent._backend import to_numpy
from gpuent.entropy import (
    expected,
    intensity_distribution,
    intensity_entropy,
    renyi_entropy,
    shannon_entropy,
)


@pytest.fixture
def dist():
    p = np.random.default_rng(5).random(40)
    p[::7] = 0
    return p / p.sum()


def f(x):
    return float(to_numpy(x))


def test_renyi_tends_to_shannon(xp, dist):
    p = xp.asarray(dist)
    h = f(shannon_entropy(p))
    for a in (1 - 1e-6, 1 + 1e-6):
        assert f(renyi_entropy(p, a)) == pytest.approx(h, abs=1e-5)
    assert f(renyi_entropy(p, 1)) == pytest.approx(h, rel=1e-14)


def test_renyi_order_zero_is_log_support(xp, dist):
    support = int(np.count_nonzero(dist))
    assert f(renyi_entropy(xp.asarray(dist), 0)) == pytest.approx(math.log2(support))
    assert f(renyi_entropy(xp.asarray(dist), 0, base=math.e)) == pytest.approx(math.log(support))
    assert f(renyi_entropy(xp.asarray(dist), math.inf)) == pytest.approx(-math.log2(dist.max()))
    # non-increasing in the order
    hs = [f(renyi_entropy(xp.asarray(dist), a)) for a in (0, 0.5, 1, 2, 5, math.inf)]
    assert all(a >= b - 1e-12 for a, b in zip(hs, hs[1:], strict=False))


def test_expected_laurent_is_support_minus_one(xp, dist):
    support = int(np.count_nonzero(dist))
    got = f(expected(xp.asarray(dist), lambda p: -1 + 1 / p))
    assert got == pytest.approx(support - 1, rel=1e-12)
    taylor = f(expected(xp.asarray(dist), lambda p: -(1 + p)))
    assert taylor == pytest.approx(-(1 + (dist**2).sum()))
    surprisal = f(expected(xp.asarray(dist), lambda p: -xp.log2(p)))
    assert surprisal == pytest.approx(f(shannon_entropy(xp.asarray(dist))))


def test_shannon_matches_scipy(xp, dist):
    from scipy.stats import entropy

    assert f(shannon_entropy(xp.asarray(dist))) == pytest.approx(entropy(dist, base=2))
    counts = np.random.default_rng(1).integers(0, 50, (3, 17))
    got = to_numpy(shannon_entropy(xp.asarray(counts), base=math.e))
    np.testing.assert_allclose(got, entropy(counts, axis=-1), rtol=1e-12)


def test_intensity_entropy_matches_skimage(xp):
    skimage = pytest.importorskip("skimage")
    from skimage.measure import shannon_entropy as sk_entropy

    for img in (skimage.data.camera(), skimage.data.coins(),
                np.random.default_rng(0).integers(0, 256, (50, 60)).astype(np.uint8)):
        assert f(intensity_entropy(xp.asarray(img))) == pytest.approx(sk_entropy(img),
                                                                     rel=1e-12)
        assert f(intensity_entropy(xp.asarray(img), base=math.e)) == pytest.approx(
            sk_entropy(img, base=math.e), rel=1e-12
        )


def test_intensity_distribution_is_seed_histogram(xp):
    img = np.random.default_rng(3).integers(0, 256, (30, 40)).astype(np.uint8)
    ref, _ = np.histogram(img, bins=range(256 + 1), density=True)
    np.testing.assert_allclose(to_numpy(intensity_distribution(xp.asarray(img))), ref)


@pytest.mark.parametrize("bins", [1, 2, 256])
@pytest.mark.parametrize("image", [np.array([np.nan], np.float16), np.full((3, 4), np.nan)])
def test_an_image_with_nothing_to_count_is_refused_like_an_empty_one(image, bins):
    """Found by `make fuzz`: intensity_entropy of an all-NaN image with bins= returned NaN."""
    import gpuent as ge

    for fn in (ge.intensity_entropy, ge.intensity_distribution):
        with pytest.raises(ValueError, match="no pixel of the image is counted"):
            fn(image, bins=bins)
