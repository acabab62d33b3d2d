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

__all__ = ["WindowPlan", "boundary_index", "plan_window", "MAX_TRIANGULAR_ENTRIES"]

#: cap on the triangular table of :func:`gpuent.local_expected` (256 MiB of int64)
MAX_TRIANGULAR_ENTRIES = 1 << 25

KIND_ENTROPY = 0
KIND_EXPECTED = 1
KIND_BITS = 2


def boundary_index(n: int, r_lo: int, r_hi: int, mode: str) -> np.ndarray:
    """Source index of each padded coordinate ``p - r_lo`` for p in [0, n + r_lo + r_hi).

    Returns int64 with -1 where ``mode="clip"`` leaves the image.
    """
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
