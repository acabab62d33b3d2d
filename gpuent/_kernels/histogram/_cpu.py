"""Numba path of windowed histograms: a sliding window, O(r) work per pixel in 2-D.

The image is seen as lines along its last axis (rows in 2-D; rows of every
plane in 3-D). Each parallel chunk of lines keeps one histogram. At the start
of a line the window is filled once; each step along the line removes the
pixels that leave and adds those that enter, keeping

* ``n``: pixels counted, ``kocc``: occupied levels, and
* ``S = sum_k T[c_k]``, updated by table differences ``T[c +- 1] - T[c]``,

so no loop runs over all levels. Tables, boundary maps and the finish come
from :mod:`.spec`; the integer sums equal the reference path's exactly and the
finish repeats its operations in the same order, hence the same bits.

For triangular tables (row n of p f(p)), a step that changes n re-sums the
window (drain and refill, 2N operations); in clip mode that happens only
within r of the left and right borders, and at masked pixels.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from ..._backend import array_namespace
from ..._levels import sentinel_levels
from .._numba import ensure_compiled, readonly
from .spec import WindowPlan, edge_pairs

__all__ = ["SlidingArgs", "kernel_arguments", "windowed_cpu"]

# Indices are cast to unsigned before use: Numba then emits no negative-index
# wraparound code, which made the inner loop about 1.6x slower.


@numba.njit(cache=True, inline="always")
def finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale):
    if n == 0:
        return np.nan
    if kind == 2:  # plug-in / Miller-Madow in bits: a holds the bits of int64 n L[n]
        h = np.float64(a.view(np.int64)[n] - s) / np.float64(n) * inv_scale
        if mm:
            h = h + np.float64(kocc - 1) / d[n]
        return h / ln_base
    x = np.float64(s) * inv_scale
    if kind != 0:
        return x
    h = a[n] - (x + b) / d[n]
    if mm:
        h = h + np.float64(kocc - 1) / (2.0 * np.float64(n))
    return h / ln_base

@numba.njit(cache=True, inline="always")
def compact(rows, group_u, group_start, out_rows, out_count):
    # per group (one column offset), the source rows of its entries that exist
    for g in range(group_start.shape[0] - 1):
        k = group_start[g]
        for t in range(group_start[g], group_start[g + 1]):
            rr = rows[group_u[t]]
            if rr >= 0:
                out_rows[k] = rr
                k += 1
        out_count[g] = k - group_start[g]


@numba.njit(cache=True, inline="always")
def setup_line(line, lead_shape, lead_maps, lead_start, lead_offs, off_u, pair_u, pair_start,
               coords, rows, wrow, prow, pcnt):
    """Source rows of every footprint row for this output line (-1: outside, clip)."""
    nlead = lead_shape.shape[0]
    rem = line
    for ax in range(nlead - 1, -1, -1):
        coords[ax] = rem % lead_shape[ax]
        rem //= lead_shape[ax]
    for u in range(lead_offs.shape[0]):
        src = 0
        stride = 1
        for ax in range(nlead - 1, -1, -1):
            m = lead_maps[lead_start[ax] + coords[ax] + lead_offs[u, ax]]
            if m < 0 or src < 0:
                src = -1
            else:
                src += m * stride
            stride *= lead_shape[ax]
        rows[u] = src
    for t in range(off_u.shape[0]):
        wrow[t] = rows[off_u[t]]
    compact(rows, pair_u, pair_start, prow, pcnt)


@numba.njit(cache=True, inline="always")
def count_window(levels, wrow, col_map, off_dx, x):
    n = 0
    for t in range(wrow.shape[0]):
        rr = wrow[t]
        cc = col_map[x + off_dx[t]]
        if rr >= 0 and cc >= 0 and levels[np.uint64(rr), np.uint64(cc)] >= 0:
            n += 1
    return n


@numba.njit(cache=True, inline="always")
def add_window(levels, wrow, col_map, off_dx, x, hist, inc, o, sign):
    """Add (sign = 1) or remove (sign = -1, sums not kept) the window at x; returns (S, K_occ)."""
    s = np.int64(0)
    kocc = 0
    for t in range(wrow.shape[0]):
        rr = wrow[t]
        cc = col_map[x + off_dx[t]]
        if rr >= 0 and cc >= 0:
            v = levels[np.uint64(rr), np.uint64(cc)]
            if v >= 0:
                c = hist[np.uint64(v)]
                if sign > 0:
                    s += inc[np.uint64(o + c)]
                    kocc += c == 0
                hist[np.uint64(v)] = c + sign
    return s, kocc


@numba.njit(cache=True, inline="always")
def clear_window(levels, wrow, col_map, off_dx, x, hist, nlevels):
    if nlevels <= 2 * wrow.shape[0]:
        hist[:] = 0
    else:
        add_window(levels, wrow, col_map, off_dx, x, hist, hist, 0, -1)


@numba.njit(cache=True, inline="always")
def level_at(levels, rr, cc):
    if cc < 0:
        return np.int64(-1)
    return np.int64(levels[np.uint64(rr), np.uint64(cc)])


_ONE = np.uint64(1)
_FOUR = np.uint64(4)
_SKIP = True  # a row whose leaving and entering levels are equal changes nothing: skipped


@numba.njit(cache=True, inline="always")
def _terms(n, kind, a, d):
    """The per-n numbers of the finish: (int64 NL[n], a[n], float64 divisor)."""
    if n <= 0:
        return np.int64(0), 0.0, 1.0
    if kind == 2:
        return a.view(np.int64)[n], 0.0, np.float64(n)
    if kind == 0:
        return np.int64(0), a[n], d[n]
    return np.int64(0), 0.0, 1.0


@numba.njit(cache=True, inline="always")
def _fin(s, n, kind, nl, an, dn, b, ln_base, inv_scale):
    """:func:`finish` without Miller-Madow, from :func:`_terms` (the same operations)."""
    if n == 0:
        return np.nan
    if kind == 2:
        return np.float64(nl - s) / dn * inv_scale / ln_base
    x = np.float64(s) * inv_scale
    if kind != 0:
        return x
    return (an - (x + b) / dn) / ln_base


@numba.njit(cache=True, inline="always")
def _mv(hist, i, j, inc, s):
    """A pixel leaves the bin at index i and one enters the bin at index j."""
    c = np.uint64(hist[i])
    s -= inc[c - _ONE]
    hist[i] = c - _ONE
    c = np.uint64(hist[j])
    s += inc[c]
    hist[j] = c + _ONE
    return s


@numba.njit(cache=True, inline="always")
def _side(flat, roff, t0, t1, k, uc, hist, inc, s, sign):
    """Lane k's pixels of column uc in rows t0..t1 leave (sign -1) or enter (+1)."""
    uk = np.uint64(k)
    for t in range(t0, t1):
        i = np.uint64(flat[roff[np.uint64(4 * t) + uk] + uc]) * _FOUR + uk
        c = np.uint64(hist[i])
        if sign > 0:
            s += inc[c]
            hist[i] = c + _ONE
        else:
            s -= inc[c - _ONE]
            hist[i] = c - _ONE
    return s


