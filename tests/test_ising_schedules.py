import numpy as np
import pytest

from gpuent import ising


def test_endpoints_and_shapes():
    n = 11
    lin = ising.linear(4, 1e-3).values(n)
    assert lin[0] == 4 and lin[-1] == pytest.approx(1e-3) and np.all(np.diff(lin) < 0)
    geo = ising.geometric(0.1, 10).values(n)
    assert geo[0] == pytest.approx(0.1) and geo[-1] == pytest.approx(10)
    np.testing.assert_allclose(geo[1:] / geo[:-1], 10 ** (2 / 10))
    log = ising.logarithmic(0.1, 1.0).values(n)
    assert log[0] == pytest.approx(0.1) and log[-1] == pytest.approx(1.0)
    d = np.diff(log)
    assert np.all(d > 0) and np.all(np.diff(d) < 0)  # concave: fast then slow
    assert np.all(ising.constant(0.44).values(n) == 0.44)
    assert ising.linear(1, 2).values(0).shape == (0,)
    assert ising.linear(1, 2).values(1)[0] == 1


def test_arctan_is_the_notebook_formula():
    n = 50
    b = ising.arctan(0.5).values(n)
    i = np.arange(n)
    np.testing.assert_allclose(b, 0.5 * (np.pi / 2) / np.arctan(n - i))
    assert b[-1] == pytest.approx(1.0) and b[0] == pytest.approx(0.5, rel=0.02)


def test_piecewise_heat_then_cool():
    s = ising.piecewise(ising.linear(4, 1e-3), ising.linear(1e-3, 4))
    b = s.values(200)
    assert b.shape == (200,)
    assert b[0] == 4 and b[99] == pytest.approx(1e-3) and b[100] == pytest.approx(1e-3)
    assert b[-1] == 4
    w = ising.piecewise((ising.constant(1), 3), (ising.constant(2), 1)).values(8)
    assert list(w) == [1] * 6 + [2] * 2
    p = ising.parse_schedule("linear:4:1e-3,linear:1e-3:4")
    np.testing.assert_array_equal(p.values(200), b)
    assert ising.constant(1).then(2).values(4).tolist() == [1, 1, 2, 2]


def test_arrays_callables_and_parsing():
    arr = np.linspace(0.1, 0.2, 5)
    np.testing.assert_array_equal(ising.as_schedule(arr).values(5), arr)
    with pytest.raises(ValueError):
        ising.as_schedule(arr).values(6)
    assert ising.as_schedule(lambda t: 0.1 * t).values(3).tolist() == [0, 0.1, 0.2]
    assert ising.as_schedule(lambda t, n: t / n).values(4).tolist() == [0, 0.25, 0.5, 0.75]
    assert ising.parse_schedule("0.3").values(2).tolist() == [0.3, 0.3]
    assert ising.parse_schedule("geometric:0.1:1").values(2)[-1] == pytest.approx(1)
    assert ising.parse_schedule("arctan:0.5").values(3)[-1] == pytest.approx(1)
    assert ising.parse_schedule("log:0.1:1").values(3)[-1] == pytest.approx(1)
    for bad in ("nope:1", "linear:1", "linear:a:b", "", "const:-1"):
        with pytest.raises(ValueError):
            ising.parse_schedule(bad).values(3)
    with pytest.raises(ValueError):
        ising.as_schedule([0.1, -0.2])
    with pytest.raises(ValueError):
        ising.as_schedule(lambda t: -1.0).values(2)
    with pytest.raises(TypeError):
        ising.as_schedule(object())


def test_simulation_records_the_schedule():
    sim = ising.Simulation(ising.torus((8, 8)), seed=0)
    tr = sim.run(6, beta=ising.linear(0.1, 0.6), record_every=2)
    np.testing.assert_allclose(tr.beta, [0.2, 0.4, 0.6])
    assert tr.sweep.tolist() == [2, 4, 6]


def test_arctan_sweeps_versus_notebook_steps():
    # notebook: beta_i = c (pi/2) / arctan(n - i) over n single-site steps, i = 0 .. n-1:
    # c at the start, 2c at the very last step, and within 1% of c for all but the last
    # 64 steps. With steps_per_sweep = N (1 sweep = N steps) sweep t takes the beta of its
    # first step, i = t N; with the default 1 the rise to 2c spreads over the last sweeps.
    c, sweeps, N = 0.5, 40, 50 * 50
    i = np.arange(sweeps * N)
    nb = c * (np.pi / 2) / np.arctan(sweeps * N - i)
    assert nb[-1] == pytest.approx(2 * c) and (nb > 1.01 * c).sum() == 64
    faithful = ising.arctan(c, steps_per_sweep=N).values(sweeps)
    np.testing.assert_allclose(faithful, nb[::N])
    assert faithful.max() < 1.001 * c
    per_sweep = ising.arctan(c).values(sweeps)
    assert per_sweep[-1] == pytest.approx(2 * c) and (per_sweep > 1.01 * c).sum() == 40


def test_heat_then_cool_follows_the_notebook():
    # notebook: k = i / n, beta = 4 (1 - k) + 1e-3 k over n steps, then 1e-3 (1 - k) + 4 k;
    # gpuent's linear parts reach their endpoints exactly (t / (n - 1)), a difference of
    # one step (or sweep) in k
    sweeps = 100
    b = ising.parse_schedule("linear:4:1e-3,linear:1e-3:4").values(2 * sweeps)
    k = np.arange(sweeps) / sweeps
    nb = np.concatenate([4 * (1 - k) + 1e-3 * k, 1e-3 * (1 - k) + 4 * k])
    assert np.all(np.abs(b - nb) <= 4 / sweeps + 1e-12)
    assert b[0] == 4 and b[sweeps - 1] == pytest.approx(1e-3) and b[-1] == 4
