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
