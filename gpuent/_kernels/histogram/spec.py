"""The one specification of windowed histograms, shared by every path.

A request is turned on the host into a :class:`WindowPlan`:

* **Boundary as index maps.** For each axis an integer map from padded
  coordinate p in [0, n + 2r) to a source index, or -1 for "outside, not
  counted" (``mode="clip"``). reflect (d c b a|a b c d|d c b a), mirror
  (d c b|a b c d|c b a) and wrap follow scipy.ndimage, for any radius (also
  larger than the image). The output pixel i sees padded coordinates i + o for
  the footprint offsets o in [0, 2r].
* **Fixed-point tables.** The per-count term g(c) of the estimator (or p f(p)
  of :func:`gpuent.local_expected`) is quantized once to int64 with F
  fractional bits, chosen so that no sum over one window can overflow. Every
  path adds the same integers, so the window sum does not depend on the order
  in which pixels entered and left, and every path, device and tiling gives
  the same bits.
* **Finish.** Windows with n counted pixels end with IEEE double operations
  only, in one fixed order, taking every transcendental from host tables::

      x = float64(S) * 2**-F
      h = a[n] - (x + b) / d[n]          # entropy estimators
      h = h + float64(K_occ - 1) / (2.0 * float64(n))   # miller-madow only
      out = h / ln(base)                  # then rounded to the output dtype

  and, for expected values, ``out = float64(S) * 2**-F``. n == 0 gives NaN.

  The plug-in and Miller-Madow estimators (``kind == KIND_BITS``) instead sum
  ``T[c] = c L[c]`` with L the base-2 logarithm quantized exactly under powers
  of two (:mod:`gpuent._exact`), and finish integer-first::

      num = NL[n] - S                                    # int64, exact
      h = float64(num) / float64(n) * 2**-F              # bits
      h = h + float64(K_occ - 1) / d[n]                  # miller-madow only, d[n] = 2 n ln 2
      out = h / log2(base)

  so one level gives exactly 0 and 2**k equally frequent levels exactly k bits.
  ``NL`` (int64) travels to the kernels as the bits of the float64 array ``a``
  and ``ln_base`` holds log2(base).

Tables that depend on n (p f(p) with p = c/n) are *triangular*: row n holds
c = 0..n at offset n (n + 1) / 2. They are used by sliding kernels only while
n is unchanged; a window whose n changes is re-summed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..._estimators import count_terms, finish_coefficients
from ..._exact import log2_fixed

__all__ = [
    "MAX_PLAN_BYTES",
    "MAX_TRIANGULAR_ENTRIES",
    "MAX_UPDATES",
    "WindowPlan",
    "boundary_index",
    "check_cost",
    "clip_radii",
    "edge_pairs",
    "effective_footprint",
    "footprint_cost",
    "plan_window",
]

#: cap on the triangular table of :func:`gpuent.local_expected` (256 MiB of int64)
MAX_TRIANGULAR_ENTRIES = 1 << 25

#: host memory a plan may take (tables, footprint offsets, per-thread window rows)
MAX_PLAN_BYTES = 2 << 30
#: histogram updates a map with a window wider than the image may take (minutes of work)
MAX_UPDATES = 10**11

KIND_ENTROPY = 0
KIND_EXPECTED = 1
KIND_BITS = 2


def check_index_map(n: int, r_lo: int, r_hi: int) -> int:
    """Refuse (memory limit) a padded index map of ``n + r_lo + r_hi`` entries before it is
    built, or any window arithmetic on such radii is done; return its size."""
    from ..._memory import check_allocation

    size = int(n) + int(r_lo) + int(r_hi)
    check_allocation(8 * 3 * size, f"an index map of {size} entries (radius {max(r_lo, r_hi)})",
                     "use a smaller radius, or mode='clip' (its windows stop at the image)")
    return size


def boundary_index(n: int, r_lo: int, r_hi: int, mode: str) -> np.ndarray:
    """Source index of each padded coordinate ``p - r_lo`` for p in [0, n + r_lo + r_hi).

    Returns int64 with -1 where ``mode="clip"`` leaves the image.
    """
    check_index_map(n, r_lo, r_hi)
    i = np.arange(-r_lo, n + r_hi, dtype=np.int64)
    if mode == "clip":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":
        j = np.mod(i, 2 * n)
        return np.where(j >= n, 2 * n - 1 - j, j)
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * n - 2
        j = np.mod(i, period)
        return np.where(j >= n, period - j, j)
    raise ValueError(f"unknown mode {mode!r}")  # pragma: no cover - validated upstream


def clip_radii(shape, radii, mode):
    """Radii of the window a map really needs: in clip mode at most ``n - 1`` per axis.

    In ``mode="clip"`` offsets farther than ``n - 1`` from the centre along an
    axis of length n never reach the image, so a window wider than the image is
    the image: every window counts the same pixels, and cost and memory are
    bounded by the image, not the radius. (The fixed-point tables are sized by
    the window that is kept, so every radius from ``n - 1`` up gives the same
    bits.) Other modes count pixels several times in a window wider than the
    image, and keep it.
    """
    if mode != "clip":
        return tuple(int(r) for r in radii)
    return tuple(min(int(r), int(n) - 1) for n, r in zip(shape, radii))


def effective_footprint(shape, footprint, mode):
    """``footprint`` cropped to the radii of :func:`clip_radii` (centred)."""
    footprint = np.asarray(footprint, dtype=bool)
    radii = [s // 2 for s in footprint.shape]
    keep = clip_radii(shape, radii, mode)
    cut = tuple(slice(r - k, r + k + 1) for r, k in zip(radii, keep))
    cropped = np.ascontiguousarray(footprint[cut])
    if not cropped.any():
        raise ValueError("the footprint selects no pixel that can lie inside the image; "
                         "give a footprint whose True pixels lie within the image's extent")
    return cropped


def edge_pairs(us, dxs):
    """Pixels that leave and enter each window row when x advances by 1, paired by row.

    ``us`` is the row (an index into the footprint's distinct leading offsets) and
    ``dxs`` the offset along the last axis of each footprint pixel. In footprint
    row u, every run of True ends with one pixel that enters (its right end) and
    starts with one that leaves (its left end); the i-th leaving and i-th entering
    pixels of a row form a pair. Pairs are grouped by their column offsets
    ``(gl, ge)``: the entries of group g are ``u[start[g]:start[g+1]]``, pairs sorted
    by ``(gl, ge, u)``. A square window has a single group, so a step reads two
    columns. Returns int64 arrays ``(u, start, gl, ge)``.
    """
    us = np.asarray(us, dtype=np.int64).reshape(-1)
    dxs = np.asarray(dxs, dtype=np.int64).reshape(-1)
    if us.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(1, dtype=np.int64), empty, empty
    grid = np.zeros((int(us.max()) + 1, int(dxs.max()) + 3), dtype=bool)
    grid[us, dxs + 1] = True  # one False column on each side
    inner = grid[:, 1:-1]
    leave_u, leave_dx = np.nonzero(inner & ~grid[:, :-2])
    enter_u, enter_dx = np.nonzero(inner & ~grid[:, 2:])
    # row-major order: the i-th leaving and i-th entering pixel of every row pair up
    order = np.lexsort((leave_u, enter_dx, leave_dx))
    u = leave_u[order].astype(np.int64)
    gl_all = leave_dx[order].astype(np.int64)
    ge_all = enter_dx[order].astype(np.int64)
    new = np.ones(u.size, dtype=bool)
    new[1:] = (gl_all[1:] != gl_all[:-1]) | (ge_all[1:] != ge_all[:-1])
    first = np.flatnonzero(new)
    start = np.append(first, u.size).astype(np.int64)
    return u, start, gl_all[first], ge_all[first]


def check_cost(shape, window_shape, npix, rows, mode, path="cpu", *, what="the window"):
    """Refuse, before anything is allocated, a map whose plan or run is out of proportion.

    ``window_shape`` is the footprint's shape, ``npix`` its pixel count and
    ``rows`` the number of its lines along the last axis that hold a pixel. The
    estimate counts the host tables and footprint offsets (about 100 bytes per
    footprint pixel, with the per-thread window rows) against
    :data:`MAX_PLAN_BYTES`, and the histogram updates (a full window per image
    line plus a leaving and an entering pixel per window line and step; footprint
    pixels squared per pixel on the reference path) against :data:`MAX_UPDATES`;
    the time limit applies to windows wider than the image (reaching past it from
    every pixel), so a big image with a window of its proportions is never refused.
    """
    size = math.prod(int(n) for n in shape)
    lines = size // int(shape[-1])
    nbytes = 100 * npix
    if path == "reference":
        updates = size * npix * npix
    else:
        updates = lines * npix + 2 * size * rows
    wider = any(int(w) > 2 * int(n) - 1 for w, n in zip(window_shape, shape))
    if nbytes <= MAX_PLAN_BYTES and (updates <= MAX_UPDATES or not wider):
        return
    side = "x".join(str(int(s)) for s in window_shape)
    hint = "use a smaller radius"
    if mode != "clip":
        hint += ", or mode='clip' (there a window wider than the image is the image)"
    if path == "reference":
        hint += ", or backend=None for the sliding-window path"
    if nbytes > MAX_PLAN_BYTES:
        raise ValueError(
            f"{what} ({side}, {npix} pixels, mode={mode!r}) would need about "
            f"{nbytes / 2**30:.3g} GiB of window tables, above gpuent's limit of "
            f"{MAX_PLAN_BYTES / 2**30:.3g} GiB for them; "
            f"{hint}"
        )
    raise ValueError(
        f"{what} ({side}, {npix} pixels, mode={mode!r}) on a {'x'.join(map(str, shape))} "
        f"image would take about {updates:.2g} histogram updates ({path} path), above the "
        f"limit of {MAX_UPDATES:.2g} (minutes of work); {hint}"
    )


def footprint_cost(shape, footprint, mode, path="cpu", *, what="the window"):
    """:func:`check_cost` for a footprint array."""
    footprint = np.asarray(footprint, dtype=bool)
    rows = int(np.count_nonzero(np.any(footprint, axis=-1)))
    check_cost(shape, footprint.shape, int(np.count_nonzero(footprint)), rows, mode, path,
               what=what)


def _fraction_bits(bound: float) -> int:
    """Fractional bits F so that any window sum, bounded by ``bound``, fits in 2**62."""
    bound = max(float(bound), 1.0)
    bits = 61 - math.ceil(math.log2(bound))
    if bits < 8:
        raise ValueError(
            "the window's value range is too large for exact fixed-point sums; "
            "use a smaller window or a bounded function"
        )
    return min(bits, 62)


@dataclass
class WindowPlan:
    """Everything a path needs to compute one windowed map (all host NumPy)."""

    shape: tuple
    footprint: np.ndarray
    radii: tuple
    index_maps: list
    offsets: np.ndarray  # (N, ndim) int64, each in [0, 2r]
    nlevels: int
    kind: int
    table: np.ndarray  # int64: 1-D over c (entropy) or triangular over (n, c) (expected)
    triangular: bool
    frac_bits: int
    a: np.ndarray = field(default_factory=lambda: np.zeros(1))
    d: np.ndarray = field(default_factory=lambda: np.zeros(1))
    b: float = 0.0
    miller_madow: bool = False
    ln_base: float = 1.0
    nl: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    @property
    def npix(self) -> int:
        """N, the number of pixels in the footprint."""
        return int(self.offsets.shape[0])

    @property
    def inv_scale(self) -> float:
        return math.ldexp(1.0, -self.frac_bits)

    def increments(self) -> np.ndarray:
        """``inc[i] = table[i + 1] - table[i]``: adding a pixel to a level with count c
        (table row at offset o) adds ``inc[o + c]``; removing one subtracts ``inc[o + c - 1]``.
        """
        return np.diff(self.table, append=self.table[-1:])

    def row_offsets(self) -> np.ndarray:
        """Start of row n in a triangular table (zeros for a 1-D table), length N + 1."""
        n = np.arange(self.npix + 1, dtype=np.int64)
        if self.triangular:
            return n * (n + 1) // 2
        return np.zeros_like(n)


def _geometry(shape, footprint, mode):
    radii = tuple(s // 2 for s in footprint.shape)
    maps = [boundary_index(n, r, r, mode) for n, r in zip(shape, radii)]
    offsets = np.argwhere(footprint).astype(np.int64)
    return radii, maps, offsets


def plan_window(shape, footprint, mode, nlevels, *, estimator=None, f=None, base=math.e):
    """Build the :class:`WindowPlan` of an entropy estimator or of an expected value of ``f``."""
    radii, maps, offsets = _geometry(tuple(shape), footprint, mode)
    npix = offsets.shape[0]
    if f is None and estimator in ("plugin", "miller-madow"):
        bits = _fraction_bits(npix * (math.log2(max(npix, 1)) + 1.0))
        counts = np.arange(npix + 1, dtype=np.int64)
        nl = counts * log2_fixed(counts, bits)  # T[c] = c L[c], and NL[n] = n L[n]
        d = 2.0 * counts.astype(np.float64) * math.log(2.0)
        d[0] = 1.0
        return WindowPlan(
            tuple(shape), footprint, radii, maps, offsets, nlevels, KIND_BITS, nl, False, bits,
            nl.view(np.float64), d, 0.0, estimator == "miller-madow", math.log2(base), nl,
        )
    if f is None:
        g = count_terms(estimator, np.arange(npix + 1))
        c = np.arange(1, npix + 1)
        bound = npix * float(np.max(np.abs(g[1:]) / c)) if npix else 1.0
        bits = _fraction_bits(bound)
        table = np.rint(np.ldexp(g, bits)).astype(np.int64)
        a, d, b, mm = finish_coefficients(estimator, npix, nlevels)
        return WindowPlan(
            tuple(shape), footprint, radii, maps, offsets, nlevels, KIND_ENTROPY, table, False,
            bits, a, d, b, mm, math.log(base),
        )
    entries = (npix + 1) * (npix + 2) // 2
    if entries > MAX_TRIANGULAR_ENTRIES:
        raise ValueError(
            f"a window of {npix} pixels needs a {entries}-entry table of p f(p); "
            "use a window of at most 8000 pixels (radius <= 44) for local_expected"
        )
    n = np.repeat(np.arange(npix + 1), np.arange(npix + 1) + 1)
    c = np.arange(entries) - n * (n + 1) // 2
    pos = c > 0
    p = c[pos] / n[pos]
    with np.errstate(all="ignore"):  # non-finite values are refused just below, with a message
        fp = np.asarray(f(p), dtype=np.float64)
    if fp.shape != p.shape:
        raise ValueError("f must be vectorized: f(p) must return an array of the shape of p")
    if not np.all(np.isfinite(fp)):
        raise ValueError("f(p) must be finite for every probability 0 < p <= 1")
    g = np.zeros(entries)
    g[pos] = p * fp
    bits = _fraction_bits(float(np.max(np.abs(fp))) if fp.size else 1.0)
    table = np.rint(np.ldexp(g, bits)).astype(np.int64)
    return WindowPlan(
        tuple(shape), footprint, radii, maps, offsets, nlevels, KIND_EXPECTED, table, True, bits,
    )
