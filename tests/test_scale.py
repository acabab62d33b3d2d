"""gaussian_blur and entropy_vs_blur (seed section 4)."""

import numpy as np
import pytest
from scipy import ndimage

from gpuent._backend import to_numpy
from gpuent.entropy import intensity_entropy
from gpuent.scale import entropy_vs_blur, gaussian_blur


@pytest.fixture
def noise():
    return np.random.default_rng(0).integers(0, 256, (64, 80)).astype(np.uint8)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap", "nearest"])
def test_gaussian_blur_is_scipy(xp, noise, mode):
    got = gaussian_blur(xp.asarray(noise), 2.5, mode=mode)
    ref = ndimage.gaussian_filter(noise.astype(np.float64), 2.5, mode=mode)
    np.testing.assert_allclose(to_numpy(got), ref, rtol=1e-12)
    f = xp.asarray(noise.astype(np.float32))
    assert gaussian_blur(f, (1, 0)).dtype == f.dtype


def test_sigma_zero_is_intensity_entropy(xp, noise):
    s, h = entropy_vs_blur(xp.asarray(noise), [0.0, 1.0])
    assert h[0] == intensity_entropy(noise)
    assert s.tolist() == [0.0, 1.0]
    f = noise.astype(np.float64) / 3.0
    _, hf = entropy_vs_blur(xp.asarray(f), [0], bins=32)
    assert hf[0] == intensity_entropy(f, bins=32)


def test_entropy_falls_with_blur_and_reflect_reaches_uniform(xp, noise):
    s, h = entropy_vs_blur(xp.asarray(noise), [0, 0.5, 1, 2, 4, 8, 1000])
    assert np.all(np.diff(h) < 0) or h[-1] == 0
    assert h[-1] <= 1.0  # the blur of white noise tends to one grey level (no GIGO)
    _, hn = entropy_vs_blur(noise, [1000], mode="nearest")
    assert hn[0] > h[-1]  # edge replication keeps boundary artefacts: the seed's GIGO


def test_relative_sigmas_are_fractions_of_the_size(noise):
    s, h = entropy_vs_blur(noise, [0.0, 0.025, 0.05], relative=True)
    _, h_px = entropy_vs_blur(noise, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(h, h_px)
    assert s.tolist() == [0.0, 0.025, 0.05]


def test_blurred_image_is_rounded_to_levels(noise):
    # by hand: round the scipy blur to uint8 levels, then intensity entropy
    ref = np.clip(np.round(ndimage.gaussian_filter(noise.astype(float), 3.0)), 0, 255)
    _, h = entropy_vs_blur(noise, [3.0])
    assert h[0] == pytest.approx(intensity_entropy(ref.astype(np.uint8)), abs=1e-12)
    b = noise > 128
    _, hb = entropy_vs_blur(b, [0, 2])
    assert hb[0] == pytest.approx(1.0, abs=0.01) and hb[1] <= 1.0


def test_errors(noise):
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(noise, -1)
    with pytest.raises(ValueError, match="mode"):
        gaussian_blur(noise, 1, mode="clip")
    with pytest.raises(ValueError, match="empty"):
        entropy_vs_blur(noise, [])
    with pytest.raises(ValueError, match=">= 0"):
        entropy_vs_blur(noise, [1, np.nan])
    with pytest.raises(ValueError, match="bins"):
        entropy_vs_blur(noise.astype(float), [1])


def test_cli_blur_entropy(tmp_path, noise, capsys):
    from gpuent.cli import main
    from gpuent.io import write_image

    src = tmp_path / "in.png"
    write_image(src, noise)
    assert main(["blur-entropy", str(src), "--sigmas", "0:2:3", "-o",
                 str(tmp_path / "c.csv"), "-q"]) == 0
    rows = [r for r in (tmp_path / "c.csv").read_text().splitlines() if not r.startswith("#")]
    assert rows[0] == "sigma,entropy_bits" and len(rows) == 4
    assert float(rows[1].split(",")[1]) == pytest.approx(intensity_entropy(noise))
    assert main(["blur-entropy", str(src), "--sigmas", "0,1"]) == 0
    assert "entropy (bits)" in capsys.readouterr().out
    assert main(["blur-entropy", str(src), "--sigmas", "0:1"]) == 2
