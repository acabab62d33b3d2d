"""The gpuent command: outputs, one-line errors with exit status 2, info and import checks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import gpuent as ge
from gpuent.cli import main


@pytest.fixture()
def png(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(path)
    return path


def test_entropy_png_npy_tif(png, tmp_path, capsys):
    assert main(["entropy", str(png), "-r", "2", "-o", str(tmp_path / "m.npy")]) == 0
    gray = np.asarray(Image.open(png).convert("L"))
    got = np.load(tmp_path / "m.npy")
    np.testing.assert_allclose(got, ge.local_entropy(gray, 2), atol=0)
    assert main(["entropy", str(png), "--footprint", "disk:3", "-o", str(tmp_path / "m.png")]) == 0
    with Image.open(tmp_path / "m.png") as im:
        assert im.size == (50, 40) and im.mode == "RGB"
    assert main(["entropy", str(png), "-o", str(tmp_path / "m.tif"), "--mode", "wrap",
                 "--estimator", "grassberger", "-q"]) == 0
    assert "wrote" in capsys.readouterr().out


def test_default_output_name(png):
    assert main(["entropy", str(png), "-q"]) == 0
    assert (png.parent / "in-entropy.png").is_file()


@pytest.mark.parametrize(
    "argv",
    [
        ["entropy", "missing.png"],
        ["entropy", "{png}", "-r", "-3"],
        ["entropy", "{png}", "--footprint", "blob:3"],
        ["entropy", "{png}", "-o", "{tmp}/no/such/dir/x.png"],
        ["entropy", "{png}", "-o", "{tmp}/x.xyz"],
        ["entropy", "{png}", "--mode", "nearest"],
        ["entropy", "{png}", "--backend", "cuda"],
        ["entropy", "{png}", "--base", "1"],
        ["nosuchcommand"],
    ],
)
def test_errors_are_one_line_exit_2(argv, png, tmp_path):
    argv = [a.format(png=png, tmp=tmp_path) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "gpuent", *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpuent: error:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreadable_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["entropy", str(bad)]) == 2
    assert not (tmp_path / "bad-entropy.png").exists()


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends: reference" in out and "GPU:" in out


def test_entropy_demo_step(tmp_path):
    from gpuent.commands import entropy

    entropy.demo(tmp_path, quiet=True)
    assert (tmp_path / "sample.png").is_file() and (tmp_path / "sample-entropy.png").is_file()


_NO_CUPY = """
import sys
sys.modules["cupy"] = None  # import cupy raises ImportError
import gpuent, numpy as np
from gpuent._backend import gpu_available
assert not gpu_available()
print(gpuent.local_entropy(np.zeros((4, 4), np.uint8), 1).sum())
"""

_CUPY_NO_GPU = """
import sys, types
fake = types.ModuleType("cupy")
fake.cuda = types.SimpleNamespace(is_available=lambda: False)
sys.modules["cupy"] = fake
import gpuent, numpy as np
from gpuent._backend import gpu_available
assert not gpu_available()
print(gpuent.local_entropy(np.zeros((4, 4), np.uint8), 1).sum())
"""


@pytest.mark.parametrize("script", [_NO_CUPY, _CUPY_NO_GPU], ids=["no-cupy", "cupy-no-gpu"])
def test_import_without_gpu(script):
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0.0"
