"""Ctrl-C during ``gpuent entropy ... -o a.zarr`` leaves nothing behind, wherever it lands."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from gpuent.cli import main

pytest.importorskip("zarr")


def _ctrl_c():
    """Deliver a real SIGINT to this process, as a terminal's Ctrl-C does."""
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture()
def src(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "in.npy"
    np.save(path, rng.integers(0, 256, (70, 90), dtype=np.uint8))
    return path


def _left(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != "in.npy")


def _interrupted(argv, capsys):
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err


def test_interrupt_while_the_zarr_output_is_created(src, tmp_path, monkeypatch, capsys):
    import zarr

    real = zarr.create_array

    def create_array(*args, **kwargs):  # the interrupt lands as the store is made
        array = real(*args, **kwargs)
        _ctrl_c()
        return array

    monkeypatch.setattr(zarr, "create_array", create_array)
    _interrupted(["entropy", str(src), "-r", "2", "-o", str(tmp_path / "a.zarr"), "-q"], capsys)
    assert _left(tmp_path) == []


def test_interrupt_while_tiles_are_written(src, tmp_path, monkeypatch, capsys):
    from gpuent import io_big

    real = io_big.ZarrSink.__call__
    calls = []

    def call(self, tile, values):
        calls.append(tile)
        if len(calls) == 2:
            _ctrl_c()
        return real(self, tile, values)

    monkeypatch.setattr(io_big.ZarrSink, "__call__", call)
    _interrupted(["entropy", str(src), "-r", "2", "--tile", "32", "-o",
                  str(tmp_path / "a.zarr"), "-q"], capsys)
    assert _left(tmp_path) == []


@pytest.mark.parametrize("existing", [False, True])
def test_interrupt_while_the_output_is_renamed_into_place(src, tmp_path, monkeypatch, capsys,
                                                          existing):
    """An interrupt in the commit gives the whole new map or nothing new, no temporaries."""
    from gpuent.io import _atomic as gio  # where AtomicOutput looks it up

    out = tmp_path / "a.zarr"
    if existing:
        assert main(["entropy", str(src), "-r", "1", "-o", str(out), "-q"]) == 0
    real = gio.publish

    def publish(tmp, target):
        _ctrl_c()
        return real(tmp, target)

    monkeypatch.setattr(gio, "publish", publish)
    code = main(["entropy", str(src), "-r", "2", "-o", str(out), "-q"])
    assert code in (0, 130)
    assert _left(tmp_path) == ["a.zarr"] or (not existing and _left(tmp_path) == [])
    if (tmp_path / "a.zarr").exists():
        import zarr

        got = np.asarray(zarr.open_array(str(out), mode="r"))
        assert got.shape == (70, 90) and np.isfinite(got).all()


def test_a_late_dask_task_does_not_recreate_an_aborted_output(tmp_path):
    """After Ctrl-C, Dask worker threads may still finish a tile: it must not write."""
    from gpuent.io_big import create_sink

    sink = create_sink(tmp_path / "a.zarr", (8, 8), (4, 4))
    sink.abort()
    with pytest.raises(RuntimeError, match="abandoned"):
        sink(((0, 4), (0, 4)), np.zeros((4, 4), np.float32))
    assert _left(tmp_path) == []
