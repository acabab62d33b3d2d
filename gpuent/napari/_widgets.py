"""napari dock widgets: "Local map" and "Anneal".

Both are magicgui containers built around a viewer. The heavy work runs in napari worker
threads (:func:`napari.qt.threading.create_worker`); the widgets only read layers, start and
stop workers and write layers on the GUI thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import napari
import numpy as np
from magicgui import widgets as mw

import gpuent

from . import _compute as C

BACKENDS = ("auto", "cpu", "reference", "cuda")
MOVIE_FILTER = "*.gif *.mp4 *.png *.webp"


def _image_layers(viewer):
    from napari.layers import Image

    return [(layer.name, layer) for layer in viewer.layers if isinstance(layer, Image)]


def _layer_data(layer):
    """The layer's array: level 0 of a multiscale layer (lazy arrays stay lazy)."""
    return layer.data[0] if layer.multiscale else layer.data


def _keep_on_layer_list(viewer, combo):
    """Refresh ``combo``'s layer choices when layers come, go or are renamed."""
    def refresh(*_):
        combo.reset_choices()

    viewer.layers.events.inserted.connect(refresh)
    viewer.layers.events.removed.connect(refresh)
    return refresh


def map_layer_data(layer, req: C.MapRequest, data=None):
    """LayerDataTuple ``(map, kwargs, "image")`` of a computed (or lazy) map of ``layer``.

    Keeps the source's scale, translate and units; names it ``"<name> entropy r=7"``.
    """
    if data is None:
        data = C.local_map(_layer_data(layer), req)
    meta = {"gpuent": {"source": layer.name, "request": {
        k: v for k, v in vars(req).items() if k != "extra"}}}
    kwargs = {
        "name": C.map_name(layer.name, req),
        "scale": tuple(layer.scale),
        "translate": tuple(layer.translate),
        "colormap": "magma" if req.statistic in ("entropy", "renyi", "expected") else "viridis",
        "contrast_limits": C.contrast_limits(req, data, layer.contrast_limits),
        "metadata": meta,
        "blending": "translucent",
    }
    return data, kwargs, "image"


def _add_or_replace(viewer, data, kwargs):
    name = kwargs["name"]
    if name in viewer.layers:
        layer = viewer.layers[name]
        layer.data = data
        for key in ("scale", "translate", "contrast_limits", "metadata"):
            setattr(layer, key, kwargs[key])
        return layer
    return viewer.add_image(data, **kwargs)


