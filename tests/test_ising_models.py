"""Models: the energies and energy changes of the notebook (section 12), independently."""

import numpy as np
import pytest

from gpuent import ising
from gpuent._kernels.ising import reference

RNG = np.random.default_rng(2020)


def _index(model, s):
    xp = np
    eidx = 17 if model.edge_spins == "fixed" else 8
    return reference._index(xp, model.kind, s, model.aux, eidx)


# --- the notebook's functions, transcribed (section 12) --------------------------------
def nb_neighbors(a, i, j):
    return np.hstack([a[:, j].take([i - 1, i + 1], mode="wrap"),
                      a[i, :].take([j - 1, j + 1], mode="wrap")])


def nb_energy(img, i, j):
    return -1 + np.sum(np.abs(img[i, j] - nb_neighbors(img, i, j)))


def nb_takewrap(a, i, j, xs=np.arange(-1, 2), ys=np.arange(-1, 2)):  # noqa: B008
    return np.array([x for v in a.take(xs + i, axis=0, mode="wrap")
                     for x in v.take(ys + j, mode="wrap")])


def nb_sienergy(img, init, i, j):
    eq = nb_takewrap(img, i, j) == nb_takewrap(init, i, j)
    return -np.abs(np.sum(2 * eq - 1))


def nb_ienergy(img, init, i, j):
    eq = nb_takewrap(img, i, j) == nb_takewrap(init, i, j)
    return -np.abs(np.sum(1 * eq))


def nb_nenergy(img, edges, i, j):
    # notebook nenergy with l + r + t + b (the scan's "1 + r + t + b" read as l)
    if edges[i, j]:
        return 0
    w, h = np.shape(img)
    vals = []
    for a, b in [((i - 1) % w, j), ((i + 1) % w, j), (i, (j - 1) % h), (i, (j + 1) % h)]:
        vals.append(0 if edges[a, b] else img[a, b])
    return -img[i, j] * sum(vals)


def _flip_de(func, s, *args, i, j):
    s = s.copy()
    e0 = func(s, *args, i, j)
    s[i, j] *= -1
    return func(s, *args, i, j) - e0


# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("energy,func", [("block", nb_ienergy), ("symmetric", nb_sienergy)])
def test_metric_energy_changes_equal_notebook(energy, func):
    img = (RNG.random((10, 12)) > 0.5).astype(np.uint8) * 255
    m = ising.metric_model(img, energy=energy)
    init = np.asarray(m.aux).astype(int)
    for _ in range(5):
        s = np.where(RNG.random(img.shape) < 0.3, -init, init).astype(np.int8)
        idx = _index(m, s) - 8
        for _ in range(30):
            i, j = RNG.integers(10), RNG.integers(12)
            assert idx[i, j] == _flip_de(func, s.astype(int), init, i=i, j=j)


def test_edge_energy_changes_equal_notebook_and_total_energy():
    img = (RNG.random((12, 14)) > 0.5).astype(np.uint8) * 255
    edges = RNG.random(img.shape) < 0.2
    m = ising.edge_model(img, edges=edges)
    s = np.where(RNG.random(img.shape) < 0.5, -1, 1).astype(np.int8)
    idx = _index(m, s) - 8
    for i in range(12):
        for j in range(14):
            de = _flip_de(nb_nenergy, s.astype(int), edges, i=i, j=j)
            assert idx[i, j] == de
            if not edges[i, j]:  # the site dE is the change of the total energy
                t = s.copy()
                t[i, j] *= -1
                assert 2 * (_edge_total(t, edges) - _edge_total(s, edges)) == 2 * de


def _edge_total(s, edges):
    """Independent sum over uncut bonds: -s_i s_j over bonds between non-edge pixels."""
    h, w = s.shape
    e = 0
    for i in range(h):
        for j in range(w):
            for a, b in [((i + 1) % h, j), (i, (j + 1) % w)]:
                if not edges[i, j] and not edges[a, b]:
                    e -= int(s[i, j]) * int(s[a, b])
    return e


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_edge_model_energy_equals_sum_over_uncut_bonds(backend):
    img = ising.letters_image((64, 64))
    m = ising.edge_model(img)
    edges = np.asarray(m.edges)
    assert 0.02 < edges.mean() < 0.4
    sim = ising.Simulation(m, seed=11, backend=backend)
    tr = sim.run(6, beta=0.6)
    assert tr.energy[-1] * 64 * 64 == _edge_total(np.asarray(sim.spins), edges)


