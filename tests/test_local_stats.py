"""local_mean, local_std, block_map, window_map against brute force (seed mapbox, mapblocks)."""

import numpy as np
import pytest

from gpuent._backend import to_numpy
from gpuent._local_stats import block_map, local_mean, local_std, window_map
from gpuent.entropy import intensity_entropy


def mapbox(r, f, a):  # the seed notebook's kernel, verbatim (section 6)
    def box(x, y, r):
        return np.s_[max(0, x - r): x + r + 1, max(0, y - r): y + r + 1]

    return np.reshape([f(a[box(*i, r)]) for i in np.ndindex(np.shape(a))], np.shape(a))


def mapblocks(h, w, f, a):  # the seed notebook's block map, verbatim
    return np.array([[f(y) for y in np.array_split(x, w, axis=1)] for x in np.array_split(a, h)])


PAD = {"reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}


def brute(a, r, mode, f):
    if mode == "clip":
        return mapbox(r, f, a)
    p = np.pad(a.astype(np.float64), r, mode=PAD[mode])
    out = np.empty(a.shape)
    for i, j in np.ndindex(a.shape):
        out[i, j] = f(p[i: i + 2 * r + 1, j: j + 2 * r + 1])
    return out


@pytest.fixture
def img():
    return np.random.default_rng(1).integers(0, 256, (23, 31)).astype(np.uint8)


@pytest.mark.parametrize("r", [0, 1, 2, 7, 40])
def test_local_std_clip_is_seed_mapbox(xp, img, r):
    ref = mapbox(r, np.std, img)
    got = to_numpy(local_std(xp.asarray(img), r, dtype="float64"))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    got32 = to_numpy(local_std(xp.asarray(img), r))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, ref, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(to_numpy(local_mean(xp.asarray(img), r, dtype="float64")),
                               mapbox(r, np.mean, img), rtol=1e-12)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap"])
@pytest.mark.parametrize("r", [1, 3, 30])
def test_modes_against_padded_brute_force(xp, img, mode, r):
    got = to_numpy(local_std(xp.asarray(img), r, mode=mode, dtype="float64"))
    np.testing.assert_allclose(got, brute(img, r, mode, np.std), atol=1e-9)
    got = to_numpy(local_mean(xp.asarray(img), r, mode=mode, dtype="float64"))
    np.testing.assert_allclose(got, brute(img, r, mode, np.mean), rtol=1e-12)


def test_mean_modes_match_scipy_uniform_filter(img):
    from scipy import ndimage

    for mode in ("reflect", "mirror", "wrap"):
        ref = ndimage.uniform_filter(img.astype(np.float64), 7, mode=mode)
        np.testing.assert_allclose(local_mean(img, 3, mode=mode, dtype="float64"), ref,
                                   rtol=1e-12)


@pytest.mark.parametrize("mode", ["clip", "reflect", "mirror", "wrap"])
def test_cpu_path_equals_reference(img, mode):
    f = img.astype(np.float32) / 7 - 3
    for a in (img, f, img > 128, img.astype(np.int16) - 100):
        for r in (0, 2, (1, 4)):
            ref = local_std(a, r, mode=mode, backend="reference", dtype="float64")
            got = local_std(a, r, mode=mode, backend="cpu", dtype="float64")
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)
            ref = local_mean(a, r, mode=mode, backend="reference", dtype="float64")
            got = local_mean(a, r, mode=mode, backend="cpu", dtype="float64")
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_flat_region_has_zero_std_exactly():
    a = np.full((20, 20), 250, np.uint8)
    a[:3] = 0
    s = local_std(a, 2)
    assert np.all(s[8:, :] == 0)


def test_float_image_and_nan(xp):
    rng = np.random.default_rng(2)
    f = rng.normal(1e3, 1.0, (15, 12))
    np.testing.assert_allclose(to_numpy(local_std(xp.asarray(f), 2, dtype="float64")),
                               mapbox(2, np.std, f), rtol=1e-8)
    g = f.copy()
    g[4, 5] = np.nan
    ref = mapbox(1, np.nanstd, g)
    np.testing.assert_allclose(to_numpy(local_std(xp.asarray(g), 1, dtype="float64")), ref,
                               rtol=1e-8)
    h = np.full((5, 5), np.nan)
    assert np.all(np.isnan(to_numpy(local_mean(xp.asarray(h), 1))))


