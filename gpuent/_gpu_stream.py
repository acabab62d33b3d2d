"""Streaming a big image through the GPU: pinned double buffers and a separate copy stream.

:func:`iter_tiles_gpu` yields the same ``(tile, values)`` as
:func:`gpuent._stream.iter_tiles` (the same tiling and regions, so the same bits),
but overlaps the four steps of consecutive tiles:

1. a host thread reads tile k+1's region (tile plus halo) from the source into one of
   two page-locked (pinned) host buffers;
2. the region of tile k is copied to the device on a *copy stream* (asynchronous,
   because the host buffer is pinned), and an event marks the end of the copy;
3. the *compute stream* waits for that event and computes tile k;
4. the copy stream waits for the computation and copies the map back into one of
   two pinned output buffers; the caller writes tile k-1 while tile k computes.

A buffer is reused only after the event of its last copy, so two tiles are in
flight at a time. The device operations go through a small adapter
(:class:`CupyDevice`); tests drive the same pipeline with a host stand-in that
records the order of the operations.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._stream import compute_tile, read_region, tile_geometry, tiles_of

__all__ = ["CupyDevice", "iter_tiles_gpu"]


class CupyDevice:
    """The device operations of the pipeline, with CuPy (pinned memory, streams, events)."""

    def __init__(self):
        import cupy
        import cupyx

        self.cp = cupy
        self._cupyx = cupyx
        self.copy_stream = cupy.cuda.Stream(non_blocking=True)
        self.compute_stream = cupy.cuda.Stream(non_blocking=True)

    def pinned(self, n, dtype):
        """A page-locked host buffer of ``n`` items (a NumPy array)."""
        return self._cupyx.empty_pinned((int(n),), dtype=dtype)

    def to_device(self, host):
        """Start the host-to-device copy of a pinned array on the copy stream: (array, event)."""
        with self.copy_stream:
            dev = self.cp.empty(host.shape, dtype=host.dtype)
            dev.set(host, stream=self.copy_stream)
            return dev, self.copy_stream.record()

    def compute(self, event, func):
        """Run ``func()`` on the compute stream after ``event``: (result, event)."""
        self.compute_stream.wait_event(event)
        with self.compute_stream:
            out = self.cp.ascontiguousarray(func())
            return out, self.compute_stream.record()

    def to_host(self, dev, event, out):
        """Start the device-to-host copy of ``dev`` into pinned ``out`` after ``event``."""
        self.copy_stream.wait_event(event)
        try:
            dev.get(stream=self.copy_stream, out=out, blocking=False)
        except TypeError:  # CuPy before `blocking`: a synchronous copy, same result
            dev.get(stream=self.copy_stream, out=out)
        return self.copy_stream.record()

    @staticmethod
    def wait(event):
        event.synchronize()


def iter_tiles_gpu(source, req, tile, *, device=None, sink=None, progress=False):
    """Yield ``(tile, values)`` (NumPy) in row-major order, overlapping read, copy, compute, write.

    ``device`` is the adapter (default :class:`CupyDevice`); ``sink(tile, values)``
    stores a tile before it is yielded. ``values`` is a view of a pinned buffer that
    is reused two tiles later: copy it to keep it.
    """
    from tqdm.auto import tqdm

    dev = CupyDevice() if device is None else device
    dtype = np.dtype(source.dtype)
    tiles = tiles_of(req.shape, tile)
    geos = [tile_geometry(req.shape, req.radii, req.mode, t) for t in tiles]
    shapes = [tuple(g[0].size for g in geo) for geo in geos]
    out_dtype = np.dtype(req.out_dtype)
    n_in = max(int(np.prod(s)) for s in shapes)
    n_out = max(int(np.prod([b - a for a, b in t])) for t in tiles)
    pin_in = [dev.pinned(n_in, dtype) for _ in range(2)]
    pin_out = [dev.pinned(n_out, out_dtype) for _ in range(2)]
    in_free = [None, None]  # event after which pin_in[i] may be overwritten

    def read(k):
        i = k % 2
        if in_free[i] is not None:
            dev.wait(in_free[i])
        region = pin_in[i][:int(np.prod(shapes[k]))].reshape(shapes[k])
        return read_region(lambda sl: np.asarray(source[sl]), [g[0] for g in geos[k]], region)

    bar = tqdm(total=int(np.prod(req.shape)), unit="pix", unit_scale=True, disable=not progress,
               desc="entropy", leave=False)
    pending = None  # (tile, values view, event) of the tile whose map is on its way back
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpuent-read") as reader:
        try:
            nxt = reader.submit(read, 0)
            for k, t in enumerate(tiles):
                region = nxt.result()
                d_region, copied = dev.to_device(region)
                in_free[k % 2] = copied
                if k + 1 < len(tiles):
                    nxt = reader.submit(read, k + 1)
                sides = [b - a for a, b in t]
                maps = [g[1] for g in geos[k]]
                values, done = dev.compute(
                    copied, lambda d=d_region, m=maps, s=sides: compute_tile(d, None, m, s, req))
                out = pin_out[k % 2][:int(np.prod(sides))].reshape(sides)
                back = dev.to_host(values, done, out)
                if pending is not None:
                    yield _finish(dev, pending, sink, bar)
                # the device arrays stay referenced until the copy back is done: the memory
                # pool must not hand them to the next tile while a stream still reads them
                pending = (t, out, back, (d_region, values))
            if pending is not None:
                yield _finish(dev, pending, sink, bar)
        finally:
            bar.close()


def _finish(dev, pending, sink, bar):
    t, out, event, _ = pending
    dev.wait(event)
    if sink is not None:
        sink(t, out)
    bar.update(int(out.size))
    return t, out
