"""Numba path of the Ising kernels (NumPy lattices, ``prange`` over rows).

Same spec as :mod:`.reference` (see :mod:`gpuent._kernels.ising`): one Philox call per
4 sites of a phase (8 columns of a row), the threshold table lookup, integer sums for
the observables. Each row first fills a buffer with its Philox words (a loop LLVM
vectorizes), then updates its sites. Compiled lazily on first call (``numba.njit`` is
lazy) and cached on disk (module-level functions, so the cache hits across processes).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from . import CONT_OFFSET, CONT_SCALE, FIXED_SCALE, INT_OFFSET

__all__ = ["KIND", "kernels", "observables", "sweep"]

KIND = {"torus": 0, "edge": 1, "continuous": 2, "block": 3, "symmetric": 4}

_u64 = np.uint64
_M0 = _u64(0xD2511F53)
_M1 = _u64(0xCD9E8D57)
_W0 = _u64(0x9E3779B9)
_W1 = _u64(0xBB67AE85)
_MASK = _u64(0xFFFFFFFF)
_S32 = _u64(32)
_FX = np.float64(FIXED_SCALE)
_CS = np.float64(CONT_SCALE)


def _jit(*args, **kw):
    return nb.njit(*args, cache=True, nogil=True, **kw)


@nb.njit(inline="always")
def _rnd(c0, c1, c2, c3, k0, k1):
    p0 = _M0 * c0
    p1 = _M1 * c2
    return (p1 >> _S32) ^ c1 ^ k0, p1 & _MASK, (p0 >> _S32) ^ c3 ^ k1, p0 & _MASK


# the 10 rounds written out: LLVM then vectorizes loops over counters (AVX2/AVX-512)
@nb.njit(inline="always")
def _philox_inline(c0, c1, c2, c3, k0, k1):
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    c0, c1, c2, c3 = _rnd(c0, c1, c2, c3, k0, k1)
    k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
    return _rnd(c0, c1, c2, c3, k0, k1)


@_jit
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of one counter (uint64 values < 2**32)."""
    return _philox_inline(c0, c1, c2, c3, k0, k1)


@_jit
def _fill_words(wk, groups, c1, c2, c3, k0, k1):
    """The row's Philox words in site order: word t of group g goes to wk[4 g + t]."""
    for g in range(groups):
        o0, o1, o2, o3 = _philox_inline(_u64(g), c1, c2, c3, k0, k1)
        wk[4 * g] = o0
        wk[4 * g + 1] = o1
        wk[4 * g + 2] = o2
        wk[4 * g + 3] = o3


@_jit
def _row3(s, a, r, jl, j, jr):
    return (np.int64(s[r, jl] == a[r, jl]) + np.int64(s[r, j] == a[r, j])
            + np.int64(s[r, jr] == a[r, jr]))


# Site updates on the flat lattice: row offsets ou, oc, od (row above, this row, row below)
# and column indices are unsigned, so no negative-index wraparound code. Every decision is
# branch-free (a select, then an unconditional store), and only the first and last sites
# of a row take the wrapped column neighbours: elsewhere jl = j - 1, jr = j + 1.
# The new spin is the old one times sg[accepted] (sg = [1, -1], an array in memory): LLVM
# cannot turn a product with a loaded value into a select, which it may compile to a branch
# that mispredicts at every other site near beta_c.
@nb.njit(inline="always")
def _site_torus(s, a, ou, oc, od, j, jl, jr, word, thr, eidx, sg):
    si = np.int32(s[oc + j])
    nbs = (np.int32(s[ou + j]) + np.int32(s[od + j]) + np.int32(s[oc + jl])
           + np.int32(s[oc + jr]))
    s[oc + j] = si * sg[np.uint64(word < thr[np.uint64(2 * si * nbs + INT_OFFSET)])]


@nb.njit(inline="always")
def _site_edge(s, a, ou, oc, od, j, jl, jr, word, thr, eidx, sg):
    si = np.int32(s[oc + j])
    nbs = (np.int32(a[ou + j]) * np.int32(s[ou + j]) + np.int32(a[od + j]) * np.int32(s[od + j])
           + np.int32(a[oc + jl]) * np.int32(s[oc + jl])
           + np.int32(a[oc + jr]) * np.int32(s[oc + jr]))
    bond = 2 * si * nbs + INT_OFFSET
    idx = bond if a[oc + j] == 1 else eidx
    s[oc + j] = si * sg[np.uint64(word < thr[np.uint64(idx)])]


@nb.njit(inline="always")
def _site_cont(s, a, ou, oc, od, j, jl, jr, word, thr, eidx, sg):
    """float32 arithmetic in the spec's order; dE rounded on the 1/256 grid."""
    sf = s[oc + j]
    nu = s[ou + j]
    nd = s[od + j]
    nl = s[oc + jl]
    nr = s[oc + jr]
    de = (((abs(sf + nu) - abs(sf - nu)) + (abs(sf + nd) - abs(sf - nd)))
          + (abs(sf + nl) - abs(sf - nl))) + (abs(sf + nr) - abs(sf - nr))
    q = np.int64(np.floor(np.float64(de) * _CS + 0.5)) + CONT_OFFSET
    q = min(max(q, 0), 2 * CONT_OFFSET)
    s[oc + j] = sf * sg[np.uint64(word < thr[np.uint64(q)])]  # exact: sf or -sf


