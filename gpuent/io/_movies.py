"""Movies: GIF, APNG (.png/.apng), WebP (Pillow) and MP4 (imageio-ffmpeg).

:class:`MovieWriter` takes 2-D uint8 frames and hands them to a background thread, so
the producer (an Ising simulation) never waits for the encoder; MP4 streams into ffmpeg
as frames arrive, the Pillow formats are assembled there and written at
:meth:`MovieWriter.close`. The file appears whole or not at all
(:class:`gpuent.io.AtomicOutput`, which also writes the provenance record). Closing after
an interrupt (a ``with`` block does it) still writes a valid movie of the frames received
so far. GIF, PNG and WebP are also pictures (:mod:`gpuent.io._images`); MP4 is only a
movie, registered here.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np

from .._backend import to_numpy
from ._registry import Format

__all__ = ["FORMATS", "FRAME_OVERHEAD", "MOVIES", "MovieWriter", "check_frames"]

#: movie suffix -> encoder (Pillow's format name, or MP4 through imageio-ffmpeg)
MOVIES = {".gif": "GIF", ".png": "PNG", ".apng": "PNG", ".webp": "WEBP", ".mp4": "MP4"}
_STOP = object()


def _host(frame):
    """A frame on the host: CuPy/array-API arrays copied explicitly, anything else as NumPy."""
    try:
        return to_numpy(frame)
    except TypeError:  # lists, PIL images, ...
        return np.asarray(frame)


def _format(path: Path) -> str:
    fmt = MOVIES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"unknown movie format {path.suffix!r} for {path}; use "
                         + ", ".join(sorted(MOVIES)))
    if fmt == "MP4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ValueError("MP4 needs imageio-ffmpeg: pip install gpuent[movie]") from None
    return fmt


#: bytes a kept frame costs besides its pixels (the PIL image object and its header)
FRAME_OVERHEAD = 1024


#: what to do when kept frames would not fit, in the Python API's words
FRAMES_HINT = ("take fewer frames (a larger frames= interval, fewer sweeps), downscale "
               "them (downscale=k), or write an .mp4, which streams")


def check_frames(count: int, shape, what: str, hint: str = FRAMES_HINT) -> None:
    """Refuse ``count`` uint8 frames of ``shape`` held in memory above the memory limit."""
    from .._memory import check_allocation, nbytes_of

    h, w = (int(n) for n in shape)
    check_allocation(int(count) * (nbytes_of((h, w), 1) + FRAME_OVERHEAD),
                     f"{int(count)} frames of {h} x {w} pixels kept in memory for {what}", hint)


class MovieWriter:
    """Write frames to a movie file from a background thread.

    >>> with MovieWriter("run.gif", fps=25) as mw:   # doctest: +SKIP
    ...     mw.append(frame)
    """

    #: the advice :meth:`check_room` gives; a front end may put it in its own words
    room_hint = FRAMES_HINT

    def __init__(self, path, *, fps: float = 25, loop: int = 0):
        self.path = Path(path)
        self.format = _format(self.path)
        self.fps = float(fps)
        if not (self.fps > 0 and np.isfinite(self.fps)):
            raise ValueError(f"fps must be > 0, got {fps}")
        self.loop = int(loop)
        directory = self.path.parent
        if not directory.is_dir():
            raise OSError(f"cannot write {self.path}: no directory {directory}")
        # claim the temporary file now, so an unwritable target fails before any work
        from ._atomic import AtomicOutput

        self._output = AtomicOutput(self.path)
        self._tmp = self._output.tmp
        self.count = 0
        self.size = None
        self._frames = []
        self._ffmpeg = None
        self._error = None
        self._queue: queue.Queue = queue.Queue(maxsize=64)
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="gpuent-movie", daemon=True)
        self._thread.start()

    @property
    def keeps_frames(self) -> bool:
        """True for the formats whose frames stay in memory until :meth:`close` (all but MP4)."""
        return self.format != "MP4"

    def check_room(self, frames: int, shape) -> None:
        """Refuse ``frames`` more frames of ``shape`` when the frames kept in memory (GIF,
        APNG, WebP: all of them until :meth:`close`) would exceed the memory limit.

        MP4 streams into the encoder (a bounded queue of frames): nothing to check.
        """
        if self.keeps_frames and frames > 0:
            check_frames(self.count + int(frames), shape, f"a {self.format} movie",
                         self.room_hint)

    # -- producer side ------------------------------------------------------------------
    def append(self, frame) -> None:
        """Queue one frame (2-D uint8 array, all frames the same size; or an object with
        ``resolve()`` returning one, which the writer thread calls: GPU frames in flight)."""
        if self._closed:
            raise ValueError("movie writer is closed")
        if self._error is not None:
            raise self._error
        pending = hasattr(frame, "resolve")  # a GPU frame still being copied to the host
        f = frame if pending else _host(frame)  # frames go to a file: stated host copy
        if f.ndim != 2:
            raise ValueError(f"frames must be 2-D, got shape {f.shape}")
        if f.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {f.dtype}")
        if self.size is None:
            self.size = f.shape
        elif f.shape != self.size:
            raise ValueError(f"frame shape {f.shape} differs from the first {self.size}")
        self.check_room(1, f.shape)
        self.count += 1
        self._queue.put(f if pending else np.array(f, copy=True))

    def close(self) -> Path:
        """Finish the file (waits for the encoder) and move it into place."""
        if self._closed:
            return self.path
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        try:
            if self._error is not None:
                raise self._error
            if self.count == 0:
                raise ValueError(f"no frames to write to {self.path}")
            self._finish()
            self._output.commit()
        finally:
            if not self._output.done:
                self._output.abort()
        return self.path

    def abort(self) -> None:
        """Stop without writing anything."""
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        if self._ffmpeg is not None:
            try:
                self._ffmpeg.close()
            except Exception:
                pass
        self._output.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            if self.count:
                self.close()
            else:
                self.abort()
        else:
            self.abort()
        return False

    # -- consumer side (background thread) -------------------------------------------------
    def _work(self):
        from PIL import Image

        while True:
            f = self._queue.get()
            if f is _STOP:
                return
            try:
                if hasattr(f, "resolve"):  # always: it frees the engine's frame buffer
                    f = f.resolve()
                if self._error is not None:
                    continue
                if self.format == "MP4":
                    self._mp4(f)
                else:
                    self._frames.append(Image.fromarray(np.ascontiguousarray(f)))
            except Exception as exc:  # reported to the producer
                self._error = exc

    def _mp4(self, f):
        if self._ffmpeg is None:
            import imageio_ffmpeg

            h, w = f.shape
            self._ffmpeg = imageio_ffmpeg.write_frames(
                str(self._tmp), (w, h), fps=self.fps, pix_fmt_in="gray", quality=8,
                macro_block_size=1, output_params=["-f", "mp4"])
            self._ffmpeg.send(None)
        self._ffmpeg.send(np.ascontiguousarray(f))

    def _finish(self):
        if self.format == "MP4":
            self._ffmpeg.close()
            return
        duration = max(1, round(1000.0 / self.fps))
        first, rest = self._frames[0], self._frames[1:]
        kwargs = {"save_all": True, "append_images": rest, "duration": duration,
                  "loop": self.loop}
        if self.format == "WEBP":
            kwargs.update(lossless=True, method=0)
        if self.format == "GIF":
            kwargs.update(optimize=False, disposal=1)
        first.save(self._tmp, format=self.format, **kwargs)


#: MP4 is only a movie; the other movie formats are pictures too (gpuent.io._images)
FORMATS = [Format("MP4", (".mp4",), frozenset({"movie"}))]