@numba.njit(cache=True, inline="always")
def _border(flat, roff, t0, t1, lanes, cl, ce, hist, inc, s0, s1, s2, s3):
    """A step where one side of the window is outside the image (clip mode)."""
    for sign in (-1, 1):
        c = cl if sign < 0 else ce
        if c < 0:
            continue
        uc = np.uint64(c)
        s0 = _side(flat, roff, t0, t1, 0, uc, hist, inc, s0, sign)
        if lanes == 4:
            s1 = _side(flat, roff, t0, t1, 1, uc, hist, inc, s1, sign)
            s2 = _side(flat, roff, t0, t1, 2, uc, hist, inc, s2, sign)
            s3 = _side(flat, roff, t0, t1, 3, uc, hist, inc, s3, sign)
    return s0, s1, s2, s3


# The fast path: every pixel valid, a 1-D table, no occupied-level count. Four
# neighbouring lines with the same window rows slide together in one interleaved
# histogram (bin 4 v + k is lane k's count of level v, uint32): the four lanes'
# load-update-store chains are independent, so about four times as much work is in
# flight, and one base register serves them all. Integer sums are exact in any order,
# hence the same bits. Each function below slides a block of lines along the whole
# line; it takes its arrays as arguments (no per-pixel reference counting).

@numba.njit(cache=True)
def _slide_strided(flat, hist, inc, roff, col_map, pair_gl, pair_ge, pair_start, gbase, pcnt,
                   uw, line, s0, s1, s2, s3, n, kind, a, d, b, ln_base, inv_scale, out):
    """Four lanes; every group's rows consecutive (at least 3), lane k's lane 0's moved down
    k rows: each row's leaving and entering levels are read once for every lane."""
    width = out.shape[1]
    ngroups = pair_gl.shape[0]
    nl, an, dn = _terms(n, kind, a, d)
    for x in range(1, width):
        for g in range(ngroups):
            cl = col_map[x - 1 + pair_gl[g]]
            ce = col_map[x + pair_ge[g]]
            cnt = pcnt[g]
            if cl < 0 or ce < 0:
                t0 = pair_start[g]
                s0, s1, s2, s3 = _border(flat, roff, t0, t0 + cnt, 4, cl, ce, hist, inc,
                                         s0, s1, s2, s3)
                n += (ce >= 0) * cnt - (cl >= 0) * cnt
                nl, an, dn = _terms(n, kind, a, d)
                continue
            ol = gbase[g] + np.uint64(cl)
            oe = gbase[g] + np.uint64(ce)
            # rows q = 0 .. cnt + 2 of the band; lane k holds rows k .. k + cnt - 1
            i = np.uint64(flat[ol]) * _FOUR
            j = np.uint64(flat[oe]) * _FOUR
            if not _SKIP or i != j:
                s0 = _mv(hist, i, j, inc, s0)
            ol += uw
            oe += uw
            i = np.uint64(flat[ol]) * _FOUR
            j = np.uint64(flat[oe]) * _FOUR
            if not _SKIP or i != j:
                s0 = _mv(hist, i, j, inc, s0)
                s1 = _mv(hist, i + 1, j + 1, inc, s1)
            ol += uw
            oe += uw
            i = np.uint64(flat[ol]) * _FOUR
            j = np.uint64(flat[oe]) * _FOUR
            if not _SKIP or i != j:
                s0 = _mv(hist, i, j, inc, s0)
                s1 = _mv(hist, i + 1, j + 1, inc, s1)
                s2 = _mv(hist, i + 2, j + 2, inc, s2)
            dle = oe - ol
            oend = ol + np.uint64(cnt - 3) * uw
            while ol != oend:
                ol += uw
                i = np.uint64(flat[ol]) * _FOUR
                j = np.uint64(flat[ol + dle]) * _FOUR
                if not _SKIP or i != j:
                    s0 = _mv(hist, i, j, inc, s0)
                    s1 = _mv(hist, i + 1, j + 1, inc, s1)
                    s2 = _mv(hist, i + 2, j + 2, inc, s2)
                    s3 = _mv(hist, i + 3, j + 3, inc, s3)
            oe = ol + dle
            ol += uw
            oe += uw
            i = np.uint64(flat[ol]) * _FOUR
            j = np.uint64(flat[oe]) * _FOUR
            if not _SKIP or i != j:
                s1 = _mv(hist, i + 1, j + 1, inc, s1)
                s2 = _mv(hist, i + 2, j + 2, inc, s2)
                s3 = _mv(hist, i + 3, j + 3, inc, s3)
            ol += uw
            oe += uw
            i = np.uint64(flat[ol]) * _FOUR
            j = np.uint64(flat[oe]) * _FOUR
            if not _SKIP or i != j:
                s2 = _mv(hist, i + 2, j + 2, inc, s2)
                s3 = _mv(hist, i + 3, j + 3, inc, s3)
            ol += uw
            oe += uw
            i = np.uint64(flat[ol]) * _FOUR
            j = np.uint64(flat[oe]) * _FOUR
            if not _SKIP or i != j:
                s3 = _mv(hist, i + 3, j + 3, inc, s3)
        out[line, x] = _fin(s0, n, kind, nl, an, dn, b, ln_base, inv_scale)
        out[line + 1, x] = _fin(s1, n, kind, nl, an, dn, b, ln_base, inv_scale)
        out[line + 2, x] = _fin(s2, n, kind, nl, an, dn, b, ln_base, inv_scale)
        out[line + 3, x] = _fin(s3, n, kind, nl, an, dn, b, ln_base, inv_scale)


