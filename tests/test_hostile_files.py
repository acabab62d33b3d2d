"""Hostile files: decompression bombs refused before allocating, corrupt tiles named."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from gpuent.cli import main
from gpuent.io import read_image

tifffile = pytest.importorskip("tifffile")
zarr = pytest.importorskip("zarr")


def _png(path, width, height):
    """A tiny PNG whose header declares width x height 8-bit gray pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)  # far fewer rows than declared
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                          + chunk(b"IEND", b""))
    return path


def _tiff(path, width, height, tile=16384):
    """A tiny tiled TIFF whose header declares width x height 8-bit gray pixels."""
    across, down = -(-width // tile), -(-height // tile)
    n = across * down
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (277, 3, 1, 1), (322, 4, 1, tile), (323, 4, 1, tile)]
    ifd_size = 2 + 12 * (len(entries) + 2) + 4
    offsets_at = 8 + ifd_size
    counts_at = offsets_at + 4 * n
    data_at = counts_at + 4 * n
    entries += [(324, 4, n, offsets_at), (325, 4, n, counts_at)]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHII", tag, kind, count, value) if kind == 4 else \
            struct.pack("<HHIHH", tag, kind, count, value, 0)
    ifd += struct.pack("<I", 0)
    body = struct.pack(f"<{n}I", *([data_at] * n)) + struct.pack(f"<{n}I", *([tile * tile] * n))
    Path(path).write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd + body + b"\x00" * 256)
    return path


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "64M")


def test_png_bomb_is_refused_before_decoding(tmp_path):
    bomb = _png(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises((OSError, ValueError), match="decompression bomb"):
        read_image(bomb)


def test_png_over_the_memory_limit_is_refused_before_decoding(tmp_path, small_limit, capsys):
    # 12000 x 12000 is below Pillow's bomb error: our own check must refuse it
    big = _png(tmp_path / "big.png", 12_000, 12_000)
    with pytest.raises(MemoryError, match="declared 12000 x 12000"):
        read_image(big)
    assert main(["entropy", str(big), "-o", str(tmp_path / "m.png"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GPUENT_MEMORY_LIMIT" in err[0]
    assert not (tmp_path / "m.png").exists()


def test_tiff_bomb_is_refused_before_decoding(tmp_path, small_limit, capsys):
    bomb = _tiff(tmp_path / "bomb.tif", 100_000, 100_000)
    with tifffile.TiffFile(bomb) as tif:
        assert tif.series[0].shape == (100_000, 100_000)
    with pytest.raises(MemoryError, match="declared 100000 x 100000"):
        read_image(bomb)
    for out in ("m.png", "m.zarr", "m.npy"):  # in memory, or streamed (the data is missing)
        assert main(["entropy", str(bomb), "-o", str(tmp_path / out), "-q"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("gpuent: error: "), err
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.tif"]


def _tiled(tmp_path, compression):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 30, (64, 64), dtype=np.uint8)
    path = tmp_path / "tiled.tif"
    tifffile.imwrite(path, image, tile=(16, 16), compression=compression)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        return path, list(page.dataoffsets), list(page.databytecounts)


def _expect_tile_error(tmp_path, path, capsys, tile_words):
    out = tmp_path / "map.zarr"
    rc = main(["entropy", str(path), "-r", "2", "--tile", "16", "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert "truncated or corrupt" in err[0] and tile_words in err[0], err[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiled.tif"]  # no leftovers


def test_corrupt_tiff_tile_is_named_and_nothing_is_published(tmp_path, capsys):
    path, offsets, counts = _tiled(tmp_path, "zlib")
    data = bytearray(path.read_bytes())
    k = 6  # tile row 1, column 2 of the 4 x 4 tiles
    data[offsets[k]:offsets[k] + counts[k]] = b"\xff" * counts[k]
    path.write_bytes(bytes(data))
    _expect_tile_error(tmp_path, path, capsys, "tile 1, 2 of the 16x16 tiles")


def test_truncated_tiff_is_named_and_nothing_is_published(tmp_path, capsys):
    path, offsets, counts = _tiled(tmp_path, None)
    k = 9  # cut in the middle of tile row 2, column 1
    data = path.read_bytes()
    cut = offsets[k] + counts[k] // 2
    assert cut < len(data)
    path.write_bytes(data[:cut])
    _expect_tile_error(tmp_path, path, capsys, "tile 2, ")


def test_corrupt_zarr_chunk_is_named_and_nothing_is_published(tmp_path, capsys):
    src = tmp_path / "in.zarr"
    z = zarr.create_array(store=str(src), shape=(48, 48), chunks=(16, 16), dtype="uint8")
    z[:] = np.random.default_rng(4).integers(0, 9, (48, 48), dtype=np.uint8)
    chunk = next(p for p in src.rglob("*") if p.is_file() and p.parts[-3:] == ("c", "1", "2"))
    chunk.write_bytes(chunk.read_bytes()[:5])  # truncated mid-chunk
    out = tmp_path / "map.zarr"
    rc = main(["entropy", str(src), "-r", "1", "--tile", "16", "-o", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert "tile 1, 2 of the 16x16 tiles" in err[0], err[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.zarr"]
