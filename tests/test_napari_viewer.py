"""The napari plugin in a real, headless viewer (Qt offscreen; OpenGL from a virtual X display,
which ``make test`` starts with xvfb-run). Skipped where napari or a Qt binding is missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("napari")
pytest.importorskip("pytestqt")
pytest.importorskip("qtpy.QtWidgets", exc_type=ImportError)

import gpuent  # noqa: E402
from gpuent import ising  # noqa: E402
from gpuent.napari import _compute as C  # noqa: E402
from gpuent.napari._widgets import AnnealWidget, LocalMapWidget  # noqa: E402

pytestmark = pytest.mark.napari

if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get(
        "WAYLAND_DISPLAY"):
    pytest.skip("napari's canvas needs OpenGL: run under a virtual display "
                "(xvfb-run -a python -m pytest ..., as make test does)", allow_module_level=True)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def _wait_idle(qtbot, widget, timeout=300_000):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)


def test_map_layer_appears_with_data_scale_and_name(viewer, qtbot):
    img = np.random.default_rng(0).integers(0, 256, (160, 120), dtype=np.uint8)
    src = viewer.add_image(img, name="cells", scale=(0.5, 2.0), translate=(10.0, -3.0))
    w = LocalMapWidget(viewer)
    assert w.layer.value is src
    w.radius.value = 7
    worker = w.run()
    assert worker is not None
    _wait_idle(qtbot, w)
    assert "cells entropy r=7" in viewer.layers, w.status.value
    out = viewer.layers["cells entropy r=7"]
    np.testing.assert_array_equal(out.data, gpuent.local_entropy(img, 7))
    np.testing.assert_array_equal(out.scale, src.scale)
    np.testing.assert_array_equal(out.translate, src.translate)
    assert out.colormap.name == "magma"
    lo, hi = out.contrast_limits
    assert lo == pytest.approx(float(out.data.min())) and hi == pytest.approx(
        float(out.data.max()))
    assert w.progress.value == w.progress.max > 1


def test_time_series_per_plane_and_cancel(viewer, qtbot):
    stack = np.random.default_rng(1).integers(0, 256, (3, 64, 80), dtype=np.uint8)
    viewer.add_image(stack, name="movie", scale=(1.0, 0.2, 0.2))
    w = LocalMapWidget(viewer)
    w.statistic.value = "renyi"
    w.alpha.value = 2.0
    w.radius.value = 2
    w.footprint.value = "disk"
    w.run()
    _wait_idle(qtbot, w)
    out = viewer.layers["movie renyi(2) disk r=2"]
    assert out.data.shape == stack.shape
    np.testing.assert_array_equal(out.scale, (1.0, 0.2, 0.2))
    ref = gpuent.local_renyi_entropy(stack[2], 2.0, footprint=gpuent.footprints.disk(2))
    np.testing.assert_array_equal(out.data[2], ref)
    # cancel: a long job stopped at once adds no layer
    big = np.random.default_rng(2).integers(0, 256, (40, 128, 128), dtype=np.uint8)
    viewer.add_image(big, name="big")
    w.layer.value = viewer.layers["big"]
    w.statistic.value = "entropy"
    w.radius.value = 9
    worker = w.run()
    with qtbot.waitSignal(worker.finished, timeout=300_000):
        w.cancel()
    assert "big entropy r=9" not in viewer.layers
    assert w.status.value == "cancelled"


def test_dask_layer_gets_a_lazy_map(viewer, qtbot):
    da = pytest.importorskip("dask.array")
    stack = np.random.default_rng(3).integers(0, 256, (4, 48, 64), dtype=np.uint8)
    viewer.add_image(da.from_array(stack, chunks=(1, 48, 64)), name="zarrish")
    w = LocalMapWidget(viewer)
    w.radius.value = 3
    assert w.run() is None  # no worker: the map layer is lazy
    out = viewer.layers["zarrish entropy r=3"]
    assert isinstance(out.data, da.Array)
    np.testing.assert_array_equal(np.asarray(out.data[1]), gpuent.local_entropy(stack[1], 3))
    zarr = pytest.importorskip("zarr")
    viewer.add_image(zarr.array(stack, chunks=(1, 48, 64)), name="zarr")
    w.layer.value = viewer.layers["zarr"]
    assert w.run() is None
    out = viewer.layers["zarr entropy r=3"]
    assert isinstance(out.data, da.Array)
    np.testing.assert_array_equal(np.asarray(out.data[2]), gpuent.local_entropy(stack[2], 3))


def test_anneal_updates_the_layer_live_and_stops(viewer, qtbot):
    pic = ising.letters_image((64, 64))
    viewer.add_image(pic, name="letters")
    w = AnnealWidget(viewer)
    w.model.value = "edge"
    w.schedule.value = "arctan"
    w.sweeps.value = 25
    w.seed.value = 4
    w.start()
    out = viewer.layers["letters anneal"]
    seen = []
    out.events.data.connect(lambda e: seen.append(1))
    _wait_idle(qtbot, w)
    assert seen and w.sweep == 25 and not w.resume_button.enabled
    ref = ising.Simulation(ising.edge_model(pic), seed=4)
    ref.run(25, beta=ising.arctan(0.5), record_every=0)
    np.testing.assert_array_equal(out.data, ref.frame())
    assert w.status.value.startswith("done at sweep 25")


def test_anneal_stop_and_resume(viewer, qtbot):
    pic = ising.letters_image((64, 64))
    viewer.add_image(pic, name="letters")
    w = AnnealWidget(viewer)
    w.model.value = "torus"
    w.schedule.value = "constant"
    w.beta.value = 0.3
    w.sweeps.value = 100_000
    w.start()
    qtbot.waitUntil(lambda: w.sweep >= 3, timeout=120_000)
    w.stop()
    _wait_idle(qtbot, w)
    stopped = w.sweep
    assert 3 <= stopped < 100_000 and w.resume_button.enabled
    assert w.sim.sweeps_done == stopped
    np.testing.assert_array_equal(viewer.layers["letters anneal"].data, w.sim.frame())
    w.resume()
    qtbot.waitUntil(lambda: w.sweep >= stopped + 3, timeout=120_000)
    w.stop()
    _wait_idle(qtbot, w)
    ref = ising.Simulation(ising.torus(init=pic), seed=0)
    ref.run(w.sweep, beta=0.3, record_every=0)
    np.testing.assert_array_equal(w.sim.spins, ref.spins)


def test_save_movie_from_the_widget(viewer, qtbot, tmp_path):
    viewer.add_image(ising.letters_image((32, 32)), name="l")
    w = AnnealWidget(viewer)
    w.sweeps.value = 6
    w.movie_path.value = tmp_path / "m.gif"
    worker = w.save_movie()
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        pass
    from gpuent.io import read_provenance

    assert read_provenance(tmp_path / "m.gif")["parameters"]["sweeps"] == 6
    assert w.status.value.startswith("wrote")


def test_plugin_manifest_widgets_and_samples(viewer):
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    assert pm.get_manifest("gpuent").display_name == "gpuent"
    dock, widget = viewer.window.add_plugin_dock_widget("gpuent", "Local map")
    assert isinstance(widget, LocalMapWidget)
    _, anneal = viewer.window.add_plugin_dock_widget("gpuent", "Anneal")
    assert isinstance(anneal, AnnealWidget)
    viewer.open_sample("gpuent", "letters")
    viewer.open_sample("gpuent", "scene")
    np.testing.assert_array_equal(viewer.layers["letters"].data, ising.letters_image((256, 256)))
    assert viewer.layers["gpuent scene"].data.shape == (512, 512)


def test_npe2_validate():
    exe = shutil.which("npe2", path=str(Path(sys.executable).parent)) or shutil.which("npe2")
    if exe is None:
        pytest.skip("the npe2 command is not installed")
    res = subprocess.run([exe, "validate", "gpuent"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "valid" in res.stdout


def test_compute_module_needs_no_qt():
    code = ("import sys, gpuent.napari, gpuent.napari._compute; "
            "assert not any(m.split('.')[0] in ('napari', 'qtpy', 'PyQt6', 'PySide6', "
            "'magicgui') for m in sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert C.MapRequest().label() == "entropy r=7"


def test_bad_settings_say_what_to_do(viewer):
    viewer.add_image(np.zeros((16, 16, 3), np.uint8), name="rgb", rgb=True)
    w = LocalMapWidget(viewer)
    assert w.run() is None and "Split RGB" in w.status.value
    viewer.add_image(np.zeros((16, 16), np.uint8), name="flat")
    w.layer.value = viewer.layers["flat"]
    w.footprint.value = "ball"
    assert w.run() is None and "choose box or disk" in w.status.value
    assert [layer.name for layer in viewer.layers] == ["rgb", "flat"]
