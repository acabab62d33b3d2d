"""API consistency (#22 item 6): argument order, return types, block_map dtypes, the local
min-entropy, channel_axis, backend="auto", and library errors spelled per front end."""

from __future__ import annotations

import argparse
import itertools
import math
import pickle
import warnings

import numpy as np
import pytest

import gpuent as ge
from gpuent._validate import ParameterValueError, SpelledError
from gpuent.cli import _error_message

RNG = np.random.default_rng(22)
P = np.array([0.5, 0.25, 0.125, 0.125, 0.0])


def _laurent(p):
    return 1 / p - 1


# ----------------------------------------------------------------------- expected(p, f)

def test_expected_data_first():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ge.expected(P, _laurent)
    assert float(got) == 3.0  # support size - 1, exact for a dyadic distribution


def test_expected_old_order_warns_and_gives_the_same():
    new = ge.expected(P, lambda p: -np.log2(p))
    with pytest.warns(FutureWarning, match=r"write expected\(p, f\)") as rec:
        old = ge.expected(lambda p: -np.log2(p), P)
    assert rec[0].filename == __file__  # points at the caller
    assert old == new == 1.75
    with pytest.warns(FutureWarning):
        axis0 = ge.expected(_laurent, np.stack([P, P[::-1]]), axis=-1)
    np.testing.assert_array_equal(axis0, ge.expected(np.stack([P, P[::-1]]), _laurent))


def test_expected_two_non_callables_is_a_type_error():
    with pytest.raises(TypeError, match="f must be a callable"):
        ge.expected(P, P)


# ------------------------------------------------------------- return types of the family

def test_intensity_entropy_is_a_numpy_scalar_like_shannon_entropy():
    img = RNG.integers(0, 7, (9, 9), dtype=np.uint8)
    h = ge.intensity_entropy(img)
    ref = ge.shannon_entropy(ge.intensity_distribution(img))
    assert type(h) is np.float64 and type(ref) is np.float64  # NumPy's full-reduction rule
    assert isinstance(h, float)  # still a float for code written against the old return type
    assert h == pytest.approx(float(ref), rel=1e-14)
    for est in ("plugin", "miller-madow", "grassberger", "dirichlet"):
        assert type(ge.intensity_entropy(img, estimator=est)) is np.float64


def test_intensity_entropy_array_api_returns_0d_in_namespace():
    xs = pytest.importorskip("array_api_strict")
    img = RNG.integers(0, 7, (9, 9), dtype=np.uint8)
    h = ge.intensity_entropy(xs.asarray(img))
    assert isinstance(h, type(xs.asarray(0.0))) and h.shape == () and h.dtype == xs.float64
    assert float(h) == float(ge.intensity_entropy(img))
    assert isinstance(ge.shannon_entropy(xs.asarray(P)), type(h))


def test_entropy_vs_blur_unchanged_by_the_scalar_type():
    img = RNG.integers(0, 256, (32, 32), dtype=np.uint8)
    _, h = ge.entropy_vs_blur(img, [0])
    assert h.dtype == np.float64 and h[0] == ge.intensity_entropy(img)


# -------------------------------------------------------------------------- block_map dtype

IMG = np.arange(35, dtype=np.uint16).reshape(5, 7)


@pytest.mark.parametrize("func,default", [
    ("max", np.uint16), ("min", np.uint16), ("sum", np.int64), ("count", np.int64),
    ("any", np.bool_), ("mean", np.float64), ("entropy", np.float64), (np.std, np.float64),
    (lambda b: b.size, np.float64),
])
def test_block_map_default_dtype_rule(func, default):
    out = ge.block_map(IMG, func, (2, 3))
    assert out.dtype == default
    if isinstance(func, str) and func in ("max", "min", "sum", "mean"):
        want = [[getattr(np, func)(IMG[r][:, c]) for c in np.array_split(np.arange(7), 3)]
                for r in np.array_split(np.arange(5), 2)]
        assert out.dtype == np.asarray(want).dtype or func == "sum"
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("func", ["max", "sum", "count", "any", "mean", "entropy"])
@pytest.mark.parametrize("dtype", ["float64", np.float32, np.int32])
def test_block_map_dtype_casts_the_default(func, dtype):
    base = ge.block_map(IMG, func, (2, 3))
    out = ge.block_map(IMG, func, (2, 3), dtype=dtype)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, base.astype(dtype))