@numba.njit(cache=True)
def _slide_rows(flat, hist, inc, roff, col_map, pair_gl, pair_ge, pair_start, pcnt, lanes,
                line, s0, s1, s2, s3, n, kind, a, d, b, ln_base, inv_scale, out):
    """One lane, or four whose rows are anywhere (row offsets from ``roff``)."""
    width = out.shape[1]
    ngroups = pair_gl.shape[0]
    nl, an, dn = _terms(n, kind, a, d)
    for x in range(1, width):
        for g in range(ngroups):
            cl = col_map[x - 1 + pair_gl[g]]
            ce = col_map[x + pair_ge[g]]
            t0 = pair_start[g]
            cnt = pcnt[g]
            if cl < 0 or ce < 0:
                s0, s1, s2, s3 = _border(flat, roff, t0, t0 + cnt, lanes, cl, ce, hist, inc,
                                         s0, s1, s2, s3)
                n += (ce >= 0) * cnt - (cl >= 0) * cnt
                nl, an, dn = _terms(n, kind, a, d)
                continue
            ucl = np.uint64(cl)
            uce = np.uint64(ce)
            if lanes == 1:
                for t in range(t0, t0 + cnt):
                    r = roff[np.uint64(4 * t)]
                    i = np.uint64(flat[r + ucl]) * _FOUR
                    j = np.uint64(flat[r + uce]) * _FOUR
                    if not _SKIP or i != j:
                        s0 = _mv(hist, i, j, inc, s0)
                continue
            for t in range(t0, t0 + cnt):
                ut = np.uint64(4 * t)
                r0 = roff[ut]
                r1 = roff[ut + np.uint64(1)]
                r2 = roff[ut + np.uint64(2)]
                r3 = roff[ut + np.uint64(3)]
                s0 = _mv(hist, np.uint64(flat[r0 + ucl]) * _FOUR,
                         np.uint64(flat[r0 + uce]) * _FOUR, inc, s0)
                s1 = _mv(hist, np.uint64(flat[r1 + ucl]) * _FOUR + np.uint64(1),
                         np.uint64(flat[r1 + uce]) * _FOUR + np.uint64(1), inc, s1)
                s2 = _mv(hist, np.uint64(flat[r2 + ucl]) * _FOUR + np.uint64(2),
                         np.uint64(flat[r2 + uce]) * _FOUR + np.uint64(2), inc, s2)
                s3 = _mv(hist, np.uint64(flat[r3 + ucl]) * _FOUR + np.uint64(3),
                         np.uint64(flat[r3 + uce]) * _FOUR + np.uint64(3), inc, s3)
        out[line, x] = _fin(s0, n, kind, nl, an, dn, b, ln_base, inv_scale)
        if lanes == 4:
            out[line + 1, x] = _fin(s1, n, kind, nl, an, dn, b, ln_base, inv_scale)
            out[line + 2, x] = _fin(s2, n, kind, nl, an, dn, b, ln_base, inv_scale)
            out[line + 3, x] = _fin(s3, n, kind, nl, an, dn, b, ln_base, inv_scale)


