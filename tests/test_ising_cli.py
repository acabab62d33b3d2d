import numpy as np
import pytest
from PIL import Image

from gpuent.cli import main


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_preset_metric_small(tmp_path, capsys):
    out = tmp_path / "metric.gif"
    code, so, _ = _run(["ising", "--preset", "metric", "--size", "64x48", "--sweeps", "20",
                        "-o", str(out)], capsys)
    assert code == 0 and "20 frames" in so
    with Image.open(out) as im:
        assert im.size == (48, 64) and im.n_frames == 20


def test_preset_edges_and_input_image(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray((np.indices((30, 41)).sum(0) % 7 > 3).astype(np.uint8) * 255).save(src)
    out = tmp_path / "e.webp"
    code, _, _ = _run(["ising", str(src), "--preset", "edges", "--sweeps", "6", "--every", "2",
                       "-q", "-o", str(out)], capsys)
    assert code == 0
    with Image.open(out) as im:
        assert im.size == (40, 30) and im.n_frames == 3  # odd width cropped to even


@pytest.mark.parametrize("extra", [
    ["--model", "torus", "--spins", "continuous", "--beta", "0.5", "--size", "32x32"],
    ["--model", "metric", "--energy", "symmetric", "--schedule", "log:0.1:2", "--size", "32x32"],
    ["--model", "edge", "--schedule", "linear:0.1:1@2,const:1", "--size", "32x32"],
])
def test_models_from_cli(tmp_path, capsys, extra):
    out = tmp_path / "x.png"
    code, _, err = _run(["ising", *extra, "--sweeps", "4", "-q", "-o", str(out)], capsys)
    assert code == 0, err
    assert out.exists()


@pytest.mark.parametrize("argv,needle", [
    (["--sweeps", "-3", "--beta", "1"], "sweeps"),
    (["--sweeps", "3", "--beta", "-1"], "beta"),
    (["--sweeps", "3", "--schedule", "linear:1:-2"], "stop"),
    (["--sweeps", "3", "--schedule", "wobble:1"], "unknown schedule"),
    (["--sweeps", "3", "--beta", "1", "--model", "potts"], "invalid choice"),
    (["--sweeps", "3"], "--beta"),
    (["--beta", "1"], "--sweeps"),
    (["missing.png", "--sweeps", "3", "--beta", "1"], "cannot read"),
    (["--sweeps", "3", "--beta", "1", "--size", "3xq"], "size"),
])
def test_bad_options_one_line_exit_2(tmp_path, capsys, argv, needle):
    out = tmp_path / "o.gif"
    try:
        code = main(["ising", *argv, "-o", str(out)])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpuent: error:") and needle in lines[0]
    assert not out.exists()


def test_unreadable_input_and_unwritable_output(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    code, _, err = _run(["ising", str(bad), "--sweeps", "2", "--beta", "1", "-o",
                         str(tmp_path / "a.gif")], capsys)
    assert code == 2 and "cannot read" in err
    code, _, err = _run(["ising", "--sweeps", "2", "--beta", "1", "-o",
                         str(tmp_path / "nodir" / "a.gif")], capsys)
    assert code == 2 and "cannot write" in err
    code, _, err = _run(["ising", "--sweeps", "2", "--beta", "1", "-o",
                         str(tmp_path / "a.bmp")], capsys)
    assert code == 2 and "format" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.png"]


def test_demo_function(tmp_path):
    from gpuent.commands import ising as cmd

    cmd.demo(tmp_path, True)
    with Image.open(tmp_path / "ising-metric.gif") as im:
        assert im.size == (256, 256) and im.n_frames == 200
