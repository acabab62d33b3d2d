"""Streaming big images tile by tile: readers, writers, the CLI, and bounded memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gpuent as ge
from gpuent._stream import make_request, source_stats, stream_map
from gpuent.cli import main
from gpuent.io_big import create_sink, open_source

tifffile = pytest.importorskip("tifffile")
zarr = pytest.importorskip("zarr")

MODES = ["clip", "reflect", "mirror", "wrap"]


def _load(path):
    path = str(path)
    if path.endswith(".zarr"):
        return zarr.open_array(path, mode="r")[:]
    if path.endswith(".npy"):
        return np.load(path)
    return tifffile.imread(path)


@pytest.fixture(scope="module")
def img():
    return np.random.default_rng(0).integers(0, 256, (150, 170), dtype=np.uint8)


@pytest.fixture(scope="module")
def inputs(img, tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    np.save(d / "a.npy", img)
    tifffile.imwrite(d / "tiled.tif", img, tile=(32, 32), compression="zlib", bigtiff=True)
    tifffile.imwrite(d / "strip.tif", img)
    z = zarr.create_array(store=str(d / "a.zarr"), shape=img.shape, chunks=(64, 64),
                          dtype="uint8")
    z[:] = img
    return d


@pytest.mark.parametrize("name", ["a.npy", "tiled.tif", "strip.tif", "a.zarr"])
def test_sources_read_boxes(inputs, img, name):
    src = open_source(inputs / name)
    assert src.shape == img.shape and src.dtype == np.uint8
    assert np.array_equal(src[10:40, 150:170], img[10:40, 150:170])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tile", [3, 40, 200])
def test_stream_equals_in_memory(inputs, img, mode, tile, tmp_path):
    if tile < 5:  # tiles smaller than the radius: many tiles, so a smaller image
        img = img[:40, :50]
        tifffile.imwrite(tmp_path / "small.tif", img, tile=(16, 16))
        src = open_source(tmp_path / "small.tif")
    else:
        src = open_source(inputs / "tiled.tif")
    req = make_request("entropy", src.shape, src.dtype, radius=5, mode=mode,
                       stats=source_stats(src, (64, 64)))
    sink = create_sink(tmp_path / "o.npy", src.shape, (tile, tile))
    stream_map(src, sink, req, (tile, tile))
    sink.commit()
    assert np.array_equal(np.load(tmp_path / "o.npy"), ge.local_entropy(img, 5, mode=mode))


def test_stream_binned_float_and_uint16_volume(tmp_path):
    rng = np.random.default_rng(1)
    f = rng.normal(size=(60, 50)).astype(np.float32)
    f[30:, 40:] *= 5
    np.save(tmp_path / "f.npy", f)
    assert main(["entropy", str(tmp_path / "f.npy"), "--bins", "32", "-r", "2", "--tile", "16",
                 "-o", str(tmp_path / "f.zarr"), "-q"]) == 0
    assert np.array_equal(_load(tmp_path / "f.zarr"), ge.local_entropy(f, 2, bins=32))
    vol = rng.integers(0, 3000, (9, 40, 45), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "vin.tif", vol)  # a multi-page stack is a volume
    for out in ("v.zarr", "v.tif", "v.npy"):
        assert main(["entropy", str(tmp_path / "vin.tif"), "-r", "1", "--mode", "reflect",
                     "--tile", "16", "-o", str(tmp_path / out), "-q"]) == 0
        assert np.array_equal(_load(tmp_path / out), ge.local_entropy(vol, 1, mode="reflect"))


@pytest.mark.parametrize("name", ["a.npy", "tiled.tif", "strip.tif", "a.zarr"])
@pytest.mark.parametrize("out", ["o.zarr", "o.tif", "o.npy"])
def test_cli_outputs(inputs, img, name, out, tmp_path):
    argv = ["entropy", str(inputs / name), "-r", "4", "--mode", "wrap", "--tile", "48",
            "-o", str(tmp_path / out), "-q"]
    assert main(argv) == 0
    assert np.array_equal(_load(tmp_path / out), ge.local_entropy(img, 4, mode="wrap"))
    side = [out + ".json"] if out.endswith(".npy") else []  # the provenance sidecar
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out] + side)  # no temporary


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_cli_dask_schedulers(inputs, img, scheduler, tmp_path):
    for out in ("o.zarr", "o.tif"):
        proc = subprocess.run(
            [sys.executable, "-m", "gpuent", "entropy", str(inputs / "a.npy"), "-r", "3",
             "--mode", "mirror", "--tile", "64", "--scheduler", scheduler, "--workers", "2",
             "-o", str(tmp_path / out), "-q"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert np.array_equal(_load(tmp_path / out), ge.local_entropy(img, 3, mode="mirror"))


def test_cli_zarr_overwrite_and_errors(inputs, tmp_path, capsys):
    out = tmp_path / "o.zarr"
    assert main(["entropy", str(inputs / "a.npy"), "-o", str(out), "-q"]) == 0
    assert main(["entropy", str(inputs / "a.npy"), "-r", "1", "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["entropy", str(inputs / "a.npy"), "-o", str(tmp_path / "x.png"),
                 "--tile", "8"]) == 2
    assert main(["entropy", str(inputs / "a.npy"), "--address", "tcp://x:1",
                 "-o", str(out)]) == 2
    assert main(["entropy", str(tmp_path / "missing.zarr"), "-o", str(out)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.zarr"]


def _peak_rss_kb(argv):
    """Peak RSS (kB) of ``python -m gpuent ARGV``, measured by a parent that runs only it."""
    script = textwrap.dedent(f"""
        import resource, subprocess, sys
        subprocess.run([sys.executable, "-m", "gpuent", *{list(argv)!r}], check=True)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1])