@numba.njit(cache=True, inline="always")
def _window_lane(levels, wrow, col_map, off_dx, x, hist, k, inc, sign):
    """Lane k's window at x enters (sign 1; returns its sum S) or leaves (sign -1)."""
    s = np.int64(0)
    uk = np.uint64(k)
    for t in range(wrow.shape[0]):
        rr = wrow[t]
        cc = col_map[x + off_dx[t]]
        if rr >= 0 and cc >= 0:
            i = np.uint64(levels[np.uint64(rr), np.uint64(cc)]) * _FOUR + uk
            c = np.uint64(hist[i])
            if sign > 0:
                s += inc[c]
                hist[i] = c + _ONE
            else:
                hist[i] = c - _ONE
    return s


@numba.njit(cache=True)
def _fast_lines(levels, first_line, last_line, lead_shape, lead_maps, lead_start, lead_offs,
                col_map, off_u, off_dx, pair_u, pair_start, pair_gl, pair_ge, inc,
                kind, a, d, b, ln_base, inv_scale, nlevels, out):
    nlines, width = out.shape
    npix = off_u.shape[0]
    ngroups = pair_gl.shape[0]
    npairs = pair_u.shape[0]
    flat = levels.reshape(levels.size)
    uwidth = np.uint64(levels.shape[1])  # the row length in memory (>= width: padded)
    hist = np.zeros(4 * nlevels, np.uint32)
    coords = np.empty(lead_shape.shape[0], np.int64)
    rows = np.empty(lead_offs.shape[0], np.int64)
    wrows = np.empty((4, npix), np.int64)
    prows = np.empty((4, npairs), np.int64)
    pcnts = np.empty((4, ngroups), np.int64)
    roff = np.zeros(4 * npairs, np.uint64)
    gbase = np.zeros(ngroups, np.uint64)
    sums = np.zeros(4, np.int64)
    line = first_line
    while line < last_line:
        # four lines at once when they have the same window rows count per group, else one
        for k in range(4):
            if line + k < last_line:
                setup_line(line + k, lead_shape, lead_maps, lead_start, lead_offs, off_u,
                           pair_u, pair_start, coords, rows, wrows[k], prows[k], pcnts[k])
        lanes = 4 if line + 3 < last_line else 1
        if lanes == 4:
            for k in range(1, 4):
                for g in range(ngroups):
                    if pcnts[k, g] != pcnts[0, g]:
                        lanes = 1
        for k in range(lanes):
            for g in range(ngroups):
                for t in range(pair_start[g], pair_start[g] + pcnts[0, g]):
                    roff[4 * t + k] = np.uint64(prows[k, t]) * uwidth
        # strided: every group's rows consecutive, lane k's rows lane 0's moved down k
        strided = lanes == 4
        for g in range(ngroups):
            t0 = pair_start[g]
            cnt = pcnts[0, g]
            gbase[g] = roff[4 * t0]
            if cnt < 3:
                strided = False
            for t in range(t0, t0 + cnt):
                for k in range(lanes):
                    if prows[k, t] != prows[0, t0] + (t - t0) + k:
                        strided = False
        # the window at x = 0; n is the same in every lane (same rows count per group)
        n = count_window(levels, wrows[0], col_map, off_dx, 0)
        nl, an, dn = _terms(n, kind, a, d)
        for k in range(lanes):
            sums[k] = _window_lane(levels, wrows[k], col_map, off_dx, 0, hist, k, inc, 1)
            out[line + k, 0] = _fin(sums[k], n, kind, nl, an, dn, b, ln_base, inv_scale)
        if strided:
            _slide_strided(flat, hist, inc, roff, col_map, pair_gl, pair_ge, pair_start, gbase,
                           pcnts[0], uwidth, line, sums[0], sums[1], sums[2], sums[3], n,
                           kind, a, d, b, ln_base, inv_scale, out)
        else:
            _slide_rows(flat, hist, inc, roff, col_map, pair_gl, pair_ge, pair_start, pcnts[0],
                        lanes, line, sums[0], sums[1], sums[2], sums[3], n, kind, a, d, b,
                        ln_base, inv_scale, out)
        # empty the histogram for the next lines
        if nlevels <= 2 * npix:
            hist[:] = 0
        else:
            for k in range(lanes):
                _window_lane(levels, wrows[k], col_map, off_dx, width - 1, hist, k, inc, -1)
        line += lanes


