"""Exact physics of the binary torus: Onsager's energy and Yang's magnetization."""

import numpy as np
import pytest

from gpuent import ising

scipy_special = pytest.importorskip("scipy.special")

TC = 2 / np.log(1 + np.sqrt(2))


def onsager_energy(t):
    """Energy per spin of the infinite square-lattice Ising model (J = 1)."""
    b = 1 / t
    k = 2 * np.sinh(2 * b) / np.cosh(2 * b) ** 2
    kk = scipy_special.ellipk(k * k)
    return -1 / np.tanh(2 * b) * (1 + 2 / np.pi * (2 * np.tanh(2 * b) ** 2 - 1) * kk)


def yang_magnetization(t):
    return (1 - np.sinh(2 / t) ** -4) ** 0.125 if t < TC else 0.0


@pytest.mark.parametrize("t", [1.5, 2.0])
def test_ordered_phase_matches_onsager_and_yang(t):
    sim = ising.Simulation(ising.torus((128, 128), init="up"), seed=2020, backend="cpu")
    sim.run(300, beta=1 / t, record_every=0)
    trace = sim.run(2000, beta=1 / t)
    assert abs(trace.energy.mean() - onsager_energy(t)) < 0.01
    assert abs(np.abs(trace.magnetization).mean() - yang_magnetization(t)) < 0.01


def test_disordered_phase_energy_from_random_start():
    t = 3.0
    sim = ising.Simulation(ising.torus((128, 128), init="random", seed=1), seed=7,
                           backend="cpu")
    sim.run(300, beta=1 / t, record_every=0)
    trace = sim.run(2000, beta=1 / t)
    assert abs(trace.energy.mean() - onsager_energy(t)) < 0.01
    assert abs(trace.magnetization.mean()) < 0.05


def test_reference_path_relaxes_like_cpu_path_small():
    # the reference path is the same dynamics (bit for bit, see test_ising_paths); here a
    # small physics smoke test on it alone: high temperature (T = 5) melts the order
    sim = ising.Simulation(ising.torus((32, 32), init="up"), seed=3, backend="reference")
    trace = sim.run(30, beta=0.2)
    assert abs(trace.magnetization[-1]) < 0.2
    assert trace.energy[-1] > -0.6
