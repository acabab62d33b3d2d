"""Every README snippet runs, in order, in a clean folder (on gpuent's built-in samples);
help texts are self-contained; `make demo` installs the extras the README needs.

Blocks preceded by ``<!-- not run: REASON -->`` (Docker, GPUs, the repository's own make
targets) are only syntax-checked. ``pip install`` lines are checked against the extras
pyproject.toml declares. Every other ``gpuent ...`` line runs through the CLI's ``main`` and
must exit 0; every Python block runs in a fresh namespace.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from gpuent.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"(?:<!-- not run: (?P<why>[^>]*?) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```",
                   re.S)


def blocks():
    return [(m.group("lang"), m.group("body"), m.group("why"))
            for m in BLOCK.finditer(README.read_text())]


def _commands(body):
    """Shell lines of a bash block: comments dropped, backslash continuations joined."""
    lines, cur = [], ""
    for raw in body.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        line = cur + line
        cur = ""
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _extras():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as fh:
        return set(tomllib.load(fh)["project"]["optional-dependencies"])


def _inputs(folder):
    """The files the README names, made from the built-in sample image (small sizes)."""
    from PIL import Image

    from gpuent._samples import sample_image

    tifffile = pytest.importorskip("tifffile")
    zarr = pytest.importorskip("zarr")
    photo = sample_image(128)
    Image.fromarray(photo).save(folder / "photo.png")
    tifffile.imwrite(folder / "scan.tif", sample_image(96, seed=1))
    big = sample_image(256, seed=2)
    tifffile.imwrite(folder / "big.tif", big, tile=(64, 64))
    z = zarr.create_array(store=str(folder / "big.zarr"), shape=big.shape, chunks=(64, 64),
                          dtype="uint8")
    z[...] = big
    tifffile.imwrite(folder / "stack.tif", np.stack([sample_image(64, seed=s)[:48]
                                                     for s in range(6)]))


def test_readme_has_runnable_snippets():
    found = blocks()
    langs = [lang for lang, _, why in found if why is None]
    assert langs.count("bash") >= 5 and langs.count("python") >= 3
    for lang, body, why in found:
        assert lang in ("bash", "python"), f"unknown fence {lang!r}"
        if why is not None:
            assert why.strip(), "a block that is not run says why"
        if lang == "python":
            compile(body, "README", "exec")


def test_readme_snippets_run_in_order(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    pytest.importorskip("dask")
    pytest.importorskip("distributed")
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import matplotlib

    matplotlib.use("Agg")
    from gpuent.cli import main

    extras = _extras()
    _inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    ran = 0
    for n, (lang, body, why) in enumerate(blocks()):
        if why is not None:
            continue
        if lang == "python":
            exec(compile(body, f"README block {n}", "exec"), {"__name__": "__readme__"})
            ran += 1
            continue
        for line in _commands(body):
            argv = shlex.split(line)
            if argv[:2] == ["pip", "install"]:
                for spec in argv[2:]:
                    m = re.fullmatch(r"[\"']?(?:\.|gpuent)\[([\w,-]+)\][\"']?", spec)
                    assert m, f"README block {n}: {line}"
                    assert set(m.group(1).split(",")) <= extras, line
                continue
            assert argv[0] == "gpuent", f"README block {n}: cannot run {line!r}"
            try:
                code = main(argv[1:])
            except SystemExit as exc:  # --help
                code = exc.code
            out = capsys.readouterr()
            assert code == 0, f"README block {n}: {line}\n{out.err}"
            ran += 1
    assert ran >= 20
    for name in ("map.png", "map.npy", "map.pdf", "stack-entropy.npy", "photo.gif",
                 "metric.gif", "edges.gif", "out.gif", "critical.webp", "grid.png",
                 "curve.png", "fit.png", "big-entropy.zarr", "map.zarr",
                 "big-entropy-dask.zarr"):
        assert (tmp_path / name).exists(), name


# ------------------------------------------------------ 10: self-contained help texts

def _help_texts():
    parser = build_parser()
    yield "gpuent", parser.format_help()
    for name, sub in parser._subparsers._group_actions[0].choices.items():
        yield name, sub.format_help()


@pytest.mark.parametrize("name,text", list(_help_texts()), ids=lambda v: v[:20])
def test_help_texts_cite_no_private_documents(name, text):
    # "--seed N random seed" is the random-number seed, not a document
    cleaned = re.sub(r"--seed N(\]|\s+random seed \(default 0\))", "", text)
    assert "seed" not in cleaned.lower(), name
    assert not re.search(r"\b(section|seed)s? ?\d|\(\d+\.\d\)|\b\d+\.\d-\d+\.\d", cleaned), name


def test_readme_names_the_source_notebook():
    text = (ROOT / "README.md").read_text()
    assert "Rensselaer" in text and "REU" in text
    assert "seed" not in re.sub(r"(random|same|a|the|its|--)[ -]seed|seed=|seeds?\b(?= gives)",
                                "", text).lower()


# ----------------------------------------------------------- make demo installs extras

def test_make_demo_installs_plot_and_io_extras():
    text = (ROOT / "Makefile").read_text()
    m = re.search(r"^\$\(VENV\)/\.installed:.*\n\t\$\(PIP\) install[^\n]*\"\.\[([^\]]*)\]\"",
                  text, re.M)
    assert m, "the demo's install line"
    extras = {e.strip() for e in m.group(1).split(",")}
    assert {"plot", "io"} <= extras
