"""Screenshot of the gpuent napari plugin, taken from a real headless viewer.

Opens the built-in sample scene, docks the "Local map" and "Anneal" widgets, computes the
entropy map (r=7) with the widget, anneals the letters image live for a few seconds and
saves the viewer window (canvas and docks) to ``docs/napari.png``. It also prints the live
update rate of the Anneal widget on a 512 x 512 lattice.

Run (Linux without a screen: Xvfb gives the window a display and napari's canvas OpenGL)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/napari_screenshot.py [--out PATH]

Needs ``pip install "gpuent[napari]" "napari[pyqt6]"``; Qt's xcb platform needs the system
libraries that ``.ci/run`` installs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def _wait(app, cond, timeout):
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the widget did not finish in time")
        app.processEvents()
        time.sleep(0.005)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).with_name("napari.png")))
    p.add_argument("--platform", default="xcb" if os.environ.get("DISPLAY") else "offscreen",
                   help="Qt platform: xcb (default with a DISPLAY, e.g. Xvfb's: a real window "
                        "whose canvas is in the picture) or offscreen (docks only)")
    p.add_argument("--seconds", type=float, default=5.0,
                   help="how long the 512x512 anneal runs for the rate measurement")
    args = p.parse_args(argv)

    os.environ["QT_QPA_PLATFORM"] = args.platform
    import napari
    import numpy as np
    from qtpy.QtWidgets import QApplication

    import gpuent
    from gpuent.ising import letters_image

    # the bound: sweeps per second of the same lattice without the viewer, measured now
    sim = gpuent.ising.Simulation(gpuent.ising.edge_model(letters_image((512, 512))))
    sim.run(2, beta=0.5, record_every=0)
    t0 = time.perf_counter()
    sweeps = 0
    while time.perf_counter() - t0 < 2.0:
        sim.run(1, beta=np.array([0.5]), record_every=0, progress=False)
        sim.frame()
        sweeps += 1
    raw = sweeps / (time.perf_counter() - t0)

    viewer = napari.Viewer(show=args.platform != "offscreen", title="gpuent in napari")
    app = QApplication.instance()
    viewer.window.resize(1500, 900)

    # live-update rate: the Anneal widget on a 512 x 512 lattice
    viewer.add_image(letters_image((512, 512)), name="letters 512")
    _, anneal = viewer.window.add_plugin_dock_widget("gpuent", "Anneal")
    anneal.layer.value = viewer.layers["letters 512"]
    anneal.model.value = "edge"
    anneal.schedule.value = "arctan"
    anneal.sweeps.value = 100_000
    anneal.start()
    out = viewer.layers["letters 512 anneal"]
    updates = []
    out.events.data.connect(lambda e: updates.append(time.perf_counter()))
    _wait(app, lambda: len(updates) >= 2, 120)
    t0, n0 = time.perf_counter(), len(updates)
    _wait(app, lambda: time.perf_counter() - t0 >= args.seconds, args.seconds + 60)
    rate = (len(updates) - n0) / (time.perf_counter() - t0)
    anneal.stop()
    _wait(app, lambda: anneal.worker is None, 60)
    print(f"anneal live updates, 512x512 edge model: {rate:.1f} updates/s "
          f"({anneal.sweep} sweeps in all); without the viewer: {raw:.1f} sweeps/s "
          f"(platform {args.platform}, load average {os.getloadavg()[0]:.1f})")
    viewer.layers.remove("letters 512 anneal")
    viewer.layers.remove("letters 512")

    # the picture: sample scene, its entropy map, a short anneal of the letters image
    viewer.open_sample("gpuent", "scene")
    _, local = viewer.window.add_plugin_dock_widget("gpuent", "Local map")
    local.layer.value = viewer.layers["gpuent scene"]
    local.radius.value = 7
    local.run()
    _wait(app, lambda: local.worker is None, 600)
    viewer.layers["gpuent scene"].visible = False
    viewer.open_sample("gpuent", "letters")
    letters = viewer.layers["letters"]
    letters.translate = (0, 560)
    letters.scale = (2, 2)
    anneal.layer.value = letters
    anneal.sweeps.value = 40
    anneal.start()
    _wait(app, lambda: anneal.worker is None, 600)
    letters.visible = False
    viewer.reset_view()
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    viewer.screenshot(args.out, canvas_only=False, flash=False)
    print(f"wrote {args.out}")
    viewer.close()


if __name__ == "__main__":
    main()
