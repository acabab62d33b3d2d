"""Every public function on every array namespace (numpy, array-api-strict, cupy with a GPU).

``CASES`` runs each public name of ``gpuent`` and ``gpuent.ising`` that takes array
data on the ``xp`` fixture's namespace and checks that the result is in that
namespace (or on the host where the function's contract says so: scalars, fit
results, movie frames) and equals the NumPy result. ``EXEMPT`` lists the public
names that take no array data, with the reason; :func:`test_every_public_name_is_covered`
fails when a public name is in neither.

On CuPy every case also runs under :func:`host_transfer_guard`, which fails on a
device-to-host copy larger than the case's stated allowance (``HOST``).
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest
from conftest import to_host

import gpuent as ge
from gpuent import _backend, ising

# --------------------------------------------------------------------------- host-transfer guard

#: bytes a case may copy from the device to the host (its contract's stated transfer)
HOST = {
    "none": 0,
    "numbers": 16 * 1024,  # scalars, a histogram of 256 levels, a few numbers per scale
}


@contextlib.contextmanager
def host_transfer_guard(xp):
    """Record every explicit device-to-host copy made inside the block (bytes in a list).

    gpuent copies to the host only through :func:`gpuent._backend.to_numpy` (and
    ``cupy.asnumpy``); both are wrapped here. Implicit copies of CuPy arrays
    (``numpy.asarray(cupy_array)``) raise TypeError in CuPy itself, so they fail the
    case anyway.
    """
    copied = []
    real = _backend.to_numpy

    def counting(x):
        out = real(x)
        if out is not x:
            copied.append(int(out.nbytes))
        return out

    patched = [(m, "to_numpy") for m in list(sys.modules.values())
               if getattr(m, "__name__", "").startswith("gpuent")
               and getattr(m, "to_numpy", None) is real]
    cp = _backend.cupy_or_none() if _backend.is_cupy(xp) else None
    real_asnumpy = None if cp is None else cp.asnumpy
    try:
        for m, name in patched:
            setattr(m, name, counting)
        if cp is not None:
            cp.asnumpy = lambda a, *args, **kw: (copied.append(int(a.nbytes)),
                                                 real_asnumpy(a, *args, **kw))[1]
        yield copied
    finally:
        for m, name in patched:
            setattr(m, name, real)
        if cp is not None:
            cp.asnumpy = real_asnumpy


# --------------------------------------------------------------------------- cases

RNG = np.random.default_rng(13)
IMG = RNG.integers(0, 256, (48, 40), dtype=np.uint8)
VOL = RNG.integers(0, 8, (10, 12, 9), dtype=np.uint8)
P = np.array([0.5, 0.25, 0.125, 0.125, 0.0])
CARPET = np.ones((27, 27), dtype=bool)
for _k in range(3):
    _s = 3 ** _k
    for _i in range(27):
        for _j in range(27):
            if (_i // _s) % 3 == 1 and (_j // _s) % 3 == 1:
                CARPET[_i, _j] = False


def _mean(xp):
    return lambda w: float(xp.mean(xp.astype(w, xp.float64)))


def _neglog(xp):
    return lambda q: -xp.log(q)


def _simulate(xp, a):
    sim = ising.Simulation(ising.metric_model(a(IMG[:16, :16])), seed=3)
    trace = sim.run(3, beta=ising.linear(0.2, 0.8))
    return sim.spins, trace.energy


# name -> (host allowance, function(xp, to_xp) -> result); the result is compared with the
# NumPy run of the same case; arrays must come back in the input's namespace
CASES = {
    "local_entropy": ("none", lambda xp, a: ge.local_entropy(a(IMG), 2, mode="reflect")),
    # f is evaluated once on the host on a NumPy table of probabilities (its contract)
    "local_expected": ("none", lambda xp, a: ge.local_expected(a(VOL), _neglog(np), 1)),
    "local_renyi_entropy": ("none", lambda xp, a: ge.local_renyi_entropy(a(IMG), 2.0, 2)),
    "local_mean": ("none", lambda xp, a: ge.local_mean(a(IMG), 2, mode="wrap")),
    "local_std": ("none", lambda xp, a: ge.local_std(a(VOL), 1)),
    "block_map": ("none", lambda xp, a: ge.block_map(a(IMG), "entropy", (4, 3))),
    # window_map runs the Python callable once per window: one number per pixel to the host
    "window_map": (IMG[:12, :10].size * 8,
                   lambda xp, a: ge.window_map(a(IMG[:12, :10]), _mean(xp), 1)),
    "gaussian_blur": ("none", lambda xp, a: ge.gaussian_blur(a(IMG), 1.5)),
    "entropy_vs_blur": ("numbers", lambda xp, a: ge.entropy_vs_blur(a(IMG), [0, 1, 3])),
    "intensity_distribution": ("none", lambda xp, a: ge.intensity_distribution(a(IMG))),
    "intensity_entropy": ("numbers", lambda xp, a: ge.intensity_entropy(a(IMG))),
    "shannon_entropy": ("none", lambda xp, a: ge.shannon_entropy(a(P))),
    "renyi_entropy": ("none", lambda xp, a: ge.renyi_entropy(a(P), 2.0)),
    "expected": ("none", lambda xp, a: ge.expected(a(P), _neglog(xp))),
    "box_counting_dimension": (
        "numbers", lambda xp, a: ge.box_counting_dimension(a(CARPET), sizes=[1, 3, 9]).dimension),
    "generalized_dimensions": (
        "numbers",
        lambda xp, a: ge.generalized_dimensions(a(IMG), [0, 1, 2], sizes=[2, 4, 8]).dimensions),
    "information_dimension": (
        "numbers",
        lambda xp, a: ge.information_dimension(a(np.full(4096, 1 / 4096))).dimension),
    "torus": ("none", lambda xp, a: ising.torus((8, 8), init=a(np.sign(IMG[:8, :8] - 127.5)
                                                               .astype(np.int8))).spins),
    "edge_model": ("none", lambda xp, a: ising.edge_model(a(IMG)).spins),
    "metric_model": ("none", lambda xp, a: ising.metric_model(a(IMG)).spins),
    "image_to_spins": ("none", lambda xp, a: ising.image_to_spins(a(IMG), "continuous")),
    "IsingModel": ("none", lambda xp, a: ising.torus((6, 6), init="up", xp=xp).spins),
    # a run records energies and magnetizations per sweep on the host (Trace)
    "Simulation": ("numbers", lambda xp, a: _simulate(xp, a)[0]),
    "Trace": ("numbers", lambda xp, a: _simulate(xp, a)[1]),
    # movie frames are written to files: the frame is a stated host copy
    "spins_to_frame": (IMG.size, lambda xp, a: ising.spins_to_frame(a(IMG.astype(np.float32)
                                                                        / 127.5 - 1))),
}

#: public names that take no array data (nothing namespace-dependent to run)
EXEMPT = {
    "__version__": "a string",
    "footprints": "module of host NumPy footprint constructors (no array input)",
    "ising": "the subpackage; its names are listed from gpuent.ising.__all__",
    "letters_image": "draws text into a new host NumPy image (no array input)",
    "write_movie": "writes host uint8 frames to a file; frames come from spins_to_frame",
    "MovieWriter": "writes host uint8 frames to a file; frames come from spins_to_frame",
    "Schedule": "a host table of inverse temperatures (no array input)",
    "arctan": "schedule constructor (numbers in, host beta table out)",
    "constant": "schedule constructor (numbers in, host beta table out)",
    "geometric": "schedule constructor (numbers in, host beta table out)",
    "linear": "schedule constructor (numbers in, host beta table out)",
    "logarithmic": "schedule constructor (numbers in, host beta table out)",
    "piecewise": "schedule constructor (numbers in, host beta table out)",
    "as_schedule": "schedule constructor (numbers in, host beta table out)",
    "parse_schedule": "parses a schedule string",
}

#: cases whose results the contract puts on the host (NumPy arrays or Python numbers)
HOST_RESULTS = {"entropy_vs_blur", "box_counting_dimension",
                "generalized_dimensions", "information_dimension", "Trace", "spins_to_frame"}


def test_every_public_name_is_covered():
    public = set(ge.__all__) | set(ising.__all__)
    missing = sorted(public - set(CASES) - set(EXEMPT))
    assert not missing, f"public names without an xp case in tests/test_public_xp.py: {missing}"
    assert not set(CASES) & set(EXEMPT)
    stale = sorted((set(CASES) | set(EXEMPT)) - public)
    assert not stale, f"cases for names that are not public: {stale}"


def _leaves(result):
    if isinstance(result, tuple):
        for r in result:
            yield from _leaves(r)
    else:
        yield result


@pytest.fixture(scope="module")
def numpy_results():
    cache = {}

    def get(name):
        # the reference path (no Numba): the GPU machine compiles no Numba kernel for this
        if name not in cache:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(_backend, "numba_available", lambda: False)
                cache[name] = CASES[name][1](np, np.asarray)
        return cache[name]

    return get


@pytest.mark.filterwarnings("ignore:gpuent. windowed map on the slow reference path")
@pytest.mark.parametrize("name", sorted(CASES))
def test_public_function_on_namespace(xp, name, numpy_results):
    allowance, case = CASES[name]
    allowance = HOST.get(allowance, allowance)

    def to_xp(x):
        return xp.asarray(x)

    with host_transfer_guard(xp) as copied:
        result = case(xp, to_xp)
    if _backend.is_cupy(xp):  # the guard's verdict counts on the device
        assert sum(copied) <= allowance, (
            f"{name} copied {sum(copied)} bytes to the host; its contract allows {allowance}")
    want = numpy_results(name)
    for got, ref in zip(_leaves(result), _leaves(want), strict=True):
        if name in HOST_RESULTS:
            assert isinstance(got, (float, np.ndarray, np.floating)), type(got)
        else:
            # NumPy reductions give NumPy scalars (NumPy's own rule); others 0-d arrays
            kinds = (np.ndarray, np.generic) if xp is np else type(to_xp(np.zeros(1)))
            assert isinstance(got, kinds), (name, type(got))
        np.testing.assert_allclose(np.asarray(to_host(got), dtype=np.float64),
                                   np.asarray(ref, dtype=np.float64), rtol=1e-6, atol=1e-9)


def test_guard_sees_a_whole_image_copy():
    """The guard is real: array-api-strict data is blurred by SciPy through an explicit copy."""
    xs = pytest.importorskip("array_api_strict")
    with host_transfer_guard(xs) as copied:
        ge.gaussian_blur(xs.asarray(IMG), 1.0)
    assert sum(copied) >= IMG.nbytes
    with host_transfer_guard(np) as copied:
        ge.gaussian_blur(IMG, 1.0)
    assert copied == []
