"""Array-API reference path of the Ising kernels: the spec of :mod:`gpuent._kernels.ising`
made executable. Written only against the array API standard (NumPy, CuPy,
array-api-strict); simple beats fast.

Model kinds and their energy change ``dE`` for flipping ``s -> -s`` at a site
(``u, d, l, r`` are the wrapped neighbours at ``i-1, i+1, j-1, j+1``):

``"torus"``      ``dE = 2 s (u + d + l + r)``                      (int8 spins)
``"continuous"`` ``dE = ((t(u) + t(d)) + t(l)) + t(r)``, ``t(n) = |s + n| - |s - n|``,
                 each operation in float32                          (float32 spins)
``"edge"``       ``dE = 2 s (w_u u + w_d d + w_l l + w_r r)`` on a site with ``w = 1``;
                 ``w = 0`` marks an edge pixel: its own ``dE`` is 0 (index ``edge_index``)
``"block"``      metric model, ``dE = c0 - c1``                     (notebook ``ienergy``)
``"symmetric"``  metric model, ``dE = |2 c0 - 9| - |2 c1 - 9|``     (notebook ``sienergy``)

where ``c0`` counts the cells of the wrapped 3x3 window centred on the site whose
spin equals the initial image's, and ``c1 = c0 + 1 - 2 a`` (``a``: the centre agrees).
"""

from __future__ import annotations

from . import (
    CONT_OFFSET,
    CONT_SCALE,
    FIXED_SCALE,
    INT_OFFSET,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
)

__all__ = ["FOUR_PHASE", "observables", "philox4x32_10", "site_words", "sweep"]

FOUR_PHASE = ("block", "symmetric")
_MASK = 0xFFFFFFFF


def _mulhilo(xp, a, m):
    p = xp.astype(a, xp.uint64) * m
    return xp.astype(p >> 32, xp.uint32), xp.astype(p & _MASK, xp.uint32)


