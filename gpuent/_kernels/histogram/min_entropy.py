"""Windowed min-entropy (Rényi alpha = inf): -log(largest count / counted pixels).

The sliding kernels keep sums of per-count table values, which cannot give a
window's largest count, so alpha = inf has its own scan, written once against
the array API (NumPy, CuPy, any array-API library): every window's levels are
gathered into one row, sorted, and the longest run of equal levels is its
largest count. That is O(|F| log |F|) per pixel for a footprint of |F| pixels,
computed in bands of output lines so the (band pixels x |F|) table stays small.
The windows are the ones every path uses: the per-axis index maps of the plan
(-1 where ``mode="clip"`` leaves the image) and the footprint's offsets.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["window_min_entropy"]

#: bytes of gathered levels per band (int32 rows of |F| entries, sorted in place)
BAND_BYTES = 32 * 2**20


def window_min_entropy(xp, levels, valid, footprint, index_maps, base, out_dtype):
    """Min-entropy of every window, in units of ``base``.

    Parameters
    ----------
    xp : namespace
        The array library of ``levels``.
    levels : array of int
        Levels of the source region (only meaningful where ``valid``).
    valid : array of bool or None
        Counted pixels; None when all are.
    footprint : numpy.ndarray of bool
        The window, odd sides, centred on the pixel.
    index_maps : list of numpy.ndarray
        Per axis, the source index of output position ``i + d`` for window offset
        ``d`` in ``[0, 2r]``; -1 outside the image. Output length = ``len - 2 r``.
    base : float
        Logarithm base.
    out_dtype : dtype of ``xp``
        Output dtype.

    Returns
    -------
    array of ``out_dtype``
        -log_base(max count / n); NaN where a window counts no pixel.
    """
    radii = [s // 2 for s in footprint.shape]
    out_shape = tuple(int(m.size) - 2 * r for m, r in zip(index_maps, radii))
    offsets = np.argwhere(footprint)
    lv = xp.astype(levels, xp.int32)
    if valid is not None:
        lv = xp.where(valid, lv, xp.asarray(-1, dtype=xp.int32))
    rest = math.prod(out_shape[1:])
    band = max(1, BAND_BYTES // max(1, 4 * rest * offsets.shape[0]))
    lnb = math.log(base)
    parts = []
    for start in range(0, out_shape[0], band):
        stop = min(start + band, out_shape[0])
        rows = _gather(xp, lv, index_maps, offsets, start, stop, out_shape)
        parts.append(xp.reshape(_min_entropy_rows(xp, rows, lnb), (stop - start,)
                                + out_shape[1:]))
    out = parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)
    return xp.astype(out, out_dtype)


def _gather(xp, lv, index_maps, offsets, start, stop, out_shape):
    """(pixels of output lines start:stop, |F|) levels of each window; -1 = not counted."""
    lengths = (stop - start,) + tuple(out_shape[1:])
    firsts = (start,) + (0,) * (len(out_shape) - 1)
    cols = []
    for off in offsets:
        g = lv
        inside = None
        for axis, (m, d, a, n) in enumerate(zip(index_maps, off, firsts, lengths)):
            idx = m[a + int(d):a + int(d) + n]
            ok = idx >= 0
            g = xp.take(g, xp.asarray(np.where(ok, idx, 0)), axis=axis)
            shape = [1] * len(lengths)
            shape[axis] = n
            ok = xp.reshape(xp.asarray(ok), tuple(shape))
            inside = ok if inside is None else xp.logical_and(inside, ok)
        g = xp.where(inside, g, xp.asarray(-1, dtype=xp.int32))
        cols.append(xp.reshape(g, (-1,)))
    return xp.stack(cols, axis=1)


def _min_entropy_rows(xp, rows, lnb):
    """-log(longest run of equal levels >= 0 / number of levels >= 0) / lnb per sorted row."""
    rows = xp.sort(rows, axis=1)
    counted = rows >= 0
    n = xp.sum(xp.astype(counted, xp.int64), axis=1)
    run = xp.ones((rows.shape[0],), dtype=xp.int64)
    best = xp.astype(counted[:, 0], xp.int64)
    for j in range(1, rows.shape[1]):
        run = xp.where(rows[:, j] == rows[:, j - 1], run + 1, xp.ones_like(run))
        best = xp.where(counted[:, j], xp.maximum(best, run), best)
    n_f = xp.astype(n, xp.float64)
    safe = xp.where(n > 0, n_f, xp.ones_like(n_f))
    top = xp.where(n > 0, xp.astype(best, xp.float64), xp.ones_like(n_f))
    h = -xp.log(top / safe) / lnb
    return xp.where(n > 0, h + 0.0, xp.full_like(h, math.nan))
