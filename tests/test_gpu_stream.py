"""The GPU streaming pipeline (pinned double buffers, copy stream), driven by a host stand-in.

The stand-in device has the adapter's four operations (pinned buffers, copy to the
device, compute after an event, copy back after an event) on the host, and records
them, so the pipeline's order, buffer reuse and result are checked without a GPU.
The CuPy adapter itself runs in the GPU test at the end (``-m gpu``).
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gpuent as ge
from gpuent._backend import cupy_or_none
from gpuent._gpu_stream import iter_tiles_gpu
from gpuent._stream import iter_tiles, make_request


class Event:
    def __init__(self, log, name):
        self.name, self.log, self.done = name, log, False

    def synchronize(self):
        self.done = True


class StandIn:
    """Host stand-in of :class:`gpuent._gpu_stream.CupyDevice`."""

    def __init__(self):
        self.log = []
        self.lock = threading.Lock()
        self.buffers = []

    def _note(self, what):
        with self.lock:
            self.log.append(what)
        return Event(self.log, what)

    def pinned(self, n, dtype):
        buf = np.full(int(n), 99, dtype=dtype)  # garbage: every read must overwrite it
        self.buffers.append(buf)
        return buf

    def to_device(self, host):
        assert any(np.shares_memory(host, b) for b in self.buffers), "copy from pinned memory"
        return host.copy(), self._note("h2d")

    def compute(self, event, func):
        return np.ascontiguousarray(func()), self._note("compute")

    def to_host(self, dev, event, out):
        np.copyto(out, dev)
        return self._note("d2h")

    def wait(self, event):
        event.synchronize()
        self._note("wait")


def _request(img, mode, r):
    return make_request("entropy", img.shape, img.dtype, radius=r, mode=mode,
                        backend="reference", image=img)


@pytest.mark.parametrize("mode", ["clip", "reflect", "wrap"])
@pytest.mark.parametrize("tile", [(9, 11), (40, 7), (64, 64)])
def test_pipeline_equals_the_in_memory_map(mode, tile):
    img = np.random.default_rng(5).integers(0, 256, (33, 29), dtype=np.uint8)
    want = ge.local_entropy(img, 3, mode=mode, backend="reference")
    dev = StandIn()
    got = np.full(img.shape, np.nan, dtype=np.float32)
    seen = []

    def sink(t, values):
        got[tuple(slice(a, b) for a, b in t)] = values
        dev._note("write")

    for t, values in iter_tiles_gpu(img, _request(img, mode, 3), tile, device=dev, sink=sink):
        seen.append(t)
        assert any(np.shares_memory(values, b) for b in dev.buffers[2:])  # pinned output
    np.testing.assert_array_equal(got, want)
    assert len(dev.buffers) == 4  # two pinned input and two pinned output buffers
    n = len(seen)
    assert dev.log.count("h2d") == dev.log.count("compute") == dev.log.count("d2h") == n
    # tile k is yielded (written) only after tile k+1 was sent to compute: the write of
    # one tile overlaps the computation of the next
    computes = [i for i, e in enumerate(dev.log) if e == "compute"]
    writes = [i for i, e in enumerate(dev.log) if e == "write"]
    assert len(writes) == n
    for k in range(n - 1):
        assert computes[k + 1] < writes[k]


def test_iter_tiles_routes_cuda_here_to_a_clear_error():
    img = np.zeros((8, 8), np.uint8)
    if cupy_or_none() is not None:
        pytest.skip("CuPy is installed here")
    with pytest.raises((ImportError, ModuleNotFoundError)):
        list(iter_tiles(img, _request(img, "clip", 1), (4, 4), device="cuda"))


@pytest.mark.gpu
def test_cupy_pipeline_equals_in_memory_cuda_map():
    cp = cupy_or_none()
    img = np.random.default_rng(6).integers(0, 256, (300, 257), dtype=np.uint8)
    req = make_request("entropy", img.shape, img.dtype, radius=4, mode="reflect", image=img)
    got = np.empty(img.shape, np.float32)
    for t, values in iter_tiles_gpu(img, req, (64, 100)):
        got[tuple(slice(a, b) for a, b in t)] = values
    np.testing.assert_array_equal(got, ge.local_entropy(cp.asarray(img), 4, mode="reflect").get())
