"""CLI audit: every bad input gives one actionable ``gpuent: error:`` line, exit status 2, no
traceback and no file left behind; success prints one line and honours ``-q``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gpuent.cli import main


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """A folder of good and bad inputs."""
    d = tmp_path_factory.mktemp("audit")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 50), dtype=np.uint8)).save(d / "g.png")
    Image.fromarray(rng.integers(0, 256, (41, 51), dtype=np.uint8)).save(d / "odd.png")
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(d / "one.png")
    np.save(d / "f.npy", rng.random((40, 50)))
    nan = rng.random((40, 50))
    nan[3, 3] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "allnan.npy", np.full((10, 10), np.nan))
    np.save(d / "b.npy", rng.random((40, 50)) > 0.5)
    np.save(d / "c.npy", rng.random((40, 50)) + 1j)
    np.save(d / "vol3.npy", rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    (d / "png.npy").write_bytes((d / "g.png").read_bytes())  # a picture named .npy
    (d / "adir").mkdir()
    (d / "file.zarr").write_bytes(b"")  # a file where a .zarr folder would go
    return d


def _listing(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


BAD = [
    # entropy
    (["entropy", "adir"], "is a folder"),
    (["entropy", "corrupt.png"], "cannot read corrupt.png"),
    (["entropy", "g.png", "-r", "1", "-o", "file.zarr"],
     "a .zarr output is a folder, and a file of that name exists"),
    (["entropy", "png.npy", "-o", "x.npy"], "cannot read png.npy: not a NumPy .npy file"),
    (["entropy", "png.npy", "--tile", "16", "-o", "x.zarr"],
     "cannot read png.npy: not a NumPy .npy file"),
    (["entropy", "f.npy", "-o", "x.npy"], "pass --bins K"),
    (["entropy", "nan.npy", "-o", "x.npy"], "pass --bins K"),
    (["entropy", "f.npy", "--tile", "64", "-o", "x.zarr"], "pass --bins K"),
    (["entropy", "g.png", "-r", "100000", "--mode", "reflect", "-o", "x.npy"],
     "larger than the image"),
    (["entropy", "g.png", "-r", "99999999999999999999", "--mode", "wrap", "-o", "x.npy"],
     "larger than the image"),
    (["entropy", "g.png", "--footprint", "square:100000", "--mode", "mirror", "-o", "x.npy"],
     "larger than the image"),
    (["entropy", "g.png", "--footprint", "", "-o", "x.npy"], "--footprint '' not understood"),
    (["entropy", "g.png", "--footprint", "rect:2x4", "-o", "x.npy"], "e.g. rect:3x5"),
    (["entropy", "g.png", "--bins", "0", "-o", "x.npy"], "--bins must be"),
    (["entropy", "vol3.npy", "-r", "1", "-o", "x.npy"],
     "pass --channel-axis -1 for one map per colour channel, or --channel-axis None"),
    (["entropy", "vol3.npy", "-r", "1", "--channel-axis", "x", "-o", "x.npy"],
     "expected an axis"),
    (["entropy", "vol3.npy", "-r", "1", "--channel-axis", "5", "-o", "x.npy"], "out of range"),
    (["entropy", "g.png", "-o", "g.png"], "is the input file"),
    (["entropy", "g.png", "-o", "/proc/x.png"], "cannot write /proc/x.png"),
    (["entropy", "g.png", "-o", "g.png/x.png"], "is not a folder"),
    (["entropy", "g.png", "-r", "1", "--footprint", "disk:1"], "not allowed with"),
    (["entropy", "nan.npy", "--bins", "8", "--workers", "2", "-o", "x.npy"],
     "--workers needs --scheduler"),
    # maps
    (["maps", "f.npy", "-o", "m.csv"], "pass --bins K"),
    (["maps", "g.png", "--radii", "1,1000", "-o", "m.csv"], "larger than the image"),
    (["maps", "g.png", "--stat", "std", "--bins", "4", "-o", "m.csv"], "--stat entropy only"),
    (["maps", "g.png", "--radii", "1,-2", "-o", "m.csv"], "--radii"),
    (["maps", "g.png", "-o", "g.png"], "is the input file"),
    (["maps", "adir"], "is a folder"),
    # blur-entropy
    (["blur-entropy", "f.npy"], "pass --bins K"),
    (["blur-entropy", "g.png", "--sigmas", "0:1:100000000"], "NUM <= 10000"),
    (["blur-entropy", "g.png", "--sigmas", "-1,2"], "write --sigmas=VALUE"),
    (["blur-entropy", "g.png", "--sigmas=-1,2"], ">= 0"),
    (["blur-entropy", "g.png", "-o", "nodir/b.csv"], "output folder nodir does not exist"),
    # fractal
    (["fractal", "g.png", "--threshold", "1000"], "pass a lower --threshold"),
    (["fractal", "g.png", "--threshold", "nan"], "--threshold must be a finite number"),
    (["fractal", "allnan.npy"], "no finite pixel"),
    (["fractal", "one.png"], "too small"),
    (["fractal", "c.npy"], "complex128"),
    (["fractal", "b.npy", "--threshold", "0.3"], "drop --threshold"),
    (["fractal", "g.png", "--q", "inf"], "--q must be"),
    (["fractal", "g.png", "--sizes", "3"], "--sizes needs"),
    (["fractal", "g.png", "--sizes", "1,2,45"], "larger than the shorter side 40"),
    # ising
    (["ising", "--size", "3x3", "--sweeps", "2", "--beta", "1", "-o", "i.gif"], "even sides"),
    (["ising", "f.npy", "--sweeps", "2", "--beta", "1", "-o", "i.gif"], "not .npy"),
    (["ising", "adir", "--sweeps", "2", "--beta", "1", "-o", "i.gif"], "is a folder"),
    (["ising", "g.png", "--sweeps", "2", "--beta", "1", "-o", "g.png"], "is the input file"),
    (["ising", "--model", "torus", "--edges", "g.png", "--sweeps", "2", "--beta", "1", "-o",
      "i.gif"], "--model edge only"),
    (["ising", "--model", "metric", "--threshold", "0.3", "--sweeps", "2", "--beta", "1", "-o",
      "i.gif"], "--model edge only"),
    (["ising", "--preset", "edges", "--spins", "continuous", "-o", "i.gif"],
     "--model torus only"),
    (["ising", "--sweeps", "2", "--schedule", "linear:-1:2", "-o", "i.gif"],
     "--schedule 'linear:-1:2'"),
    (["ising", "--sweeps", "2", "--schedule=-3", "-o", "i.gif"], "beta >= 0"),
    (["ising", "--size", "100000x100000", "--sweeps", "2", "--beta", "1", "-o", "i.gif"],
     "above the memory limit"),
    (["ising", "--sweeps", "2", "--beta", "1", "-o", "nodir/i.gif"], "cannot write"),
    # demo, no command
    (["demo", "-o", "g.png"], "not a folder"),
    ([], "give a command"),
]


@pytest.mark.parametrize("argv,needle", BAD, ids=[" ".join(a) or "none" for a, _ in BAD])
def test_bad_input_one_line_exit_2_nothing_written(d, argv, needle):
    before = _listing(d)
    proc = subprocess.run([sys.executable, "-m", "gpuent", *argv], cwd=d, capture_output=True,
                          text=True, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("gpuent: error:"), proc.stderr
    assert needle in lines[0], lines[0]
    assert proc.stdout == ""
    assert _listing(d) == before  # no output, no temporary file left behind


def _one_line(capsys):
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wrote "), out.out
    # stderr is empty, or says once that kernels compile (a cold Numba cache)
    for err in out.err.splitlines():
        assert err.startswith("gpuent: compiling kernels for ") and \
            err.endswith(" (first use only)"), out.err
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["entropy", "{d}/g.png", "-r", "1", "-o", "{o}/e.npy"],
    ["entropy", "{d}/allnan.npy", "--bins", "4", "-o", "{o}/e.npy"],
    ["entropy", "{d}/vol3.npy", "-r", "1", "--channel-axis", "None", "-o", "{o}/e.npy"],
    ["entropy", "{d}/vol3.npy", "-r", "1", "--channel-axis", "-1", "-o", "{o}/e.npy"],
    ["maps", "{d}/g.png", "--radii", "1", "-o", "{o}/m.csv"],
    ["maps", "{d}/allnan.npy", "--bins", "4", "--radii", "1", "-o", "{o}/m.csv"],
    ["blur-entropy", "{d}/g.png", "--sigmas", "0,1", "-o", "{o}/b.csv"],
    ["fractal", "{d}/g.png", "-o", "{o}/f.csv"],
    ["fractal", "{d}/nan.npy", "-o", "{o}/f.csv"],
    ["ising", "{d}/odd.png", "--sweeps", "1", "--beta", "1", "-o", "{o}/i.gif"],
])
def test_success_one_line_and_quiet(d, tmp_path, capsys, argv):
    argv = [a.format(d=d, o=tmp_path) for a in argv]
    assert main(argv) == 0
    line = _one_line(capsys)
    assert os.path.exists(argv[argv.index("-o") + 1])
    if argv[0] == "ising":
        assert "frames of 40x50 pixels" in line and "input 41x51 cropped" in line
    assert main([*argv, "-q"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_plot_without_matplotlib_writes_csv(d, tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from gpuent.cli import main\n"
            f"sys.exit(main(['maps', {str(d / 'g.png')!r}, '--radii', '1', '-o', "
            f"{str(tmp_path / 'm.png')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pip install gpuent[plot]" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "m.csv").is_file() and not (tmp_path / "m.png").exists()
    assert proc.stdout.startswith(f"wrote {tmp_path / 'm.csv'}")


def test_help_texts_consistent():
    from gpuent.cli import build_parser

    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices
    for name, p in sub.items():
        opts = {s: a for a in p._actions for s in a.option_strings}
        for a in p._actions:
            assert a.help, f"gpuent {name} {a.option_strings or a.dest}: no help text"
        if "--quiet" in opts:
            assert "print nothing on success" in opts["--quiet"].help
        if "--bins" in opts:
            assert opts["--bins"].metavar == "K" and "K levels" in opts["--bins"].help
        if "--output" in opts:
            assert "-o" in opts["--output"].option_strings
        if "--backend" in opts:
            assert opts["--backend"].help.startswith("compute path (default auto")


@pytest.mark.parametrize("name", ["rgb.png", "rgb.tif"])
def test_channel_axis_maps_each_colour_channel_of_a_picture(tmp_path, capsys, name):
    # --channel-axis -1 on an RGB file maps each channel (the file is not made grayscale first)
    import gpuent as ge

    rgb = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    if name.endswith(".png"):
        Image.fromarray(rgb).save(tmp_path / name)
    else:
        import tifffile

        tifffile.imwrite(tmp_path / name, rgb)
    out = tmp_path / "e.npy"
    assert main(["entropy", str(tmp_path / name), "-r", "2", "--channel-axis", "-1",
                 "-o", str(out)]) == 0
    assert "30x40x3 entropy map" in _one_line(capsys)
    got = np.load(out)
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], ge.local_entropy(rgb[..., c], 2))


def test_channel_axis_of_a_gray_picture_names_the_option(d, capsys):
    assert main(["entropy", str(d / "g.png"), "-r", "1", "--channel-axis", "-1",
                 "-o", str(d / "never.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gpuent: error: with --channel-axis the image must be 3-D or 4-D")
    assert not (d / "never.npy").exists()


def test_ising_frames_over_memory_limit_names_the_options(d, tmp_path, capsys, monkeypatch):
    # the advice names the command's options, not the Python API's frames= and downscale=
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "1M")
    out = tmp_path / "i.gif"
    assert main(["ising", str(d / "g.png"), "--sweeps", "1000", "--beta", "1",
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gpuent: error: 1000 frames of 40 x 50 pixels")
    assert "a larger --every, fewer --sweeps), --downscale K" in err[0], err[0]
    assert "frames=" not in err[0] and "downscale=" not in err[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("base", ["1", "0", "inf"])
def test_bad_base_names_the_option(d, capsys, base):
    assert main(["entropy", str(d / "g.png"), "-r", "1", "--base", base,
                 "-o", str(d / "never.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gpuent: error: --base must be positive, finite and not 1"), err
    assert not (d / "never.npy").exists()


@pytest.mark.parametrize("scheduler, missing", [("processes", "dask"), ("threads", "dask"),
                                                ("distributed", "distributed")])
def test_scheduler_without_dask_is_one_line(d, tmp_path, capsys, monkeypatch, scheduler,
                                            missing):
    # without the dask extra, --scheduler was a ModuleNotFoundError traceback (exit 1)
    monkeypatch.setitem(sys.modules, missing, None)
    out = tmp_path / "m.zarr"
    assert main(["entropy", str(d / "g.png"), "-r", "1", "--scheduler", scheduler,
                 "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gpuent: error: --scheduler {scheduler} needs {missing}: "
                   f"pip install \"gpuent[dask]\""]
    assert list(tmp_path.iterdir()) == []
