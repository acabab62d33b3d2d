"""Memory bounded before allocation in block/window maps, fractals, global entropies,
Dask graphs, streamed tiles, napari maps and Ising movie frames (issue #18 item 2).

Each refusal is checked to come *before* the big allocation: the call runs under
tracemalloc (NumPy reports its buffers to it) and its peak must stay a small
fraction of what the refused computation would have allocated. Inputs are kept
moderate (a missing check would allocate tens to hundreds of MiB, not crash the
machine) and the limit is set small with ``GPUENT_MEMORY_LIMIT``.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import gpuent as ge
from gpuent._memory import MemoryLimitError

LIMIT = "4M"
#: what a refused call may allocate before refusing (the limit is 4 MiB; the refused
#: computations need 16 MiB to hundreds of GiB)
PEAK = 2**20


def refused_early(call, match="memory limit"):
    """Run ``call`` (after a warm-up for lazy imports) and check it refuses with a small peak."""
    with pytest.raises(MemoryLimitError, match=match):
        call()
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError, match=match) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK, f"{peak} bytes allocated before the refusal"
    message = str(info.value)
    assert "GPUENT_MEMORY_LIMIT" in message
    return message


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", LIMIT)


def _img(shape, high=256, dtype=np.uint8, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(dtype)


# ----------------------------------------------------------------------------- block / window


@pytest.mark.parametrize("func", ["mean", "std", "sum", "max", "count", "entropy"])
def test_block_map_refuses_before_its_temporaries(small_limit, func):
    img = _img((1024, 1024))  # 1 MiB; the float64 temporaries alone are 16 MiB
    msg = refused_early(lambda: ge.block_map(img, func, (4, 4)))
    assert "block map" in msg and "fewer or larger blocks" in msg


def test_block_map_callable_refuses_its_output(small_limit):
    img = _img((1024, 1024))
    msg = refused_early(lambda: ge.block_map(img, lambda b: 0.0, (1024, 1024)))
    assert "1048576 blocks" in msg


def test_block_entropy_refuses_a_huge_level_table(monkeypatch):
    """blocks x levels histograms: 65536 blocks x 65536 levels is 4e9 cells (200 GiB)."""
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "64M")
    img = _img((256, 256), high=65536, dtype=np.uint16)
    img[0, 0] = 65535
    msg = refused_early(lambda: ge.block_map(img, "entropy", (256, 256)),
                        match="level histograms")
    assert "65536 blocks x 65536 levels" in msg and "fewer blocks" in msg


def test_block_map_below_the_limit_is_unchanged(monkeypatch):
    img = _img((64, 48))
    want = {f: ge.block_map(img, f, (4, 3)) for f in ("mean", "entropy", "max")}
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", LIMIT)
    for f, w in want.items():
        np.testing.assert_array_equal(ge.block_map(img, f, (4, 3)), w)


def test_window_map_below_the_limit_is_unchanged(monkeypatch):
    img = _img((30, 20))
    want = ge.window_map(img, np.max, 2)
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "64K")  # 600 pixels: 9.6 KB of map
    np.testing.assert_array_equal(ge.window_map(img, np.max, 2), want)


def test_window_map_refuses_before_its_output(small_limit):
    img = _img((1024, 1024))
    calls = []
    msg = refused_early(lambda: ge.window_map(img, lambda w: calls.append(1) or 0.0, 1))
    assert "window map" in msg and not calls


# ----------------------------------------------------------------------------- fractals


def test_box_counting_refuses_a_padded_pyramid(small_limit):
    """A 4 x 65536 mask at box side 65536 pads to 65536 x 65536 (4 GiB of bool)."""
    mask = np.ones((4, 65536), bool)
    msg = refused_early(lambda: ge.box_counting_dimension(mask, sizes=[1, 65536]))
    assert "box side 65536" in msg and "sizes=" in msg


def test_generalized_dimensions_refuse_masses_and_pyramids(monkeypatch, small_limit):
    img = np.ones((1024, 1024), np.uint8)  # float64 masses: 8 MiB
    msg = refused_early(lambda: ge.generalized_dimensions(img, [0, 1, 2]))
    assert "masses" in msg
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "16M")
    # masses are measured in whole boxes, so nothing is padded: a box side beyond the
    # shorter side (which once padded 256 KiB of masses to 2 GiB) is refused outright
    wide = np.ones((2, 16384), np.uint8)
    with pytest.raises(ValueError, match="shorter side"):
        ge.generalized_dimensions(wide, [1], sizes=[2, 16384])


def test_fractals_below_the_limit_are_unchanged(monkeypatch):
    mask = np.zeros((64, 64), bool)
    mask[::3, ::2] = True
    want_box = ge.box_counting_dimension(mask).counts
    want_d = ge.generalized_dimensions(mask.astype(float), [0, 2]).entropies
    dist = np.random.default_rng(1).random(512)
    want_i = ge.information_dimension(dist).entropies
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", LIMIT)
    np.testing.assert_array_equal(ge.box_counting_dimension(mask).counts, want_box)
    np.testing.assert_array_equal(ge.generalized_dimensions(mask.astype(float), [0, 2])
                                  .entropies, want_d)
    np.testing.assert_array_equal(ge.information_dimension(dist).entropies, want_i)


def test_information_dimension_refuses_before_its_copies(small_limit):
    dist = np.ones(2**18, np.float32)  # 1 MiB; float64 copies and cumulative sums: 12 MiB
    msg = refused_early(lambda: ge.information_dimension(dist))
    assert "262144 samples" in msg


# ----------------------------------------------------------------------------- global entropy


@pytest.mark.parametrize("call", [
    lambda a: ge.intensity_entropy(a, bins=64),
    lambda a: ge.intensity_distribution(a, bins=65536),
    lambda a: ge.intensity_entropy(a, bins=16, value_range=(0, 1), estimator="dirichlet"),
])
def test_intensity_functions_refuse_before_binning(small_limit, call):
    img = np.random.default_rng(2).random((512, 512), np.float32)  # 1 MiB; binning: 9 MiB
    msg = refused_early(lambda: call(img))
    assert "intensity histogram" in msg


def test_uint8_histograms_cost_no_temporaries(small_limit):
    """uint8 levels are the pixels themselves: a 2 MiB image fits a 4 MiB limit..."""
    img = _img((1024, 2048))
    assert ge.intensity_entropy(img) == pytest.approx(8.0, abs=1e-3)


@pytest.mark.parametrize("call", [ge.shannon_entropy, lambda p: ge.renyi_entropy(p, 2.0),
                                  lambda p: ge.expected(p, lambda q: q)])
def test_distribution_entropies_refuse_before_float64_copies(small_limit, call):
    p = np.ones((256, 1024), np.uint8)  # 256 KiB of counts; float64 copies: 12 MiB
    msg = refused_early(lambda: call(p))
    assert "distribution of shape (256, 1024)" in msg


# ----------------------------------------------------------------------------- Dask graphs


def test_dask_graph_of_small_chunks_and_a_large_halo_is_refused(monkeypatch):
    """400 x 400 in 2 x 2 chunks with r = 20: 40000 tasks reading 17.6e6 chunks."""
    da = pytest.importorskip("dask.array")
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "1G")
    img = da.zeros((400, 400), dtype=np.uint8, chunks=2)
    msg = refused_early(lambda: ge.local_entropy(img, 20), match="Dask graph")
    assert "40000 tasks" in msg and "rechunk" in msg


def test_dask_chunk_larger_than_the_limit_is_refused(small_limit):
    da = pytest.importorskip("dask.array")
    img = da.zeros((1024, 1024), dtype=np.uint8, chunks=1024)
    msg = refused_early(lambda: ge.local_entropy(img, 3), match="one Dask chunk")
    assert "with its halo 1024 x 1024" in msg


def test_graph_estimate_counts_every_dependency():
    """The per-axis count equals the dependencies of the graph actually built."""
    da = pytest.importorskip("dask.array")
    from gpuent._dask import graph_bytes
    from gpuent._stream import make_request

    for mode, chunks, r in [("clip", (5, 7), 3), ("reflect", (4, 9), 6), ("wrap", (3, 3), 4),
                            ("mirror", (10, 2), 5)]:
        img = da.zeros((23, 19), dtype=np.uint8, chunks=chunks)
        out = ge.local_entropy(img, r, mode=mode)
        layer = out.dask.layers[out.name]
        edges = sum(len(task[1]) for task in layer.values())
        req = make_request("entropy", img.shape, img.dtype, radius=r, mode=mode)
        _, ntasks, counted = graph_bytes(req, img.chunks)
        assert (ntasks, counted) == (len(layer), edges), mode


# ----------------------------------------------------------------------------- streamed tiles


def test_streamed_tile_is_refused_before_reading(small_limit):
    from gpuent._stream import make_request, stream_map

    class Source:
        shape, dtype, reads = (512, 512), np.dtype(np.uint8), []

        def __getitem__(self, sl):
            self.reads.append(sl)
            return np.zeros([s.stop - s.start for s in sl], np.uint8)

    src = Source()
    req = make_request("entropy", src.shape, src.dtype, radius=2, backend="reference")
    msg = refused_early(lambda: stream_map(src, lambda t, v: None, req, (512, 512)),
                        match="streamed tile")
    assert "--tile" in msg and not src.reads
    stream_map(src, lambda t, v: None, req, (64, 64))  # small tiles fit: 8 x 8 of them
    assert len(src.reads) == 64


@pytest.mark.parametrize("shape, radius, tile, mode", [
    ((40, 36), 3, (16, 16), "clip"),
    ((40, 36), 9, (8, 30), "reflect"),
    ((20, 18, 16), (2, 3, 4), (8, 8, 8), "wrap"),  # 3-D halos on every axis
    ((20, 18, 16), (1, 2, 3), (4, 20, 6), "mirror"),
])
@pytest.mark.parametrize("kind", ["entropy", "renyi"])
def test_tile_estimate_covers_what_a_tile_allocates(shape, radius, tile, mode, kind):
    """tile_bytes is an upper bound of the tracemalloc peak of computing one tile."""
    from gpuent._stream import make_request, tile_bytes, tile_from_reader

    img = _img(shape, seed=3)
    req = make_request(kind, shape, img.dtype, radius=radius, mode=mode, alpha=2.0,
                       backend="reference")
    t = tuple((0, min(n, s)) for n, s in zip(shape, tile))
    tile_from_reader(lambda sl: img[sl], None, req, t, img.dtype)  # warm up
    tracemalloc.start()
    try:
        tile_from_reader(lambda sl: img[sl], None, req, t, img.dtype)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = tile_bytes(req, tile, img.dtype.itemsize, path="reference")
    region = np.prod([min(n, s + 2 * r) for n, s, r in zip(shape, tile, req.radii)])
    assert est >= region * 14  # the halo on every axis is counted
    assert peak <= est <= 2 * peak, (est, peak)


# ----------------------------------------------------------------------------- napari, blur


def test_napari_map_refuses_before_its_output(small_limit):
    from gpuent.napari._compute import MapRequest, local_map

    img = np.random.default_rng(4).random((1024, 1024), np.float32)  # 4 MiB + 4 MiB map
    msg = refused_early(lambda: local_map(img, MapRequest("entropy", radius=2, bins=16)))
    assert "map layer" in msg and "Dask" in msg


def test_entropy_vs_blur_refuses_first(small_limit):
    img = _img((512, 512))
    msg = refused_early(lambda: ge.entropy_vs_blur(img, [0, 1, 2]))
    assert "blur" in msg


# ----------------------------------------------------------------------------- Ising frames


def test_simulation_refuses_frames_kept_in_memory(monkeypatch):
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "64M")
    sim = ge.ising.Simulation(ge.ising.torus((256, 256), init="random"), seed=1,
                              backend="reference")
    msg = refused_early(lambda: sim.run(10**6, beta=0.44, frames=1), match="frames")
    assert "1000000 frames of 256 x 256" in msg and "downscale" in msg
    assert sim.sweeps_done == 0  # refused before the first sweep
    # downscaled frames fit: 100 frames of 64 x 64
    assert len(sim.run(100, beta=0.44, frames=1, downscale=4, record_every=0).frames) == 100


def test_gif_movie_refuses_before_keeping_too_many_frames(monkeypatch, tmp_path):
    from gpuent.ising import MovieWriter, Simulation, torus

    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "1M")
    sim = Simulation(torus((128, 128), init="random"), seed=2, backend="reference")
    with pytest.raises(MemoryLimitError, match="100 frames of 128 x 128 .* movie a.gif"):
        sim.run(100, beta=0.44, movie=tmp_path / "a.gif")
    assert sim.sweeps_done == 0 and not list(tmp_path.iterdir())
    frame = np.zeros((128, 128), np.uint8)  # 16 KiB + overhead: 60 frames fit in 1 MiB
    with pytest.raises(MemoryLimitError, match="GIF movie"):
        with MovieWriter(tmp_path / "b.gif") as mw:
            for _ in range(100):
                mw.append(frame)
    assert mw.count < 100 and not (tmp_path / "b.gif").exists()