@nb.njit(inline="always")
def _site_metric(sc, ac, j, c, word, thr, symmetric, sg):
    """``c``: agreements in the 3x3 window (symmetric energy; unused for block)."""
    si = np.int32(sc[j])
    eq = np.int64(si == ac[j])
    if symmetric:
        c1 = c + 1 - 2 * eq
        de = abs(2 * c - 9) - abs(2 * c1 - 9)
    else:  # block: c - c1 = 2 eq - 1, the window cancels
        de = 2 * eq - 1
    sc[j] = si * sg[np.uint64(word < thr[np.uint64(de + INT_OFFSET)])]


# One row of one phase per kind (the site function is fixed in each, so it is inlined):
# site j = start + 2 k takes word k. _bounds gives the sites whose column neighbours need
# no wrap: k in [lo, hi).
@nb.njit(inline="always")
def _bounds(start, w):
    nk = (w - start + 1) // 2
    lo = min(1 - start, nk)
    hi = max((w - 2 - start) // 2 + 1, lo) if w >= 2 + start else lo
    return nk, lo, min(hi, nk)


@nb.njit(inline="always")
def _wrap(j, w):
    return np.uint64(j - 1 if j > 0 else w - 1), np.uint64(j + 1 if j < w - 1 else 0)


@nb.njit(inline="always")
def _row_sites(site, s, a, i, up, dn, start, w, wk, thr, eidx, sg):
    sf = s.reshape(s.size)
    af = a.reshape(a.size)
    uw = np.uint64(w)
    ou = np.uint64(up) * uw
    oc = np.uint64(i) * uw
    od = np.uint64(dn) * uw
    nk, lo, hi = _bounds(start, w)
    one = np.uint64(1)
    two = np.uint64(2)
    j = np.uint64(start) + two * np.uint64(lo)
    for k in range(np.uint64(lo), np.uint64(hi)):
        site(sf, af, ou, oc, od, j, j - one, j + one, wk[k], thr, eidx, sg)
        j += two
    for k in range(0, lo):
        jj = start + 2 * k
        jl, jr = _wrap(jj, w)
        site(sf, af, ou, oc, od, np.uint64(jj), jl, jr, wk[np.uint64(k)], thr, eidx, sg)
    for k in range(hi, nk):
        jj = start + 2 * k
        jl, jr = _wrap(jj, w)
        site(sf, af, ou, oc, od, np.uint64(jj), jl, jr, wk[np.uint64(k)], thr, eidx, sg)


@_jit
def _row_torus(s, a, i, start, up, dn, w, wk, thr, eidx, sg):
    _row_sites(_site_torus, s, s, i, up, dn, start, w, wk, thr, eidx, sg)


@_jit
def _row_edge(s, a, i, start, up, dn, w, wk, thr, eidx, sg):
    _row_sites(_site_edge, s, a, i, up, dn, start, w, wk, thr, eidx, sg)


@_jit
def _row_cont(s, a, i, start, up, dn, w, wk, thr, eidx, sg):
    _row_sites(_site_cont, s, s, i, up, dn, start, w, wk, thr, eidx, sg)


@_jit
def _row_metric(s, a, i, start, up, dn, w, wk, thr, symmetric, cs, sg):
    """Four-phase metric row. The symmetric energy takes the 3x3 agreement as three
    column sums ``cs[j + 1]`` (column j of rows up, i, dn; cs[0] and cs[w + 1] wrap),
    summed once per row before any update: sites of one phase are two columns apart, so
    none lies in another's window and the sums stay exact while the row updates."""
    nk = (w - start + 1) // 2
    sc = s[i]
    ac = a[i]
    if symmetric:
        su = s[up]
        sd = s[dn]
        au = a[up]
        ad = a[dn]
        for j in range(w):
            uj = np.uint64(j)
            cs[uj + np.uint64(1)] = (np.int32(su[uj] == au[uj]) + np.int32(sc[uj] == ac[uj])
                                     + np.int32(sd[uj] == ad[uj]))
        cs[0] = cs[w]
        for k in range(nk):
            jj = start + 2 * k
            j = np.uint64(jj)
            if jj == w - 1:
                # column 0 wraps in; for odd w the site at j = 0 (same phase) has moved
                cs[w + 1] = (np.int32(su[0] == au[0]) + np.int32(sc[0] == ac[0])
                             + np.int32(sd[0] == ad[0]))
            c = (np.int64(cs[j]) + np.int64(cs[j + np.uint64(1)])
                 + np.int64(cs[j + np.uint64(2)]))
            _site_metric(sc, ac, j, c, wk[k], thr, True, sg)
    else:
        for k in range(nk):
            _site_metric(sc, ac, np.uint64(start + 2 * k), 0, wk[k], thr, False, sg)


@_jit(parallel=True)
def _sweep(kind, s, aux, k0, k1, sweep_index, thr, eidx):
    h, w = s.shape
    groups = (w + 7) // 8
    four = kind >= 3
    c2 = _u64(sweep_index) & _MASK
    nrows = h // 2 if four else h
    nchunks = min(nrows, 64)
    for phase in range(4 if four else 2):
        c3 = _u64(phase)
        for chunk in prange(nchunks):
            wk = np.empty(4 * groups, np.uint32)
            cs = np.empty(w + 2, np.int32)
            sg = np.ones(2, np.int32)
            sg[1] = -1
            sgf = np.ones(2, np.float32)
            sgf[1] = -1
            r0 = chunk * nrows // nchunks
            r1 = (chunk + 1) * nrows // nchunks
            for ii in range(r0, r1):
                if four:
                    i = 2 * ii + (phase >> 1)
                    start = phase & 1
                else:
                    i = ii
                    start = (i + phase) & 1
                up = i - 1 if i > 0 else h - 1
                dn = i + 1 if i < h - 1 else 0
                _fill_words(wk, groups, _u64(i), c2, c3, k0, k1)
                if kind == 0:  # the kind is chosen per row, never per site
                    _row_torus(s, aux, i, start, up, dn, w, wk, thr, eidx, sg)
                elif kind == 1:
                    _row_edge(s, aux, i, start, up, dn, w, wk, thr, eidx, sg)
                elif kind == 2:
                    _row_cont(s, aux, i, start, up, dn, w, wk, thr, eidx, sgf)
                else:
                    _row_metric(s, aux, i, start, up, dn, w, wk, thr, kind == 4, cs, sg)


@_jit(parallel=True)
def _obs_int(s, aux, edge):
    h, w = s.shape
    e = 0
    m = 0
    for i in prange(h):
        dn = i + 1 if i < h - 1 else 0
        er = 0
        mr = 0
        for j in range(w):
            jr = j + 1 if j < w - 1 else 0
            si = np.int64(s[i, j])
            if edge:
                si2 = si * aux[i, j]
                er -= si2 * (np.int64(s[dn, j] * aux[dn, j]) + np.int64(s[i, jr] * aux[i, jr]))
            else:
                er -= si * (np.int64(s[dn, j]) + np.int64(s[i, jr]))
            mr += si
        e += er
        m += mr
    return e, m


@_jit(parallel=True)
def _obs_cont(s):
    h, w = s.shape
    e = 0
    m = 0
    for i in prange(h):
        dn = i + 1 if i < h - 1 else 0
        er = 0
        mr = 0
        for j in range(w):
            jr = j + 1 if j < w - 1 else 0
            si = s[i, j]
            er += np.int64(np.floor(np.float64(abs(si - s[dn, j])) * _FX + 0.5))
            er += np.int64(np.floor(np.float64(abs(si - s[i, jr])) * _FX + 0.5))
            mr += np.int64(np.floor(np.float64(si) * _FX + 0.5))
        e += er
        m += mr
    return e - 2 * h * w * FIXED_SCALE, m


@_jit(parallel=True)
def _obs_metric(s, a, symmetric):
    h, w = s.shape
    e = 0
    m = 0
    for i in prange(h):
        up = i - 1 if i > 0 else h - 1
        dn = i + 1 if i < h - 1 else 0
        er = 0
        mr = 0
        for j in range(w):
            jl = j - 1 if j > 0 else w - 1
            jr = j + 1 if j < w - 1 else 0
            c = (_row3(s, a, up, jl, j, jr) + _row3(s, a, i, jl, j, jr)
                 + _row3(s, a, dn, jl, j, jr))
            if symmetric:
                er -= abs(2 * c - 9)
            else:
                er -= c
            mr += np.int64(s[i, j])
        e += er
        m += mr
    return e, m


def kernels():
    """The Numba kernels by name (compiled on first call, cached on disk)."""
    return {"philox": philox, "sweep": _sweep, "obs_int": _obs_int, "obs_cont": _obs_cont,
            "obs_metric": _obs_metric}


_DUMMY = np.zeros((1, 1), np.int8)


def _call(kernel, args, kind):
    """``kernel(*args)``, compiling (or loading from the cache) its signature first: a real
    compile says so on stderr, and its time is kept out of the reported speeds."""
    from .._numba import ensure_compiled

    ensure_compiled(kernel, args, f"Ising {kind} lattices")
    return kernel(*args)


def sweep(kind, s, aux, sweep_index: int, key, table, edge_index: int = INT_OFFSET):
    """One sweep in place (NumPy lattice ``s``)."""
    _call(_sweep, (KIND[kind], s, _DUMMY if aux is None else aux, _u64(key[0]), _u64(key[1]),
                   sweep_index, table, edge_index), kind)


def observables(kind, s, aux):
    """Integer sums ``(energy, spin)``, as :func:`.reference.observables`."""
    if kind == "continuous":
        e, m = _call(_obs_cont, (s,), kind)
    elif kind in ("torus", "edge"):
        e, m = _call(_obs_int, (s, _DUMMY if aux is None else aux, kind == "edge"), kind)
    else:
        e, m = _call(_obs_metric, (s, aux, kind == "symmetric"), kind)
    return int(e), int(m)
