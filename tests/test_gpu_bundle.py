"""The GPU check's bundle and stored expectations (benchmarks/gpu_*.py, tests/_expected.py).

Every module the GPU check imports must be on the GPU machine's package list or in the
bundle's wheels (skipped until ``make gpu-bundle`` has built ``.whl/``); the expectation
store keys, saves and loads as documented.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import _expected
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _gpu_imports():
    spec = importlib.util.spec_from_file_location("gpu_imports",
                                                  ROOT / "benchmarks" / "gpu_imports.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gpu_imports", module)
    spec.loader.exec_module(module)
    return module


def test_every_module_the_gpu_check_imports_is_on_the_machine_or_in_the_bundle():
    wheels = ROOT / ".whl"
    if not any(wheels.glob("*.whl")):
        pytest.skip("no bundle: run `make gpu-bundle` first")
    gi = _gpu_imports()
    where, missing = gi.coverage(ROOT, wheels)
    assert not missing, (f"{missing}: add them to benchmarks/gpu_wheels.txt (then `make "
                         "gpu-bundle`), or to ABSENT in benchmarks/gpu_imports.py with why")
    # the modules the check cannot run without
    for module in ("numpy", "cupy", "array_api_compat", "hypothesis", "pytest", "numba"):
        assert module in where and not where[module].startswith("absent"), module
    names = [p.name.split("-")[0].lower() for p in wheels.glob("*.whl")]
    assert len(names) == len(set(names)), "two versions of one wheel stop the whole install"


def test_import_scan_finds_the_known_imports():
    gi = _gpu_imports()
    found = gi.imported_modules(ROOT)
    for module in ("numpy", "cupy", "array_api_compat", "hypothesis", "skimage"):
        assert module in found
    assert not {"gpuent", "os", "_expected", "conftest"} & set(found)


def test_key_digest_is_canonical():
    a = np.arange(6, dtype=np.uint8).reshape(2, 3)
    d = _expected.key_digest(("x", a, {"b": 1, "a": 2.5}, None, np.float32))
    assert d == _expected.key_digest(("x", a.copy(), {"a": 2.5, "b": 1}, None,
                                      np.dtype("float32")))
    assert d != _expected.key_digest(("x", a.reshape(3, 2), {"b": 1, "a": 2.5}, None,
                                      np.float32))
    assert d != _expected.key_digest(("x", a.astype(np.int8), {"b": 1, "a": 2.5}, None,
                                      np.float32))
    assert _expected.key_digest((1,)) != _expected.key_digest(("1",))
    # a fixed value: the same on every machine and Python (the store is built elsewhere)
    assert _expected.key_digest(("k", np.zeros(2, "<f8"), 3, 0.5, True, None, {"m": "clip"})) \
        == "7ce8e517c4232f99e3b56601a07cce0a3ef1b164ce68f781242a11cf3a219a47"
    with pytest.raises(TypeError, match="string"):
        _expected.key_digest(("f", lambda p: p))


def test_store_modes(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUENT_EXPECTED_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("GPUENT_EXPECTED_LOG", str(tmp_path / "log"))
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3.0), "b": np.ones((2, 2), np.uint8)}

    key = ("case", np.arange(4))
    monkeypatch.setenv("GPUENT_EXPECTED", "require")
    with pytest.raises(_expected.MissingExpectation, match="make gpu-bundle"):
        _expected.expected(key, compute)
    monkeypatch.setenv("GPUENT_EXPECTED", "use")
    assert _expected.expected(key, compute)["a"].tolist() == [0, 1, 2] and len(calls) == 1
    assert not (tmp_path / "store").exists()  # 'use' never writes
    monkeypatch.setenv("GPUENT_EXPECTED", "fill")
    stored = _expected.expected(key, compute)
    assert len(calls) == 2 and stored["b"].dtype == np.uint8
    monkeypatch.setenv("GPUENT_EXPECTED", "require")
    again = _expected.expected(key, compute)
    assert len(calls) == 2 and np.array_equal(again["b"], stored["b"])
    monkeypatch.setenv("GPUENT_EXPECTED", "use")
    single = _expected.expected(("one",), lambda: np.float32([1.5, np.nan]))
    assert single.dtype == np.float32
    events = (tmp_path / "log").read_text().split()[::2]
    assert events == ["miss", "miss", "store", "hit", "miss"]
    monkeypatch.setenv("GPUENT_EXPECTED", "bogus")
    with pytest.raises(ValueError, match="GPUENT_EXPECTED"):
        _expected.mode()


def _load_benchmark_module(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_summary_reads_every_result(tmp_path, capsys):
    """The one-screen summary from a (made-up) GPU run: per family bit-exact and memcheck,
    the throughput table from the JSON, and Ising rows from the log of a cut-short run."""
    summary = _load_benchmark_module("gpu_summary")
    (tmp_path / "status").write_text("setup 0 20\ntests 0 150\nmemcheck-histogram 0 30\n"
                                     "memcheck-ising 99 20\nbench 0 90\nising 124 60\n")
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite>'
        '<testcase classname="tests.test_local_entropy_gpu" name="a"/>'
        '<testcase classname="tests.test_local_entropy_gpu" name="b"><skipped/></testcase>'
        '<testcase classname="tests.test_local_entropy_gpu" '
        'name="test_interior_fast_path_widths[15]"/>'
        '<testcase classname="tests.test_local_entropy_gpu" '
        'name="test_volumes_on_the_gpu_equal_cpu[window0-clip]"/>'
        '<testcase classname="tests.test_ising_cuda" name="c[torus]"><failure/></testcase>'
        '<testcase classname="tests.test_ising_cuda" name="d"/>'
        '<testcase classname="tests.test_ising_cuda" name="e[shape0-edge-rows]"/>'
        '<testcase classname="tests.test_ising_cuda" name="e[shape0-torus-fused]"/>'
        '<testcase classname="tests.test_ising_cuda" name="e[shape1-continuous-None]"/>'
        '<testcase classname="tests.test_scale" name="e[cupy]"/>'
        '</testsuite></testsuites>')
    (tmp_path / "expected.log").write_text("hit a.npz\nhit b.npz\nmiss c.npz\n")
    rows = [{"impl": impl, "radius": 7, "side": 15, "shape": [8192, 8192], "mode": "reflect",
             "seconds": 0.01, "gpix_per_s": g} for impl, g in (("cucim", 0.5), ("gpuent", 6.0))]
    rows.append({"impl": "gpuent", "radius": 7, "side": 15, "shape": [8192, 8192],
                 "mode": "clip", "seconds": 0.2, "gpix_per_s": 0.3,
                 "timing": "end-to-end from host"})
    (tmp_path / "local_entropy-gpu-h200.json").write_text(json.dumps(
        {"device": "NVIDIA H200", "complete": False, "rows": rows}))
    (tmp_path / "log.txt").write_text(
        "== ising (budget 60s)\nmodel   shape  sweeps seconds flips/ns bit-exact\n"
        "torus      4096x4096       50    0.0123     68.21      True\n")
    rc = summary.main(["--status", str(tmp_path / "status"), "--log", str(tmp_path / "log.txt"),
                       "--expected-log", str(tmp_path / "expected.log"),
                       "--junit", str(tmp_path / "junit.xml"), "--results", str(tmp_path),
                       "--seconds", "400"])
    out = capsys.readouterr().out
    assert rc == 1  # memcheck-ising and the cut Ising benchmark did not pass
    for family in ("fast", "general", "3-D"):
        assert f"local entropy {family:10s} bit-exact: yes   memcheck clean: yes" in out
    assert "Ising packed             bit-exact: NO    memcheck clean: NO: errors" in out
    for family in ("rows", "fused", "continuous"):
        assert f"Ising {family:18s} bit-exact: yes   memcheck clean: NO: errors" in out
    assert "stored expectations: 2 used, 1 missing" in out
    assert "FAILED test_ising_cuda::c[torus]" in out
    assert "INCOMPLETE" in out and "= x12.0" in out and "end-to-end from host" in out
    assert "torus               4096x4096       68.21  bit-exact vs cpu: True" in out
    assert "other GPU tests (xp=cupy, ...): 1 passed, 0 failed in 1 modules" in out
