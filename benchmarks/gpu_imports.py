"""Which third-party modules the GPU check imports, and where each one comes from.

    python benchmarks/gpu_imports.py [--import] [--wheels .whl]

Reads (without running) every Python file the GPU check loads: the package, the tests
(pytest collects them all), the GPU benchmarks and the check's helpers, and lists the
top-level modules they import that are neither the standard library nor the project's own.
Each must be on the GPU machine (gpu_machine.txt) or in the bundle's wheels (.whl/), unless
it is a known absence listed in :data:`ABSENT`. ``--import`` also imports each one (the
rehearsal runs this in an environment built like the machine's): a missing module fails
loudly with its name.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: the files the GPU check reads (pytest collects every test module)
CHECK_FILES = ("gpuent/**/*.py", "tests/*.py", "benchmarks/bench_*_gpu.py",
               "benchmarks/gpu_*.py", "benchmarks/_common.py")

#: modules the check may import but that stay absent on purpose (each import is guarded)
ABSENT = {
    "imageio_ffmpeg": "its 68 MB wheel is over the bundle's limit; movies fall back to GIF",
    "napari": "the napari plugin is not checked on the GPU machine",
    "npe2": "the napari plugin is not checked on the GPU machine",
    "qtpy": "the napari plugin is not checked on the GPU machine",
    "dask_cuda": "not packaged for CUDA 13 wheels here; the multi-GPU example is separate",
}

#: import name -> distribution name, where they differ
DISTRIBUTION = {
    "PIL": "pillow", "skimage": "scikit-image", "cupy": "cupy-cuda13x",
    "cupyx": "cupy-cuda13x", "cupy_backends": "cupy-cuda13x", "yaml": "pyyaml",
    "cucim": "cucim-cu13", "dateutil": "python-dateutil", "google_crc32c": "google-crc32c",
    "numba_cuda": "numba-cuda", "xdist": "pytest-xdist", "_pytest": "pytest",
}

_OWN = {"gpuent", "conftest", "_expected", "_common", "benchmarks", "tests"}


def normalize(name: str) -> str:
    """A distribution name in PEP 503 form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_files(root: Path = ROOT) -> list[Path]:
    files = []
    for pattern in CHECK_FILES:
        files.extend(sorted(root.glob(pattern)))
    return files


def imported_modules(root: Path = ROOT, dotted: bool = False) -> dict[str, list[str]]:
    """Top-level third-party modules imported anywhere in the check's files -> where
    (``dotted``: the full module names, ``skimage.filters.rank`` say)."""
    local = {p.stem for pattern in CHECK_FILES for p in root.glob(pattern)}
    found: dict[str, list[str]] = {}
    for path in check_files(root):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) in (
                    "importorskip", "import_module") and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                names = [node.args[0].value]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if (top in sys.stdlib_module_names or top in _OWN or top in local
                        or top == "__future__"):
                    continue
                found.setdefault(name if dotted else top, []).append(
                    str(path.relative_to(root)))
    return found


def machine_distributions(root: Path = ROOT) -> set[str]:
    out = set()
    for line in (root / "benchmarks" / "gpu_machine.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            out.add(normalize(re.split(r"[<>=!~\[; ]", line)[0]))
    return out


def wheel_modules(wheels: Path) -> dict[str, str]:
    """Top-level import names provided by the wheels of a folder -> the wheel's file name."""
    out = {}
    for whl in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(whl) as z:
            for name in z.namelist():
                first = name.split("/")[0]
                if first.endswith((".dist-info", ".data")) or first.startswith("__"):
                    continue
                top = first[:-3] if first.endswith(".py") else first.split(".")[0]
                if top.endswith(".libs"):
                    continue
                out.setdefault(top, whl.name)
    return out


def coverage(root: Path = ROOT, wheels: Path | None = None):
    """(module -> source of it, modules found nowhere) for every module the check imports."""
    wheels = root / ".whl" if wheels is None else wheels
    machine = machine_distributions(root)
    bundled = wheel_modules(wheels)
    where, missing = {}, []
    for module in sorted(imported_modules(root)):
        dist = normalize(DISTRIBUTION.get(module, module))
        if dist in machine:
            where[module] = "machine"
        elif module in bundled:
            where[module] = bundled[module]
        elif module in ABSENT:
            where[module] = "absent: " + ABSENT[module]
        else:
            missing.append(module)
    return where, missing


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--import", dest="do_import", action="store_true",
                    help="import every module too (fails on the first that is missing)")
    ap.add_argument("--wheels", type=Path, default=ROOT / ".whl")
    args = ap.parse_args(argv)
    where, missing = coverage(ROOT, args.wheels)
    for module, source in where.items():
        print(f"  {module:20s} {source}")
    if missing:
        print(f"MISSING: {', '.join(missing)}: neither on the machine's list "
              "(benchmarks/gpu_machine.txt) nor in the bundle (benchmarks/gpu_wheels.txt)")
        return 1
    if args.do_import:
        failed, gpu_only, names = [], [], sorted(imported_modules(ROOT, dotted=True))
        names = [n for n in names if not where[n.split(".")[0]].startswith("absent")]
        for module in names:
            try:
                importlib.import_module(module)
            except ImportError as exc:  # a missing module, or one of its dependencies
                failed.append(f"{module} ({type(exc).__name__}: {exc})")
            except Exception as exc:  # noqa: BLE001 - e.g. a CUDA call at import, no GPU
                gpu_only.append(f"{module} ({type(exc).__name__}: {str(exc)[:80]})")
        for line in gpu_only:
            print(f"  imports, but raised without a GPU: {line}")
        if failed:
            print("IMPORT FAILED: " + "; ".join(failed))
            return 1
        print(f"imports: all {len(names)} third-party modules the check names import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
