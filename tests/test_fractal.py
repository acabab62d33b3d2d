"""Fractal dimensions against exact values."""

import math

import numpy as np
import pytest

from gpuent.fractal import box_counting_dimension, generalized_dimensions, information_dimension


def carpet(level):
    a = np.ones((1, 1), bool)
    for _ in range(level):
        z = np.zeros_like(a)
        a = np.block([[a, a, a], [a, z, a], [a, a, a]])
    return a


def triangle(level):  # Pascal's triangle mod 2: the Sierpinski triangle on a 2^k grid
    i, j = np.indices((2**level, 2**level))
    return (i & j) == j


def test_sierpinski_carpet(xp):
    r = box_counting_dimension(xp.asarray(carpet(5)), sizes=[1, 3, 9, 27])
    assert r.dimension == pytest.approx(math.log(8) / math.log(3), abs=0.01)
    assert r.counts.tolist() == [8**5, 8**4, 8**3, 8**2]
    assert r.r2 == pytest.approx(1.0)


def test_sierpinski_triangle(xp):
    r = box_counting_dimension(xp.asarray(triangle(8)))
    assert r.sizes.tolist() == [1, 2, 4, 8, 16, 32, 64]
    assert r.dimension == pytest.approx(math.log2(3), abs=0.01)


def test_square_and_lines(xp):
    assert box_counting_dimension(xp.asarray(np.ones((128, 128)))).dimension == pytest.approx(2)
    line = np.zeros((128, 96), bool)
    line[7, :] = True
    assert box_counting_dimension(xp.asarray(line)).dimension == pytest.approx(1, abs=0.01)
    diag = np.eye(128, dtype=bool)
    assert box_counting_dimension(xp.asarray(diag)).dimension == pytest.approx(1, abs=0.01)
    assert box_counting_dimension(xp.asarray(np.ones(256, np.uint8))).dimension == pytest.approx(1)


def test_uniform_measure_has_constant_dq(xp):
    qs = [-2, 0, 0.5, 1, 2, 4]
    d = generalized_dimensions(xp.asarray(np.ones((64, 64), bool)), qs).dimensions
    np.testing.assert_allclose(d, 2.0, atol=1e-9)
    d = generalized_dimensions(xp.asarray(carpet(4)), qs, sizes=[1, 3, 9]).dimensions
    np.testing.assert_allclose(d, math.log(8) / math.log(3), atol=0.01)


def test_multifractal_cascade_exact_and_non_increasing(xp):
    p = np.array([[0.1, 0.2], [0.3, 0.4]])
    m = np.ones((1, 1))
    for _ in range(7):
        m = np.kron(m, p)
    qs = np.array([-2, -1, 0, 0.5, 1, 2, 3, 5])
    r = generalized_dimensions(xp.asarray(m), qs)
    exact = [-(p * np.log2(p)).sum() if q == 1 else np.log2((p**q).sum()) / (1 - q) for q in qs]
    np.testing.assert_allclose(r.dimensions, exact, atol=1e-9)
    assert np.all(np.diff(r.dimensions) <= 1e-12)
    assert r.dimension(0) == pytest.approx(box_counting_dimension(m > 0).dimension)
    assert r.entropies.shape == (qs.size, r.sizes.size)


def _gauss(x):
    return np.exp(-(x**2) / 2)


def test_information_dimension_three_cases(xp):
    g = _gauss(np.linspace(-5, 5, 256))
    assert information_dimension(xp.asarray(g / g.sum())).dimension == pytest.approx(1, abs=0.01)
    atom = np.zeros(256)
    atom[100] = 1
    assert information_dimension(xp.asarray(atom)).dimension == pytest.approx(0, abs=1e-12)
    half = _gauss(np.linspace(0, 5, 256))
    mix = np.concatenate([np.zeros(256), 0.5 * half / half.sum()])
    mix[128] += 0.5  # an explicit point mass: the seed's array has none
    r = information_dimension(xp.asarray(mix))
    assert r.dimension == pytest.approx(0.5, abs=0.01)
    assert r.r2 > 0.999
    seed = np.concatenate([np.zeros(256), half])  # the seed's "rectified Gaussian" array
    assert information_dimension(seed).dimension == pytest.approx(1, abs=0.01)


def test_errors():
    with pytest.raises(ValueError, match="empty"):
        box_counting_dimension(np.zeros((32, 32)))
    with pytest.raises(ValueError, match="too small"):
        box_counting_dimension(np.ones((5, 5)))
    with pytest.raises(ValueError, match="at least two"):
        box_counting_dimension(np.ones((32, 32)), sizes=[2])
    with pytest.raises(ValueError, match="non-negative"):
        generalized_dimensions(-np.ones((32, 32)), [1])
    with pytest.raises(ValueError, match="no mass"):
        information_dimension(np.zeros(64))
    with pytest.raises(ValueError, match="1-D"):
        information_dimension(np.ones((8, 8)))


def test_plots():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert box_counting_dimension(triangle(6)).plot() is not None
    r = generalized_dimensions(triangle(6), [0, 1, 2])
    r.plot()
    r.plot(kind="fits")
    information_dimension(np.ones(64)).plot()
    plt.close("all")


def test_cli_fractal(tmp_path, capsys):
    from gpuent.cli import main
    from gpuent.io import write_image

    src = tmp_path / "tri.png"
    write_image(src, triangle(7).astype(np.uint8) * 255)
    assert main(["fractal", str(src), "--threshold", "128", "-o", str(tmp_path / "f.csv")]) == 0
    out = capsys.readouterr().out
    assert "box-counting dimension 1.58" in out
    table = [r for r in (tmp_path / "f.csv").read_text().splitlines() if not r.startswith("#")]
    assert table[0].startswith("size,count,H_q0_bits")  # after the provenance # lines
    assert main(["fractal", str(src), "-o", str(tmp_path / "f.txt")]) == 2
