"""One request pipeline: window sizing by the image, cost limits, levels, keys, signatures."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from scipy import special

import gpuent as ge
from gpuent import _stream
from gpuent._kernels.histogram import spec
from gpuent._kernels.histogram.reference import windowed_reference

skimage = pytest.importorskip("skimage")
from skimage.filters.rank import entropy as sk_entropy  # noqa: E402
from skimage.measure import shannon_entropy  # noqa: E402


@pytest.fixture(scope="module")
def small():
    return np.random.default_rng(0).integers(0, 7, (23, 19), dtype=np.uint8)


# ---------------------------------------------------------------- windows wider than the image
@pytest.mark.parametrize("radius", [22, 23, 500, 10000, 10**20, (3, 10**6)])
def test_clip_window_wider_than_image_is_the_image(small, radius):
    ours = ge.local_entropy(small, radius, dtype=np.float64)
    rr = (radius,) * 2 if np.isscalar(radius) else radius
    fp = np.ones(tuple(2 * min(r, n - 1) + 1 for r, n in zip(rr, small.shape)), dtype=bool)
    np.testing.assert_allclose(ours, sk_entropy(small, fp), atol=1e-6, rtol=0)
    if np.isscalar(radius):
        np.testing.assert_allclose(ours, shannon_entropy(small), atol=1e-9)


def test_clip_wide_footprint_is_cropped(small):
    fp = np.zeros((101, 7), dtype=bool)
    fp[::3, ::2] = True
    fp[50, 3] = True
    ours = ge.local_entropy(small, footprint=fp, dtype=np.float64)
    # pixels farther than the image reaches never count: scikit-image on the cropped footprint
    np.testing.assert_allclose(ours, sk_entropy(small, fp[50 - 22:50 + 23]), atol=1e-6, rtol=0)


def test_every_radius_past_the_image_gives_the_same_bits(small):
    ref = ge.local_entropy(small, 22, estimator="grassberger")
    for r in (23, 100, 10**9):
        assert ge.local_entropy(small, r, estimator="grassberger").tobytes() == ref.tobytes()


def test_reflect_window_out_of_proportion_is_refused_before_allocating(small):
    with pytest.raises(ValueError, match=r"GiB of window tables, above gpuent's limit.*'clip'"):
        ge.local_entropy(small, 10000, mode="reflect")
    with pytest.raises(ValueError, match="window tables") as info:
        ge.local_renyi_entropy(small, 2, 10**12, mode="wrap")
    assert "gpuent._kernels" not in str(info.value)  # no internal name a user cannot change


def test_time_limit_names_the_limit(monkeypatch, small):
    monkeypatch.setattr(spec, "MAX_UPDATES", 10**5)
    with pytest.raises(ValueError, match=r"histogram updates .* above the limit of 1e\+05"):
        ge.local_entropy(small, 30, mode="wrap")
    # a window of the image's proportions is never refused for time
    ge.local_entropy(small, 5, mode="wrap")


def test_reflect_window_wider_than_image_matches_reference(small):
    # still computed (counting pixels several times) when its cost is in proportion
    tiny = small[:6, :5]
    ours = ge.local_entropy(tiny, 7, mode="reflect", dtype=np.float64)
    ref = ge.local_entropy(tiny, 7, mode="reflect", dtype=np.float64, backend="reference")
    assert ours.tobytes() == ref.tobytes()
    padded = np.pad(tiny, 7, mode="symmetric")
    brute = np.array([[shannon_entropy(padded[i:i + 15, j:j + 15]) for j in range(5)]
                      for i in range(6)])
    np.testing.assert_allclose(ours, brute, atol=1e-9)


# ---------------------------------------------------------------- edge pairs
def _pairs_brute(us, dxs):
    present = set(zip(us.tolist(), dxs.tolist()))
    pairs = []
    for u in sorted(set(us.tolist())):
        row = sorted(dx for uu, dx in present if uu == u)
        leave = [dx for dx in row if (u, dx - 1) not in present]
        enter = [dx for dx in row if (u, dx + 1) not in present]
        pairs.extend((dl, de, u) for dl, de in zip(leave, enter))
    return sorted(pairs)


@pytest.mark.parametrize("seed", range(20))
def test_edge_pairs_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    fp = rng.random((2 * rng.integers(0, 6) + 1, 2 * rng.integers(0, 6) + 1)) < rng.random()
    fp[fp.shape[0] // 2, fp.shape[1] // 2] = True
    offs = np.argwhere(fp)
    u, start, gl, ge_ = spec.edge_pairs(offs[:, 0], offs[:, 1])
    got = [(int(gl[g]), int(ge_[g]), int(uu)) for g in range(gl.size)
           for uu in u[start[g]:start[g + 1]]]
    assert got == _pairs_brute(offs[:, 0], offs[:, 1])
    assert len(set(zip(gl.tolist(), ge_.tolist()))) == gl.size


# ---------------------------------------------------------------- nlevels
def _dirichlet(values, k):
    counts = np.bincount(values.ravel(), minlength=k)
    n = counts.sum()
    a = n + k
    return (special.digamma(a + 1) - np.sum((counts + 1) / a * special.digamma(counts + 2))) \
        / np.log(2)


def test_nlevels_sets_k_for_dirichlet(small):
    as_u8 = ge.local_entropy(small, 100, nlevels=7, estimator="dirichlet", dtype=np.float64)
    as_u16 = ge.local_entropy(small.astype(np.uint16), 100, nlevels=7, estimator="dirichlet",
                              dtype=np.float64)
    assert as_u8.tobytes() == as_u16.tobytes()
    np.testing.assert_allclose(as_u8, _dirichlet(small, 7), atol=1e-9)
    default_u8 = ge.local_entropy(small, 100, estimator="dirichlet", dtype=np.float64)
    np.testing.assert_allclose(default_u8, _dirichlet(small, 256), atol=1e-9)


def test_nlevels_does_not_change_plugin(small):
    a = ge.local_entropy(small, 2, nlevels=300)
    assert a.tobytes() == ge.local_entropy(small, 2).tobytes()


@pytest.mark.parametrize("kwargs, match", [
    ({"nlevels": 5}, r"nlevels=5 but the image holds values 0\.\.6"),
    ({"nlevels": 0}, "nlevels must be between"),
    ({"nlevels": 2.5}, "nlevels must be a positive integer"),
    ({"nlevels": 8, "bins": 4}, "disagree"),
])
def test_nlevels_errors(small, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ge.local_entropy(small, 2, **kwargs)


# ---------------------------------------------------------------- requests and paths
def test_dask_keys_are_deterministic(small):
    da = pytest.importorskip("dask.array")
    image = da.from_array(small, chunks=8)
    a = ge.local_entropy(image, 3)
    assert a.name == ge.local_entropy(image, 3).name
    assert a.name != ge.local_entropy(image, 4).name
    assert a.name != ge.local_entropy(image, 3, estimator="dirichlet").name
    np.testing.assert_array_equal(a.compute(scheduler="sync"), ge.local_entropy(small, 3))


def test_in_memory_call_is_one_tile_of_the_streaming_executor(small):
    req = _stream.make_request("entropy", small.shape, small.dtype, radius=4, mode="mirror",
                               stats=lambda need: (0, 6))
    whole = _stream.execute(req, small)
    assert whole.tobytes() == ge.local_entropy(small, 4, mode="mirror").tobytes()
    tiles = np.empty(small.shape, np.float32)
    for t in _stream.tiles_of(small.shape, (5, 7)):
        geo = _stream.tile_geometry(req.shape, req.radii, req.mode, t)
        region = small[np.ix_(geo[0][0], geo[1][0])]
        tiles[tuple(slice(a, b) for a, b in t)] = _stream.compute_tile(
            region, None, [g[1] for g in geo], [b - a for a, b in t], req)
    assert tiles.tobytes() == whole.tobytes()


def test_slow_fallback_warns_once(monkeypatch):
    monkeypatch.setattr(_stream, "_warned", set())
    fake_cupy = types.ModuleType("cupy")
    with pytest.warns(RuntimeWarning, match="no usable GPU"):
        assert _stream.choose_path(fake_cupy, 3, "entropy", None) == "reference"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _stream.choose_path(fake_cupy, 3, "entropy", None) == "reference"
        assert _stream.choose_path(fake_cupy, 3, "entropy", "reference") == "reference"


def test_registry_capabilities():
    names = {p.name: p for p in _stream.PATHS}
    assert names["cuda"].ndims == (2, 3)
    assert set(names) == {"cuda", "cpu", "reference"}
    for p in _stream.PATHS:
        assert set(p.kinds) == set(_stream.KINDS)


def test_reference_plan_unchanged_by_cropping(small):
    # the plan of a window inside the image is the one it always was
    fp = np.ones((5, 5), dtype=bool)
    plan = spec.plan_window(small.shape, fp, "clip", 7, estimator="plugin", base=2.0)
    ours = windowed_reference(np, small.astype(np.int64), None, plan, np.float64)
    assert ours.tobytes() == ge.local_entropy(small, 2, dtype=np.float64).tobytes()


# ---------------------------------------------------------------- docs where help() shows them
@pytest.mark.parametrize("func", [ge.local_entropy, ge.local_expected, ge.local_renyi_entropy])
def test_window_parameters_in_every_docstring(func):
    doc = func.__doc__
    for name in ("radius :", "footprint :", "mode :", "bins :", "value_range :", "nlevels :",
                 "mask :", "dtype :", "backend :", "Raises", "See Also"):
        assert name in doc, (func.__name__, name)
    assert "{window}" not in doc and "{raises}" not in doc


# ---------------------------------------------------------------- CLI
def test_cli_clip_radius_past_the_image(tmp_path, small, capsys):
    from gpuent.cli import main

    np.save(tmp_path / "s.npy", small)
    assert main(["entropy", str(tmp_path / "s.npy"), "-r", "10000", "-o",
                 str(tmp_path / "e.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), shannon_entropy(small), atol=1e-6)
    assert main(["entropy", str(tmp_path / "s.npy"), "-r", "10000", "--mode", "reflect", "-o",
                 str(tmp_path / "f.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpuent: error:") and "larger than" in err[0]
    assert not (tmp_path / "f.npy").exists()


# ---------------------------------------------------------------- Numba: few signatures, a message
def test_compile_message_once_and_timed(capsys):
    numba = pytest.importorskip("numba")
    from gpuent._kernels import _numba

    @numba.njit
    def plus_one(x):
        return x + 1

    before = _numba.preparation_seconds()
    _numba.ensure_compiled(plus_one, (np.int64(3),), "test integers")
    assert plus_one(np.int64(3)) == 4
    _numba.ensure_compiled(plus_one, (np.int64(5),), "test integers")
    err = capsys.readouterr().err
    assert err.count("gpuent: compiling kernels for test integers (first use only)") == 1
    assert _numba.preparation_seconds() > before


def test_few_sliding_signatures(small):
    pytest.importorskip("numba")
    from gpuent._kernels.histogram import _cpu

    mask = np.ones(small.shape, bool)
    mask[0, 0] = False
    for image in (small, small.astype(np.uint16), small.astype(np.int64), small > 3):
        for dtype in (np.float32, np.float64):
            ge.local_entropy(image, 2, dtype=dtype)
            ge.local_entropy(image, 2, dtype=dtype, mask=mask)
            ge.local_entropy(np.asarray(image).copy(order="F"), 1, dtype=dtype)
            ro = image.copy()
            ro.flags.writeable = False
            ge.local_expected(ro, lambda p: 1 / p, 1, dtype=dtype)
    ge.local_entropy(small.astype(np.float32), 2, bins=5)
    assert len(_cpu.sliding.signatures) <= 2


# ---------------------------------------------------------------- progress
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_progress_bar_gives_the_same_bits(small, mode, capsys):
    mask = np.random.default_rng(1).random(small.shape) > 0.2
    for func, args in ((ge.local_entropy, ()), (ge.local_renyi_entropy, (2.0,)),
                       (ge.local_expected, (lambda p: 1 / p,))):
        plain = func(small, *args, 3, mode=mode, mask=mask)
        shown = func(small, *args, 3, mode=mode, mask=mask, progress=True)
        assert shown.dtype == plain.dtype and shown.tobytes() == plain.tobytes()
    volume = np.random.default_rng(2).integers(0, 9, (5, 6, 7), dtype=np.uint16)
    assert ge.local_entropy(volume, 2, progress=True).tobytes() == \
        ge.local_entropy(volume, 2).tobytes()
    assert "pix" in capsys.readouterr().err


# ------------------------------------------------------------ intensity_entropy, every estimator
def _grassberger_bits(counts):
    c = counts[counts > 0].astype(np.float64)
    n = c.sum()
    sign = np.where(c % 2 == 0, 1.0, -1.0)
    g = special.digamma(c) + sign / 2 * (special.digamma((c + 1) / 2) - special.digamma(c / 2))
    return (np.log(n) - np.sum(c * g) / n) / np.log(2)


@pytest.mark.parametrize("estimator", ["plugin", "miller-madow", "grassberger", "dirichlet"])
def test_intensity_entropy_every_estimator(estimator):
    from skimage import data

    image = data.camera()[::4, ::4]
    counts = np.bincount(image.ravel(), minlength=256)
    n = counts.sum()
    plugin = shannon_entropy(image)
    want = {
        "plugin": plugin,
        "miller-madow": plugin + (np.count_nonzero(counts) - 1) / (2 * n) / np.log(2),
        "grassberger": _grassberger_bits(counts),
        "dirichlet": _dirichlet(image, 256),
    }[estimator]
    got = ge.intensity_entropy(image, estimator=estimator)
    assert isinstance(got, float)
    assert got == pytest.approx(want, abs=1e-9)
    # binned floats: the same histogram through bins
    values = image.astype(np.float64) / 255.0
    got = ge.intensity_entropy(values, bins=256, value_range=(0, 256 / 255), estimator=estimator)
    assert got == pytest.approx(want, abs=1e-9)


def test_intensity_entropy_nlevels(small):
    as_u16 = ge.intensity_entropy(small.astype(np.uint16), estimator="dirichlet")
    assert ge.intensity_entropy(small, nlevels=7, estimator="dirichlet") == as_u16
    assert as_u16 == pytest.approx(_dirichlet(small, 7), abs=1e-12)
    assert ge.intensity_distribution(small, nlevels=9).shape == (9,)


def test_local_mean_std_radius_past_the_image(small):
    # the radius is validated without building a (2r+1)-wide window
    np.testing.assert_allclose(ge.local_mean(small, 10**6, dtype=np.float64), small.mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(ge.local_std(small, 10**6, dtype=np.float64), small.std(),
                               rtol=1e-12)


def test_array_api_strict_output_dtype(small):
    xp = pytest.importorskip("array_api_strict")
    image = xp.asarray(small[:9, :8])
    for dtype, want in ((xp.float64, np.float64), ("float32", np.float32), (None, np.float32)):
        out = ge.local_entropy(image, 1, dtype=dtype)
        assert out.dtype == (xp.float64 if want == np.float64 else xp.float32)
        assert np.asarray(out).tobytes() == \
            ge.local_entropy(small[:9, :8], 1, dtype=want).tobytes()


def test_compile_message_silenced_by_quiet(monkeypatch, capsys):
    numba = pytest.importorskip("numba")
    from gpuent import _kernels
    from gpuent._kernels import _numba

    monkeypatch.setattr(_kernels, "announce_compiles", False)

    @numba.njit
    def plus_two(x):
        return x + 2

    _numba.ensure_compiled(plus_two, (np.int64(3),), "test integers")
    assert capsys.readouterr().err == ""
