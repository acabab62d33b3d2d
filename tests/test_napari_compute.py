"""The computations behind the napari widgets, without napari or Qt.

Oracles: scikit-image's rank entropy, brute-force window histograms, gpuent's own whole-array
calls (pieces must give the same bits) and ``Simulation.run`` in one go (stop and resume must
give the same lattice).
"""


import numpy as np
import pytest

import gpuent
from gpuent import ising
from gpuent.napari import _compute as C

skr = pytest.importorskip("skimage.filters.rank")
skm = pytest.importorskip("skimage.morphology")


@pytest.fixture(scope="module")
def scene():
    return np.random.default_rng(1).integers(0, 256, (200, 150), dtype=np.uint8)


def test_box_map_matches_skimage_and_is_cut_in_strips(scene):
    req = C.MapRequest(radius=3)
    pieces = [done for done, _, _ in C.iter_map(scene, req)]
    assert pieces[-1] > 1  # the plane was computed in strips (progress, cancel points)
    out = C.local_map(scene, req)
    ref = skr.entropy(scene, np.ones((7, 7), bool))
    np.testing.assert_allclose(out, ref, rtol=2e-6, atol=2e-6)
    np.testing.assert_array_equal(out, gpuent.local_entropy(scene, 3))


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap"])
def test_strips_give_the_same_bits_as_one_call(scene, mode):
    req = C.MapRequest(radius=4, footprint="disk", mode=mode, estimator="grassberger")
    whole = gpuent.local_entropy(scene, footprint=gpuent.footprints.disk(4), mode=mode,
                                 estimator="grassberger")
    np.testing.assert_array_equal(C.local_map(scene, req), whole)


def test_disk_map_matches_skimage(scene):
    out = C.local_map(scene, C.MapRequest(radius=5, footprint="disk"))
    np.testing.assert_allclose(out, skr.entropy(scene, skm.disk(5)), rtol=2e-6, atol=2e-6)


def test_stack_with_a_2d_window_is_mapped_per_plane():
    stack = np.random.default_rng(2).integers(0, 256, (3, 2, 40, 50), dtype=np.uint8)
    out = C.local_map(stack, C.MapRequest(radius=2))
    assert out.shape == stack.shape and out.dtype == np.float32
    for t in range(3):
        for z in range(2):
            ref = skr.entropy(stack[t, z], np.ones((5, 5), bool))
            np.testing.assert_allclose(out[t, z], ref, rtol=2e-6, atol=2e-6)


def _brute_entropy3d(vol, fp):
    r = fp.shape[0] // 2
    out = np.zeros(vol.shape)
    offs = np.argwhere(fp) - r
    for idx in np.ndindex(*vol.shape):
        vals = [vol[tuple(np.add(idx, o))] for o in offs
                if all(0 <= i + d < n for i, d, n in zip(idx, o, vol.shape))]
        _, c = np.unique(vals, return_counts=True)
        p = c / c.sum()
        out[idx] = -(p * np.log2(p)).sum()
    return out


def test_ball_is_a_3d_window_against_brute_force():
    vol = np.random.default_rng(3).integers(0, 4, (2, 7, 8, 9), dtype=np.uint8)
    req = C.MapRequest(radius=1, footprint="ball")
    out = C.local_map(vol, req)
    _, fp = req.window()
    assert fp.sum() == 7  # the 6-neighbourhood plus the centre
    for t in range(2):
        np.testing.assert_allclose(out[t], _brute_entropy3d(vol[t], fp), atol=1e-5)


def test_float_layers_need_bins_and_share_one_range_across_planes():
    rng = np.random.default_rng(4)
    stack = rng.normal(size=(2, 30, 40)).astype(np.float32)
    stack[1] *= 0.1  # a plane with a much smaller range than the stack
    with pytest.raises(ValueError, match="set bins"):
        C.local_map(stack, C.MapRequest(radius=2))
    out = C.local_map(stack, C.MapRequest(radius=2, bins=16))
    vr = (float(stack.min()), float(stack.max()))
    for t in range(2):
        ref = gpuent.local_entropy(stack[t], 2, bins=16, value_range=vr)
        np.testing.assert_array_equal(out[t], ref)


def test_other_statistics(scene):
    x = scene.astype(np.float64)
    np.testing.assert_allclose(C.local_map(scene, C.MapRequest("mean", radius=1))[5:-5, 5:-5],
                               _box_mean(x, 1)[5:-5, 5:-5], rtol=1e-5)
    std = C.local_map(scene, C.MapRequest("std", radius=1))
    var = _box_mean(x * x, 1) - _box_mean(x, 1) ** 2
    np.testing.assert_allclose(std[5:-5, 5:-5], np.sqrt(var)[5:-5, 5:-5], rtol=1e-4)
    col = C.local_map(scene, C.MapRequest("expected", radius=2, function="collision p"))
    ren = C.local_map(scene, C.MapRequest("renyi", radius=2, alpha=2.0))
    # Renyi order 2 is -log2 of the collision probability sum p^2
    np.testing.assert_allclose(ren, -np.log2(col), rtol=1e-5)
    with pytest.raises(ValueError, match="box"):
        C.local_map(scene, C.MapRequest("std", footprint="disk"))
    with pytest.raises(ValueError, match="3-D window"):
        C.local_map(scene, C.MapRequest(footprint="ball"))


