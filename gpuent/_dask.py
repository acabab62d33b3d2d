"""Dask arrays in, Dask arrays out: windowed maps chunk by chunk, equal to the in-memory map.

:func:`gpuent.local_entropy`, :func:`gpuent.local_expected` and
:func:`gpuent.local_renyi_entropy` call :func:`windowed` when the image is a
Dask collection. The global level facts are computed first (one pass: the
maximum for integer images, K = max + 1; the finite min and max for binned
images without ``value_range``), so every chunk uses the same K and the same
binning. Each output chunk is then one task that depends on exactly the input
chunks holding its tile plus halo; at the image edges the halo follows the
mode (clip: not counted; reflect/mirror/wrap: the rows/columns on the right
side, through the global boundary maps). This is ``map_overlap`` with the
boundary done exactly, for any chunking, also chunks smaller than the radius
(a chunk's halo may then span several neighbouring chunks). The output has the
image's chunks; CuPy-backed chunks run the CUDA path.
"""

from __future__ import annotations

import math

import numpy as np

from ._stream import (
    compute_tile,
    fill_from_blocks,
    make_request,
    proxy_array,
    tile_geometry,
)
from ._validate import check_mask

__all__ = ["is_dask", "windowed"]


def is_dask(x) -> bool:
    """True for a Dask collection (without importing Dask when it is not loaded)."""
    import sys

    if "dask" not in sys.modules:
        return False
    from dask import is_dask_collection

    return is_dask_collection(x)


def _stats(image, mask):
    import dask
    import dask.array as da

    def stats(need):
        if need == "int":
            lo, hi = dask.compute(da.min(image), da.max(image))
            return int(lo), int(hi)
        x = image.astype(np.float64)
        ok = da.isfinite(x)
        if mask is not None:
            ok = ok & mask
        lo, hi, anyok, anyinf = dask.compute(
            da.min(da.where(ok, x, np.inf)), da.max(da.where(ok, x, -np.inf)), da.any(ok),
            da.any(da.isinf(x)),
        )
        if not bool(anyok):
            return 0.0, 0.0, bool(anyinf)
        return float(lo), float(hi), bool(anyinf)

    return stats


def _chunk_task(blocks, mask_blocks, origins, uniq, local, tile_shape, req, dtype):
    from ._backend import array_namespace

    xp = array_namespace(blocks[0])
    region = xp.empty(tuple(u.size for u in uniq), dtype=dtype)
    fill_from_blocks(region, uniq, list(zip(origins, blocks)), xp)
    mask = None
    if mask_blocks is not None:
        mask = xp.empty(region.shape, dtype=xp.bool)
        fill_from_blocks(mask, uniq, list(zip(origins, mask_blocks)), xp)
    return compute_tile(region, mask, local, tile_shape, req)


def windowed(kind, image, *, radius=None, footprint=None, mode="clip", bins=None,
             value_range=None, nlevels=None, estimator="plugin", base=2, f=None, alpha=1.0,
             mask=None, dtype=None, backend=None, guess_channels=True):
    """The windowed map ``kind`` ("entropy", "expected", "renyi") of a Dask array, lazily."""
    import dask.array as da

    image = da.asarray(image)
    if mask is not None:
        if isinstance(mask, (list, tuple)):
            mask = np.asarray(mask)
        check_mask(proxy_array(mask.shape, bool), proxy_array(image.shape, np.uint8), np)
        mask = da.asarray(mask)
        if mask.dtype != bool:
            mask = mask != 0
        mask = mask.rechunk(image.chunks)
    if footprint is not None and hasattr(footprint, "compute"):
        footprint = footprint.compute()
    from dask.base import tokenize

    # deterministic keys: the same input and options give the same graph (and cached results)
    token = tokenize(image.name, None if mask is None else mask.name, kind, radius,
                     footprint, mode, bins, value_range, nlevels, estimator, base, f, alpha,
                     str(dtype), backend)
    req = make_request(kind, image.shape, image.dtype, radius=radius, footprint=footprint,
                       mode=mode, bins=bins, value_range=value_range, nlevels=nlevels,
                       estimator=estimator, base=base, f=f, alpha=alpha, dtype_out=dtype,
                       backend=backend, stats=_stats(image, mask), token=token,
                       guess_channels=guess_channels)
    return _from_request(image, req, mask)


#: estimated bytes of the graph per task, per dependency (a key and an origin per input
#: chunk a task reads) and per index entry, while it is built and computed (Dask's
#: optimized copies and the scheduler's state included): fitted to tracemalloc peaks of
#: threaded computes of 2500-10000 tasks with 2e4-3e5 dependencies (5 KiB, 860 B), rounded up
TASK_BYTES = 6144
EDGE_BYTES = 1024
INDEX_BYTES = 16
_CHUNK_HINT = "rechunk into fewer, larger chunks (image.rechunk(...)) or use a smaller radius"


