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