class SlidingArgs(NamedTuple):
    """The plan structure of :func:`sliding`: everything it reads besides levels and output.

    Built once per request by :func:`kernel_arguments`; the kernel reads its fields by
    name, so this class is the one list of its arguments.
    """

    lead_shape: np.ndarray  # int64: the shape of the axes before the last
    lead_maps: np.ndarray   # int64: their index maps, concatenated (-1: outside)
    lead_start: np.ndarray  # int64: where each axis's map starts in lead_maps
    lead_offs: np.ndarray   # int64 (U, ndim - 1): distinct leading footprint offsets
    col_map: np.ndarray     # int64: index map of the last axis
    off_u: np.ndarray       # int64 (N,): row of lead_offs of each footprint pixel
    off_dx: np.ndarray      # int64 (N,): last-axis offset of each footprint pixel
    pair_u: np.ndarray      # (leave, enter) pairs grouped by (gl, ge): see spec.edge_pairs
    pair_start: np.ndarray
    pair_gl: np.ndarray
    pair_ge: np.ndarray
    inc: np.ndarray         # int64 table increments (plan.increments())
    row_off: np.ndarray     # int64 row starts of a triangular table
    per_n: bool             # triangular table: re-sum when n changes
    kind: int
    a: np.ndarray
    d: np.ndarray
    b: float
    mm: bool                # Miller-Madow
    ln_base: float
    inv_scale: float
    nlevels: int
    all_valid: bool         # every pixel counted (no level is -1)


