"""What a new user hit: 16-bit and multi-page inputs, read-only arrays, 3-D stacks, defaults,
interrupted movies, self-contained help, 3-D footprints, and comparable, publishable pictures.

Oracles: scikit-image (``rank.entropy``, ``morphology.ball``, ``data`` images), Pillow's own
reading of the files written, and exact values (log2 of the number of levels).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

import gpuent as ge
from gpuent.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _frames(path):
    with Image.open(path) as im:
        return [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(im)]


@pytest.fixture()
def gray_png(tmp_path):
    from skimage import data

    path = tmp_path / "camera.png"
    Image.fromarray(data.camera()[::4, ::4]).save(path)  # 128 x 128, a real photo
    return path


@pytest.fixture()
def coins16(tmp_path):
    """A 16-bit TIFF of a real photo, using the whole 16-bit range."""
    tifffile = pytest.importorskip("tifffile")
    from skimage import data

    img = data.coins()[:96, :128].astype(np.uint16) * 257
    path = tmp_path / "coins16.tif"
    tifffile.imwrite(path, img)
    return path, img


@pytest.fixture()
def stack(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(3)
    vol = rng.integers(0, 256, (5, 24, 32), dtype=np.uint8)
    vol[3] = np.where(np.indices((24, 32)).sum(0) % 8 < 4, 40, 220)  # a distinct plane
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, vol)
    return path, vol


# ---------------------------------------------------------------- 4: writeable arrays

def test_read_image_gray_png_is_writeable_for_scikit_image(gray_png):
    from skimage.filters.rank import entropy
    from skimage.morphology import disk

    from gpuent.io import read_image

    img = read_image(gray_png)
    assert img.flags.writeable
    entropy(img, disk(2))  # failed with "buffer source array is read-only"


def test_read_image_npy_is_writeable_and_leaves_the_file_alone(tmp_path):
    from gpuent.io import read_image

    path = tmp_path / "a.npy"
    np.save(path, np.arange(12, dtype=np.uint8).reshape(3, 4))
    img = read_image(path)
    assert img.flags.writeable
    img[0, 0] = 99
    assert np.load(path)[0, 0] == 0


# ------------------------------------------------------- 2: ising reads like entropy

def test_ising_16_bit_input_is_not_blank(coins16, tmp_path, capsys):
    path, img = coins16
    out = tmp_path / "c.gif"
    code, _, err = _run(["ising", path, "--model", "torus", "--beta", "0", "--sweeps", "1",
                         "-o", out], capsys)
    assert code == 0, err
    frame = _frames(out)[0]
    # the first frame after one sweep at beta = 0 is noise, so check the image instead:
    # the model's initial spins follow 2 x / 65535 - 1, not a white 8-bit clip
    from gpuent.commands.ising import _read_image

    read = _read_image(path, None)
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, img)
    spins = ge.ising.image_to_spins(read[:, :128])
    assert 0.2 < (spins > 0).mean() < 0.8
    assert frame.shape == (96, 128)


def test_ising_16_bit_movie_shows_the_image(coins16, tmp_path, capsys):
    path, img = coins16
    out = tmp_path / "c.gif"
    code, _, err = _run(["ising", path, "--model", "metric", "--beta", "4", "--sweeps", "2",
                         "-o", out], capsys)
    assert code == 0, err
    frame = _frames(out)[-1]
    bright = frame > 127
    assert 0.1 < bright.mean() < 0.9  # was all white
    truth = img[:96, :128] >= 32768
    assert (bright == truth).mean() > 0.9


def test_ising_stack_says_which_plane_and_takes_plane(stack, tmp_path, capsys):
    path, vol = stack
    out = tmp_path / "s.gif"
    code, _, err = _run(["ising", path, "--model", "metric", "--beta", "4", "--sweeps", "1",
                         "-o", out], capsys)
    assert code == 0, err
    assert "stack of 5 planes" in err and "plane 2" in err and "--plane" in err
    code, _, err = _run(["ising", path, "--plane", "3", "--model", "metric", "--beta", "4",
                         "--sweeps", "1", "-o", out], capsys)
    assert code == 0, err
    assert "plane 3" in err
    frame = _frames(out)[-1]
    assert ((frame > 127) == (vol[3] >= 128)).mean() > 0.95
    code, _, err = _run(["ising", path, "--plane", "9", "--sweeps", "1", "-o", out], capsys)
    assert code == 2 and "outside" in err and "5 planes" in err


def test_ising_resize_keeps_16_bits(coins16):
    from gpuent.commands.ising import _read_image

    path, img = coins16
    small = _read_image(path, (48, 64))
    assert small.dtype == np.uint16 and small.shape == (48, 64)
    assert small.max() > 255  # not squeezed through 8 bits


# ------------------------------------------------------------- 7: defaults for a photo

def test_ising_photo_needs_no_options(gray_png, tmp_path, capsys, monkeypatch):
    from gpuent.commands import ising as cmd

    monkeypatch.setitem(cmd.IMAGE_DEFAULTS, "sweeps", 6)  # the default length, shortened
    out = tmp_path / "out.gif"
    code, so, err = _run(["ising", gray_png, "-o", out], capsys)
    assert code == 0, err
    assert "edges preset" in err and "arctan:0.5" in err
    assert "6 sweeps of a 128x128 edge lattice" in so
    assert len(_frames(out)) == 6


def test_ising_image_defaults_are_the_edges_preset():
    from gpuent.commands.ising import IMAGE_DEFAULTS, PRESETS

    assert IMAGE_DEFAULTS == PRESETS["edges"]
    assert IMAGE_DEFAULTS["sweeps"] == 200 and IMAGE_DEFAULTS["schedule"] == "arctan:0.5"


# ------------------------------------------------------- 9: an interrupted ising movie

def test_interrupted_ising_says_where_the_partial_movie_is(gray_png, tmp_path, capsys,
                                                           monkeypatch):
    from gpuent import ising

    real = ising.MovieWriter.append

    def append(self, frame):
        if self.count == 3:
            raise KeyboardInterrupt
        return real(self, frame)

    monkeypatch.setattr(ising.MovieWriter, "append", append)
    out = tmp_path / "m.gif"
    code, _, err = _run(["ising", gray_png, "--sweeps", "10", "-o", out], capsys)
    assert code == 130
    assert f"kept the partial movie {out} (3 frames of 10)" in err
    assert "interrupted after sweep" in err
    assert len(_frames(out)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camera.png", "m.gif"]


# ------------------------------------------------------------- --label on movie frames

def test_movie_label_writes_sweep_and_beta(gray_png, tmp_path, capsys):
    plain, labelled = tmp_path / "a.gif", tmp_path / "b.gif"
    args = ["ising", gray_png, "--model", "metric", "--schedule", "linear:4:1", "--sweeps", "4",
            "--every", "2"]
    assert _run([*args, "-o", plain], capsys)[0] == 0
    assert _run([*args, "--label", "-o", labelled], capsys)[0] == 0
    a, b = _frames(plain), _frames(labelled)
    assert len(a) == len(b) == 2
    for fa, fb in zip(a, b):
        diff = fa != fb
        assert diff.any()  # the label is there
        rows = np.nonzero(diff.any(axis=1))[0]
        assert rows.max() < 40  # ... in a band at the top, the rest is the same movie
    from gpuent.commands.ising import draw_label

    one = draw_label(np.full((64, 256), 128, np.uint8), "sweep 2  beta 3")
    two = draw_label(np.full((64, 256), 128, np.uint8), "sweep 4  beta 1")
    assert (one != two).any()


# --------------------------------------------------------------------- 6: 3-D maps

def test_maps_on_a_stack_uses_one_plane(stack, tmp_path, capsys):
    path, vol = stack
    out = tmp_path / "m.csv"
    code, _, err = _run(["maps", path, "--radii", "1,2", "-o", out], capsys)
    assert code == 0, err
    assert "stack of 5 planes" in err and "plane 2" in err
    code, _, err = _run(["maps", path, "--radii", "1", "--plane", "3", "-o", out], capsys)
    assert code == 0, err
    from skimage.filters.rank import entropy

    want = entropy(vol[3], np.ones((3, 3), bool))
    rows = [r for r in out.read_text().splitlines() if not r.startswith("#")]  # provenance
    row = rows[1].split(",")
    assert float(row[0]) == 1 and math.isclose(float(row[2]), want.mean(), rel_tol=1e-5)
    pytest.importorskip("matplotlib")
    code, _, err = _run(["maps", path, "--radii", "1,2", "-o", tmp_path / "m.png"], capsys)
    assert code == 0, err  # was matplotlib's "Invalid shape (5, 24, 32)"


def test_maps_png_is_wide_with_one_colour_scale(gray_png, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from gpuent.commands import maps

    seen = []
    real = maps.montage

    def spy(ms, stat, path, **kw):
        seen.append(maps.shared_scale(ms, stat, kw.get("levels")))
        return real(ms, stat, path, **kw)

    monkeypatch.setattr(maps, "montage", spy)
    out = tmp_path / "g.png"
    code, _, err = _run(["maps", gray_png, "--radii", "1,2,3,10", "-o", out], capsys)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.size[0] >= 1600
    assert seen == [(0.0, 8.0)]  # entropy of 8-bit images: 0..log2(256) for every panel
    import matplotlib

    matplotlib.use("Agg")
    ms = maps.compute_maps(np.asarray(Image.open(gray_png)), [1, 5], "std")
    lo, hi = maps.shared_scale(ms, "std")
    assert lo == min(float(m.min()) for _, m, _ in ms)
    assert hi == max(float(m.max()) for _, m, _ in ms)


def test_demo_maps_png_is_wide(tmp_path):
    pytest.importorskip("matplotlib")
    from gpuent.commands import maps

    maps.demo(tmp_path, True)
    with Image.open(tmp_path / "maps.png") as im:
        assert im.size[0] >= 1600


# ----------------------------------------------------------- 11: 3-D footprints

def test_ball_and_cube_match_scikit_image():
    from skimage.morphology import ball

    for r in range(4):
        np.testing.assert_array_equal(ge.footprints.ball(r), ball(r).astype(bool))
        assert ge.footprints.cube(r).shape == (2 * r + 1,) * 3
    np.testing.assert_array_equal(ge.footprints.parse_footprint("ball:2"),
                                  ge.footprints.ball(2))


def test_entropy_cli_3d_footprints(stack, tmp_path, capsys):
    path, vol = stack
    out = tmp_path / "e.npy"
    code, _, err = _run(["entropy", path, "--footprint", "disk:2", "-o", out], capsys)
    assert code == 2
    assert "3-D volume" in err and "ball:R or cube:R" in err and "--footprint ball:2" in err
    code, _, err = _run(["entropy", path, "--footprint", "ball:1", "-o", out], capsys)
    assert code == 0, err
    from skimage.filters.rank import entropy
    from skimage.morphology import ball

    np.testing.assert_allclose(np.load(out), entropy(vol, ball(1)), rtol=2e-6, atol=2e-6)
    code, _, err = _run(["entropy", path, "--footprint", "cube:1", "-o", out], capsys)
    assert code == 0, err
    np.testing.assert_allclose(np.load(out), ge.local_entropy(vol, 1), atol=0)


def test_entropy_cli_3d_footprint_on_a_2d_image(gray_png, tmp_path, capsys):
    code, _, err = _run(["entropy", gray_png, "--footprint", "cube:1", "-o",
                         tmp_path / "e.npy"], capsys)
    assert code == 2 and "is 3-D" in err and "--footprint square:1" in err


def test_library_footprint_error_suggests_3d_footprints():
    vol = np.zeros((5, 6, 7), np.uint8)
    with pytest.raises(ValueError, match="ball"):
        ge.local_entropy(vol, footprint=ge.footprints.disk(1))


# ---------------------------------------------------------- pictures: entropy PNGs

def test_png_default_scale_is_fixed_and_printed(gray_png, tmp_path, capsys):
    from gpuent._colormaps import apply_colormap

    out = tmp_path / "e.png"
    code, so, err = _run(["entropy", gray_png, "-r", "2", "-o", out], capsys)
    assert code == 0, err
    assert "colours 0..8 bits" in so and "log2 256 levels" in so
    emap = ge.local_entropy(np.asarray(Image.open(gray_png)), 2)
    got = np.asarray(Image.open(out).convert("RGB"))
    np.testing.assert_array_equal(got, apply_colormap(emap, vmin=0, vmax=8))
    # the same value gets the same colour in every picture: a flat image is not stretched
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((20, 20), 7, np.uint8)).save(flat)
    assert _run(["entropy", flat, "-o", tmp_path / "f.png"], capsys)[0] == 0
    assert (np.asarray(Image.open(tmp_path / "f.png").convert("RGB")) ==
            apply_colormap(np.zeros((1, 1)), vmin=0, vmax=8)[0, 0]).all()


def test_png_vmin_vmax_and_cmap(gray_png, tmp_path, capsys):
    from gpuent._colormaps import apply_colormap, colormap_table

    out = tmp_path / "e.png"
    code, so, err = _run(["entropy", gray_png, "-r", "2", "--vmin", "1", "--vmax", "5",
                          "--cmap", "gray", "-o", out], capsys)
    assert code == 0, err
    assert "colours 1..5 bits" in so
    emap = ge.local_entropy(np.asarray(Image.open(gray_png)), 2)
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")),
                                  apply_colormap(emap, name="gray", vmin=1, vmax=5))
    pytest.importorskip("matplotlib")
    import matplotlib

    code, _, err = _run(["entropy", gray_png, "--cmap", "viridis", "-o", out], capsys)
    assert code == 0, err
    want = np.rint(matplotlib.colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255)
    np.testing.assert_array_equal(colormap_table("viridis"), want.astype(np.uint8))


@pytest.mark.parametrize("argv,needle", [
    (["--vmin", "3", "--vmax", "2"], "must be below"),
    (["--vmax", "nan"], "finite"),
    (["--cmap", "no-such-map"], "unknown colour map"),
    (["--cmap", "gray", "-o", "x.npy"], "--cmap applies to pictures"),
    (["--colorbar", "--vmin", "1", "-o", "x.tif"], "--vmin/--colorbar apply to pictures"),
])
def test_picture_option_errors(gray_png, tmp_path, argv, needle):
    if "-o" not in argv:
        argv = [*argv, "-o", "x.png"]
    proc = subprocess.run([sys.executable, "-m", "gpuent", "entropy", str(gray_png), *argv],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpuent: error:") and needle in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camera.png"]


def test_colorbar_png_pdf_svg(gray_png, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png, pdf, svg = tmp_path / "e.png", tmp_path / "e.pdf", tmp_path / "e.svg"
    assert _run(["entropy", gray_png, "-r", "3", "--colorbar", "-o", png], capsys)[0] == 0
    with Image.open(png) as im:
        w, h = im.size
    assert h >= 128 and w > h  # the map and a colour bar beside it
    assert _run(["entropy", gray_png, "-r", "3", "--colorbar", "--base", str(math.e),
                 "-o", pdf], capsys)[0] == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert _run(["entropy", gray_png, "--footprint", "disk:2", "--colorbar", "-o", svg],
                capsys)[0] == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    # the colour bar's label is text in the SVG (matplotlib writes glyphs as paths unless
    # svg.fonttype is none); check the label the CLI asks for instead
    from gpuent.commands import _picture

    assert _picture.unit_name(2) == "bits" and _picture.unit_name(math.e) == "nats"


def test_colorbar_label_names_unit_and_window(gray_png, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from gpuent.commands import _picture

    labels = []
    real = _picture.figure

    def spy(emap, **kw):
        labels.append(kw["label"])
        return real(emap, **kw)

    monkeypatch.setattr(_picture, "figure", spy)
    assert _run(["entropy", gray_png, "-r", "3", "--colorbar", "--base", str(math.e), "-o",
                 tmp_path / "e.png"], capsys)[0] == 0
    assert _run(["entropy", gray_png, "--footprint", "disk:2", "-o", tmp_path / "e.svg"],
                capsys)[0] == 0
    assert labels == ["local entropy (nats), r = 3", "local entropy (bits), footprint disk:2"]


def test_help_names_the_picture_formats():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices["entropy"]
    text = sub.format_help()
    for word in (".pdf", ".svg", "--cmap", "--vmin", "--vmax", "--colorbar", "ball:R"):
        assert word in text


# --------------------------------------------------------------- --workers > cores

def test_workers_above_core_count_warns_once(tmp_path, monkeypatch):
    pytest.importorskip("dask")
    pytest.importorskip("zarr")
    np.save(tmp_path / "in.npy", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 200)
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    proc = subprocess.run([sys.executable, "-m", "gpuent", "entropy", "in.npy", "--scheduler",
                           "threads", "--workers", str(cores + 3), "-o", "m.zarr", "-q"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning") == 1
    assert f"--workers {cores + 3} is more than the {cores} CPU core" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "gpuent", "entropy", "in.npy", "--scheduler",
                           "threads", "--workers", "1", "-o", "n.zarr", "-q"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0 and "warning" not in proc.stderr


def test_fractal_plot_of_a_stack(stack, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path, _ = stack
    out = tmp_path / "f.png"
    code, _, err = _run(["fractal", path, "--sizes", "1,2", "-o", out], capsys)
    assert code == 0, err  # was matplotlib's "Invalid shape (5, 24, 32) for image data"
    with Image.open(out) as im:
        assert im.size[0] > 100


def test_default_scale_depends_on_the_type_only():
    from gpuent.commands._picture import count_levels, default_scale

    assert default_scale(count_levels(np.zeros(4, np.uint8), None), 2) == (0.0, 8.0)
    assert default_scale(count_levels(np.array([0, 9], np.uint16), None), 2) == (0.0, 16.0)
    assert default_scale(count_levels(np.ones(4, bool), None), 2) == (0.0, 1.0)
    assert default_scale(count_levels(np.ones(4, np.float32), 64), 2) == (0.0, 6.0)
    lo, hi = default_scale(256, math.e)
    assert lo == 0 and math.isclose(hi, math.log(256))


def test_renyi_of_a_uniform_window_is_plus_zero():
    """log 1 / (1 - alpha) is -0.0 for alpha > 1: maps and global values give +0.0."""
    import gpuent as ge

    flat = np.full((9, 9), 7, np.uint8)
    out = ge.local_renyi_entropy(flat, 2.0, 2)
    assert not np.signbit(out).any()
    assert not np.signbit(ge.renyi_entropy(np.array([1.0]), 2.0))


def test_base_e_means_nats(tmp_path, capsys):
    import math

    from gpuent.commands._picture import unit_name
    from gpuent.commands.entropy import _base

    assert _base("e") == math.e and _base("10") == 10.0
    assert unit_name(_base("e")) == "nats" and unit_name(2.718281828) == "nats"


def test_fractal_fit_png_is_large_and_labelled(gray_png, tmp_path, capsys, monkeypatch):
    # the fit.png was 544 x 256 px with 9-pt titles, an unlabelled legend range and no units
    pytest.importorskip("matplotlib")
    from gpuent import _plot

    figures = []
    real = _plot.save_figure

    def keep(fig, path, **kw):
        figures.append([(ax.get_xlabel(), ax.get_ylabel(), ax.get_legend()) for ax in fig.axes])
        real(fig, path, **kw)

    monkeypatch.setattr(_plot, "save_figure", keep)
    out = tmp_path / "fit.png"
    code, _, err = _run(["fractal", gray_png, "--threshold", "100", "-o", out], capsys)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.width >= 1400 and im.height >= 500
    (axes,) = figures
    labels = [a for a in axes if a[0]]
    assert ("box side s (pixels, log scale)", "boxes holding the set, N(s) (log scale)") == \
        labels[0][:2]
    legend = " ".join(t.get_text() for t in labels[0][2].get_texts())
    assert re.search(r"D = \d\.\d{3} ± \d\.\d{3}\n +fit over s = 1-\d+ px, R² = ", legend)
    assert labels[1][:2] == ("order q", "generalized dimension $D_q$")


def test_readme_block_map_example_holds():
    from skimage import data

    text = (ROOT / "README.md").read_text()
    assert "**number of parts** per axis, not a block size" in text
    m = ge.block_map(data.camera(), "entropy", (4, 8))
    assert m.shape == (4, 8)
    assert m[0, 0] == ge.intensity_entropy(data.camera()[:128, :64])
    assert [len(p) for p in np.array_split(np.arange(512), 3)] == [171, 171, 170]
