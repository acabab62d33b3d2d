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


def _binomial(p, levels):
    """The deterministic binomial measure: each interval's mass splits p : 1 - p."""
    m = np.ones(1)
    for _ in range(levels):
        m = np.ravel(np.column_stack([p * m, (1 - p) * m]))
    return m


def test_binomial_measure_exact_dq(xp):
    # Halsey et al. (1986): H_q grows by log2(p^q + (1-p)^q) / (1 - q) bits per halving,
    # so D_q is exactly that for every q (the Shannon limit at q = 1).
    p = 0.3
    qs = np.array([-4, -1, 0, 0.5, 1, 2, 3, 8])
    r = generalized_dimensions(xp.asarray(_binomial(p, 12)), qs)
    h1 = -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
    exact = [h1 if q == 1 else math.log2(p**q + (1 - p) ** q) / (1 - q) for q in qs]
    np.testing.assert_allclose(r.dimensions, exact, atol=1e-9)
    assert np.all(np.diff(r.dimensions) < 0)
    np.testing.assert_allclose(r.r2, 1.0)
    np.testing.assert_allclose(r.stderr, 0.0, atol=1e-9)  # exactly linear: no fit error


def test_self_similar_sets_same_dq_for_every_q(xp):
    qs = [-3, -1, 0, 0.5, 1, 2, 5]
    d = generalized_dimensions(xp.asarray(carpet(5)), qs, sizes=[1, 3, 9, 27]).dimensions
    np.testing.assert_allclose(d, math.log(8) / math.log(3), atol=1e-9)
    d = generalized_dimensions(xp.asarray(triangle(8)), qs).dimensions
    np.testing.assert_allclose(d, math.log(3) / math.log(2), atol=1e-9)


def test_partial_edge_boxes_do_not_make_dq_increase(xp):
    # Zero-padded partial boxes at the far edges used to look like sparse boxes: a uniform
    # 100 x 100 square gave D_0 = 1.92 < D_1 = 1.96 < D_2 = 1.98 instead of 2 for every q.
    qs = [-2, 0, 1, 2, 4]
    for shape in [(100, 100), (172, 448), (303,), (40, 50, 60)]:
        r = generalized_dimensions(xp.asarray(np.ones(shape)), qs)
        np.testing.assert_allclose(r.dimensions, len(shape), atol=1e-9)
    # the Sierpinski triangle in a 300 x 300 canvas, boxes 1..64 that do not divide 300
    canvas = np.zeros((300, 300), bool)
    canvas[:256, :256] = triangle(8)
    d = generalized_dimensions(xp.asarray(canvas), qs).dimensions
    np.testing.assert_allclose(d, math.log2(3), atol=1e-9)
    with pytest.raises(ValueError, match="shorter side"):
        generalized_dimensions(np.ones((16, 64)), [1], sizes=[2, 32])


def test_cli_fractal_dq_is_the_image_mass_and_non_increasing(tmp_path, capsys):
    import re

    from gpuent.cli import main

    # a 2-D cascade (weights 0.1, 0.2, 0.3, 0.4) as the image; the threshold makes the set
    p = np.array([[0.1, 0.2], [0.3, 0.4]])
    m = np.ones((1, 1))
    for _ in range(8):
        m = np.kron(m, p)
    np.save(tmp_path / "cascade.npy", m)
    qs = [-1, 0, 1, 2, 3]
    assert main(["fractal", str(tmp_path / "cascade.npy"), "--threshold", str(np.median(m)),
                 "--q=" + ",".join(map(str, qs))]) == 0
    line = capsys.readouterr().out
    assert "the image as a mass" in line
    got = [float(v) for v in re.findall(r"D_-?[\d.]+ = (-?[\d.]+)", line)]
    exact = [-(p * np.log2(p)).sum() if q == 1 else np.log2((p**q).sum()) / (1 - q) for q in qs]
    np.testing.assert_allclose(got, exact, atol=1e-4)
    assert np.all(np.diff(got) < 0)
    # a photograph: D_0 >= D_1 >= D_2 (the thresholded set's uniform mass gave 1.91 < 1.95 < 1.96)
    skdata = pytest.importorskip("skimage.data")
    np.save(tmp_path / "camera.npy", skdata.camera())
    assert main(["fractal", str(tmp_path / "camera.npy"), "--threshold", "100"]) == 0
    got = [float(v) for v in re.findall(r"D_\d = ([\d.]+)", capsys.readouterr().out)]
    assert len(got) == 3 and got[0] >= got[1] >= got[2]