@numba.njit(parallel=True, cache=True, nogil=True)
def sliding(levels, plan, out, nchunks):
    lead_shape = plan.lead_shape
    lead_maps = plan.lead_maps
    lead_start = plan.lead_start
    lead_offs = plan.lead_offs
    col_map = plan.col_map
    off_u = plan.off_u
    off_dx = plan.off_dx
    pair_u = plan.pair_u
    pair_start = plan.pair_start
    pair_gl = plan.pair_gl
    pair_ge = plan.pair_ge
    inc = plan.inc
    row_off = plan.row_off
    per_n = plan.per_n
    kind = plan.kind
    a = plan.a
    d = plan.d
    b = plan.b
    mm = plan.mm
    ln_base = plan.ln_base
    inv_scale = plan.inv_scale
    nlevels = plan.nlevels
    all_valid = plan.all_valid
    nlines, width = out.shape
    npix = off_u.shape[0]
    ngroups = pair_gl.shape[0]
    fast = all_valid and not per_n and not mm
    for chunk in prange(nchunks):
        first_line = chunk * nlines // nchunks
        last_line = (chunk + 1) * nlines // nchunks
        if fast:
            _fast_lines(levels, first_line, last_line, lead_shape, lead_maps, lead_start,
                        lead_offs, col_map, off_u, off_dx, pair_u, pair_start, pair_gl,
                        pair_ge, inc, kind, a, d, b, ln_base, inv_scale, nlevels, out)
            continue
        hist = np.zeros(nlevels, np.int32)
        hist2 = np.zeros(nlevels, np.int32)
        coords = np.empty(lead_shape.shape[0], np.int64)
        rows = np.empty(lead_offs.shape[0], np.int64)
        wrow = np.empty(npix, np.int64)
        wrow2 = np.empty(npix, np.int64)
        prow = np.empty(pair_u.shape[0], np.int64)
        prow2 = np.empty(pair_u.shape[0], np.int64)
        pcnt = np.empty(ngroups, np.int64)
        pcnt2 = np.empty(ngroups, np.int64)
        line = first_line
        while line < last_line:
            setup_line(line, lead_shape, lead_maps, lead_start, lead_offs, off_u, pair_u,
                       pair_start, coords, rows, wrow, prow, pcnt)
            # Two neighbouring lines slide together when they have the same window rows
            # count: their histogram updates are independent, which doubles the work in
            # flight (each update is a dependent load-store chain on its histogram).
            two = (not per_n) and line + 1 < last_line
            if two:
                setup_line(line + 1, lead_shape, lead_maps, lead_start, lead_offs, off_u,
                           pair_u, pair_start, coords, rows, wrow2, prow2, pcnt2)
                for g in range(ngroups):
                    if pcnt[g] != pcnt2[g]:
                        two = False
            # fill the window at x = 0: count n first (a triangular table needs row n)
            n = count_window(levels, wrow, col_map, off_dx, 0)
            o = row_off[n]
            s, kocc = add_window(levels, wrow, col_map, off_dx, 0, hist, inc, o, 1)
            out[line, 0] = finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale)
            n2 = 0
            s2 = np.int64(0)
            kocc2 = 0
            if two:
                n2 = count_window(levels, wrow2, col_map, off_dx, 0)
                s2, kocc2 = add_window(levels, wrow2, col_map, off_dx, 0, hist2, inc, 0, 1)
                out[line + 1, 0] = finish(s2, n2, kocc2, kind, a, d, b, mm, ln_base, inv_scale)

            for x in range(1, width):
                recount = False
                if per_n:
                    dn = 0
                    for g in range(ngroups):
                        cl = col_map[x - 1 + pair_gl[g]]
                        ce = col_map[x + pair_ge[g]]
                        for t in range(pair_start[g], pair_start[g] + pcnt[g]):
                            rr = prow[t]
                            dn += (level_at(levels, rr, ce) >= 0) - (level_at(levels, rr, cl) >= 0)
                    recount = dn != 0
                # per window row, one pixel leaves and one enters. Removing before adding
                # keeps every count within the table's range; equal levels cancel.
                for g in range(ngroups):
                    cl = col_map[x - 1 + pair_gl[g]]
                    ce = col_map[x + pair_ge[g]]
                    if all_valid and cl >= 0 and ce >= 0:
                        # interior of an image without invalid pixels: n is unchanged and
                        # no pixel needs a validity test
                        ucl = np.uint64(cl)
                        uce = np.uint64(ce)
                        for t in range(pair_start[g], pair_start[g] + pcnt[g]):
                            rr = np.uint64(prow[t])
                            vl = np.uint64(levels[rr, ucl])
                            ve = np.uint64(levels[rr, uce])
                            c = hist[vl]
                            s -= inc[np.uint64(o + c - 1)]
                            hist[vl] = c - 1
                            kocc -= c == 1
                            c = hist[ve]
                            s += inc[np.uint64(o + c)]
                            hist[ve] = c + 1
                            kocc += c == 0
                            if two:
                                rr = np.uint64(prow2[t])
                                vl = np.uint64(levels[rr, ucl])
                                ve = np.uint64(levels[rr, uce])
                                c = hist2[vl]
                                s2 -= inc[np.uint64(c - 1)]
                                hist2[vl] = c - 1
                                kocc2 -= c == 1
                                c = hist2[ve]
                                s2 += inc[np.uint64(c)]
                                hist2[ve] = c + 1
                                kocc2 += c == 0
                        continue
                    for t in range(pair_start[g], pair_start[g] + pcnt[g]):
                        rr = prow[t]
                        vl = level_at(levels, rr, cl)
                        ve = level_at(levels, rr, ce)
                        if vl >= 0:
                            c = hist[np.uint64(vl)]
                            if not recount:
                                s -= inc[np.uint64(o + c - 1)]
                            hist[np.uint64(vl)] = c - 1
                            n -= 1
                            kocc -= c == 1
                        if ve >= 0:
                            c = hist[np.uint64(ve)]
                            if not recount:
                                s += inc[np.uint64(o + c)]
                            hist[np.uint64(ve)] = c + 1
                            n += 1
                            kocc += c == 0
                        if two:
                            rr2 = prow2[t]
                            vl = level_at(levels, rr2, cl)
                            ve = level_at(levels, rr2, ce)
                            if vl >= 0:
                                c = hist2[np.uint64(vl)]
                                s2 -= inc[np.uint64(c - 1)]
                                hist2[np.uint64(vl)] = c - 1
                                n2 -= 1
                                kocc2 -= c == 1
                            if ve >= 0:
                                c = hist2[np.uint64(ve)]
                                s2 += inc[np.uint64(c)]
                                hist2[np.uint64(ve)] = c + 1
                                n2 += 1
                                kocc2 += c == 0
                if recount:
                    # n changed: re-sum the window with row n (drain, then refill)
                    o = row_off[n]
                    add_window(levels, wrow, col_map, off_dx, x, hist, inc, o, -1)
                    s, _ = add_window(levels, wrow, col_map, off_dx, x, hist, inc, o, 1)
                out[line, x] = finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale)
                if two:
                    out[line + 1, x] = finish(s2, n2, kocc2, kind, a, d, b, mm, ln_base,
                                              inv_scale)

            # empty the histograms for the next lines
            clear_window(levels, wrow, col_map, off_dx, width - 1, hist, nlevels)
            if two:
                clear_window(levels, wrow2, col_map, off_dx, width - 1, hist2, nlevels)
                line += 2
            else:
                line += 1