def graph_bytes(req, chunks):
    """Estimated bytes of the task graph of ``req`` over ``chunks`` (Dask's ``.chunks``).

    A task reads every input chunk holding its tile plus halo, so small chunks and a
    large radius multiply the dependencies (a chunk of 1 pixel with radius 100 reads
    201 x 201 chunks). Counted per axis from the boundary map, without building
    anything per task: the dependencies of the whole graph are the product over axes
    of the chunks each tile touches there, summed over its tiles.
    """
    from ._kernels.histogram.spec import boundary_index
    from ._memory import check_allocation

    tasks = math.prod(len(c) for c in chunks)  # refused before counting a huge graph's edges
    check_allocation(tasks * TASK_BYTES, f"the Dask graph of {tasks} tasks", _CHUNK_HINT)
    ntasks = 1
    edges = 1
    index_per_axis = []
    for n, r, c in zip(req.shape, req.radii, chunks):
        starts = np.concatenate([[0], np.cumsum(c)]).astype(np.int64)
        gmap = boundary_index(int(n), int(r), int(r), req.mode)
        touched = 0
        index = 0
        for a, b in zip(starts[:-1], starts[1:]):
            window = gmap[a:b + 2 * r]
            inside = window[window >= 0]
            if inside.size:
                first = np.searchsorted(starts, inside, side="right") - 1
                touched += int(np.unique(first).size)
            index += int(inside.size) + int(window.size)
        ntasks *= len(c)
        edges *= touched
        index_per_axis.append((index, len(c)))
    index = sum(i * (ntasks // nc) for i, nc in index_per_axis)
    return ntasks * TASK_BYTES + edges * EDGE_BYTES + index * INDEX_BYTES, ntasks, edges


def check_graph(req, image, mask=None):
    """Refuse a lazy map whose task graph, or whose largest chunk, would exceed the limit."""
    from ._memory import check_allocation
    from ._stream import _tile_path, check_tile

    nbytes, ntasks, edges = graph_bytes(req, image.chunks)
    check_allocation(nbytes, f"the Dask graph of {ntasks} tasks reading {edges} input chunks "
                     "in all (chunks x halo)", _CHUNK_HINT)
    largest = [max(c) for c in image.chunks]
    check_tile(req, largest, np.dtype(image.dtype).itemsize, what="one Dask chunk",
               hint=_CHUNK_HINT, path=_tile_path(req), mask=mask is not None)


def _from_request(image, req, mask=None):
    """The lazy map of a resolved request: one task per output chunk (tile plus halo)."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    from ._backend import array_namespace

    check_graph(req, image, mask)
    starts = [np.concatenate([[0], np.cumsum(c)]).astype(np.int64) for c in image.chunks]
    name = f"gpuent-{req.kind}-{req.token}"
    dsk = {}
    for idx in np.ndindex(*image.numblocks):
        tile = tuple((int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx))
        geo = tile_geometry(req.shape, req.radii, req.mode, tile)
        uniq = [g[0] for g in geo]
        # input blocks holding at least one needed index on every axis
        per_axis = []
        for u, s in zip(uniq, starts):
            blk = np.unique(np.searchsorted(s, u, side="right") - 1)
            per_axis.append(blk.tolist())
        keys, mkeys, origins = [], [], []
        for bidx in np.array(np.meshgrid(*per_axis, indexing="ij")).reshape(len(idx), -1).T:
            bidx = tuple(int(b) for b in bidx)
            keys.append((image.name, *bidx))
            if mask is not None:
                mkeys.append((mask.name, *bidx))
            origins.append(tuple(int(s[b]) for s, b in zip(starts, bidx)))
        dsk[(name, *idx)] = (
            _chunk_task, keys, mkeys if mask is not None else None, origins, uniq,
            [g[1] for g in geo], tuple(b - a for a, b in tile), req, image.dtype,
        )
    deps = [image] if mask is None else [image, mask]
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=deps)
    xp = array_namespace(image._meta)
    out_dtype = np.dtype(req.out_dtype)
    meta = xp.empty((0,) * image.ndim, dtype=xp.float32 if out_dtype == np.float32
                    else xp.float64)
    return da.Array(graph, name, chunks=image.chunks, dtype=out_dtype, meta=meta)


# --------------------------------------------------------------------------- CLI streaming

def finite_range(values):
    """``(min, max)`` of the finite values of a tile; ``(inf, -inf)`` when there are none."""
    v = np.asarray(values)
    v = v[np.isfinite(v)]
    return (float(v.min()), float(v.max())) if v.size else (math.inf, -math.inf)


class _Written(tuple):
    """What a block write returns: ``(pixels, min, max)`` (the progress bar's count first)."""


def _write_block(sink, tile, values):
    sink(tile, values)
    return _Written((int(np.prod([b - a for a, b in tile])), *finite_range(values)))


def run_dask(source, sink, req, tile, *, scheduler="threads", address=None, workers=None,
             progress=False):
    """Compute ``req`` over a lazy ``source`` with Dask and write every chunk into ``sink``.

    Returns ``(min, max)`` of the finite values written (``(inf, -inf)`` for none; the
    tiles a resumed run skips are not read). ``scheduler``: "threads", "processes"
    (local) or "distributed" (``address`` of a running scheduler, or a local cluster).
    Workers read the source and write the sink themselves (by path: they must see the
    same files). A TIFF sink, written sequentially, receives bands of tiles computed in
    parallel.
    """
    import dask
    import dask.array as da
    from tqdm.auto import tqdm

    image = da.from_array(source, chunks=tile, asarray=False, lock=False, inline_array=False,
                          meta=np.empty((0,) * len(req.shape), dtype=source.dtype))
    starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in image.chunks]
    emap = _from_request(image, req)
    bar = tqdm(total=int(np.prod(req.shape)), unit="pix", unit_scale=True, disable=not progress,
               desc="entropy", leave=False)
    client = None
    cluster = None
    try:
        if scheduler == "distributed":
            from distributed import Client

            if address:
                client = Client(address)
            else:
                cluster = _local_cluster(workers)
                client = Client(cluster)
        kwargs = {} if client is not None else {"scheduler": scheduler}
        if client is None and workers:
            kwargs["num_workers"] = workers
        lo, hi = math.inf, -math.inf
        if hasattr(sink, "write_tiles"):
            def watched(tiles):
                nonlocal lo, hi
                for values in tiles:
                    a, b = finite_range(values)
                    lo, hi = min(lo, a), max(hi, b)
                    yield values

            sink.write_tiles(watched(_tiff_bands(emap, req, starts, tile, bar, client, kwargs)))
            return lo, hi
        from ._resume import is_done

        blocks = emap.to_delayed()
        writes = []
        for idx in np.ndindex(*emap.numblocks):
            t = tuple((int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx))
            if is_done(sink, t):  # resuming: this tile was finished before
                bar.update(int(np.prod([b - a for a, b in t])))
                continue
            writes.append(dask.delayed(_write_block)(sink, t, blocks[idx]))
        if client is not None:
            from distributed import as_completed

            results = []
            for fut in as_completed(client.compute(writes)):
                results.append(fut.result())
                bar.update(results[-1][0])
        else:
            from dask.callbacks import Callback

            class _Bar(Callback):
                def _posttask(self, key, result, dsk, state, worker_id):
                    if isinstance(result, _Written):
                        bar.update(result[0])

            with _Bar():
                results = dask.compute(*writes, **kwargs)
        for _, a, b in results:
            lo, hi = min(lo, a), max(hi, b)
        return lo, hi
    finally:
        bar.close()
        _close(client, cluster)


def _close(client, cluster):
    """Close a distributed client, then the local cluster we started (not a remote one)."""
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


def _local_cluster(workers):
    """A local cluster of ``workers`` (default 2) single-threaded worker processes.

    The worker processes start from a fork server where the platform has one: such a
    process leaves with ``os._exit`` when it is done, while a spawned one finalizes the
    interpreter, which after Numba's parallel kernels takes seconds. The nanny kills
    workers that take over 4 s, and the scheduler, closed meanwhile, made their
    heartbeat fail: warnings and a traceback at exit under load. The workers ignore
    Ctrl-C (:mod:`gpuent._dask_worker`): gpuent gets it too and closes the cluster.
    """
    import multiprocessing

    import dask
    from distributed import LocalCluster

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() \
        else dask.config.get("distributed.worker.multiprocessing-method")
    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        return LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                            dashboard_address=None, preload=["gpuent._dask_worker"])


def _compute(collection, client, kwargs):
    """Compute a Dask collection on the cluster of ``client``, or locally with ``kwargs``."""
    import dask

    if client is not None:
        return client.compute(collection).result()
    return dask.compute(collection, **kwargs)[0]


def _tiff_bands(emap, req, starts, tile, bar, client, kwargs):
    """Yield TIFF tiles in file order, computing one band of chunk rows at a time."""

    if len(req.shape) == 2:
        ys = starts[0]
        xs = starts[1]
        for i in range(len(ys) - 1):
            band = emap[ys[i]:ys[i + 1]]
            values = _compute(band, client, kwargs)
            bar.update(values.size)
            for j in range(len(xs) - 1):
                yield values[:, xs[j]:xs[j + 1]]
        return
    zs = starts[0]
    for i in range(len(zs) - 1):
        slab = emap[zs[i]:zs[i + 1]]
        values = _compute(slab, client, kwargs)
        bar.update(values.size)
        for plane in values:
            for a in range(0, req.shape[1], tile[1]):
                for b in range(0, req.shape[2], tile[2]):
                    yield plane[a:a + tile[1], b:b + tile[2]]