def test_block_map_bad_dtype():
    with pytest.raises(TypeError, match="dtype must be"):
        ge.block_map(IMG, "max", (2, 3), dtype="complex64")


# ------------------------------------------------------------ local min-entropy (alpha=inf)

def _brute_renyi(img, alpha, radii, mode, mask=None):
    """Each window's histogram, by explicit loops, through gpuent.renyi_entropy."""
    pad = {"reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}
    k = int(img.max()) + 1
    out = np.empty(img.shape)
    for idx in np.ndindex(*img.shape):
        counts = np.zeros(k)
        for off in itertools.product(*(range(-r, r + 1) for r in radii)):
            src = []
            for i, o, n in zip(idx, off, img.shape):
                j = i + o
                if mode == "clip" and not 0 <= j < n:
                    break
                src.append(j)
            else:
                if mode != "clip":
                    src = [int(np.pad(np.arange(n), r, mode=pad[mode])[j + r])
                           for j, n, r in zip(src, img.shape, radii)]
                if mask is None or mask[tuple(src)]:
                    counts[img[tuple(src)]] += 1
        out[idx] = np.nan if counts.sum() == 0 else float(ge.renyi_entropy(counts, alpha))
    return out


@pytest.mark.parametrize("mode", ["clip", "reflect", "mirror", "wrap"])
@pytest.mark.parametrize("backend", [None, "reference"])
def test_local_min_entropy_matches_brute_force(mode, backend):
    img = RNG.integers(0, 5, (8, 9), dtype=np.uint8)
    got = ge.local_renyi_entropy(img, math.inf, 2, mode=mode, dtype=np.float64,
                                 backend=backend)
    np.testing.assert_array_equal(got, _brute_renyi(img, math.inf, (2, 2), mode))


def test_local_min_entropy_mask_volume_and_float32():
    vol = RNG.integers(0, 4, (5, 6, 7)).astype(np.int32)
    mask = RNG.random(vol.shape) > 0.6
    mask[:3, :4, :3] = False  # windows around the corner count nothing
    got = ge.local_renyi_entropy(vol, np.inf, (1, 2, 1), mask=mask, dtype=np.float64)
    want = _brute_renyi(vol, math.inf, (1, 2, 1), "clip", mask)
    np.testing.assert_array_equal(got, want)  # NaN where a window counts nothing
    assert np.isnan(want).any()
    f32 = ge.local_renyi_entropy(vol, np.inf, (1, 2, 1), mask=mask)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, want.astype(np.float32))


def test_local_min_entropy_footprint_base_and_limits():
    img = RNG.integers(0, 6, (10, 11), dtype=np.uint8)
    fp = ge.footprints.disk(2)
    got = ge.local_renyi_entropy(img, math.inf, footprint=fp, mode="reflect", base=math.e,
                                 dtype=np.float64)
    pad = np.pad(img, 2, mode="symmetric")
    for i, j in np.ndindex(*img.shape):
        counts = np.bincount(pad[i:i + 5, j:j + 5][fp], minlength=6)
        assert got[i, j] == ge.renyi_entropy(counts, math.inf, base=math.e)
    # min-entropy <= Rényi of any finite order <= Hartley; = 0 for a constant window
    h2 = ge.local_renyi_entropy(img, 2.0, 2, dtype=np.float64)
    hinf = ge.local_renyi_entropy(img, math.inf, 2, dtype=np.float64)
    assert np.all(hinf <= h2 + 1e-12)
    flat = ge.local_renyi_entropy(np.zeros((6, 6), np.uint8), math.inf, 1)
    assert np.all(flat == 0) and not np.signbit(flat).any()


