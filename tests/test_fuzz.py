"""Property-based fuzzing of every public function and every CLI command.

Bad input must come back as ``TypeError``/``ValueError`` (the CLI: one line
``gpuent: error: ...`` and exit 2): never another exception, a crash, a hang,
a NaN where a number is promised, or a modified input.

Two Hypothesis profiles: ``gpuent-ci`` (fixed seed, part of ``make test``) and
``gpuent-fuzz`` (long, random; ``make fuzz``). ``GPUENT_FUZZ_PROFILE`` picks one.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import gpuent
import gpuent.ising as ising

settings.register_profile(
    "gpuent-ci", max_examples=25, derandomize=True, deadline=None, database=None,
    suppress_health_check=list(HealthCheck), print_blob=True)
settings.register_profile(
    "gpuent-fuzz", max_examples=int(os.environ.get("GPUENT_FUZZ_EXAMPLES", "4000")),
    deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
PROFILE = settings.get_profile(os.environ.get("GPUENT_FUZZ_PROFILE", "gpuent-ci"))
# one call longer than this is a hang (generous: a first call may compile Numba kernels on a
# busy machine): the stacks go to GPUENT_FUZZ_HANG_LOG (pytest captures stderr) and the run stops
HANG_S = float(os.environ.get("GPUENT_FUZZ_HANG_S", "300"))
_HANG_LOG = open(os.environ.get("GPUENT_FUZZ_HANG_LOG") or os.path.join(
    tempfile.gettempdir(), f"gpuent-fuzz-hang-{os.getpid()}.txt"), "w")


@atexit.register
def _drop_empty_hang_log():
    _HANG_LOG.close()
    with contextlib.suppress(OSError):
        if os.path.getsize(_HANG_LOG.name) == 0:
            os.remove(_HANG_LOG.name)

ALLOWED = (TypeError, ValueError)

# ----------------------------------------------------------------------------- inputs

DTYPES = [np.bool_, np.uint8, np.uint16, np.int8, np.int16, np.int32, np.int64, np.uint64,
          np.float16, np.float32, np.float64, np.complex64]
SPECIAL = [0.0, -0.0, 1.0, -1.0, 255.0, 65535.0, 1e300, -1e300, math.nan, math.inf, -math.inf]


@st.composite
def arrays(draw, ndims=(0, 1, 2, 3, 4), max_side=7, dtypes=DTYPES):
    """A hostile array: odd dtype, size-0 or size-1 axes, NaN/inf, strides, read-only."""
    ndim = draw(st.sampled_from(ndims))
    shape = tuple(draw(st.integers(0, max_side)) for _ in range(ndim))
    if ndim == 3 and draw(st.booleans()):
        shape = shape[:2] + (draw(st.sampled_from([3, 4])),)  # RGB / RGBA
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    big = tuple(2 * s for s in shape)  # room for a stride-2 view
    if dtype.kind == "b":
        a = rng.random(big) < 0.5
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = draw(st.sampled_from([(0, 2), (0, 256), (info.min, info.max)]))
        a = rng.integers(max(lo, info.min), min(hi, info.max), big, endpoint=True, dtype=dtype)
    else:
        a = (rng.random(big) * draw(st.sampled_from([1.0, 255.0, 1e6]))).astype(dtype)
        if a.size and draw(st.booleans()):
            flat = a.reshape(-1)
            for v in draw(st.lists(st.sampled_from(SPECIAL), min_size=1, max_size=3)):
                with np.errstate(all="ignore"):
                    flat[rng.integers(flat.size)] = v
    layout = draw(st.sampled_from(["c", "stride2", "reversed", "fortran", "transposed"]))
    sl = tuple(slice(0, s) for s in shape)
    if layout == "stride2":
        sl = tuple(slice(0, 2 * s, 2) for s in shape)
    a = a[sl]
    if layout == "reversed":
        a = a[(slice(None, None, -1),) * a.ndim]
    elif layout == "fortran":
        a = np.asfortranarray(a)
    elif layout == "transposed":
        a = np.ascontiguousarray(a.T).T
    a = np.asarray(a)
    if a.ndim == 0:
        a = a.copy()  # a 0-d array, not a NumPy scalar
    if draw(st.booleans()):
        a.flags.writeable = False
    return a


def images(**kw):
    """Mostly plausible 2-D images, sometimes hostile ones."""
    plausible = arrays(ndims=(2,), dtypes=[np.uint8, np.uint16, np.bool_, np.float32,
                                           np.float64, np.int32], **kw)
    return st.one_of(plausible, plausible, arrays(**kw), st.sampled_from(
        [None, "image", 3, 2.5, [[1, 2], [3, 4]], [[]], object()]))


INTS = st.one_of(st.integers(-3, 6), st.sampled_from([0, 10**9, 2**63 - 1, -(2**40)]),
                 st.sampled_from([1.5, math.nan, math.inf, True, None, "3", (1, 2), (1, 2, 3)]))
FLOATS = st.one_of(st.floats(-10, 10), st.sampled_from(
    [0.0, -1.0, 1.0, 1e308, -1e308, math.nan, math.inf, -math.inf, None, "2", True, 1e-320]))


def mostly(valid, hostile):
    """Valid values seven times in eight, so the computations run, not only the checks."""
    return st.integers(0, 7).flatmap(lambda i: hostile if i == 0 else valid)


INTS = mostly(st.integers(0, 4), INTS)
MODES = mostly(st.sampled_from(["clip", "reflect", "mirror", "wrap"]),
               st.sampled_from(["nearest", "", None, 3]))
BINS = mostly(st.one_of(st.none(), st.integers(1, 300)), INTS)
RANGES = mostly(st.one_of(st.none(), st.tuples(st.floats(-5, 5), st.floats(5, 300))),
                st.one_of(st.tuples(FLOATS, FLOATS), st.sampled_from([(1,), "0,1", 5])))
ESTIMATORS = mostly(st.sampled_from(["plugin", "miller-madow", "grassberger", "dirichlet"]),
                    st.sampled_from(["nope", None]))
BASES = mostly(st.sampled_from([2, math.e, 10]),
               st.sampled_from([1, 0, -2, math.nan, math.inf, "2", None]))
SIZES = st.one_of(st.none(), st.lists(INTS, max_size=4), st.sampled_from([[], 3, "1,2"]))


def _snapshot(x):
    if isinstance(x, np.ndarray):
        return ("nd", x.copy(order="A"), x.flags.writeable)
    return None


def _unchanged(x, snap):
    if snap is None:
        return True
    _, copy, writeable = snap
    return (x.flags.writeable == writeable and x.shape == copy.shape
            and np.array_equal(x, copy, equal_nan=x.dtype.kind in "fc"))


@contextlib.contextmanager
def _watchdog():
    faulthandler.dump_traceback_later(HANG_S, exit=True, file=_HANG_LOG)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def call(fn, *args, **kwargs):
    """Call ``fn``: return its result, or None after an allowed error; fail otherwise."""
    snaps = [(a, _snapshot(a)) for a in (*args, *kwargs.values())]
    try:
        with _watchdog(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(*args, **kwargs)
    except ALLOWED as exc:
        assert str(exc), f"{fn.__name__}: {type(exc).__name__} without a message"
        event(f"{fn.__name__}: refused")
        out = None
    else:
        event(f"{fn.__name__}: computed")
    for a, snap in snaps:
        assert _unchanged(a, snap), f"{fn.__name__} modified its input"
    return out


def finite(x, what):
    """A promised number: no NaN (inf only where the value is really unbounded)."""
    a = np.asarray(x, dtype=float)
    assert not np.isnan(a).any(), f"{what} returned NaN"


def _finite_input(x):
    return isinstance(x, np.ndarray) and x.dtype.kind in "biuf" and \
        np.isfinite(x.astype(float)).all()


# ----------------------------------------------------------------------------- library

@PROFILE
@given(image=images(), radius=INTS, mode=MODES, bins=BINS, vr=RANGES, est=ESTIMATORS,
       base=BASES, mask=mostly(st.none(), arrays(ndims=(1, 2, 3), dtypes=[np.bool_, np.uint8])),
       which=st.sampled_from(["entropy", "renyi", "expected", "mean", "std"]))
def test_local_maps(image, radius, mode, bins, vr, est, base, mask, which):
    if which == "entropy":
        out = call(gpuent.local_entropy, image, radius, mode=mode, bins=bins, value_range=vr,
                   estimator=est, base=base, mask=mask)
    elif which == "renyi":
        out = call(gpuent.local_renyi_entropy, image, 2.0, radius, mode=mode, bins=bins,
                   value_range=vr, base=base, mask=mask)
    elif which == "expected":
        out = call(gpuent.local_expected, image, lambda p: 1 / p - 1, radius, mode=mode,
                   bins=bins, value_range=vr, mask=mask)
    elif which == "mean":
        out = call(gpuent.local_mean, image, radius, mode=mode)
    else:
        out = call(gpuent.local_std, image, radius, mode=mode)
    if out is not None:
        assert out.shape == np.shape(image)
        if mask is None and _finite_input(image):
            finite(out, which)


@PROFILE
@given(image=images(), footprint=st.one_of(arrays(ndims=(0, 1, 2, 3), max_side=5,
                                                  dtypes=[np.bool_, np.uint8, np.float64]),
                                           st.sampled_from([None, "disk", 3])),
       mode=MODES)
def test_local_entropy_footprints(image, footprint, mode):
    out = call(gpuent.local_entropy, image, footprint=footprint, mode=mode, bins=8)
    fp = np.asarray(footprint)
    # documented: a window with no counted pixel gives NaN; a footprint holding its centre
    # always counts the pixel itself
    if out is not None and _finite_input(image) and fp[tuple(n // 2 for n in fp.shape)]:
        finite(out, "local_entropy(footprint=)")


@PROFILE
@given(image=images(), blocks=INTS, radius=st.integers(-1, 3))
def test_block_and_window_map(image, blocks, radius):
    out = call(gpuent.block_map, image, np.mean, blocks)
    out = call(gpuent.window_map, image, lambda w: float(np.size(w)), radius)
    if out is not None:
        finite(out, "window_map")


@PROFILE
@given(p=st.one_of(arrays(max_side=5), st.sampled_from([None, [], [0.5, 0.5], "p", 1.0])),
       alpha=FLOATS, base=BASES, axis=st.sampled_from([-1, 0, 1, 5, -7, None, 1.5]))
def test_global_entropies(p, alpha, base, axis):
    for fn, args in ((gpuent.shannon_entropy, ()), (gpuent.renyi_entropy, (alpha,))):
        out = call(fn, p, *args, base=base, axis=axis)
        if out is not None and _finite_input(p) and np.asarray(p).sum() > 0:
            finite(out, fn.__name__)
    call(gpuent.expected, p, lambda q: q, axis=axis)


@PROFILE
@given(image=images(), bins=BINS, vr=RANGES, est=ESTIMATORS, base=BASES)
def test_intensity(image, bins, vr, est, base):
    call(gpuent.intensity_distribution, image, bins=bins, value_range=vr)
    out = call(gpuent.intensity_entropy, image, bins=bins, value_range=vr, estimator=est,
               base=base)
    if out is not None:
        finite(out, "intensity_entropy")


@PROFILE
@given(image=images(), sigma=st.one_of(FLOATS, st.lists(FLOATS, max_size=4)),
       mode=st.sampled_from(["reflect", "nearest", "wrap", "constant", "mirror", "x"]),
       truncate=FLOATS, bins=BINS)
def test_blur(image, sigma, mode, truncate, bins):
    out = call(gpuent.gaussian_blur, image, sigma, mode=mode, truncate=truncate)
    if out is not None and _finite_input(image):
        finite(out, "gaussian_blur")
    sigmas = sigma if isinstance(sigma, list) else [sigma]
    out = call(gpuent.entropy_vs_blur, image, sigmas, bins=bins)
    if out is not None and _finite_input(image):
        finite(out, "entropy_vs_blur")


@PROFILE
@given(image=images(max_side=9), q=st.one_of(FLOATS, st.lists(FLOATS, max_size=3)),
       sizes=SIZES)
def test_fractal(image, q, sizes):
    out = call(gpuent.box_counting_dimension, image, sizes=sizes)
    out = call(gpuent.generalized_dimensions, image, q, sizes=sizes)
    out = call(gpuent.information_dimension, image, scales=sizes)
    del out


HUGE = 10**6


def _proxy(shape, dtype):
    """A read-only zero-stride array of ``shape`` (up to 10^12 pixels) that costs no memory."""
    a = np.lib.stride_tricks.as_strided(np.ones(1, dtype), shape=shape, strides=(0,) * len(shape))
    a.flags.writeable = False
    return a


def _huge_case(which, img, param):
    from gpuent.napari._compute import MapRequest, local_map

    flat = img.reshape(-1)[:max(1, img.shape[0] * img.shape[1])] if img.ndim == 2 else img
    levels = {"bins": min(param, 65536), "value_range": (0.0, 1.0)} \
        if img.dtype.kind == "f" else {}
    return {
        "block_map": lambda: gpuent.block_map(img, "mean", (min(param, img.shape[0]), 1)),
        "block_entropy": lambda: gpuent.block_map(img, "entropy",
                                                  tuple(min(param, n) for n in img.shape)),
        "block_callable": lambda: gpuent.block_map(img, np.max,
                                                   tuple(min(param, n) for n in img.shape)),
        "window_map": lambda: gpuent.window_map(img, np.max, param),
        "box_counting": lambda: gpuent.box_counting_dimension(img, sizes=[1, min(
            param, max(img.shape))]),
        "generalized": lambda: gpuent.generalized_dimensions(img, [0, 2], sizes=[1, min(
            param, max(img.shape))]),
        "information": lambda: gpuent.information_dimension(flat, scales=[1, 2]),
        "intensity": lambda: gpuent.intensity_entropy(img, **levels),
        "distribution": lambda: gpuent.intensity_distribution(img, **levels),
        "shannon": lambda: gpuent.shannon_entropy(img),
        "renyi": lambda: gpuent.renyi_entropy(img, 2.0),
        "blur": lambda: gpuent.entropy_vs_blur(img, [param], **levels),
        "local_entropy": lambda: gpuent.local_entropy(img, param, **levels),
        "local_std": lambda: gpuent.local_std(img, param),
        "local_binned": lambda: gpuent.local_entropy(img, param % 5, bins=8),  # range: stats
        "gaussian_blur": lambda: gpuent.gaussian_blur(img, float(param)),
        "dask": lambda: gpuent.local_entropy(_dask_zeros(img.shape, param), param % 7),
        "napari": lambda: local_map(img, MapRequest("entropy", radius=param % 5,
                                                    bins=levels.get("bins"),
                                                    value_range=levels.get("value_range"))),
        "frames": lambda: ising.Simulation(ising.torus((8, 8)), backend="reference").run(
            param, beta=0.4, frames=1, record_every=0),
    }[which]


def _dask_zeros(shape, chunk):
    import dask.array as da

    return da.zeros(shape, dtype=np.uint8, chunks=max(1, min(chunk, 64)))


@contextlib.contextmanager
def _memory_limit(text):
    old = os.environ.get("GPUENT_MEMORY_LIMIT")
    os.environ["GPUENT_MEMORY_LIMIT"] = text
    try:
        yield
    finally:
        if old is None:
            del os.environ["GPUENT_MEMORY_LIMIT"]
        else:
            os.environ["GPUENT_MEMORY_LIMIT"] = old


@PROFILE
@given(shape=st.tuples(st.sampled_from([1, 3, HUGE]), st.sampled_from([1, 3, HUGE])),
       dtype=st.sampled_from([np.bool_, np.uint8, np.float32]),
       which=st.sampled_from(["block_map", "block_entropy", "block_callable", "window_map",
                              "box_counting", "generalized", "information", "intensity",
                              "distribution", "shannon", "renyi", "blur", "local_entropy",
                              "local_std", "local_binned", "gaussian_blur", "dask", "napari",
                              "frames"]),
       param=st.sampled_from([1, 2, 1000, HUGE, 10**9]))
def test_huge_shapes_and_parameters_are_refused_before_allocating(shape, dtype, which, param):
    """Up to 10^12-pixel images (zero-stride, no memory) and huge blocks, box sizes, radii,
    sigmas, chunks and frame counts: refused with a ValueError (the memory limit, or a bad
    parameter) or computed; never a MemoryError from an allocation or an OOM kill."""
    if which == "dask":
        pytest.importorskip("dask.array")
    img = _proxy(shape, dtype)
    with _memory_limit("8M"), _watchdog(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _huge_case(which, img, param)()
        except ALLOWED as exc:
            assert str(exc)
            event(f"{which}: {'memory limit' if 'memory limit' in str(exc) else 'refused'}")
        else:
            event(f"{which}: computed")


@PROFILE
@given(r=INTS, h=INTS, spec=st.sampled_from(["disk:2", "disk:-1", "square:x", "cube:1",
                                             "rectangle:3x5", "rectangle:2x2", "", "ball:99999",
                                             "disk:10000000000", "diamond", "x:1"]))
def test_footprints(r, h, spec):
    fp = gpuent.footprints
    for fn in (fp.disk, fp.diamond, fp.square, fp.ball, fp.cube):
        call(fn, r)
    call(fp.rectangle, r, h)
    call(fp.parse_footprint, spec)


SCHEDULES = st.sampled_from([
    "constant:0.4", "linear:0.1:1", "geometric:0.1:2", "logarithmic:0.1:1", "arctan:2",
    "linear:1:0.1", "geometric:0:1", "geometric:-1:1", "constant:nan", "constant:inf",
    "linear:a:b", "", "spline:1", "constant", "linear:0.1:1:2", "arctan:-1", "arctan:0",
    "constant:0.4;linear:0.1:1", "logarithmic:0:1", "piecewise", "constant:1e400"])


@PROFILE
@given(spec=SCHEDULES, a=FLOATS, b=FLOATS, steps=st.integers(-2, 50))
def test_schedules(spec, a, b, steps):
    sched = [call(ising.parse_schedule, spec), call(ising.constant, a),
             call(ising.linear, a, b), call(ising.geometric, a, b),
             call(ising.logarithmic, a, b), call(ising.arctan, a),
             call(ising.as_schedule, a), call(ising.as_schedule, spec)]
    parts = [s for s in sched if s is not None]
    sched.append(call(ising.piecewise, *[(s, 5) for s in parts]) if parts else None)
    call(ising.piecewise)
    for s in sched:
        if s is None:
            continue
        betas = call(s.values, steps)
        if betas is not None:
            finite(betas, f"schedule {spec}")


@PROFILE
@given(image=images(max_side=9), spins=st.sampled_from(["binary", "pm1", "x", None]),
       threshold=st.one_of(st.none(), FLOATS),
       edge_spins=st.sampled_from(["flip", "zero", "fixed", "x"]),
       energy=st.sampled_from(["block", "pixel", "x", None]),
       shape=st.one_of(st.none(), st.tuples(INTS, INTS), st.sampled_from([(4,), (), "8"])),
       init=st.sampled_from(["random", "up", "down", "x"]), seed=INTS,
       downscale=INTS)
def test_ising_models(image, spins, threshold, edge_spins, energy, shape, init, seed,
                      downscale):
    call(ising.image_to_spins, image, spins)
    models = [call(ising.edge_model, image, threshold=threshold, edge_spins=edge_spins),
              call(ising.metric_model, image, energy=energy),
              call(ising.torus, shape, init=init, spins=spins, seed=seed)]
    call(ising.spins_to_frame, image, downscale)
    for m in models:
        if m is None or m.spins.size > 4096:
            continue
        sim = call(ising.Simulation, m, seed=seed)
        if sim is None:
            continue
        trace = call(sim.run, 2, beta=ising.constant(0.5))
        if trace is not None:
            finite(trace.energy, "Simulation.run energy")


@PROFILE
@given(shape=st.one_of(st.tuples(INTS, INTS), st.sampled_from([None, (5,), "64"])),
       text=st.sampled_from(["A", "", "\n\n", "ISING", "é∑", "X" * 200]))
def test_letters(shape, text):
    out = call(ising.letters_image, shape, text)
    if out is not None:
        assert out.ndim == 2


# ----------------------------------------------------------------------------- CLI

def _cli(argv, capsys):
    from gpuent.cli import main

    with _watchdog(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rc = main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    if rc not in (0, None):
        assert rc == 2, f"{argv}: exit {rc}\n{captured.err}"
        lines = [s for s in captured.err.splitlines() if s.strip()]
        assert len(lines) == 1 and lines[0].startswith("gpuent: error: "), \
            f"{argv}: stderr was\n{captured.err}"
    assert "Traceback" not in captured.err
    return rc


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small valid and hostile input files."""
    from PIL import Image

    d = tmp_path_factory.mktemp("fuzzfiles")
    rng = np.random.default_rng(0)
    paths = {}
    Image.fromarray(rng.integers(0, 256, (12, 10), dtype=np.uint8)).save(d / "u8.png")
    Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(d / "rgb.png")
    Image.fromarray(rng.integers(0, 256, (1, 1), dtype=np.uint8)).save(d / "one.png")
    np.save(d / "f32.npy", rng.random((9, 11), dtype=np.float32))
    np.save(d / "nan.npy", np.full((6, 6), np.nan, np.float32))
    np.save(d / "empty.npy", np.zeros((0, 5), np.float32))
    np.save(d / "c64.npy", np.zeros((4, 4), np.complex64))
    np.save(d / "vol.npy", rng.integers(0, 4, (6, 7, 8), dtype=np.uint8))
    (d / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (d / "empty.png").write_bytes(b"")
    (d / "text.npy").write_text("hello")
    for p in d.iterdir():
        paths[p.name] = str(p)
    paths["missing.png"] = str(d / "missing.png")
    paths["dir"] = str(d)
    paths["_out"] = str(d)
    return paths


INPUTS = st.sampled_from(["u8.png", "rgb.png", "one.png", "f32.npy", "nan.npy", "empty.npy",
                          "c64.npy", "vol.npy", "junk.png", "empty.png", "text.npy",
                          "missing.png", "dir"])
NUM = st.sampled_from(["0", "1", "2", "-1", "3.5", "nan", "inf", "-inf", "1e9", "abc", "",
                       "99999999999999999999", "1,2", "0,0"])
OUTS = st.sampled_from(["out.png", "out.npy", "out.tif", "out.zarr", "out.svg", "out.xyz",
                        "nofolder/out.png", ""])


@st.composite
def command_lines(draw, files_names):
    cmd = draw(st.sampled_from(["entropy", "maps", "fractal", "blur-entropy", "ising"]))
    argv = [cmd, draw(INPUTS)]
    options = {
        "entropy": ["--radius", "--bins", "--mode", "--vmax", "--footprint", "--base",
                    "--estimator", "--tile", "--vmin"],
        "maps": ["--radii", "--bins", "--mode", "--stat", "--plane"],
        "fractal": ["--threshold", "--sizes", "--q"],
        "blur-entropy": ["--sigmas", "--bins", "--mode"],
        "ising": ["--model", "--schedule", "--sweeps", "--seed", "--every", "--size", "--beta",
                  "--threshold", "--downscale", "--fps"],
    }[cmd]
    for opt in draw(st.lists(st.sampled_from(options), max_size=3, unique=True)):
        value = draw(st.one_of(NUM, st.sampled_from(
            ["clip", "wrap", "disk:2", "disk:-3", "square:99999", "plugin", "x", "torus",
             "edge", "metric", "linear:0.1:1", "constant:nan", "geometric:0:1", "3x5"])))
        argv.append(f"{opt}={value}")
    argv += ["-o", draw(OUTS)]
    return argv


def _resolve(argv, files):
    out = []
    for i, a in enumerate(argv):
        if i == 1:
            out.append(files[a])
        elif i > 0 and argv[i - 1] == "-o" and a:
            out.append(os.path.join(files["_out"], a))
        else:
            out.append(a)
    return out


@PROFILE
@given(argv=command_lines(None))
def test_cli_commands(argv, files, capsys):
    argv = _resolve(argv, files)
    if argv[0] == "ising":  # keep the annealing short: the point is the argument handling
        # (a billion sweeps is a long run by request, not a hang: Ctrl-C keeps a partial movie)
        argv = [a for a in argv if not (a.startswith("--sweeps=") and a[9:].isdigit()
                                        and int(a[9:]) > 50)]
        argv += ["--sweeps=2"] if not any(a.startswith("--sweeps") for a in argv) else []
    _cli(argv, capsys)


# ----------------------------------------------------------------------------- bounds checks

BOUNDSCHECK = textwrap.dedent(r"""
    import numpy as np, gpuent
    rng = np.random.default_rng(int(__import__("sys").argv[1]))
    n = 0
    for trial in range(40):
        ndim = 2 if trial % 4 else 3
        shape = tuple(int(s) for s in rng.integers(1, 9 if ndim == 2 else 6, ndim))
        if ndim == 3:  # a volume (a last axis of 3 or 4 would read as RGB)
            shape = shape[:2] + (int(rng.integers(5, 9)),)
        img = rng.integers(0, int(rng.integers(1, 40)), shape).astype(np.uint8)
        mode = ["clip", "reflect", "mirror", "wrap"][trial % 4]
        r = int(rng.integers(0, 5))
        est = ["plugin", "miller-madow", "grassberger", "dirichlet"][trial % 4]
        gpuent.local_entropy(img, r, mode=mode, estimator=est)
        gpuent.local_renyi_entropy(img, 2.0, r, mode=mode)
        gpuent.local_std(img, r, mode=mode)
        gpuent.local_mean(img, r, mode=mode)
        if ndim == 2:
            mask = rng.random(shape) < 0.7
            gpuent.local_entropy(img, footprint=gpuent.footprints.disk(r), mode=mode,
                                 mask=mask)
        n += 1
    m = gpuent.ising.torus((8, 10), seed=1)
    gpuent.ising.Simulation(m, seed=1).run(3, beta=gpuent.ising.linear(0.1, 1.0))
    m = gpuent.ising.edge_model(rng.integers(0, 255, (8, 10)).astype(np.uint8))
    gpuent.ising.Simulation(m, seed=1).run(2, beta=gpuent.ising.constant(0.5))
    print("ok", n)
""")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("GPUENT_FUZZ_PROFILE") != "gpuent-fuzz"
    and not os.environ.get("GPUENT_BOUNDSCHECK"),
    reason="compiles every kernel afresh with bounds checks (minutes): runs in make fuzz, "
           "or with GPUENT_BOUNDSCHECK=1")
def test_numba_kernels_with_boundscheck(tmp_path):
    """Every Numba kernel over random shapes and modes with NUMBA_BOUNDSCHECK=1: no IndexError."""
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([os.getcwd(), *sys.path]))
    seed = int(os.environ.get("GPUENT_FUZZ_SEED", "7"))
    proc = subprocess.run([sys.executable, "-c", BOUNDSCHECK, str(seed)], env=env,
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("ok 40"), proc.stdout


def test_profiles_are_registered():
    assert settings.get_profile("gpuent-ci").derandomize
    assert settings.get_profile("gpuent-fuzz").max_examples >= 1000