def philox4x32_10(xp, c0, c1, c2, c3, k0: int, k1: int):
    """Philox4x32-10 of uint32 counter arrays (same shape) and a key of two ints."""
    for rnd in range(10):
        if rnd:
            k0 = (k0 + PHILOX_W0) & _MASK
            k1 = (k1 + PHILOX_W1) & _MASK
        hi0, lo0 = _mulhilo(xp, c0, PHILOX_M0)
        hi1, lo1 = _mulhilo(xp, c2, PHILOX_M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def site_words(xp, shape, sweep: int, phase: int, key, device=None):
    """The 32-bit word of every site for (sweep, phase), as a (H, W) uint32 array."""
    h, w = shape
    groups = (w + 7) // 8
    c0 = xp.reshape(xp.arange(groups, dtype=xp.uint32, device=device), (1, groups))
    c1 = xp.reshape(xp.arange(h, dtype=xp.uint32, device=device), (h, 1))
    c0, c1 = xp.broadcast_arrays(c0, c1)
    c2 = xp.full((h, groups), sweep & _MASK, dtype=xp.uint32, device=device)
    c3 = xp.full((h, groups), phase, dtype=xp.uint32, device=device)
    out = philox4x32_10(xp, c0, c1, c2, c3, *key)
    flat = xp.reshape(xp.stack(out, axis=-1), (h, groups * 4))  # column 4 g + word
    j = xp.arange(w, dtype=xp.int64, device=device)
    col = (j >> 3) * 4 + ((j >> 1) & 3)
    return xp.take(flat, col, axis=1)


def _phase_mask(xp, shape, phase: int, four: bool, device=None):
    h, w = shape
    i = xp.reshape(xp.arange(h, dtype=xp.int64, device=device), (h, 1))
    j = xp.reshape(xp.arange(w, dtype=xp.int64, device=device), (1, w))
    if four:
        return ((i & 1) * 2 + (j & 1)) == phase
    return ((i + j) & 1) == phase


def _nbrs(xp, a):
    """Wrapped neighbours (up, down, left, right) = values at i-1, i+1, j-1, j+1."""
    return (xp.roll(a, 1, axis=0), xp.roll(a, -1, axis=0),
            xp.roll(a, 1, axis=1), xp.roll(a, -1, axis=1))


def _window_count(xp, eq):
    c = xp.zeros(eq.shape, dtype=xp.int32, device=_device(eq))
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            c = c + xp.roll(xp.roll(eq, -di, axis=0), -dj, axis=1)
    return c


def _device(x):
    return getattr(x, "device", None)


def _index(xp, kind, s, aux, edge_index: int):
    """Table index of every site's flip (int64 array)."""
    if kind == "continuous":
        u, d, l, r = _nbrs(xp, s)
        de = (((xp.abs(s + u) - xp.abs(s - u)) + (xp.abs(s + d) - xp.abs(s - d)))
              + (xp.abs(s + l) - xp.abs(s - l))) + (xp.abs(s + r) - xp.abs(s - r))
        q = xp.floor(xp.astype(de, xp.float64) * CONT_SCALE + 0.5)
        idx = xp.astype(q, xp.int64) + CONT_OFFSET
        return xp.clip(idx, 0, 2 * CONT_OFFSET)
    si = xp.astype(s, xp.int64)
    if kind == "torus":
        u, d, l, r = _nbrs(xp, si)
        return 2 * si * (((u + d) + l) + r) + INT_OFFSET
    if kind == "edge":
        wi = xp.astype(aux, xp.int64)
        u, d, l, r = _nbrs(xp, wi * si)
        de = 2 * si * (((u + d) + l) + r)
        return xp.where(wi == 1, de + INT_OFFSET, xp.full(de.shape, edge_index, dtype=xp.int64,
                                                             device=_device(de)))
    eq = xp.astype(s == aux, xp.int64)
    c0 = xp.astype(_window_count(xp, eq), xp.int64)
    c1 = c0 + 1 - 2 * eq
    if kind == "block":
        return (c0 - c1) + INT_OFFSET
    if kind == "symmetric":
        return (xp.abs(2 * c0 - 9) - xp.abs(2 * c1 - 9)) + INT_OFFSET
    raise ValueError(f"unknown model kind {kind!r}")


def sweep(xp, kind, s, aux, sweep_index: int, key, table, edge_index: int = INT_OFFSET):
    """One sweep (all colour phases) of lattice ``s``; returns the new lattice.

    ``table`` is the uint64 threshold table of this sweep's beta, in namespace ``xp``.
    """
    four = kind in FOUR_PHASE
    dev = _device(s)
    for phase in range(4 if four else 2):
        words = site_words(xp, s.shape, sweep_index, phase, key, device=dev)
        idx = _index(xp, kind, s, aux, edge_index)
        thr = xp.reshape(xp.take(table, xp.reshape(idx, (-1,))), s.shape)
        flip = _phase_mask(xp, s.shape, phase, four, device=dev) & (
            xp.astype(words, xp.uint64) < thr)
        s = xp.where(flip, -s, s)
    return s


def _fixed(xp, x):
    """float32 array -> int64 multiples of 2**-24 (round half up), exactly."""
    return xp.astype(xp.floor(xp.astype(x, xp.float64) * FIXED_SCALE + 0.5), xp.int64)


def observables(xp, kind, s, aux):
    """Integer sums ``(energy, spin)`` of the lattice (Python ints).

    Energy per spin is ``energy / N`` (``/ 2**24`` more for continuous spins), mean spin
    ``spin / N`` (likewise). Energies: binary torus ``-sum s_i s_j`` over bonds; edge the same
    over bonds between two non-edge pixels; continuous ``sum (|s_i - s_j| - 1)`` over bonds;
    metric the sum of every site's notebook energy (``-c`` block, ``-|2c - 9|`` symmetric).
    """
    if kind == "continuous":
        dn = xp.roll(s, -1, axis=0)
        rt = xp.roll(s, -1, axis=1)
        e = xp.sum(_fixed(xp, xp.abs(s - dn))) + xp.sum(_fixed(xp, xp.abs(s - rt)))
        n = s.shape[0] * s.shape[1]
        return int(e) - 2 * n * FIXED_SCALE, int(xp.sum(_fixed(xp, s)))
    si = xp.astype(s, xp.int64)
    m = int(xp.sum(si))
    if kind in ("torus", "edge"):
        if kind == "edge":
            si = si * xp.astype(aux, xp.int64)
        e = -xp.sum(si * (xp.roll(si, -1, axis=0) + xp.roll(si, -1, axis=1)))
        return int(e), m
    c = xp.astype(_window_count(xp, xp.astype(s == aux, xp.int64)), xp.int64)
    if kind == "block":
        return -int(xp.sum(c)), m
    return -int(xp.sum(xp.abs(2 * c - 9))), m
