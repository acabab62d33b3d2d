"""The API reference (docs/api.rst) lists every public name, and nothing that is gone.

Public names are ``gpuent.__all__`` and, for the subpackages it exports
(``gpuent.ising``, ``gpuent.footprints``), their own ``__all__``. The reference is
read as text here, so this test needs neither Sphinx nor a docs build.
"""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import pytest

import gpuent

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

_DIRECTIVE = re.compile(
    r"^\.\. (?:py:)?(currentmodule|automodule|module|data|autosummary)::\s*(\S*)"
)


def documented_names(text: str) -> tuple[set[str], set[str]]:
    """Full names listed in autosummary tables or as data, and the documented modules."""
    names: set[str] = set()
    modules: set[str] = set()
    current = ""
    in_table = False
    for line in text.splitlines():
        m = _DIRECTIVE.match(line)
        if m:
            kind, arg = m.groups()
            in_table = kind == "autosummary"
            if kind in ("currentmodule", "automodule", "module"):
                current = arg
                if kind != "currentmodule":
                    modules.add(arg)
            elif kind == "data":
                names.add(arg if "." in arg else f"{current}.{arg}")
            continue
        if in_table:
            stripped = line.strip()
            if not stripped or stripped.startswith(":"):
                continue  # blank lines and the directive's options
            if not line.startswith((" ", "\t")):
                in_table = False  # the table ended at the next unindented line
                continue
            entry = stripped.lstrip("~")
            names.add(entry if entry.startswith("gpuent.") else f"{current}.{entry}")
    return names, modules


def public_names() -> tuple[set[str], set[str]]:
    """Every public name (full dotted path) and every public subpackage."""
    names: set[str] = set()
    modules: set[str] = set()
    for name in gpuent.__all__:
        obj = getattr(gpuent, name)
        if isinstance(obj, types.ModuleType):
            modules.add(obj.__name__)
            names.update(f"{obj.__name__}.{sub}" for sub in obj.__all__)
        else:
            names.add(f"gpuent.{name}")
    return names, modules


def _resolve(full: str):
    parts = full.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(full)


@pytest.fixture(scope="module")
def reference():
    return documented_names(API_RST.read_text(encoding="utf-8"))


def test_public_api_is_known():
    names, modules = public_names()
    assert "gpuent.local_entropy" in names and "gpuent.ising.Simulation" in names
    assert modules == {"gpuent.ising", "gpuent.footprints"}


def test_every_public_name_is_in_the_api_reference(reference):
    listed, listed_modules = reference
    names, modules = public_names()
    missing = sorted(names - listed)
    assert not missing, (
        f"public names missing from {API_RST.name}: {missing}; add them to an autosummary "
        "table there (the docs build then generates their pages)"
    )
    missing_modules = sorted(modules - listed_modules)
    assert not missing_modules, f"add '.. automodule:: NAME' for {missing_modules}"


def test_every_listed_name_exists(reference):
    listed, _ = reference
    stale = []
    for full in sorted(listed):
        try:
            _resolve(full)
        except (ImportError, AttributeError):
            stale.append(full)
    assert not stale, f"{API_RST.name} lists names that do not exist: {stale}"


def test_parser_sees_a_missing_name():
    text = API_RST.read_text(encoding="utf-8").replace("   local_entropy\n", "")
    listed, _ = documented_names(text)
    assert "gpuent.local_entropy" not in listed
    assert "gpuent.local_expected" in listed
