"""Every CUDA source under gpuent/ compiles to PTX for Hopper (compute_90), on CPU-only CI too.

Skipped when ``nvcc`` is not on the PATH. The kernels run only on the GPU machine
(tests marked ``gpu``); this catches syntax and template errors everywhere.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "gpuent"
SOURCES = sorted(ROOT.rglob("*.cu"))
NVCC = shutil.which("nvcc")

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc is not on the PATH")


def _ptx(source: Path, tmp_path: Path) -> str:
    out = tmp_path / (source.stem + ".ptx")
    proc = subprocess.run(
        [NVCC, "-ptx", "-arch=compute_90", str(source), "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"nvcc failed on {source}:\n{proc.stderr}"
    return out.read_text()


def test_sources_exist():
    assert any(p.name == "windowed_histogram.cu" for p in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_compiles_to_ptx(source, tmp_path):
    ptx = _ptx(source, tmp_path)
    assert ".entry" in ptx, f"{source} instantiates no kernel for the nvcc check"
    if source.name == "windowed_histogram.cu":
        # the finish must not be contracted into FMAs (bit-exactness with NumPy/Numba),
        # even when compiled with nvcc's default -fmad=true
        assert "fma.rn.f64" not in ptx
