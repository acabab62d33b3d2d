"""The GPU check's bundle and stored expectations (benchmarks/gpu_*.py, tests/_expected.py).

Every module the GPU check imports must be on the GPU machine's package list or in the
bundle's wheels (skipped until ``make gpu-bundle`` has built ``.whl/``); the expectation
store keys, saves and loads as documented.
"""

from __future__ import annotations

import importlib.util
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
