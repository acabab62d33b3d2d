"""Fixed-point base-2 logarithms that are exact under powers of two.

The plug-in entropy of counts c_k with n = sum c_k is, in bits,

    H = log2 n - (1/n) sum_k c_k log2 c_k = (n L(n) - sum_k c_k L(c_k)) / n

for any L with L(c) = log2 c. Quantizing the *logarithm* (not c ln c) to F
fractional bits as

    L[c] = e 2**F + round(log2(m) 2**F),   c = 2**e m with m odd,

keeps L[2**j c] = j 2**F + L[c] exactly, so the integer numerator
``num = n L[n] - sum c L[c]`` is exact and vanishes for one level, and equals
n k 2**F for 2**k equally frequent levels. The finish ``float64(num) /
float64(n) * 2**-F`` is then exactly 0 and k bits there, and otherwise has two
roundings plus the quantization of L (at most 2**-F bits in all), instead of
the cancellation of ``ln n - S/n`` in nats.

Windowed maps use the int64 table ``T[c] = c L[c]`` (the window sums stay in
int64, in any order, on every path) and ``NL[n] = n L[n]``; the global entropy
uses Python integers with F = 64. The logarithms of the odd parts are taken in
``numpy.longdouble`` (64-bit significand on x86-64 Linux; plain float64 where
long double is double, which only costs accuracy, never the exact cases).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GLOBAL_BITS", "log2_fixed", "log2_fixed_int", "plugin_bits"]

#: fractional bits of the global (Python integer) fixed point
GLOBAL_BITS = 64


def _split_counts(c):
    """(e, m) with c = 2**e m, m odd, for an int64 array of positive counts."""
    low = c & -c  # 2**e, the largest power of two dividing c
    e = np.rint(np.log2(low.astype(np.float64))).astype(np.int64)
    return e, c >> e


def _scaled_log2(m, bits):
    """round(log2(m) 2**bits) as a long double array (integer-valued)."""
    return np.rint(np.ldexp(np.log2(m.astype(np.longdouble)), bits))


def log2_fixed(counts, bits: int) -> np.ndarray:
    """L[c] as int64 for an array of counts (L[0] = 0); exact under powers of two."""
    c = np.asarray(counts, dtype=np.int64)
    out = np.zeros(c.shape, dtype=np.int64)
    pos = c > 0
    e, m = _split_counts(c[pos])
    out[pos] = (e << bits) + _scaled_log2(m, bits).astype(np.int64)
    return out


def _log2_fixed_ints(counts) -> list:
    """L[c] with :data:`GLOBAL_BITS` fractional bits, as Python ints, for positive counts."""
    c = np.asarray(counts, dtype=np.int64)
    e, m = _split_counts(c)
    frac = _scaled_log2(m, GLOBAL_BITS)  # up to 2**70: split into two exact int64 halves
    hi = np.floor(np.ldexp(frac, -32))
    lo = (frac - np.ldexp(hi, 32)).astype(np.int64)
    return [(ei << GLOBAL_BITS) + (h << 32) + lw
            for ei, h, lw in zip(e.tolist(), hi.astype(np.int64).tolist(), lo.tolist())]


def log2_fixed_int(c: int) -> int:
    """L[c] for one positive count with :data:`GLOBAL_BITS` fractional bits (a Python int)."""
    return _log2_fixed_ints([int(c)])[0]


def plugin_bits(counts) -> tuple[float, int, int]:
    """Plug-in entropy in bits of host integer counts: ``(h_bits, n, k_occ)``.

    ``h_bits`` is the correctly rounded quotient of the exact integer numerator
    (Python integers, no overflow), so it is exactly 0 for one level and k for
    2**k equally frequent levels. n == 0 gives NaN.
    """
    c = np.asarray(counts, dtype=np.int64).ravel()
    occupied = c[c > 0]
    n = int(occupied.sum())
    if n == 0:
        return float("nan"), 0, 0
    lc = _log2_fixed_ints(np.append(occupied, n))
    num = n * lc[-1] - sum(ci * li for ci, li in zip(occupied.tolist(), lc[:-1]))
    return num / (n << GLOBAL_BITS), n, int(occupied.size)