def _tiled_tiff(path, n):
    rng = np.random.default_rng(0)
    m = -(-n // 256)
    tiles = (rng.integers(0, 256, (256, 256), dtype=np.uint8) for _ in range(m * m))
    tifffile.imwrite(path, tiles, shape=(n, n), dtype=np.uint8, tile=(256, 256), bigtiff=True)


def test_peak_memory_is_bounded(tmp_path):
    """Streaming a 4000 x 4000 uint8 TIFF (16 MB in, 64 MB of float32 out) costs about what
    a 512 x 512 one costs: the in-memory path would add > 80 MB (image + map + levels)."""
    _tiled_tiff(tmp_path / "small.tif", 512)
    _tiled_tiff(tmp_path / "big.tif", 4000)
    opts = ["-r", "3", "--tile", "512", "-q"]
    small = _peak_rss_kb(["entropy", str(tmp_path / "small.tif"), "-o",
                          str(tmp_path / "s.zarr"), *opts])
    big = _peak_rss_kb(["entropy", str(tmp_path / "big.tif"), "-o", str(tmp_path / "b.zarr"),
                        *opts])
    assert big - small < 40 * 1024, (small, big)
    out = zarr.open_array(str(tmp_path / "b.zarr"), mode="r")
    assert out.shape == (4000, 4000) and np.isfinite(out[:8, :8]).all()


def _span(emap):
    return f"({emap.min():.3g}..{emap.max():.3g} bits)"


@pytest.mark.parametrize("out", ["o.zarr", "o.tif", "o.npy"])
@pytest.mark.parametrize("scheduler", [None, "threads"])
def test_cli_streamed_summary_has_the_value_range(inputs, img, out, scheduler, tmp_path, capsys):
    argv = ["entropy", str(inputs / "a.zarr"), "-r", "2", "--tile", "48", "-o", str(tmp_path / out)]
    assert main(argv + (["--scheduler", scheduler] if scheduler else [])) == 0
    line = capsys.readouterr().out
    assert f"entropy map {_span(ge.local_entropy(img, 2))}, streamed in 16 48-pixel tiles" in line


def test_cli_resumed_summary_counts_the_earlier_tiles(inputs, img, tmp_path, capsys):
    from gpuent._resume import fingerprint

    src, out = inputs / "a.npy", tmp_path / "r.zarr"
    emap = ge.local_entropy(img, 2)
    head = fingerprint(src, img.shape, img.dtype, (64, 64), radius=2, footprint=None,
                       mode="clip", bins=None, base=2.0, estimator="plugin", backend=None)
    sink = create_sink(out, img.shape, (64, 64), fingerprint=head)  # then "killed"
    hi = np.unravel_index(np.argmax(emap), emap.shape)  # the maximum lies in a done tile
    done = tuple((int(i) // 64 * 64, min(n, int(i) // 64 * 64 + 64))
                 for i, n in zip(hi, emap.shape))
    sink(done, emap[done[0][0]:done[0][1], done[1][0]:done[1][1]])
    capsys.readouterr()
    assert main(["entropy", str(src), "-r", "2", "--tile", "64", "-o", str(out), "--resume"]) == 0
    line = capsys.readouterr().out
    assert "1 tiles were already done" in line and _span(emap) in line
    assert "streamed in 9 64-pixel tiles" in line
    assert np.array_equal(_load(out), emap)
    del sink


def test_cli_small_zarr_to_a_picture_and_big_one_refused(inputs, img, tmp_path, capsys,
                                                         monkeypatch):
    from gpuent.commands import entropy as cmd

    png = tmp_path / "z.png"
    assert main(["entropy", str(inputs / "a.zarr"), "-r", "2", "-o", str(png)]) == 0
    assert png.is_file() and _span(ge.local_entropy(img, 2))[:-1] in capsys.readouterr().out
    monkeypatch.setattr(cmd, "STREAM_PIXELS", img.size - 1)
    assert main(["entropy", str(inputs / "a.zarr"), "-o", str(tmp_path / "big.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpuent: error: ") and err.count("\n") == 1
    assert "too big to read whole" in err and ".zarr, .ome.zarr, a tiled .tif" in err
    assert not (tmp_path / "big.png").exists()


def test_cli_distributed_exits_quietly(inputs, img, tmp_path):
    # a local cluster's workers used to outlive the scheduler at exit: "Worker process still
    # alive after 4.0 seconds, killing" and heartbeat tracebacks on stderr (4 runs in 4)
    pytest.importorskip("distributed")
    out = tmp_path / "d.zarr"
    proc = subprocess.run(
        [sys.executable, "-m", "gpuent", "entropy", str(inputs / "a.zarr"), "-r", "2",
         "--tile", "64", "--scheduler", "distributed", "--workers", "2", "-o", str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert f"entropy map {_span(ge.local_entropy(img, 2))}" in proc.stdout
    assert np.array_equal(_load(out), ge.local_entropy(img, 2))


def test_cli_distributed_ctrl_c_stops_without_worker_tracebacks(tmp_path):
    # a terminal's Ctrl-C reaches the whole process group: the workers died with
    # KeyboardInterrupt tracebacks while gpuent was closing them
    import os
    import signal
    import time

    pytest.importorskip("distributed")
    _tiled_tiff(tmp_path / "in.tif", 1024)
    out = tmp_path / "o.zarr"
    journal = tmp_path / ".o.zarr.partial.tiles"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpuent", "entropy", str(tmp_path / "in.tif"), "-r", "30",
         "--tile", "128", "--scheduler", "distributed", "--workers", "2", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 2:  # head + a tile
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the map was done before the interrupt (a very fast machine)")
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "KeyboardInterrupt" not in err
    assert err.rstrip().endswith("gpuent: interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]
