"""Counter-based randomness: reference == cpu bit for bit, seeds, Philox known answers."""

import numpy as np
import pytest
from _expected import expected

from gpuent import ising
from gpuent._kernels.ising import philox_key, reference, thresholds

RNG = np.random.default_rng(12)
IMG = (RNG.random((20, 22)) * 255).astype(np.uint8)


def _models():
    return {
        "torus": ising.torus((18, 22), init="random", seed=4),
        "continuous": ising.torus((16, 20), init="random", spins="continuous", seed=5),
        "edge": ising.edge_model(IMG),
        "edge-fixed": ising.edge_model(IMG, edge_spins="fixed"),
        "block": ising.metric_model(IMG),
        "symmetric": ising.metric_model(IMG, energy="symmetric"),
    }


SCHED = ising.piecewise(ising.linear(2.0, 0.05), ising.geometric(0.05, 3.0))


@pytest.mark.parametrize("name", list(_models()))
def test_reference_equals_cpu_bit_for_bit(name):
    model = _models()[name]
    out = {}
    for backend in ("reference", "cpu"):
        sim = ising.Simulation(model, seed=2**40 + 17, backend=backend)
        tr = sim.run(40, beta=SCHED, record_every=3, frames=8)
        out[backend] = (np.asarray(sim.spins), tr)
    (s_ref, t_ref), (s_cpu, t_cpu) = out["reference"], out["cpu"]
    assert s_ref.dtype == s_cpu.dtype == np.asarray(model.spins).dtype
    assert np.array_equal(s_ref, s_cpu)
    assert not np.array_equal(s_cpu, np.asarray(model.spins))
    assert np.array_equal(t_ref.energy, t_cpu.energy)
    assert np.array_equal(t_ref.magnetization, t_cpu.magnetization)
    assert np.array_equal(t_ref.sweep, t_cpu.sweep)
    assert all(np.array_equal(a, b) for a, b in zip(t_ref.frames, t_cpu.frames))
    assert len(t_cpu.frames) == 5


def test_array_api_strict_reference_equals_numpy():
    xps = pytest.importorskip("array_api_strict")
    model = ising.metric_model(IMG, energy="symmetric")
    strict = ising.metric_model(xps.asarray(IMG), energy="symmetric")
    a = ising.Simulation(model, seed=9, backend="cpu")
    b = ising.Simulation(strict, seed=9)
    assert b.backend == "reference"
    ta, tb = a.run(12, beta=0.7), b.run(12, beta=0.7)
    assert np.array_equal(np.asarray(a.spins), np.asarray(b.spins))
    assert np.array_equal(ta.energy, tb.energy)
    cont = ising.torus(xps.asarray(2 * RNG.random((8, 10)) - 1, dtype=xps.float32),
                       spins="continuous")
    c = ising.Simulation(cont, seed=1)
    d = ising.Simulation(ising.torus(np.asarray(cont.spins), spins="continuous"), seed=1,
                         backend="cpu")
    c.run(10, beta=1.3)
    d.run(10, beta=1.3)
    assert np.array_equal(np.asarray(c.spins), d.spins)


def test_same_seed_same_lattice_other_seed_other_lattice():
    m = ising.torus((64, 64), init="random", seed=0)
    runs = []
    for seed in (5, 5, 6):
        sim = ising.Simulation(m, seed=seed)
        sim.run(15, beta=0.4)
        runs.append(sim.spins.copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_runs_continue_the_stream():
    m = ising.edge_model(IMG)
    one = ising.Simulation(m, seed=3)
    one.run(20, beta=0.5)
    two = ising.Simulation(m, seed=3)
    two.run(7, beta=0.5)
    two.run(13, beta=0.5)
    assert np.array_equal(one.spins, two.spins)
    assert two.sweeps_done == 20


def test_philox_known_answers():
    # Random123 kat_vectors, philox4x32_10
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    from gpuent._kernels.ising import _cpu

    for ctr, key, want in cases:
        got = reference.philox4x32_10(np, *[np.array([c], np.uint32) for c in ctr], *key)
        assert tuple(int(g[0]) for g in got) == want
        got = _cpu.kernels()["philox"](*[np.uint64(v) for v in ctr + key])
        assert tuple(int(g) for g in got) == want


def test_counter_layout_words():
    key = philox_key(2**33 + 5)
    assert key == (5, 2)
    w = reference.site_words(np, (4, 20), 7, 1, key)
    for i, j in [(0, 0), (3, 19), (2, 9), (1, 16)]:
        out = reference.philox4x32_10(
            np, *[np.array([v], np.uint32) for v in (j >> 3, i, 7, 1)], *key)
        assert w[i, j] == out[(j >> 1) & 3][0]


def test_threshold_tables():
    t = thresholds(0.5, False)
    assert t.dtype == np.uint64 and t.shape == (19,)
    assert all(t[:9] == 2**32) and t[17] == 0
    assert t[8 + 4] == np.floor(2**32 * np.exp(-2.0))
    c = thresholds(1.0, True)
    assert c.shape == (4097,) and c[2048] == 2**32 and c[2048 + 256] == np.floor(2**32 / np.e)
    assert all(thresholds(0.0, False)[:17] == 2**32)
    with pytest.raises(ValueError):
        thresholds(-1, False)


def test_bad_arguments():
    m = ising.torus((8, 8))
    with pytest.raises(ValueError):
        ising.Simulation(m, seed=-1)
    sim = ising.Simulation(m)
    with pytest.raises(ValueError):
        sim.run(-1, beta=0.5)
    with pytest.raises(ValueError):
        sim.run(3, beta=-0.5)
    with pytest.raises(ValueError):
        sim.run(3, beta=float("nan"))
    with pytest.raises(ValueError):
        ising.Simulation(m, backend="cuda")
    with pytest.raises(ValueError):
        ising.torus((7, 8))


@pytest.mark.parametrize("energy", ["block", "symmetric"])
def test_every_namespace_gives_the_numpy_lattice(xp, energy):
    """numpy -> cpu path, array_api_strict -> reference path, cupy -> cuda path."""
    from conftest import to_host

    def cpu():
        want = ising.Simulation(ising.metric_model(IMG, energy=energy), seed=77, backend="cpu")
        tw = want.run(10, beta=ising.linear(2.0, 0.2))
        return {"spins": np.asarray(want.spins), "energy": tw.energy}

    want = expected(("ising-paths-metric", IMG, energy, 77, 10, "linear(2.0, 0.2)"), cpu)
    if xp is None:  # GPU run that only fills or checks the stored cpu side
        return
    model = ising.metric_model(xp.asarray(IMG), energy=energy)
    sim = ising.Simulation(model, seed=77)
    tr = sim.run(10, beta=ising.linear(2.0, 0.2))
    assert np.array_equal(to_host(sim.spins), want["spins"])
    assert np.array_equal(tr.energy, want["energy"])