class LocalMapWidget(mw.Container):
    """Dock widget "Local map": a windowed statistic of the current image layer."""

    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__(labels=True)
        self.viewer = viewer
        self.worker = None
        self.last_layer = None
        self.layer = mw.ComboBox(label="image", choices=lambda _w: _image_layers(viewer))
        self.statistic = mw.ComboBox(label="statistic", choices=C.STATISTICS, value="entropy")
        self.estimator = mw.ComboBox(label="estimator", choices=C.ESTIMATORS, value="plugin")
        self.alpha = mw.FloatSpinBox(label="Rényi order", value=2.0, min=0.0, max=100.0,
                                     step=0.5)
        self.function = mw.ComboBox(label="f(p)", choices=sorted(C.EXPECTED_FUNCTIONS),
                                    value="collision p")
        self.radius = mw.SpinBox(label="radius", value=7, min=0, max=200)
        self.footprint = mw.ComboBox(label="footprint", choices=C.FOOTPRINTS, value="box")
        self.mode = mw.ComboBox(label="mode", choices=C.MODES, value="clip")
        self.bins = mw.SpinBox(label="bins (floats)", value=64, min=2, max=65536)
        self.backend = mw.ComboBox(label="backend", choices=BACKENDS, value="auto")
        self.run_button = mw.PushButton(text="Compute")
        self.cancel_button = mw.PushButton(text="Cancel", enabled=False)
        self.progress = mw.ProgressBar(label="progress", value=0, min=0, max=1)
        self.status = mw.Label(label="", value="")
        self.extend([self.layer, self.statistic, self.estimator, self.alpha, self.function,
                     self.radius, self.footprint, self.mode, self.bins, self.backend,
                     self.run_button, self.cancel_button, self.progress, self.status])
        self.statistic.changed.connect(self._visibility)
        self.layer.changed.connect(self._visibility)
        self.run_button.changed.connect(lambda *_: self.run())
        self.cancel_button.changed.connect(lambda *_: self.cancel())
        _keep_on_layer_list(viewer, self.layer)
        self._visibility()

    # -- state ---------------------------------------------------------------------------
    def _visibility(self, *_):
        stat = self.statistic.value
        self.estimator.visible = stat == "entropy"
        self.alpha.visible = stat == "renyi"
        self.function.visible = stat == "expected"
        layer = self.layer.value
        is_float = layer is not None and np.dtype(str(_layer_data(layer).dtype)).kind == "f"
        self.bins.visible = is_float and stat not in ("std", "mean")

    def request(self) -> C.MapRequest:
        """The :class:`MapRequest` the widget's fields describe."""
        layer = self.layer.value
        is_float = layer is not None and np.dtype(str(_layer_data(layer).dtype)).kind == "f"
        value_range = None
        if is_float and layer is not None:
            value_range = tuple(float(v) for v in layer.contrast_limits)
        return C.MapRequest(
            statistic=self.statistic.value, radius=int(self.radius.value),
            footprint=self.footprint.value, mode=self.mode.value,
            bins=int(self.bins.value) if is_float else None,
            value_range=value_range if C.as_lazy(_layer_data(layer)) is not None else None,
            estimator=self.estimator.value, alpha=float(self.alpha.value),
            function=self.function.value,
            backend=None if self.backend.value == "auto" else self.backend.value)

    # -- actions -------------------------------------------------------------------------
    def run(self):
        """Compute the map of the selected layer: lazily for Dask data (the layer appears at
        once), otherwise in a worker thread with progress. Returns the worker (or None)."""
        from napari.qt.threading import create_worker

        layer = self.layer.value
        if layer is None:
            self.status.value = "no image layer: open or add one first"
            return None
        try:
            if layer.rgb:
                raise ValueError("RGB layers have no single intensity: split the channels "
                                 "(layer menu > Split RGB) and map one")
            req = self.request()
            data = _layer_data(layer)
            if C.as_lazy(data) is not None:
                self.last_layer = _add_or_replace(self.viewer,
                                                  *map_layer_data(layer, req)[:2])
                self.status.value = f"lazy map added: {self.last_layer.name}"
                return None
            req.check(data.ndim)
        except (ValueError, TypeError) as exc:
            self.status.value = f"error: {exc}"
            return None
        if self.worker is not None:
            self.worker.quit()
        self.progress.value = 0
        worker = create_worker(self._work, data, req, _start_thread=False)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(lambda out: self._on_done(layer, req, out))
        worker.errored.connect(self._on_error)
        worker.aborted.connect(self._on_cancelled)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        self.status.value = f"computing {C.map_name(layer.name, req)} ..."
        worker.start()
        return worker

    @staticmethod
    def _work(data, req):
        result = None
        for done, total, piece in C.iter_map(data, req):
            result = piece
            yield done, total
        return result

    def cancel(self):
        """Stop the running computation after the current piece; no layer is added."""
        if self.worker is not None:
            self.worker.quit()

    # -- worker callbacks (GUI thread) ---------------------------------------------------
    def _on_progress(self, value):
        done, total = value
        self.progress.max = total
        self.progress.value = done

    def _on_done(self, layer, req, out):
        if out is None:
            return
        self.last_layer = _add_or_replace(self.viewer, *map_layer_data(layer, req, out)[:2])
        self.status.value = f"added {self.last_layer.name}"

    def _on_error(self, exc):
        self.status.value = f"error: {exc}"

    def _on_cancelled(self):
        self.status.value = "cancelled"

    def _on_finished(self):
        self.worker = None
        self.run_button.enabled = True
        self.cancel_button.enabled = False


