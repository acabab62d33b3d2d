"""One home for file formats: the gpuent.io package, its registry and the old module paths."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

MODULES = ["gpuent.io", "gpuent.io._registry", "gpuent.io._atomic", "gpuent.io._images",
           "gpuent.io._tiles", "gpuent.io.ngff", "gpuent.io._csv", "gpuent.io._movies",
           "gpuent.io_big", "gpuent.ngff", "gpuent.provenance", "gpuent._resume",
           "gpuent.ising.movie"]


@pytest.mark.parametrize("module", MODULES)
def test_each_io_module_imports_alone_in_a_fresh_interpreter(module):
    """No import cycle: every module can be the first one imported."""
    root = str(Path(__file__).resolve().parents[1])
    code = (f"import importlib, sys; sys.path.insert(0, {root!r}); "
            f"m = importlib.import_module({module!r}); "
            "from gpuent.io._registry import formats; assert formats()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_registry_covers_every_suffix_the_cli_accepts():
    from gpuent.commands import _picture, entropy
    from gpuent.io._registry import format_of, suffixes
    from gpuent.ising.movie import FORMATS as MOVIES

    for suffix in (*_picture.PICTURES, *MOVIES, ".csv", ".ome.zarr"):
        assert format_of("x" + suffix) is not None, suffix
    for suffix in entropy._STREAM_IN:
        fmt = format_of("x" + suffix)
        assert fmt.source is not None and fmt.read is not None, suffix
    for suffix in (*entropy._STREAM_OUT, ".ome.zarr"):
        fmt = format_of("x" + suffix)
        assert fmt.sink is not None and fmt.write is not None, suffix
    for suffix in (".png", ".apng", ".gif", ".jpg", ".tif", ".zarr", ".ome.zarr", ".csv"):
        fmt = format_of("x" + suffix)
        assert fmt.embed is not None and fmt.extract is not None, suffix  # embedded record
    assert format_of("a/b.OME.ZARR/").name == "OME-Zarr"  # the longest suffix wins
    assert format_of("b.zarr").name == "Zarr" and format_of("b.ppm") is None
    assert set(suffixes("stream")) >= {".tif", ".tiff", ".npy", ".zarr", ".ome.zarr"}


def test_public_names_and_old_module_paths_still_work():
    import gpuent.io as gio
    import gpuent.io_big as io_big
    import gpuent.ngff as ngff
    from gpuent.io import _tiles
    from gpuent.io import ngff as new_ngff

    for name in ["AtomicOutput", "atomic_path", "publish", "read_image", "read_provenance",
                 "to_grayscale", "write_image", "write_map", "open_source", "create_sink",
                 "deferred_interrupt"]:
        assert callable(getattr(gio, name)), name
    assert set(gio.__all__) >= {"AtomicOutput", "read_provenance", "write_map"}
    assert io_big.create_sink is _tiles.create_sink and io_big.ZarrSink is _tiles.ZarrSink
    assert io_big._tiff_source is _tiles._tiff_source  # private names too
    assert ngff.NgffSink is new_ngff.NgffSink and ngff.pyramid_shapes((600, 600))[-1] == \
        (300, 300)
    assert callable(gio._pil_format)  # private names of the former module too


FAKE = '''
"""A made-up text format: one row of numbers per line, the record on a '%' line."""
import json
from pathlib import Path

import numpy as np

from gpuent.io._atomic import atomic_path
from gpuent.io._registry import Format


def _read(path, gray):
    rows = [line for line in Path(path).read_text().splitlines() if not line.startswith("%")]
    return np.array([[float(v) for v in row.split()] for row in rows], dtype=np.float32)


def _write(path, values, colormap, vmin, vmax):
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\\n".join(" ".join(repr(float(v)) for v in row)
                                        for row in values) + "\\n")
    return path


def _embed(tmp, record):
    with open(tmp, "a") as fh:
        fh.write("%" + json.dumps(record) + "\\n")
    return True


def _extract(path):
    for line in Path(path).read_text().splitlines():
        if line.startswith("%"):
            return json.loads(line[1:])
    return None


FORMATS = [Format("Numbers", (".numbers",), frozenset({"image", "map"}), read=_read,
                  write=_write, embed=_embed, extract=_extract,
                  digest=lambda tmp: {"sha256": "0" * 64, "of": "file"})]
'''


def test_a_new_format_is_one_module(tmp_path, monkeypatch):
    """Dropping one module that defines FORMATS into the package is all a format needs:
    read_image, write_map and read_provenance then handle its suffix."""
    import gpuent.io as gio
    from gpuent.io import _registry

    extra = tmp_path / "pkg"
    extra.mkdir()
    (extra / "_numbers.py").write_text(textwrap.dedent(FAKE))
    monkeypatch.setattr(gio, "__path__", [*gio.__path__, str(extra)])
    _registry.reset()
    try:
        assert _registry.format_of("m.numbers").name == "Numbers"
        values = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
        out = tmp_path / "m.numbers"
        gio.write_map(out, values)
        np.testing.assert_array_equal(gio.read_image(out), values)
        rec = gio.read_provenance(out)
        assert rec["function"] == "gpuent.io.write_map" and rec["output"]["file"] == "m.numbers"
        assert not (tmp_path / "m.numbers.json").exists()  # embedded, no sidecar
    finally:
        monkeypatch.undo()
        _registry.reset()
        sys.modules.pop("gpuent.io._numbers", None)
    assert _registry.format_of("m.numbers") is None


def test_a_suffix_claimed_twice_is_refused(tmp_path, monkeypatch):
    import gpuent.io as gio
    from gpuent.io import _registry

    extra = tmp_path / "pkg"
    extra.mkdir()
    (extra / "_twice.py").write_text(
        "from gpuent.io._registry import Format\nFORMATS = [Format('Other', ('.png',))]\n")
    monkeypatch.setattr(gio, "__path__", [*gio.__path__, str(extra)])
    _registry.reset()
    try:
        with pytest.raises(RuntimeError, match="two formats claim .png"):
            _registry.format_of("x.png")
    finally:
        monkeypatch.undo()
        _registry.reset()
        sys.modules.pop("gpuent.io._twice", None)
    assert _registry.format_of("x.png").name == "PNG"