def kernel_arguments(plan: WindowPlan, all_valid: bool = True) -> SlidingArgs:
    """The plan structure of :func:`sliding` for ``plan`` (host arrays and scalars)."""
    lead_offsets = plan.offsets[:, :-1]
    lead_offs, off_u = np.unique(lead_offsets, axis=0, return_inverse=True)
    off_u = np.ascontiguousarray(off_u.reshape(-1).astype(np.int64))
    off_dx = np.ascontiguousarray(plan.offsets[:, -1])
    pair_u, pair_start, pair_gl, pair_ge = edge_pairs(off_u, off_dx)
    lead_maps = plan.index_maps[:-1]
    lead_start = np.cumsum([0] + [m.shape[0] for m in lead_maps])[:-1].astype(np.int64)
    return SlidingArgs(
        lead_shape=np.asarray(plan.shape[:-1], dtype=np.int64),
        lead_maps=np.concatenate(lead_maps).astype(np.int64),
        lead_start=lead_start,
        lead_offs=np.ascontiguousarray(lead_offs.astype(np.int64)),
        col_map=np.ascontiguousarray(plan.index_maps[-1]),
        off_u=off_u, off_dx=off_dx,
        pair_u=pair_u, pair_start=pair_start, pair_gl=pair_gl, pair_ge=pair_ge,
        inc=plan.increments(), row_off=plan.row_offsets(), per_n=bool(plan.triangular),
        kind=int(plan.kind), a=np.ascontiguousarray(plan.a, dtype=np.float64),
        d=np.ascontiguousarray(plan.d, dtype=np.float64), b=float(plan.b),
        mm=bool(plan.miller_madow), ln_base=float(plan.ln_base),
        inv_scale=float(plan.inv_scale), nlevels=int(plan.nlevels),
        all_valid=bool(all_valid),
    )


