"""Resumable streamed maps: SIGKILL at random points, then --resume, bit for bit."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gpuent.cli import main

zarr = pytest.importorskip("zarr")

SHAPE, TILE, RADIUS = (160, 200), 32, 3
TOTAL = 5 * 7  # tiles of 32 in 160 x 200
RUNS = int(os.environ.get("GPUENT_RESUME_RUNS", "3"))


def _gpuent(*args, timeout=600):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), *sys.path]))
    return subprocess.run([sys.executable, "-m", "gpuent", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume")
    src = d / "in.npy"
    np.save(src, np.random.default_rng(5).integers(0, 40, SHAPE).astype(np.uint8))
    ref = d / "ref.npy"  # the uninterrupted map, in memory, written whole
    assert main(["entropy", str(src), "-r", str(RADIUS), "-o", str(ref), "-q"]) == 0
    return src, np.load(ref)


def _same_bits(out, ref):
    got = np.asarray(zarr.open_array(str(out), mode="r")[:])
    assert got.shape == ref.shape and got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), ref.astype(np.float32).view(np.uint32))


def _kill_after(argv, journal, tiles, rng):
    """Start a run and SIGKILL it once ``journal`` lists ``tiles`` tiles (or it ends)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path.cwd()), *sys.path]))
    proc = subprocess.Popen([sys.executable, "-m", "gpuent", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                done = journal.read_text().count("\n") - 1
            except OSError:
                done = -1
            if done >= tiles:
                time.sleep(float(rng.uniform(0, 0.05)))  # land anywhere in the next tile
                break
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("run", range(RUNS))
def test_sigkill_then_resume_is_bit_identical(case, tmp_path, run):
    src, ref = case
    rng = np.random.default_rng(1000 + run)
    out = tmp_path / "map.zarr"
    partial = tmp_path / ".map.zarr.partial.zarr"
    journal = tmp_path / ".map.zarr.partial.tiles"
    argv = ["entropy", str(src), "-r", str(RADIUS), "--tile", str(TILE), "-o", str(out), "-q"]
    tiles = int(rng.integers(0, TOTAL))
    start = time.perf_counter()
    _kill_after(argv, journal, tiles, rng)
    killed = time.perf_counter() - start

    redone = TOTAL
    if partial.exists():
        assert not out.exists()  # nothing published by the killed run
        refused = _gpuent(*argv)
        assert refused.returncode == 2
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "--resume" in lines[0], refused.stderr
        assert partial.exists()  # a refusal keeps the partial output
    start = time.perf_counter()
    resumed = _gpuent(*argv[:-1], "--resume")  # without -q: it says what was done before
    seconds = time.perf_counter() - start
    assert resumed.returncode == 0, resumed.stderr
    m = re.search(r"(\d+) tiles were already done", resumed.stdout)
    if m:
        redone = TOTAL - int(m.group(1))
    _same_bits(out, ref)
    assert not partial.exists() and not journal.exists()
    print(f"\nresume run {run}: killed after {killed:.2f} s (>= {tiles} tiles journaled), "
          f"redid {redone} of {TOTAL} tiles, resume took {seconds:.2f} s")
    report = os.environ.get("GPUENT_RESUME_REPORT")
    if report:
        with open(report, "a") as fh:
            fh.write(f"{run} {tiles} {redone} {TOTAL} {killed:.2f} {seconds:.2f}\n")


def test_resume_refuses_other_settings_and_outputs(case, tmp_path, capsys):
    src, _ = case
    out = tmp_path / "m.zarr"
    partial = tmp_path / ".m.zarr.partial.zarr"
    from gpuent import io_big
    from gpuent._resume import fingerprint

    head = fingerprint(src, SHAPE, np.uint8, (TILE, TILE), radius=RADIUS, footprint=None,
                       mode="clip", bins=None, base=2.0, estimator="plugin", backend=None)
    sink = io_big.create_sink(out, SHAPE, (TILE, TILE), fingerprint=head)  # then "killed"
    assert partial.exists()
    base = ["entropy", str(src), "--tile", str(TILE), "-o", str(out), "-q"]
    assert main([*base, "-r", "4", "--resume"]) == 2
    assert "other settings" in capsys.readouterr().err
    assert main([*base, "-r", str(RADIUS)]) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main(["entropy", str(src), "-r", "1", "-o", str(tmp_path / "m.npy"),
                 "--resume"]) == 2
    assert "--resume needs a .zarr output" in capsys.readouterr().err
    assert main([*base, "-r", str(RADIUS), "--resume"]) == 0
    assert not partial.exists() and out.is_dir()
    del sink


def test_a_torn_journal_line_is_ignored(tmp_path):
    from gpuent._resume import Journal

    j = Journal(tmp_path / "x.zarr")
    j.start({"a": 1})
    j.record(((0, 32), (0, 32)))
    with open(j.path, "a") as fh:
        fh.write("32,64;0,")  # killed in the middle of a write
    head, done = j.read()
    assert head == {"a": 1} and done == {"0,32;0,32"}


# ----------------------------------------------------------------------------- .ome.zarr
NGFF_SHAPE, NGFF_TILE = (1040, 1100), 128
NGFF_TOTAL = 9 * 9  # tiles of 128 in 1040 x 1100; levels 1040x1100, 520x550, 260x275


@pytest.fixture(scope="module")
def ngff_case(tmp_path_factory):
    """An input big enough for a 3-level pyramid, and every level of an uninterrupted run."""
    d = tmp_path_factory.mktemp("resume_ngff")
    src = d / "in.npy"
    np.save(src, np.random.default_rng(6).integers(0, 40, NGFF_SHAPE).astype(np.uint8))
    (d / "ref").mkdir()
    ref = d / "ref" / "map.ome.zarr"  # the same name: the multiscales name is the file's
    assert main(["entropy", str(src), "-r", str(RADIUS), "--tile", str(NGFF_TILE), "-o",
                 str(ref), "-q"]) == 0
    group = zarr.open_group(str(ref), mode="r")
    levels = [np.asarray(group[str(k)][:]) for k in range(3)]
    assert str(3) not in group and [lv.shape for lv in levels] == \
        [(1040, 1100), (520, 550), (260, 275)]
    return src, levels, dict(group.attrs["ome"])


@pytest.mark.parametrize("run", range(RUNS))
def test_ome_zarr_sigkill_then_resume_is_bit_identical(ngff_case, tmp_path, run):
    """SIGKILL while level 0 is streamed (or while the pyramid is built), then --resume:
    every level equals the uninterrupted run's bit for bit, and the group is valid NGFF."""
    src, levels, ome = ngff_case
    rng = np.random.default_rng(2000 + run)
    out = tmp_path / "map.ome.zarr"
    partial = tmp_path / ".map.ome.zarr.partial.zarr"
    journal = tmp_path / ".map.ome.zarr.partial.tiles"
    argv = ["entropy", str(src), "-r", str(RADIUS), "--tile", str(NGFF_TILE), "-o", str(out),
            "-q"]
    # every fifth run is killed once all tiles are journaled: while the pyramid is built
    tiles = NGFF_TOTAL if run % 5 == 4 else int(rng.integers(0, NGFF_TOTAL))
    start = time.perf_counter()
    _kill_after(argv, journal, tiles, rng)
    killed = time.perf_counter() - start

    redone = NGFF_TOTAL
    if partial.exists():
        assert not out.exists()  # nothing published by the killed run
        refused = _gpuent(*argv)
        assert refused.returncode == 2
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "--resume" in lines[0], refused.stderr
        assert partial.exists()
    start = time.perf_counter()
    resumed = _gpuent(*argv[:-1], "--resume")
    seconds = time.perf_counter() - start
    assert resumed.returncode == 0, resumed.stderr
    m = re.search(r"(\d+) tiles were already done", resumed.stdout)
    if m:
        redone = NGFF_TOTAL - int(m.group(1))
    assert not partial.exists() and not journal.exists()
    group = zarr.open_group(str(out), mode="r")
    assert sorted(group.array_keys()) == ["0", "1", "2"]
    for k, want in enumerate(levels):
        got = np.asarray(group[str(k)][:])
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), f"level {k}"
    assert group.attrs["ome"] == ome
    assert "gpuent" in group.attrs
    models = pytest.importorskip("ome_zarr_models.v05.image")
    models.Image.from_zarr(group)  # raises on invalid metadata
    print(f"\nngff resume run {run}: killed after {killed:.2f} s (>= {tiles} tiles journaled), "
          f"redid {redone} of {NGFF_TOTAL} tiles, resume took {seconds:.2f} s")
    report = os.environ.get("GPUENT_RESUME_REPORT")
    if report:
        with open(report, "a") as fh:
            fh.write(f"ngff {run} {tiles} {redone} {NGFF_TOTAL} {killed:.2f} {seconds:.2f}\n")


def test_ome_zarr_partial_is_refused_without_resume_and_kept(ngff_case, tmp_path, capsys):
    from gpuent.io import create_sink

    src, _, _ = ngff_case
    out = tmp_path / "m.ome.zarr"
    sink = create_sink(out, (300, 300), (128, 128), fingerprint={"x": 1})  # then "killed"
    sink(((0, 128), (0, 128)), np.ones((128, 128), np.float32))
    partial = tmp_path / ".m.ome.zarr.partial.zarr"
    assert partial.is_dir() and not out.exists()
    with pytest.raises(ValueError, match="add --resume"):
        create_sink(out, (300, 300), (128, 128), fingerprint={"x": 1})
    with pytest.raises(ValueError, match="other settings"):
        create_sink(out, (300, 300), (128, 128), resume=True, fingerprint={"x": 2})
    again = create_sink(out, (300, 300), (128, 128), resume=True, fingerprint={"x": 1})
    assert again.done == {"0,128;0,128"}
    np.testing.assert_array_equal(np.asarray(again.array[:128, :128]), 1.0)
    again.abort()
    assert not partial.exists() and not (tmp_path / ".m.ome.zarr.partial.tiles").exists()
    del sink


def test_ome_zarr_killed_while_the_pyramid_was_built(ngff_case, tmp_path, capsys):
    """All tiles done, level 1 half written (garbage): --resume computes no tile and
    rebuilds every level from level 0, bit for bit."""
    from gpuent._resume import fingerprint
    from gpuent.io import create_sink

    src, levels, _ = ngff_case
    out = tmp_path / "map.ome.zarr"
    tile = (NGFF_TILE, NGFF_TILE)
    head = fingerprint(src, NGFF_SHAPE, np.uint8, tile, radius=RADIUS, footprint=None,
                       mode="clip", bins=None, base=2.0, estimator="plugin", backend=None)
    sink = create_sink(out, NGFF_SHAPE, tile, fingerprint=head)
    for y in range(0, NGFF_SHAPE[0], NGFF_TILE):
        for x in range(0, NGFF_SHAPE[1], NGFF_TILE):
            t = ((y, min(y + NGFF_TILE, NGFF_SHAPE[0])), (x, min(x + NGFF_TILE, NGFF_SHAPE[1])))
            sink(t, levels[0][t[0][0]:t[0][1], t[1][0]:t[1][1]])
    group = zarr.open_group(sink.tmp, mode="r+")
    half = group.create_array("1", shape=(520, 550), chunks=(128, 128), dtype="float32")
    half[:128, :] = -1.0  # then "killed"
    del sink
    assert main(["entropy", str(src), "-r", str(RADIUS), "--tile", str(NGFF_TILE), "-o",
                 str(out), "--resume"]) == 0
    assert f"{NGFF_TOTAL} tiles were already done" in capsys.readouterr().out
    group = zarr.open_group(str(out), mode="r")
    for k, want in enumerate(levels):
        assert np.array_equal(np.asarray(group[str(k)][:]).view(np.uint32),
                              want.view(np.uint32)), f"level {k}"


def test_ome_zarr_resume_under_dask(ngff_case, tmp_path, capsys):
    """--scheduler threads --resume skips the journaled tiles too; every level bit-identical."""
    pytest.importorskip("dask")
    from gpuent._resume import fingerprint
    from gpuent.io import create_sink

    src, levels, _ = ngff_case
    out = tmp_path / "map.ome.zarr"
    tile = (NGFF_TILE, NGFF_TILE)
    head = fingerprint(src, NGFF_SHAPE, np.uint8, tile, radius=RADIUS, footprint=None,
                       mode="clip", bins=None, base=2.0, estimator="plugin", backend=None)
    sink = create_sink(out, NGFF_SHAPE, tile, fingerprint=head)
    done = 0
    for y in range(0, NGFF_SHAPE[0], NGFF_TILE):
        for x in range(0, NGFF_SHAPE[1], NGFF_TILE):
            if (y + x) // NGFF_TILE % 2:
                continue
            t = ((y, min(y + NGFF_TILE, NGFF_SHAPE[0])), (x, min(x + NGFF_TILE, NGFF_SHAPE[1])))
            sink(t, levels[0][t[0][0]:t[0][1], t[1][0]:t[1][1]])
            done += 1
    del sink  # then "killed"
    assert main(["entropy", str(src), "-r", str(RADIUS), "--tile", str(NGFF_TILE), "-o",
                 str(out), "--scheduler", "threads", "--resume"]) == 0
    assert f"{done} tiles were already done" in capsys.readouterr().out
    group = zarr.open_group(str(out), mode="r")
    for k, want in enumerate(levels):
        assert np.array_equal(np.asarray(group[str(k)][:]).view(np.uint32),
                              want.view(np.uint32)), f"level {k}"
