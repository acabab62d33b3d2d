"""Provenance records in every output, ``gpuent provenance``, ``gpuent rerun`` and OME-Zarr.

The oracles: SHA-256 (hashlib) of the pixels as tifffile, zarr, NumPy and Pillow decode
them; block means by NumPy; the OME-NGFF validator (ome-zarr-models) and reader
(ome-zarr-py), when installed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import warnings

import numpy as np
import pytest

from gpuent.cli import main
from gpuent.io import read_provenance

tifffile = pytest.importorskip("tifffile")
zarr = pytest.importorskip("zarr")


def _sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).astype(np.asarray(a).dtype.newbyteorder("<"))
                          .tobytes()).hexdigest()


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from PIL import Image

    rng = np.random.default_rng(7)
    a = (np.add.outer(np.arange(96), np.arange(80)) // 9 % 32
         + rng.integers(0, 8, (96, 80))).astype(np.uint8)
    path = tmp_path_factory.mktemp("prov") / "in.png"
    Image.fromarray(a).save(path)
    return path, a


def _check_common(rec, image_sha, command):
    from gpuent.provenance import check_record

    check_record(rec)
    assert rec["schema"] == "gpuent.provenance" and rec["version"] == 1
    assert rec["command"] == command
    assert rec["versions"]["numpy"] == np.__version__
    assert datetime.datetime.fromisoformat(rec["time"]).tzinfo is not None
    assert "\n" not in rec["history"] and rec["history"].endswith(" ".join(rec["argv"]))
    assert rec["path"] in ("reference", "cpu", "cuda") and rec["device"]
    assert rec["inputs"][0]["sha256"] == image_sha


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".tif", ".npy", ".zarr",
                                    ".ome.zarr", ".svg"])
def test_entropy_outputs_carry_their_record(image, tmp_path, suffix):
    from PIL import Image

    src, pixels = image
    if suffix == ".svg":
        pytest.importorskip("matplotlib")
    out = tmp_path / f"map{suffix}"
    assert main(["entropy", str(src), "-o", str(out), "-q", "-r", "2"]) == 0
    rec = read_provenance(out)
    _check_common(rec, _sha(pixels), "entropy")
    params = rec["parameters"]
    assert params["radius"] == 2 and params["mode"] == "clip" and params["base"] == 2.0
    assert params["estimator"] == "plugin"  # defaults are recorded too
    assert rec["inputs"][0]["shape"] == [96, 80] and rec["inputs"][0]["dtype"] == "uint8"
    if suffix in (".png", ".jpg", ".webp"):
        with Image.open(out) as im:
            decoded = np.asarray(im.convert("RGB"))
    elif suffix == ".tif":
        decoded = tifffile.imread(out)
        with tifffile.TiffFile(out) as tif:
            desc = json.loads(tif.pages[0].description)
            assert desc["shape"] == [96, 80] and desc["gpuent"] == rec  # shaped JSON kept
            assert tif.pages[0].software.startswith("gpuent ")
    elif suffix == ".npy":
        decoded = np.load(out)
        assert json.loads((tmp_path / "map.npy.json").read_text()) == rec
    elif suffix == ".zarr":
        z = zarr.open_array(out, mode="r")
        decoded = z[:]
        assert z.attrs["gpuent"] == rec and z.attrs["history"] == rec["history"]
    elif suffix == ".svg":  # no pixels: the file's bytes, the record in a sidecar
        assert json.loads((tmp_path / "map.svg.json").read_text()) == rec
        assert rec["output"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
        return
    else:
        g = zarr.open_group(out, mode="r")
        decoded = g["0"][:]
        assert g.attrs["gpuent"] == rec
    assert rec["output"]["sha256"] == _sha(decoded)
    assert rec["output"]["shape"] == list(decoded.shape)


def test_csv_ising_gif_and_apng(image, tmp_path):
    from PIL import Image, ImageSequence

    src, pixels = image
    csv = tmp_path / "m.csv"
    assert main(["maps", str(src), "--radii", "1,2", "-o", str(csv), "-q"]) == 0
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("# gpuent-provenance: ") and lines[1].startswith("# history: ")
    assert lines[2].startswith("radius,")
    rec = read_provenance(csv)
    _check_common(rec, _sha(pixels), "maps")
    body = b"".join(csv.read_bytes().splitlines(keepends=True)[2:])
    assert rec["output"]["sha256"] == hashlib.sha256(body).hexdigest()
    for suffix in (".gif", ".png"):
        movie = tmp_path / f"i{suffix}"
        assert main(["ising", str(src), "-o", str(movie), "--sweeps", "4", "--seed", "3",
                     "-q"]) == 0
        rec = read_provenance(movie)
        _check_common(rec, _sha(pixels[:96, :80]), "ising")
        assert rec["notes"]["seed"] == 3 and rec["notes"]["sweeps"] == 4
        assert rec["notes"]["model"] and rec["notes"]["schedule"]
        with Image.open(movie) as im:
            frames = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(im)]
        assert rec["output"]["frames"] == [_sha(f) for f in frames]


def test_python_api_outputs_are_recorded(tmp_path):
    from gpuent.io import write_map

    values = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    write_map(tmp_path / "v.tif", values)
    rec = read_provenance(tmp_path / "v.tif")
    assert rec["function"] == "gpuent.io.write_map" and rec["command"] is None
    assert rec["output"]["sha256"] == _sha(values)
    with pytest.raises(ValueError, match="no gpuent provenance"):
        tifffile.imwrite(tmp_path / "plain.tif", values)
        read_provenance(tmp_path / "plain.tif")


def test_a_record_that_cannot_be_written_is_a_warning(tmp_path, monkeypatch, capsys):
    import gpuent.provenance as prov
    from gpuent.io import write_map

    def broken(tmp, target):
        raise OSError("disk says no")

    monkeypatch.setattr(prov, "stamp", broken)
    values = np.ones((4, 5), np.float32)
    write_map(tmp_path / "v.tif", values)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "v.tif"), values)
    assert "without its provenance record (OSError: disk says no)" in capsys.readouterr().err


def test_provenance_command(image, tmp_path, capsys):
    src, _ = image
    out = tmp_path / "e.tif"
    main(["entropy", str(src), "-o", str(out), "-q"])
    capsys.readouterr()
    assert main(["provenance", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gpuent entropy" in text and "sha256" in text and "numpy" in text
    assert main(["provenance", "--json", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == read_provenance(out)
    assert main(["provenance", str(src)]) == 2
    assert "no gpuent provenance" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".tif", ".zarr", ".ome.zarr"])
def test_rerun_check_maps(image, tmp_path, capsys, suffix):
    src, _ = image
    out = tmp_path / f"e{suffix}"
    main(["entropy", str(src), "-o", str(out), "-q", "--mode", "reflect"])
    before = read_provenance(out)
    assert main(["rerun", "--check", str(out)]) == 0
    assert "bit-identical" in capsys.readouterr().out
    assert read_provenance(out) == before  # --check leaves the file alone
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name])  # no temporary left


@pytest.mark.parametrize("argv", [
    ["maps", "--radii", "1,3", "--stat", "entropy"],
    ["maps", "--radii", "1,3", "--stat", "std"],
    ["blur-entropy", "--sigmas", "0,1,2"],
    ["fractal"],
])
def test_rerun_check_csv_outputs(image, tmp_path, capsys, argv):
    # a CSV is compared byte for byte: it must hold no timings (maps wrote a seconds column)
    src, _ = image
    out = tmp_path / "t.csv"
    assert main([argv[0], str(src), *argv[1:], "-o", str(out), "-q"]) == 0
    assert main(["rerun", "--check", str(out)]) == 0, capsys.readouterr().err
    assert "bit-identical" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_rerun_montage_and_ising_gif(image, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    src, _ = image
    montage = tmp_path / "m.png"
    main(["maps", str(src), "--radii", "1,3", "-o", str(montage), "-q"])
    gif = tmp_path / "i.gif"
    main(["ising", str(src), "-o", str(gif), "--sweeps", "5", "--schedule", "linear:0.2:1",
          "--seed", "11", "-q"])
    for out in (montage, gif):
        assert main(["rerun", "--check", str(out)]) == 0, capsys.readouterr().err
        assert "bit-identical" in capsys.readouterr().out
    # one pixel of frame 2 altered (the record kept): the check names the frame and pixel
    from PIL import Image, ImageSequence

    from gpuent.io._images import _gif_insert

    rec = read_provenance(gif)
    with Image.open(gif) as im:
        frames = [np.array(f.convert("L")) for f in ImageSequence.Iterator(im)]
    frames[2][3, 4] = 255 - frames[2][3, 4]
    first, *rest = [Image.fromarray(f) for f in frames]
    first.save(gif, save_all=True, append_images=rest, duration=40, loop=0, optimize=False)
    _gif_insert(gif, json.dumps(rec))
    assert read_provenance(gif) == rec
    assert main(["rerun", "--check", str(gif)]) == 1
    err = capsys.readouterr().err
    assert "frame 2 (checksums differ), first differing pixel (3, 4)" in err


def test_rerun_reports_the_first_altered_pixel(image, tmp_path, capsys):
    src, _ = image
    out = tmp_path / "e.tif"
    main(["entropy", str(src), "-o", str(out), "-q"])
    good = tifffile.imread(out)
    with tifffile.TiffFile(out, mode="r+b") as tif:  # change two pixels in place
        page = tif.pages[0]
        offset = page.dataoffsets[0]
        tif.filehandle.seek(offset + 4 * (17 * 80 + 5))
        tif.filehandle.write(np.float32(99.5).tobytes())
        tif.filehandle.seek(offset + 4 * (40 * 80 + 1))
        tif.filehandle.write(np.float32(-1).tobytes())
    assert tifffile.imread(out)[17, 5] == 99.5
    assert main(["rerun", "--check", str(out)]) == 1
    err = capsys.readouterr().err
    assert "first differing pixel (17, 5)" in err and "99.5" in err
    assert "changed after gpuent wrote it" in err
    # without --check the output is made again, bit for bit as first written
    assert main(["rerun", str(out)]) == 1
    np.testing.assert_array_equal(tifffile.imread(out), good)
    capsys.readouterr()
    assert main(["rerun", "--check", str(out)]) == 0


def test_rerun_refuses_a_changed_or_missing_input(tmp_path, capsys):
    from PIL import Image

    a = (np.arange(64 * 64).reshape(64, 64) % 251).astype(np.uint8)
    src = tmp_path / "in.png"
    Image.fromarray(a).save(src)
    out = tmp_path / "e.zarr"
    main(["entropy", str(src), "-o", str(out), "-q"])
    Image.fromarray(a).save(src, compress_level=9)  # other bytes, same pixels: still fine
    assert main(["rerun", "--check", str(out)]) == 0
    a[3, 4] ^= 1
    Image.fromarray(a).save(src)
    capsys.readouterr()
    assert main(["rerun", "--check", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpuent: error: the input") and "changed since e.zarr was made" in err
    src.unlink()
    assert main(["rerun", str(out)]) == 2
    assert "missing" in capsys.readouterr().err


# ----------------------------------------------------------------------------- OME-Zarr

def test_pyramid_shapes():
    from gpuent.ngff import pyramid_shapes

    assert pyramid_shapes((300, 4000)) == [(300, 4000)]
    assert pyramid_shapes((512, 600)) == [(512, 600), (256, 300)]
    assert pyramid_shapes((20000, 20000))[-1] == (313, 313)
    assert len(pyramid_shapes((20000, 20000))) == 7
    assert pyramid_shapes((5, 1100, 1025)) == [(5, 1100, 1025), (5, 550, 513), (5, 275, 257)]


def test_ome_zarr_pyramid_units_and_validation(tmp_path):
    rng = np.random.default_rng(3)
    a = rng.integers(0, 40, (1100, 1030)).astype(np.uint8)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, a, resolution=(4.0, 4.0), resolutionunit="CENTIMETER")
    out = tmp_path / "m.ome.zarr"
    assert main(["entropy", str(src), "-o", str(out), "-q", "--tile", "256"]) == 0
    g = zarr.open_group(out, mode="r")
    ome = g.attrs["ome"]
    assert ome["version"] == "0.5"
    ms = ome["multiscales"][0]
    assert [ax["name"] for ax in ms["axes"]] == ["y", "x"]
    assert all(ax["unit"] == "micrometer" for ax in ms["axes"])
    scales = [d["coordinateTransformations"][0]["scale"] for d in ms["datasets"]]
    assert scales == [[2500.0, 2500.0], [5000.0, 5000.0], [10000.0, 10000.0]]  # 1/4 cm
    level0 = g["0"][:]
    from gpuent import local_entropy

    np.testing.assert_array_equal(level0, local_entropy(a, 3).astype(np.float32))
    prev = level0
    for k in (1, 2):
        h, w = prev.shape
        pad = np.pad(prev.astype(np.float64), ((0, h % 2), (0, w % 2)),
                     constant_values=np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
            want = np.nanmean(pad.reshape(pad.shape[0] // 2, 2, pad.shape[1] // 2, 2),
                              axis=(1, 3)).astype(np.float32)
        np.testing.assert_allclose(g[str(k)][:], want, rtol=1e-6)
        prev = g[str(k)][:]
    assert g.attrs["gpuent"]["output"]["sha256"] == _sha(level0)

    models = pytest.importorskip("ome_zarr_models.v05.image")
    models.Image.from_zarr(g)  # raises on invalid metadata
    reader = pytest.importorskip("ome_zarr.reader")
    from ome_zarr.io import parse_url

    nodes = list(reader.Reader(parse_url(str(out)))())
    data = nodes[0].data
    assert [tuple(d.shape) for d in data] == [(1100, 1030), (550, 515), (275, 258)]
    np.testing.assert_array_equal(np.asarray(data[1]), g["1"][:])


def test_check_record_names_what_is_wrong(image, tmp_path):
    from gpuent.provenance import check_record

    src, _ = image
    out = tmp_path / "e.tif"
    main(["entropy", str(src), "-o", str(out), "-q"])
    rec = read_provenance(out)
    check_record(rec)
    bad = json.loads(json.dumps(rec))
    bad["output"]["sha256"] = "abc"
    with pytest.raises(ValueError, match=r"record\.output\.sha256"):
        check_record(bad)
    del bad["inputs"][0]["dtype"]
    with pytest.raises(ValueError, match=r"record\.inputs\[0\]: missing 'dtype'"):
        check_record(bad)