def _box_mean(x, r):
    p = np.pad(x, r, mode="constant")
    n = np.pad(np.ones_like(x), r, mode="constant")
    k = 2 * r + 1
    s = sum(p[i:i + x.shape[0], j:j + x.shape[1]] for i in range(k) for j in range(k))
    c = sum(n[i:i + x.shape[0], j:j + x.shape[1]] for i in range(k) for j in range(k))
    return s / c


def test_dask_layers_stay_lazy(monkeypatch):
    da = pytest.importorskip("dask.array")
    stack = np.random.default_rng(5).integers(0, 256, (4, 64, 48), dtype=np.uint8)
    lazy = da.from_array(stack, chunks=(1, 32, 48))
    calls = []
    req = C.MapRequest(radius=2)
    req_func = C._plane_function

    def counting(r, vr):
        f = req_func(r, vr)
        return lambda b: calls.append(1) or f(b)

    monkeypatch.setattr(C, "_plane_function", counting)
    out = C.local_map(lazy, req)
    assert isinstance(out, da.Array) and not calls  # nothing computed yet
    plane = out[2].compute()
    assert len(calls) == 1  # only the plane asked for
    np.testing.assert_array_equal(plane, gpuent.local_entropy(stack[2], 2))
    # a 2-D chunked image: gpuent's own lazy map, same bits
    flat = da.from_array(stack[0], chunks=(16, 16))
    np.testing.assert_array_equal(C.local_map(flat, req).compute(),
                                  gpuent.local_entropy(stack[0], 2))


def test_names_and_contrast_limits():
    req = C.MapRequest(radius=7)
    assert C.map_name("cells", req) == "cells entropy r=7"
    assert C.map_name("c", C.MapRequest("renyi", 3, "disk", alpha=2)) == "c renyi(2) disk r=3"
    lazy_limits = C.contrast_limits(req, type("D", (), {"__module__": "dask.array"})())
    assert lazy_limits == (0.0, np.log2(225))  # 225 pixels in a window, 256 levels
    assert C.contrast_limits(C.MapRequest(radius=1), np.array([[0.5, 2.0]])) == (0.5, 2.0)


def test_heat_then_cool_is_the_cli_schedule():
    s = C.build_schedule("heat-then-cool", beta=1e-3, beta_end=4.0)
    ref = ising.parse_schedule("linear:4:1e-3,linear:1e-3:4")
    np.testing.assert_array_equal(s.values(200), ref.values(200))
    np.testing.assert_array_equal(C.build_schedule("arctan", scale=0.5).values(50),
                                  ising.arctan(0.5).values(50))


def test_to_uint8_crops_to_even_and_uses_limits():
    a = np.linspace(-1, 1, 7 * 5).reshape(7, 5)
    u = C.to_uint8(a)
    assert u.shape == (6, 4) and u.dtype == np.uint8 and u.min() == 0
    assert C.to_uint8(a, (0, 1)).min() == 0 and C.to_uint8(a, (0, 1))[0, 0] == 0


@pytest.mark.parametrize("model", ["torus", "edge", "metric"])
def test_stop_and_resume_gives_the_lattice_of_one_run(model):
    pic = ising.letters_image((64, 64))
    sched = C.build_schedule("linear", beta=0.2, beta_end=1.5)
    betas = sched.values(12)
    sim = ising.Simulation(C.build_model(pic, model), seed=7)
    gen = C.anneal_lattice(sim, betas, 0, min_interval=0)
    for t, _ in gen:
        if t == 5:
            break  # stop between frames
    gen.close()
    frames = list(C.anneal_lattice(sim, betas, sim.sweeps_done, min_interval=0))
    assert [t for t, _ in frames] == list(range(6, 13))
    ref = ising.Simulation(C.build_model(pic, model), seed=7)
    ref.run(12, beta=sched, record_every=0)
    np.testing.assert_array_equal(sim.spins, ref.spins)
    np.testing.assert_array_equal(frames[-1][1], ref.frame())


def test_movie_and_provenance_record(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    pic = ising.letters_image((64, 64))
    settings = {"model": "edge", "spins": "binary", "schedule": "arctan", "beta": 0.44,
                "beta_end": 4.0, "scale": 0.5, "sweeps": 10, "seed": 3, "backend": "auto"}
    out = C.write_anneal_movie(tmp_path / "run.gif", pic, settings, every=2, fps=10)
    assert out == tmp_path / "run.gif"
    from gpuent.io import read_provenance

    record = read_provenance(out)
    assert record["notes"]["frames"] == 6 and len(record["output"]["frames"]) == 6
    assert {k: record["parameters"][k] for k in settings} == settings
    assert record["gpuent"] == gpuent.__version__
    with Image.open(out) as im:
        assert im.n_frames == 6
        im.seek(5)
        last = np.asarray(im.convert("L"))
    ref = ising.Simulation(ising.edge_model(pic), seed=3)
    ref.run(10, beta=ising.arctan(0.5), record_every=0)
    np.testing.assert_array_equal(last, ref.frame())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.gif"]


def test_zarr_arrays_are_mapped_lazily():
    zarr = pytest.importorskip("zarr")
    da = pytest.importorskip("dask.array")
    stack = np.random.default_rng(6).integers(0, 256, (3, 40, 50), dtype=np.uint8)
    z = zarr.array(stack, chunks=(1, 40, 50))
    assert C.as_lazy(stack) is None and C.as_lazy(z) is not None
    out = C.local_map(z, C.MapRequest(radius=2, footprint="disk"))
    assert isinstance(out, da.Array)
    ref = gpuent.local_entropy(stack[1], footprint=gpuent.footprints.disk(2))
    np.testing.assert_array_equal(out[1].compute(), ref)