def test_local_min_entropy_dask_and_tiles_equal_in_memory():
    da = pytest.importorskip("dask.array")
    img = RNG.integers(0, 9, (23, 19), dtype=np.uint8)
    want = ge.local_renyi_entropy(img, math.inf, 3, mode="wrap")
    lazy = ge.local_renyi_entropy(da.from_array(img, chunks=(8, 7)), math.inf, 3, mode="wrap")
    np.testing.assert_array_equal(lazy.compute(), want)
    banded = ge.local_renyi_entropy(img, math.inf, 3, mode="wrap", progress=True)
    np.testing.assert_array_equal(banded, want)


def test_local_hartley_matches_renyi_entropy_of_each_window():
    img = RNG.integers(0, 5, (7, 8), dtype=np.uint8)
    got = ge.local_renyi_entropy(img, 0.0, 1, dtype=np.float64)
    np.testing.assert_allclose(got, _brute_renyi(img, 0.0, (1, 1), "clip"), rtol=1e-12)


def test_local_renyi_refuses_negative_alpha():
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        ge.local_renyi_entropy(np.zeros((4, 4), np.uint8), -1, 1)


# ---------------------------------------------------------------------------- channel_axis

def test_channel_axis_guess_is_refused_with_both_choices():
    rgb = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"channel_axis=-1 .* channel_axis=None"):
        ge.local_entropy(rgb, 1)


@pytest.mark.parametrize("axis", [-1, 2, 0])
def test_channel_axis_gives_one_map_per_channel(axis):
    rgb = RNG.integers(0, 256, (12, 10, 4), dtype=np.uint8)
    img = np.moveaxis(rgb, -1, axis)
    mask = RNG.random((12, 10)) > 0.3
    got = ge.local_entropy(img, 1, mask=mask, channel_axis=axis)
    assert got.shape == img.shape
    for c in range(4):
        np.testing.assert_array_equal(np.take(got, c, axis=axis),
                                      ge.local_entropy(rgb[..., c], 1, mask=mask))
    exp = ge.local_expected(img, _laurent, 1, channel_axis=axis)
    ren = ge.local_renyi_entropy(img, 2.0, 1, channel_axis=axis)
    for c in range(4):
        np.testing.assert_array_equal(np.take(exp, c, axis=axis),
                                      ge.local_expected(rgb[..., c], _laurent, 1))
        np.testing.assert_array_equal(np.take(ren, c, axis=axis),
                                      ge.local_renyi_entropy(rgb[..., c], 2.0, 1))


def test_channel_axis_none_is_a_volume():
    vol = RNG.integers(0, 8, (9, 7, 3), dtype=np.uint8)
    got = ge.local_entropy(vol, 1, channel_axis=None, dtype=np.float64)
    # the same volume with its last axis padded past 4 samples needs no channel_axis
    wide = np.concatenate([vol, np.full((9, 7, 4), 255, np.uint8)], axis=-1)
    np.testing.assert_array_equal(got[..., :2], ge.local_entropy(wide, (1, 1, 1),
                                                                  dtype=np.float64)[..., :2])
    assert ge.local_renyi_entropy(vol, math.inf, 1, channel_axis=None).shape == vol.shape


def test_channel_axis_dask():
    da = pytest.importorskip("dask.array")
    rgb = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    lazy = da.from_array(rgb, chunks=(6, 5, 3))
    np.testing.assert_array_equal(ge.local_entropy(lazy, 1, channel_axis=-1).compute(),
                                  ge.local_entropy(rgb, 1, channel_axis=-1))
    np.testing.assert_array_equal(ge.local_entropy(lazy, 1, channel_axis=None).compute(),
                                  ge.local_entropy(rgb, 1, channel_axis=None))