def test_edge_pixels_flip_or_stay_fixed():
    img = ising.letters_image((32, 32))
    for mode in ("flip", "fixed"):
        m = ising.edge_model(img, edge_spins=mode)
        e = np.asarray(m.edges)
        sim = ising.Simulation(m, seed=1)
        sim.run(1, beta=5.0)
        changed = np.asarray(sim.spins) != np.asarray(m.spins)
        if mode == "flip":  # dE = 0 on an edge pixel: accepted with probability 1/2
            assert 0.3 < changed[e].mean() < 0.7
        else:
            assert not changed[e].any()


def test_continuous_energy_change_equals_notebook_within_grid():
    m = ising.torus((8, 10), init="random", spins="continuous", seed=3)
    s = np.asarray(m.spins)
    q = (_index(m, s) - 2048) / 256
    for i in range(8):
        for j in range(10):
            de = _flip_de(nb_energy, s.astype(np.float64), i=i, j=j)
            assert abs(q[i, j] - de) <= 1 / 512 + 1e-6


def test_continuous_spins_keep_their_magnitude_and_energy_definition():
    m = ising.torus((16, 16), init="random", spins="continuous", seed=8)
    sim = ising.Simulation(m, seed=2)
    tr = sim.run(5, beta=1.0)
    s = sim.spins
    assert s.dtype == np.float32
    assert np.array_equal(np.abs(s), np.abs(np.asarray(m.spins)))
    # energy per spin = mean over sites of (|s - down| + |s - right| - 2), up to 2**-24 rounding
    s64 = s.astype(np.float64)
    e = (np.abs(s64 - np.roll(s64, -1, 0)) + np.abs(s64 - np.roll(s64, -1, 1)) - 2).mean()
    assert abs(tr.energy[-1] - e) < 1e-6
    assert abs(tr.magnetization[-1] - s64.mean()) < 1e-6


def test_binary_torus_energy_is_standard_ising():
    m = ising.torus((10, 12), init="random", seed=1)
    sim = ising.Simulation(m, seed=5)
    tr = sim.run(3, beta=0.3)
    s = np.asarray(sim.spins).astype(int)
    e = -(s * (np.roll(s, -1, 0) + np.roll(s, -1, 1))).sum() / s.size
    assert tr.energy[-1] == e
    assert tr.magnetization[-1] == s.mean()


def test_image_to_spins_mapping():
    img = np.array([[0, 127, 128, 255]], np.uint8).repeat(2, 0)
    assert np.array_equal(ising.image_to_spins(img)[0], [-1, -1, 1, 1])
    c = ising.image_to_spins(img, "continuous")[0]
    np.testing.assert_allclose(c, 2 * img[0].astype(float) / 255 - 1, rtol=1e-6)
    assert ising.torus(init=np.ones((4, 4), bool)).spins.min() == 1
    with pytest.raises(ValueError):
        ising.metric_model(np.zeros((5, 6), np.uint8))
    with pytest.raises(ValueError):
        ising.metric_model(np.zeros((6, 6), np.uint8), energy="other")
    with pytest.raises(ValueError):
        ising.torus((6, 6), spins="grey")


def test_metric_model_anneals_back_to_image():
    img = ising.letters_image((64, 64))
    m = ising.metric_model(img)
    sim = ising.Simulation(m, seed=0)
    sim.run(40, beta=ising.piecewise(ising.linear(4, 1e-3), ising.linear(1e-3, 4)))
    agree = (np.asarray(sim.spins) == np.asarray(m.aux)).mean()
    assert agree > 0.9


# --- fidelity to the notebook: colour phases, image mapping, edges ----------------------
@pytest.mark.parametrize("kind", ["torus", "edge", "block", "symmetric"])
def test_phase_update_equals_sequential_notebook_steps(kind):
    """A sweep = the notebook's single-site Metropolis steps, one site at a time in phase
    order (row-major within a phase), each site with its own Philox word: no two sites
    of a phase see each other, so updating a phase at once changes nothing."""
    from gpuent._kernels.ising import philox_key, thresholds

    h, w = 6, 10
    img = (RNG.random((h, w)) > 0.5).astype(np.uint8) * 255
    edges = RNG.random((h, w)) < 0.2
    if kind == "torus":
        m = ising.torus(init=img)
        def de(s, i, j):
            return _flip_de(nb_energy, s, i=i, j=j)
    elif kind == "edge":
        m = ising.edge_model(img, edges=edges)
        def de(s, i, j):
            return _flip_de(nb_nenergy, s, edges, i=i, j=j)
    else:
        m = ising.metric_model(img, energy=kind)
        init = np.asarray(m.aux).astype(int)
        func = nb_ienergy if kind == "block" else nb_sienergy
        def de(s, i, j):
            return _flip_de(func, s, init, i=i, j=j)
    s0 = np.where(RNG.random((h, w)) < 0.5, -1, 1).astype(np.int8)
    m = ising.IsingModel(m.kind, s0, m.aux, m.edge_spins)
    key, beta = philox_key(99), 0.7
    table = thresholds(beta, False)
    sim = ising.Simulation(m, seed=99, backend="reference")
    sim.run(1, beta=beta)
    s = s0.astype(int)
    four = kind in ("block", "symmetric")
    for phase in range(4 if four else 2):
        words = reference.site_words(np, (h, w), 0, phase, key)
        for i in range(h):
            for j in range(w):
                p = 2 * (i % 2) + j % 2 if four else (i + j) % 2
                # an edge pixel's zero-cost flip is accepted with probability 1/2
                # (heat-bath; see gpuent.ising.models), every other site by Metropolis
                idx = 18 if kind == "edge" and edges[i, j] else int(de(s, i, j)) + 8
                if p == phase and words[i, j] < table[idx]:
                    s[i, j] *= -1
    assert np.array_equal(np.asarray(sim.spins), s)


