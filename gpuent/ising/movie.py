"""Movies of Ising runs: GIF, APNG (.png/.apng), WebP (Pillow) and MP4 (imageio-ffmpeg).

Frames are 2-D uint8 arrays (``255 (s + 1) / 2`` of the spins, see :func:`spins_to_frame`).
The writer, :class:`MovieWriter`, lives with the other file formats in
:mod:`gpuent.io._movies` (re-exported here): it encodes on a background thread, so the
simulation never waits, and the file appears whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io._movies import FRAME_OVERHEAD, MovieWriter, _host, check_frames
from ..io._movies import MOVIES as FORMATS

__all__ = ["FORMATS", "FRAME_OVERHEAD", "MovieWriter", "check_frames", "spins_to_frame",
           "write_movie"]


def spins_to_frame(spins, downscale: int = 1) -> np.ndarray:
    """uint8 frame of a NumPy spin lattice: ``floor(127.5 (s + 1))`` computed in float32,
    i.e. -1 -> 0 and +1 -> 255; ``downscale=k`` averages k x k blocks of spins first.

    Parameters
    ----------
    spins : 2-D array
        int8 or float32 spins; CuPy (or other array-API) lattices are copied to the
        host explicitly, since the frame goes to a file.
    downscale : int
        Block side k >= 1.

    Returns
    -------
    numpy.ndarray of uint8, shape (H // k, W // k)
    """
    if not hasattr(spins, "shape") or not hasattr(spins, "dtype"):
        raise TypeError(f"spins must be a 2-D array, got {type(spins).__name__}")
    s = _host(spins)
    if s.ndim != 2 or 0 in s.shape or s.dtype.kind not in "biuf":
        raise ValueError(f"spins must be a non-empty 2-D real array, got {s.dtype} of shape "
                         f"{s.shape}")
    if isinstance(downscale, (bool, np.bool_)) or not isinstance(downscale, (int, np.integer)):
        raise TypeError(f"downscale must be an integer >= 1, got {downscale!r}")
    if downscale < 1:
        raise ValueError(f"downscale must be an integer >= 1, got {downscale}")
    if downscale > 1:
        h, w = (s.shape[0] // downscale) * downscale, (s.shape[1] // downscale) * downscale
        s = s[:h, :w].reshape(h // downscale, downscale, w // downscale, downscale)
        s = s.astype(np.float32).mean(axis=(1, 3), dtype=np.float32)
    s = s.astype(np.float32)
    return np.floor(np.float32(127.5) * (s + np.float32(1))).clip(0, 255).astype(np.uint8)


def write_movie(frames, path, *, fps: float = 25) -> Path:
    """Write an iterable of 2-D uint8 frames to ``path`` (.gif, .png/.apng, .webp, .mp4).

    Parameters
    ----------
    frames : iterable of 2-D uint8 arrays
        All of one shape.
    path : str or Path
        Output file; the format follows the suffix. MP4 needs imageio-ffmpeg (the ``movie``
        extra). Written to a temporary file and renamed when complete.
    fps : float
        Frames per second.

    Returns
    -------
    Path
    """
    from ..provenance import default_recording

    with default_recording("gpuent.ising.write_movie", {"path": str(path), "fps": fps}), \
            MovieWriter(path, fps=fps) as mw:
        for f in frames:
            mw.append(f)
    if mw.count == 0:
        raise ValueError(f"no frames to write to {path}")
    return Path(path)