def test_channel_axis_bad_values():
    with pytest.raises(ValueError, match="must be 3-D or 4-D"):
        ge.local_entropy(np.zeros((5, 5), np.uint8), 1, channel_axis=-1)
    with pytest.raises(ValueError, match="out of range"):
        ge.local_entropy(np.zeros((5, 5, 3), np.uint8), 1, channel_axis=3)
    with pytest.raises(TypeError, match="channel_axis must be an int or None"):
        ge.local_entropy(np.zeros((5, 5, 3), np.uint8), 1, channel_axis="last")


# ---------------------------------------------------------------------------- backend auto

def test_backend_auto_is_none_and_documented():
    img = RNG.integers(0, 256, (16, 16), dtype=np.uint8)
    np.testing.assert_array_equal(ge.local_entropy(img, 2, backend="auto"),
                                  ge.local_entropy(img, 2))
    np.testing.assert_array_equal(ge.local_mean(img, 2, backend="auto"), ge.local_mean(img, 2))
    for func in (ge.local_entropy, ge.local_expected, ge.local_renyi_entropy, ge.local_mean,
                 ge.local_std, ge.ising.Simulation):
        assert '"auto"' in func.__doc__, func.__name__


# ---------------------------------------------- library errors, spelled by each front end

def _error(func, *args, **kwargs):
    with pytest.raises((ValueError, TypeError)) as info:
        func(*args, **kwargs)
    return info.value


@pytest.mark.parametrize("call,python,cli", [
    (lambda: ge.intensity_entropy(np.random.default_rng(0).random((4, 4))),
     "needs bins=K to bin", "needs --bins K to bin"),
    (lambda: ge.intensity_entropy(np.array([[1, 70000]])), "pass bins=K to bin them",
     "pass --bins K to bin them"),
    (lambda: ge.intensity_entropy(np.zeros((3, 3), np.uint8), bins=0), "bins must be",
     "--bins must be"),
    (lambda: ge.intensity_entropy(np.zeros((3, 3), np.uint8), bins=2.5), "bins must be",
     "--bins must be"),
    (lambda: ge.box_counting_dimension(np.ones((40, 40), bool), sizes=[3]), "sizes needs",
     "--sizes needs"),
    (lambda: ge.generalized_dimensions(np.ones((8, 8)), [math.inf]), "q must be", "--q must be"),
    (lambda: ge.footprints.parse_footprint("blob"), "footprint 'blob' not understood",
     "--footprint 'blob' not understood"),
])
def test_errors_name_python_parameters_and_cli_options(call, python, cli):
    exc = _error(call)
    assert isinstance(exc, SpelledError)
    assert python in str(exc) and "--" not in str(exc)
    args = argparse.Namespace(bins=None, sizes=None, q="0", footprint="blob")
    assert cli in _error_message(exc, args)
    # a command without the option keeps the Python spelling
    assert python in _error_message(exc, argparse.Namespace())


def test_spelled_errors_pickle_and_name_their_parameters():
    exc = ParameterValueError("{bins=K} and {value_range} for {n} pixels", n=3)
    assert str(exc) == "bins=K and value_range for 3 pixels"
    assert exc.parameters == ["bins", "value_range"]
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is ParameterValueError and str(back) == str(exc)
    assert isinstance(back, ValueError)


def test_cli_has_no_message_rewriting_table():
    import gpuent.cli as cli

    assert not hasattr(cli, "_CLI_WORDS") and not hasattr(cli, "_cli_message")


def test_tiff_volume_with_three_slices_on_the_last_axis_is_not_taken_for_colour(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    from gpuent.io import read_image, to_grayscale

    vol = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "vol.tif", vol, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "vol.tif"), vol)
    tifffile.imwrite(tmp_path / "rgb.tif", vol, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.tif"), to_grayscale(vol))