def kernel_levels(levels, valid):
    """The level array the kernel reads: uint8 as it is, anything else int32 (-1: not counted).

    Two level types, a read-only view and one float64 output cover every call
    with two compiled signatures.
    """
    levels = np.asarray(levels)
    if valid is not None:
        return sentinel_levels(array_namespace(levels), levels, np.asarray(valid))
    if levels.dtype == np.uint8:
        return levels
    return levels.astype(np.int32, copy=False)


def padded_rows(levels):
    """``levels`` (2-D, C order), in rows 64 bytes longer when its rows are a multiple of 256
    bytes long (widths 256, 512, 1024, 2048 ... of 8-bit levels).

    Rows whose length is such a multiple start in at most 16 of the 64 sets of a 32 KiB
    8-way L1 cache, so the column of a window's rows the kernel reads at each step evicts
    itself at r = 7 and beyond; 64 more bytes per row spread consecutive rows over every
    set. The kernels read ``levels[:, :width]`` only (the width of the output).
    """
    lines, width = levels.shape
    if lines < 8 or (width * levels.itemsize) % 256:
        return levels
    extra = 64 // levels.itemsize
    out = np.empty((lines, width + extra), dtype=levels.dtype)
    out[:, :width] = levels
    out[:, width:] = 0
    return out


def windowed_cpu(levels, valid, plan: WindowPlan, out_dtype, *, threads=None):
    """Run the sliding kernel on NumPy ``levels`` (and ``valid``) for ``plan``."""
    levels = kernel_levels(levels, valid)
    shape = plan.shape
    width = shape[-1]
    lines = int(np.prod(shape[:-1]))
    lv2 = readonly(padded_rows(np.ascontiguousarray(levels.reshape(lines, width))))
    out = np.empty((lines, width), dtype=np.float64)
    nthreads = threads or numba.get_num_threads()
    nchunks = max(1, min(lines, 8 * nthreads))
    call = (lv2, kernel_arguments(plan, valid is None), out, nchunks)
    ensure_compiled(sliding, call, f"{lv2.dtype} levels")
    sliding(*call)
    out = out.reshape(shape)
    return out if np.dtype(out_dtype) == np.float64 else out.astype(out_dtype)
