"""Metropolis simulation of an :class:`~gpuent.ising.models.IsingModel`.

Updates go in colour phases (2 for torus and edge models, 4 for the metric model) with
counter-based random numbers, so a seed gives the same lattice on every path
(``"reference"``, ``"cpu"``, ``"cuda"``) bit for bit. The counter layout:

* Philox4x32-10, key ``(seed & 0xFFFFFFFF, seed >> 32)``;
* counter ``(j >> 3, i, sweep, phase)`` for the site at row ``i``, column ``j``; ``sweep``
  counts every sweep this simulation has done (across ``run`` calls);
* the site takes output word ``(j >> 1) & 3``: one Philox call per 4 sites of a phase;
* phase ``(i + j) % 2`` (2-phase) or ``2 (i % 2) + j % 2`` (4-phase), in increasing order;
* accept iff ``word < T[index(dE)]``, ``T = floor(2**32 exp(-beta dE))`` from a host table.

Details in :mod:`gpuent._kernels.ising`; the engines that run each path (one small
protocol) in :mod:`gpuent._kernels.ising.engines`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._backend import array_namespace, choose_backend
from .._kernels.ising import FIXED_SCALE, philox_key, thresholds
from .._kernels.ising.engines import open_engine
from ..io._movies import MovieWriter, _format, check_frames
from .models import IsingModel
from .schedules import as_schedule

__all__ = ["Simulation", "Trace"]


@dataclass
class Trace:
    """What a run recorded: one entry per recorded sweep.

    ``sweep`` is the simulation's sweep count after the recorded sweep, ``beta`` the beta
    it ran at, ``energy`` the energy per spin, ``magnetization`` the mean spin. ``frames``
    holds the uint8 frames when they were kept in memory (no ``movie=``).
    """

    sweep: np.ndarray
    beta: np.ndarray
    energy: np.ndarray
    magnetization: np.ndarray
    frames: list | None = None
    frame_count: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.sweep)


class Simulation:
    """Metropolis dynamics of an Ising model.

    Parameters
    ----------
    model : IsingModel
        From :func:`~gpuent.ising.torus`, :func:`~gpuent.ising.edge_model` or
        :func:`~gpuent.ising.metric_model`; the lattice starts at ``model.spins``
        (copied) and stays in the model's namespace.
    seed : int
        Philox key, ``0 <= seed < 2**64``.
    backend : {None, "auto", "reference", "cpu", "cuda"}
        None or ``"auto"`` picks the fastest path for the model's arrays; the
        others force one path.
    packed : None | bool
        ``cuda`` path only: keep a binary torus or edge lattice at 1 bit per spin (its width
        a multiple of 32). None does so whenever it applies; the lattice, observables and
        frames are the same bit for bit either way.
    kernel : None | "packed" | "fused" | "rows"
        ``cuda`` path only, for benchmarks and tests: the kernel family (``"fused"``: both
        colour phases in one launch, int8 torus and edge models with a width that is a
        multiple of 8; ``"rows"``: one launch per phase, any integer model). None picks.

    Raises
    ------
    ValueError
        For ``packed=True`` or a ``kernel`` that cannot serve the model or path.
    """

    def __init__(self, model: IsingModel, *, seed=0, backend=None, packed=None, kernel=None):
        if not isinstance(model, IsingModel):
            raise TypeError("model must come from ising.torus, ising.edge_model or "
                            f"ising.metric_model, got {type(model).__name__}")
        self.model = model
        self.seed = seed
        self.key = philox_key(seed)
        xp = array_namespace(model.spins)
        self.backend = choose_backend(backend, xp, ("reference", "cpu", "cuda"))
        if packed is not None and not isinstance(packed, (bool, np.bool_)):
            raise TypeError(f"packed must be None, True or False, got {packed!r}")
        if packed is not None and kernel is not None and bool(packed) != (kernel == "packed"):
            raise ValueError(f"packed={packed} contradicts kernel={kernel!r}; give one of them")
        if packed:
            kernel = "packed"
        elif packed is False and kernel is None and self.backend == "cuda":
            from .._kernels.ising._cuda import kernel_family

            kernel = "fused" if kernel_family(model.kind, model.shape) == "packed" else None
        self._engine = open_engine(self.backend, model, self.key, kernel=kernel)
        self.sweeps_done = 0
        self._tables = {}

    # ---- state ------------------------------------------------------------------------
    @property
    def kernel(self):
        """The cuda path's kernel family (``"packed"``, ``"fused"``, ``"rows"``, ``"cont"``);
        None on the other paths."""
        return getattr(self._engine, "family", None)

    @property
    def default_record_every(self) -> int:
        """The recording interval of :meth:`run` when ``record_every`` is not given."""
        return self._engine.default_record_every

    @property
    def spins(self):
        """The current lattice, in the model's namespace (and device).

        On the cuda path the fused kernels alternate between two buffers and a packed
        lattice is unpacked into a new int8 array: read it (or write it) before the next
        :meth:`run`, and take it again afterwards.
        """
        return self._engine.spins

    @property
    def shape(self):
        return self.model.shape

    @property
    def size(self) -> int:
        h, w = self.model.shape
        return h * w

    def observables(self) -> tuple[float, float]:
        """``(energy per spin, mean spin)`` of the current lattice (exact integer sums)."""
        self._engine.record()
        e, m = self._engine.take_records()[-1]
        scale = self.size * (FIXED_SCALE if self.model.continuous else 1)
        return e / scale, m / scale

    def frame(self, downscale: int = 1) -> np.ndarray:
        """uint8 picture of the current lattice (NumPy, on the host)."""
        return np.asarray(self._engine.frame(downscale))

    def _table(self, beta):
        tab = self._tables.get(beta)
        if tab is None:
            if len(self._tables) > 4096:
                self._tables.clear()
            tab = thresholds(beta, self.model.continuous)
            self._tables[beta] = tab
        return tab

    # ---- dynamics -----------------------------------------------------------------------
    def run(self, sweeps, *, beta, record_every=None, frames=None, progress=None, movie=None,
            fps=25, downscale=1) -> Trace:
        """Run ``sweeps`` Metropolis sweeps.

        Parameters
        ----------
        sweeps : int
            Number of sweeps (each site attempted once per sweep), >= 0. The notebook's
            random-site steps map to sweeps by 1 sweep = N steps (N spins); unlike
            them, a sweep attempts every site exactly once, in colour-phase order.
        beta : float | array | callable | Schedule | str
            Inverse temperature per sweep (see :mod:`gpuent.ising.schedules`).
        record_every : int, optional
            Record energy and magnetization after every ``record_every``-th sweep (0: never).
            Default: 1 on the reference and cpu paths; on the cuda path 16 (64 below 2**20
            spins), so that the observables (one pass over the lattice) cost under 5 % of
            the sweeps (:attr:`default_record_every`). Records are queued on the device and
            read back once, at the end of the run.
        frames : int, optional
            Take a uint8 frame after every ``frames``-th sweep: kept in ``trace.frames``, or
            streamed to ``movie``. Frames fall between sweeps only (the notebook took one
            every 1000 single-site steps, a small fraction of a sweep).
        progress : bool, optional
            tqdm progress bar; default on for long runs when stderr is a terminal.
        movie : path or MovieWriter, optional
            Stream the frames (every ``frames`` sweeps, default 1) to this movie. A path is
            opened here and finished at the end, also after Ctrl-C (then the movie holds the
            frames so far and KeyboardInterrupt propagates).
        fps, downscale : movie frame rate; k x k block averaging of frames.
        """
        import time

        if isinstance(sweeps, bool) or not isinstance(sweeps, (int, np.integer)):
            raise TypeError(f"sweeps must be an integer, got {type(sweeps).__name__}")
        sweeps = int(sweeps)
        if sweeps < 0:
            raise ValueError(f"sweeps must be >= 0, got {sweeps}")
        if self.sweeps_done + sweeps >= 2**32:
            raise ValueError("at most 2**32 sweeps per simulation (the Philox counter)")
        if record_every is None:
            record_every = self._engine.default_record_every
        record_every = int(record_every or 0)
        if record_every < 0:
            raise ValueError(f"record_every must be >= 0, got {record_every}")
        if movie is not None and frames is None:
            frames = 1
        frames = int(frames or 0)
        if frames < 0:
            raise ValueError(f"frames must be >= 0, got {frames}")
        downscale = int(downscale)
        if downscale < 1:
            raise ValueError(f"downscale must be >= 1, got {downscale}")
        nframes_planned = sweeps // frames if frames else 0
        if nframes_planned:  # frames kept in memory (a list, or a GIF/APNG/WebP writer)
            fh, fw = (max(int(n) // downscale, 0) for n in self.model.shape)
            if movie is None:
                check_frames(nframes_planned, (fh, fw), "trace.frames")
            elif isinstance(movie, MovieWriter):
                movie.check_room(nframes_planned, (fh, fw))
            elif _format(Path(movie)) != "MP4":
                check_frames(nframes_planned, (fh, fw), f"the movie {Path(movie).name}")
        betas = as_schedule(beta).values(sweeps)

        own_writer = movie is not None and not isinstance(movie, MovieWriter)
        writer = MovieWriter(movie, fps=fps) if own_writer else movie
        kept = [] if (frames and writer is None) else None
        rec_t, rec_b = [], []
        if progress is None:
            progress = sys.stderr.isatty() and sweeps * self.size >= 2e8
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sweeps, unit="sweep", desc=f"ising {self.model.kind}",
                       leave=False, file=sys.stderr)
        trace = Trace(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0), kept)
        nframes = 0
        prepared = _preparation_seconds()
        t0 = time.perf_counter()
        completed = False
        try:
            for t in range(sweeps):
                b = float(betas[t])
                self._engine.sweep(self.sweeps_done, self._table(b))
                self.sweeps_done += 1
                if record_every and (t + 1) % record_every == 0:
                    self._engine.record()
                    rec_t.append(self.sweeps_done)
                    rec_b.append(b)
                if frames and (t + 1) % frames == 0:
                    f = self._engine.frame(downscale)
                    nframes += 1
                    if kept is not None:
                        kept.append(np.asarray(f))
                    else:
                        writer.append(f)
                if bar is not None:
                    bar.update(1)
            completed = True
        except KeyboardInterrupt:
            trace.interrupted = True
            raise
        finally:
            records = self._engine.take_records()  # also drops them after an interrupt
            self._engine.sync()
            if bar is not None:
                bar.close()
            if own_writer:
                if completed or trace.interrupted:
                    if writer.count:
                        writer.close()
                    else:
                        writer.abort()
                else:
                    writer.abort()
        trace.sweep = np.asarray(rec_t, dtype=np.int64)
        trace.beta = np.asarray(rec_b, dtype=np.float64)
        scale = self.size * (FIXED_SCALE if self.model.continuous else 1)
        trace.energy = np.asarray([e / scale for e, _ in records], dtype=np.float64)
        trace.magnetization = np.asarray([m / scale for _, m in records], dtype=np.float64)
        trace.frame_count = nframes
        # kernel compiles (first use only) are not the simulation's time
        trace.seconds = time.perf_counter() - t0 - (_preparation_seconds() - prepared)
        return trace

    def __repr__(self):
        return (f"Simulation({self.model!r}, seed={self.seed}, backend={self.backend!r}, "
                f"sweeps_done={self.sweeps_done})")


def _preparation_seconds():
    """Seconds spent compiling or loading Numba kernels so far (0 before Numba is used)."""
    import sys

    numba_side = sys.modules.get("gpuent._kernels._numba")
    return numba_side.preparation_seconds() if numba_side else 0.0