def test_uint8_images_use_255_like_the_notebook():
    # notebook: eimg = -1 + 2 * (np.array(img) / 255): x_max is the dtype's 255, never the
    # image's own maximum (a dark image stays dark)
    img = np.array([[0, 50, 100, 127], [128, 150, 200, 255]], np.uint8)
    eimg = -1 + 2 * (img / 255)
    c = np.asarray(ising.image_to_spins(img, "continuous"))
    np.testing.assert_allclose(c, eimg, rtol=0, atol=1e-7)
    assert np.array_equal(ising.image_to_spins(img), np.where(eimg >= 0, 1, -1))
    dark = np.full((4, 4), 100, np.uint8)
    assert (np.asarray(ising.metric_model(dark).spins) == -1).all()


def test_binary_torus_flip_cost_is_notebook_energy_and_j_equals_one():
    s = np.where(RNG.random((6, 8)) < 0.5, -1, 1).astype(np.int8)
    m = ising.torus(init=s.astype(np.float32))
    idx = _index(m, np.asarray(m.spins)) - 8
    for i in range(6):
        for j in range(8):
            nb = _flip_de(nb_energy, s.astype(int), i=i, j=j)
            assert idx[i, j] == nb == 2 * s[i, j] * nb_neighbors(s.astype(int), i, j).sum()


def test_block_energy_is_a_field_toward_the_image():
    # ienergy's dE depends on the centre only (+1 to leave the image, -1 to return)
    img = (RNG.random((8, 8)) > 0.5).astype(np.uint8) * 255
    m = ising.metric_model(img)
    s = np.where(RNG.random((8, 8)) < 0.5, -1, 1).astype(np.int8)
    idx = _index(m, s) - 8
    assert np.array_equal(idx, np.where(s == np.asarray(m.aux), 1, -1))


def test_computed_edges_are_a_gradient_threshold():
    # wrapped central differences of x / 255: a step of 128 or more marks the two pixels
    # beside it (on a torus also the wrap-around step); 127 does not reach 0.25
    for step, cols in ((127, []), (128, [0, 3, 4, 7]), (255, [0, 3, 4, 7])):
        a = np.zeros((6, 8), np.uint8)
        a[:, 4:] = step
        e = np.asarray(ising.edge_model(a).edges)
        assert (e == e[0]).all() and np.flatnonzero(e[0]).tolist() == cols
    e = np.asarray(ising.edge_model(a, threshold=0.6).edges)
    assert not e.any()


def test_free_edge_pixels_become_random():
    # The notebook's random-site steps leave a decoupled edge pixel random. Sweeps with
    # Metropolis would flip it every sweep (period 2); gpuent accepts with probability 1/2
    # (heat-bath for dE = 0), so after each sweep about half the edge pixels have flipped,
    # independently of the sweep's parity, and frozen ones never move.
    img = ising.letters_image((64, 64))
    m = ising.edge_model(img)
    e = np.asarray(m.edges)
    assert e.sum() > 200
    s0 = np.asarray(m.spins)
    sim = ising.Simulation(m, seed=4, backend="reference")
    prev = s0
    for _ in range(4):
        sim.run(1, beta=0.5)
        s = np.asarray(sim.spins)
        flipped = np.mean(s[e] != prev[e])
        assert 0.35 < flipped < 0.65
        prev = s
    fixed = ising.Simulation(ising.edge_model(img, edge_spins="fixed"), seed=4)
    fixed.run(3, beta=0.5)
    assert np.array_equal(np.asarray(fixed.spins)[e], s0[e])