def test_1d_and_3d(xp):
    a = np.random.default_rng(3).integers(0, 9, (6, 7, 5)).astype(np.uint8)
    got = to_numpy(local_mean(xp.asarray(a), 1, dtype="float64"))
    ref = np.empty(a.shape)
    for idx in np.ndindex(a.shape):
        sl = tuple(slice(max(0, i - 1), i + 2) for i in idx)
        ref[idx] = a[sl].mean()
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    v = np.arange(6, dtype=np.uint8)
    np.testing.assert_allclose(to_numpy(local_mean(xp.asarray(v), 1)),
                               [0.5, 1, 2, 3, 4, 4.5])


def test_local_stats_errors(img):
    with pytest.raises(ValueError, match="mode"):
        local_std(img, 1, mode="nearest")
    with pytest.raises(ValueError, match="radius"):
        local_mean(img, -1)
    with pytest.raises(TypeError, match="dtype"):
        local_mean(img, 1, dtype="int8")
    with pytest.raises(ValueError, match="cpu"):
        local_mean(np.zeros((5, 5, 5)), 1, backend="cpu")


@pytest.mark.parametrize("blocks", [(1, 1), (2, 3), (5, 7), (23, 31), (4, 1)])
@pytest.mark.parametrize("name", ["mean", "std", "var", "sum", "min", "max", "any", "all"])
def test_block_map_builtins_match_array_split(xp, img, blocks, name):
    a = img.copy()
    a[a < 60] = 0
    f = getattr(np, name)
    ref = mapblocks(*blocks, f, a)
    got = block_map(xp.asarray(a), name, blocks)
    np.testing.assert_allclose(to_numpy(got), ref, rtol=1e-12)
    if name in ("mean", "std", "max"):
        np.testing.assert_allclose(to_numpy(block_map(xp.asarray(a), f, blocks)), ref, rtol=1e-12)


def test_block_map_entropy_and_callable(xp, img):
    ref = mapblocks(4, 5, intensity_entropy, img)
    np.testing.assert_allclose(to_numpy(block_map(xp.asarray(img), "entropy", (4, 5))), ref,
                               atol=1e-12)
    np.testing.assert_allclose(
        to_numpy(block_map(xp.asarray(img), intensity_entropy, (4, 5))), ref, atol=1e-12
    )
    rng = lambda b: float(np.ptp(np.asarray(b)))  # noqa: E731 - a generic callable
    np.testing.assert_allclose(to_numpy(block_map(xp.asarray(img), rng, (3, 2))),
                               mapblocks(3, 2, np.ptp, img))
    count = to_numpy(block_map(xp.asarray(img), "count", 2))
    assert count.tolist() == mapblocks(2, 2, np.count_nonzero, img).tolist()


def test_block_map_errors(img):
    with pytest.raises(ValueError, match="between 1"):
        block_map(img, "mean", (0, 2))
    with pytest.raises(ValueError, match="between 1"):
        block_map(img, "mean", (24, 2))
    with pytest.raises(ValueError, match="one per axis"):
        block_map(img, "mean", (2, 2, 2))
    with pytest.raises(ValueError, match="unknown block quantity"):
        block_map(img, "median", 2)


def test_window_map_is_seed_mapbox(xp, img):
    small = img[:9, :11]
    got = to_numpy(window_map(xp.asarray(small), lambda w: float(np.max(np.asarray(w))), 2))
    np.testing.assert_array_equal(got, mapbox(2, np.max, small))
    np.testing.assert_allclose(window_map(small, intensity_entropy, 1),
                               mapbox(1, intensity_entropy, small))
    with pytest.raises(TypeError, match="callable"):
        window_map(small, "mean", 1)


def test_cli_maps(tmp_path):
    from gpuent.cli import main
    from gpuent.io import write_image

    src = tmp_path / "in.png"
    write_image(src, np.random.default_rng(0).integers(0, 256, (40, 50)).astype(np.uint8))
    assert main(["maps", str(src), "--radii", "1,2", "--stat", "std", "-o",
                 str(tmp_path / "m.csv"), "-q"]) == 0
    lines = [r for r in (tmp_path / "m.csv").read_text().splitlines() if not r.startswith("#")]
    assert lines[0].startswith("radius,min,mean,max") and len(lines) == 3
    pytest.importorskip("matplotlib")
    assert main(["maps", str(src), "--radii", "1,3", "-o", str(tmp_path / "m.png"), "-q"]) == 0
    assert (tmp_path / "m.png").stat().st_size > 0
    assert main(["maps", str(src), "--radii", "a"]) == 2