class AnnealWidget(mw.Container):
    """Dock widget "Anneal": an Ising model of the current plane, annealed live."""

    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__(labels=True)
        self.viewer = viewer
        self.worker = None
        self.sim = None
        self.betas = None
        self.sweep = 0
        self.out_layer = None
        self.settings = None
        self.updates = 0
        self.rate = 0.0
        self._t_start = None
        self.layer = mw.ComboBox(label="image", choices=lambda _w: _image_layers(viewer))
        self.model = mw.ComboBox(label="model", choices=("torus", "edge", "metric"),
                                 value="edge")
        self.spins = mw.ComboBox(label="spins", choices=("binary", "continuous"),
                                 value="binary")
        self.schedule = mw.ComboBox(label="schedule", choices=C.SCHEDULES, value="arctan")
        self.beta = mw.FloatSpinBox(label="beta", value=0.44, min=0.0, max=100.0, step=0.01)
        self.beta_end = mw.FloatSpinBox(label="beta end / hot", value=4.0, min=0.0, max=100.0,
                                        step=0.1)
        self.scale = mw.FloatSpinBox(label="arctan scale", value=0.5, min=0.001, max=100.0,
                                     step=0.05)
        self.sweeps = mw.SpinBox(label="sweeps", value=200, min=1, max=10_000_000)
        self.seed = mw.SpinBox(label="seed", value=0, min=0, max=2**31 - 1)
        self.backend = mw.ComboBox(label="backend", choices=BACKENDS, value="auto")
        self.start_button = mw.PushButton(text="Start")
        self.stop_button = mw.PushButton(text="Stop", enabled=False)
        self.resume_button = mw.PushButton(text="Resume", enabled=False)
        self.progress = mw.ProgressBar(label="sweeps done", value=0, min=0, max=1)
        self.movie_path = mw.FileEdit(label="movie", mode="w", filter=MOVIE_FILTER,
                                      value="anneal.gif")
        self.every = mw.SpinBox(label="frame every", value=1, min=1, max=100_000)
        self.fps = mw.SpinBox(label="fps", value=25, min=1, max=120)
        self.movie_button = mw.PushButton(text="Save movie")
        self.status = mw.Label(label="", value="")
        self.extend([self.layer, self.model, self.spins, self.schedule, self.beta,
                     self.beta_end, self.scale, self.sweeps, self.seed, self.backend,
                     self.start_button, self.stop_button, self.resume_button, self.progress,
                     self.movie_path, self.every, self.fps, self.movie_button, self.status])
        self.model.changed.connect(self._visibility)
        self.schedule.changed.connect(self._visibility)
        self.start_button.changed.connect(lambda *_: self.start())
        self.stop_button.changed.connect(lambda *_: self.stop())
        self.resume_button.changed.connect(lambda *_: self.resume())
        self.movie_button.changed.connect(lambda *_: self.save_movie())
        _keep_on_layer_list(viewer, self.layer)
        self._visibility()

    def _visibility(self, *_):
        kind = self.schedule.value
        self.spins.visible = self.model.value == "torus"
        self.beta.visible = kind in ("constant", "linear", "heat-then-cool")
        self.beta_end.visible = kind in ("linear", "heat-then-cool")
        self.scale.visible = kind == "arctan"

    # -- model ---------------------------------------------------------------------------
    def _plane(self, layer):
        """The 2-D plane of ``layer`` shown now (the current step of its leading axes)."""
        data = _layer_data(layer)
        if data.ndim > 2:
            point = layer.world_to_data(self.viewer.dims.point)
            idx = tuple(int(np.clip(round(float(p)), 0, n - 1))
                        for p, n in zip(point[:data.ndim - 2], data.shape[:-2]))
            data = data[idx]
        data = np.asarray(data.get() if hasattr(data, "get") else data)
        limits = None if data.dtype in (np.uint8, np.bool_) else layer.contrast_limits
        return C.to_uint8(data, limits)

    def current_settings(self) -> dict:
        """The run's settings, as recorded next to a saved movie."""
        return {"model": self.model.value, "spins": self.spins.value,
                "schedule": self.schedule.value, "beta": float(self.beta.value),
                "beta_end": float(self.beta_end.value), "scale": float(self.scale.value),
                "sweeps": int(self.sweeps.value), "seed": int(self.seed.value),
                "backend": self.backend.value}

    def _simulation(self, picture, s):
        model = C.build_model(picture, s["model"], spins=s["spins"])
        sched = C.build_schedule(s["schedule"], beta=s["beta"], beta_end=s["beta_end"],
                                 scale=s["scale"])
        backend = None if s["backend"] == "auto" else s["backend"]
        sim = gpuent.ising.Simulation(model, seed=s["seed"], backend=backend)
        return sim, sched, np.asarray(sched.values(s["sweeps"]), dtype=np.float64)

    # -- actions -------------------------------------------------------------------------
    def start(self):
        """Build the model from the selected layer's current plane and anneal it live into
        the layer ``"<name> anneal"``. Returns the worker (None on a bad setting)."""
        layer = self.layer.value
        if layer is None:
            self.status.value = "no image layer: open or add one first"
            return None
        self.stop()
        self.worker = None  # the old worker stops by itself; its reports are ignored
        try:
            picture = self._plane(layer)
            self.settings = dict(self.current_settings(), source=layer.name,
                                 shape=list(picture.shape))
            self._picture = picture
            self.sim, self.schedule_obj, self.betas = self._simulation(picture, self.settings)
        except (ValueError, TypeError) as exc:
            self.status.value = f"error: {exc}"
            return None
        self.sweep = 0
        name = f"{layer.name} anneal"
        frame = self.sim.frame()
        scale = tuple(layer.scale)[-2:]
        translate = tuple(layer.translate)[-2:]
        if name in self.viewer.layers and self.viewer.layers[name].data.shape == frame.shape:
            self.out_layer = self.viewer.layers[name]
            self.out_layer.data = frame
        else:
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
            self.out_layer = self.viewer.add_image(
                frame, name=name, colormap="gray", contrast_limits=(0, 255), scale=scale,
                translate=translate, metadata={"gpuent": {"anneal": self.settings}})
        self.progress.max = len(self.betas)
        self.progress.value = 0
        return self._launch()

    def resume(self):
        """Continue a stopped anneal from the sweep where it stopped (once its worker has
        finished). Returns the worker, or None when there is nothing to resume."""
        if self.sim is None or self.worker is not None:
            return None
        self.sweep = self.sim.sweeps_done
        if self.sweep >= len(self.betas):
            return None
        return self._launch()

    def stop(self):
        """Stop the live anneal after the current sweep (Resume continues it)."""
        if self.worker is not None:
            self.worker.quit()

    def _launch(self):
        from napari.qt.threading import create_worker

        worker = create_worker(C.anneal_lattice, self.sim, self.betas, self.sweep,
                               _start_thread=False)
        # a worker stopped by a new Start may still report once: only the current one counts
        worker.yielded.connect(lambda v, w=worker: self._on_frame(v) if w is self.worker
                               else None)
        worker.errored.connect(lambda exc: setattr(self.status, "value", f"error: {exc}"))
        worker.finished.connect(lambda w=worker: self._on_finished() if w is self.worker
                                else None)
        self.worker = worker
        self.updates = 0
        self._t_start = time.perf_counter()
        self.start_button.enabled = False
        self.stop_button.enabled = True
        self.resume_button.enabled = False
        self.status.value = f"annealing ({self.settings['model']}, {self.schedule_obj.name})"
        worker.start()
        return worker

    def _on_frame(self, value):
        t, frame = value
        self.sweep = t
        self.out_layer.data = frame
        self.progress.value = t
        self.updates += 1
        dt = time.perf_counter() - self._t_start
        if dt > 0:
            self.rate = self.updates / dt

    def _on_finished(self):
        self.worker = None
        self.sweep = self.sim.sweeps_done
        self.progress.value = self.sweep
        done = self.sweep >= len(self.betas)
        self.start_button.enabled = True
        self.stop_button.enabled = False
        self.resume_button.enabled = not done
        self.status.value = (f"{'done' if done else 'stopped'} at sweep {self.sweep}"
                             f" / {len(self.betas)}, {self.rate:.1f} updates/s")

    # -- movie ---------------------------------------------------------------------------
    def save_movie(self, path=None, *, block=False):
        """Write the whole anneal (the same seed replays the same lattices, bit for bit) to a
        movie (.gif, .mp4, .png, .webp) carrying gpuent's provenance record, in a
        worker thread (``block=True``: here, returns the path)."""
        path = Path(path if path is not None else self.movie_path.value)
        if self.settings is None:
            layer = self.layer.value
            if layer is None:
                self.status.value = "no image layer: open or add one first"
                return None
            try:
                picture = self._plane(layer)
            except ValueError as exc:
                self.status.value = f"error: {exc}"
                return None
            settings = dict(self.current_settings(), source=layer.name,
                            shape=list(picture.shape))
        else:
            settings, picture = self.settings, self._picture
        every, fps = int(self.every.value), int(self.fps.value)
        if block:
            return C.write_anneal_movie(path, picture, settings, every=every, fps=fps)
        from napari.qt.threading import create_worker

        worker = create_worker(C.write_anneal_movie, path, picture, settings, every=every,
                               fps=fps, _start_thread=False)
        worker.returned.connect(lambda p: setattr(self.status, "value", f"wrote {p}"))
        worker.errored.connect(lambda exc: setattr(self.status, "value", f"error: {exc}"))
        self.status.value = f"writing {path.name} ..."
        worker.start()
        return worker
