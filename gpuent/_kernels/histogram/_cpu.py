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


# --- the fast path: every pixel valid, a 1-D table, no occupied-level count -------------
# Four neighbouring lines with the same window rows slide together, each with its own
# uint32 histogram: their load-update-store chains are independent, so about four times
# as much work is in flight. Levels are read from the flat image at per-line row offsets
# (unsigned, no wraparound code); the occupied-level count is not kept (Miller-Madow
# takes the general loop). Integer sums are exact in any order, hence the same bits.

_ONE = np.uint64(1)
_LANES = 4  # lines sliding together (2 or 4)
_SKIP = 1  # skip rows whose leaving and entering levels are equal (strided loops)


@numba.njit(cache=True, inline="always")
def _leave(flat, roff, t0, t1, lane, uc, hist, inc, s):
    for t in range(t0, t1):
        v = np.uint64(flat[roff[np.uint64(4 * t + lane)] + uc])
        c = np.uint64(hist[v])
        s -= inc[c - _ONE]
        hist[v] = c - _ONE
    return s


@numba.njit(cache=True, inline="always")
def _enter(flat, roff, t0, t1, lane, uc, hist, inc, s):
    for t in range(t0, t1):
        v = np.uint64(flat[roff[np.uint64(4 * t + lane)] + uc])
        c = np.uint64(hist[v])
        s += inc[c]
        hist[v] = c + _ONE
    return s


@numba.njit(cache=True, inline="always")
def _pair1(flat, roff, t0, t1, ucl, uce, h0, inc, s0):
    for t in range(t0, t1):
        r0 = roff[np.uint64(4 * t)]
        vl = np.uint64(flat[r0 + ucl])
        ve = np.uint64(flat[r0 + uce])
        c = np.uint64(h0[vl])
        s0 -= inc[c - _ONE]
        h0[vl] = c - _ONE
        c = np.uint64(h0[ve])
        s0 += inc[c]
        h0[ve] = c + _ONE
    return s0


@numba.njit(cache=True, inline="always")
def _pair2(flat, roff, t0, t1, ucl, uce, h0, h1, inc, s0, s1):
    for t in range(t0, t1):
        ut = np.uint64(4 * t)
        r0 = roff[ut]
        r1 = roff[ut + _ONE]
        vl0 = np.uint64(flat[r0 + ucl])
        vl1 = np.uint64(flat[r1 + ucl])
        ve0 = np.uint64(flat[r0 + uce])
        ve1 = np.uint64(flat[r1 + uce])
        c0 = np.uint64(h0[vl0])
        c1 = np.uint64(h1[vl1])
        s0 -= inc[c0 - _ONE]
        s1 -= inc[c1 - _ONE]
        h0[vl0] = c0 - _ONE
        h1[vl1] = c1 - _ONE
        c0 = np.uint64(h0[ve0])
        c1 = np.uint64(h1[ve1])
        s0 += inc[c0]
        s1 += inc[c1]
        h0[ve0] = c0 + _ONE
        h1[ve1] = c1 + _ONE
    return s0, s1


@numba.njit(cache=True, inline="always")
def _pair4(flat, roff, t0, t1, ucl, uce, h0, h1, h2, h3, inc, s0, s1, s2, s3):
    for t in range(t0, t1):
        ut = np.uint64(4 * t)
        r0 = roff[ut]
        r1 = roff[ut + np.uint64(1)]
        r2 = roff[ut + np.uint64(2)]
        r3 = roff[ut + np.uint64(3)]
        vl0 = np.uint64(flat[r0 + ucl])
        vl1 = np.uint64(flat[r1 + ucl])
        vl2 = np.uint64(flat[r2 + ucl])
        vl3 = np.uint64(flat[r3 + ucl])
        c0 = np.uint64(h0[vl0])
        c1 = np.uint64(h1[vl1])
        c2 = np.uint64(h2[vl2])
        c3 = np.uint64(h3[vl3])
        s0 -= inc[c0 - _ONE]
        s1 -= inc[c1 - _ONE]
        s2 -= inc[c2 - _ONE]
        s3 -= inc[c3 - _ONE]
        h0[vl0] = c0 - _ONE
        h1[vl1] = c1 - _ONE
        h2[vl2] = c2 - _ONE
        h3[vl3] = c3 - _ONE
        ve0 = np.uint64(flat[r0 + uce])
        ve1 = np.uint64(flat[r1 + uce])
        ve2 = np.uint64(flat[r2 + uce])
        ve3 = np.uint64(flat[r3 + uce])
        c0 = np.uint64(h0[ve0])
        c1 = np.uint64(h1[ve1])
        c2 = np.uint64(h2[ve2])
        c3 = np.uint64(h3[ve3])
        s0 += inc[c0]
        s1 += inc[c1]
        s2 += inc[c2]
        s3 += inc[c3]
        h0[ve0] = c0 + _ONE
        h1[ve1] = c1 + _ONE
        h2[ve2] = c2 + _ONE
        h3[ve3] = c3 + _ONE
    return s0, s1, s2, s3


@numba.njit(cache=True, inline="always")
def _move(h, vl, ve, inc, s):
    """One pixel of level vl leaves, one of level ve enters."""
    c = np.uint64(h[vl])
    s -= inc[c - _ONE]
    h[vl] = c - _ONE
    c = np.uint64(h[ve])
    s += inc[c]
    h[ve] = c + _ONE
    return s


# Consecutive window rows, and lane k's rows are lane 0's moved down k rows (a rectangle
# of rows in the interior of a 2-D image): each row's leaving and entering levels are read
# once for every lane that holds the row, walking down the image (no row-offset table).
# A row whose leaving and entering levels are equal changes nothing and is skipped.
@numba.njit(cache=True, inline="always")
def _strided2(flat, o, uw, cnt, ucl, uce, h0, h1, inc, s0, s1):
    vl = np.uint64(flat[o + ucl])
    ve = np.uint64(flat[o + uce])
    if _SKIP == 0 or vl != ve:
        s0 = _move(h0, vl, ve, inc, s0)
    for _ in range(cnt - 1):
        o += uw
        vl = np.uint64(flat[o + ucl])
        ve = np.uint64(flat[o + uce])
        if _SKIP == 0 or vl != ve:
            s0 = _move(h0, vl, ve, inc, s0)
            s1 = _move(h1, vl, ve, inc, s1)
    o += uw
    vl = np.uint64(flat[o + ucl])
    ve = np.uint64(flat[o + uce])
    if _SKIP == 0 or vl != ve:
        s1 = _move(h1, vl, ve, inc, s1)
    return s0, s1


@numba.njit(cache=True, inline="always")
def _strided4(flat, o, uw, cnt, ucl, uce, h0, h1, h2, h3, inc, s0, s1, s2, s3):
    # rows q = 0 .. cnt + 2 of the band; lane k holds rows k .. k + cnt - 1 (cnt >= 4)
    for q in range(3):
        vl = np.uint64(flat[o + ucl])
        ve = np.uint64(flat[o + uce])
        o += uw
        if _SKIP == 0 or vl != ve:
            s0 = _move(h0, vl, ve, inc, s0)
            if q >= 1:
                s1 = _move(h1, vl, ve, inc, s1)
            if q >= 2:
                s2 = _move(h2, vl, ve, inc, s2)
    for _ in range(cnt - 3):
        vl = np.uint64(flat[o + ucl])
        ve = np.uint64(flat[o + uce])
        o += uw
        if _SKIP == 0 or vl != ve:
            s0 = _move(h0, vl, ve, inc, s0)
            s1 = _move(h1, vl, ve, inc, s1)
            s2 = _move(h2, vl, ve, inc, s2)
            s3 = _move(h3, vl, ve, inc, s3)
    for q in range(3):
        vl = np.uint64(flat[o + ucl])
        ve = np.uint64(flat[o + uce])
        o += uw
        if _SKIP == 0 or vl != ve:
            if q == 0:
                s1 = _move(h1, vl, ve, inc, s1)
            if q <= 1:
                s2 = _move(h2, vl, ve, inc, s2)
            s3 = _move(h3, vl, ve, inc, s3)
    return s0, s1, s2, s3


@numba.njit(cache=True, inline="always")
def _out(s, n, kind, a, d, b, ln_base, inv_scale):
    return finish(s, n, 0, kind, a, d, b, False, ln_base, inv_scale)


@numba.njit(cache=True)
def _fast_lines(levels, first_line, last_line, lead_shape, lead_maps, lead_start, lead_offs,
                col_map, off_u, off_dx, pair_u, pair_start, pair_gl, pair_ge, inc,
                kind, a, d, b, ln_base, inv_scale, nlevels, out):
    nlines, width = out.shape
    npix = off_u.shape[0]
    ngroups = pair_gl.shape[0]
    npairs = pair_u.shape[0]
    flat = levels.reshape(levels.size)
    uwidth = np.uint64(width)
    hists = np.zeros((4, nlevels), np.uint32)
    coords = np.empty(lead_shape.shape[0], np.int64)
    rows = np.empty(lead_offs.shape[0], np.int64)
    wrows = np.empty((4, npix), np.int64)
    prows = np.empty((4, npairs), np.int64)
    pcnts = np.empty((4, ngroups), np.int64)
    roff = np.zeros(4 * npairs, np.uint64)
    gbase = np.zeros(ngroups, np.uint64)
    ns = np.zeros(4, np.int64)
    line = first_line
    while line < last_line:
        # as many lines as possible (_LANES, else 1) with the same window rows count per group
        lanes = 1
        for k in range(_LANES):
            if line + k < last_line:
                setup_line(line + k, lead_shape, lead_maps, lead_start, lead_offs, off_u,
                           pair_u, pair_start, coords, rows, wrows[k], prows[k], pcnts[k])
        if line + _LANES - 1 < last_line:
            lanes = _LANES
            for k in range(1, _LANES):
                for g in range(ngroups):
                    if pcnts[k, g] != pcnts[0, g]:
                        lanes = 1
        for k in range(lanes):
            for g in range(ngroups):
                for t in range(pair_start[g], pair_start[g] + pcnts[0, g]):
                    roff[4 * t + k] = np.uint64(prows[k, t]) * uwidth
        # strided: every group's rows consecutive, lane k's rows lane 0's moved down k
        strided = lanes > 1
        for g in range(ngroups):
            t0 = pair_start[g]
            cnt = pcnts[0, g]
            gbase[g] = roff[4 * t0]
            if cnt < lanes:
                strided = False
            for t in range(t0, t0 + cnt):
                for k in range(lanes):
                    if prows[k, t] != prows[0, t0] + (t - t0) + k:
                        strided = False
        s0 = np.int64(0)
        s1 = np.int64(0)
        s2 = np.int64(0)
        s3 = np.int64(0)
        for k in range(lanes):
            ns[k] = count_window(levels, wrows[k], col_map, off_dx, 0)
            sk, _ = add_window(levels, wrows[k], col_map, off_dx, 0, hists[k], inc, 0, 1)
            out[line + k, 0] = _out(sk, ns[k], kind, a, d, b, ln_base, inv_scale)
            if k == 0:
                s0 = sk
            elif k == 1:
                s1 = sk
            elif k == 2:
                s2 = sk
            else:
                s3 = sk
        h0 = hists[0]
        h1 = hists[1]
        h2 = hists[2]
        h3 = hists[3]
        for x in range(1, width):
            for g in range(ngroups):
                cl = col_map[x - 1 + pair_gl[g]]
                ce = col_map[x + pair_ge[g]]
                t0 = pair_start[g]
                cnt = pcnts[0, g]
                t1 = t0 + cnt
                if cl >= 0 and ce >= 0:
                    if strided and lanes == 2:
                        s0, s1 = _strided2(flat, gbase[g], uwidth, cnt, np.uint64(cl),
                                           np.uint64(ce), h0, h1, inc, s0, s1)
                    elif strided and lanes == 4:
                        s0, s1, s2, s3 = _strided4(flat, gbase[g], uwidth, cnt, np.uint64(cl),
                                                   np.uint64(ce), h0, h1, h2, h3, inc,
                                                   s0, s1, s2, s3)
                    elif lanes == 2:
                        s0, s1 = _pair2(flat, roff, t0, t1, np.uint64(cl), np.uint64(ce), h0, h1,
                                        inc, s0, s1)
                    elif lanes == 4:
                        s0, s1, s2, s3 = _pair4(flat, roff, t0, t1, np.uint64(cl),
                                                np.uint64(ce), h0, h1, h2, h3, inc,
                                                s0, s1, s2, s3)
                    else:
                        s0 = _pair1(flat, roff, t0, t1, np.uint64(cl), np.uint64(ce), h0,
                                    inc, s0)
                    continue
                # clip borders: one side of the window is outside the image
                if cl >= 0:
                    ucl = np.uint64(cl)
                    s0 = _leave(flat, roff, t0, t1, 0, ucl, h0, inc, s0)
                    if lanes >= 2:
                        s1 = _leave(flat, roff, t0, t1, 1, ucl, h1, inc, s1)
                    if lanes == 4:
                        s2 = _leave(flat, roff, t0, t1, 2, ucl, h2, inc, s2)
                        s3 = _leave(flat, roff, t0, t1, 3, ucl, h3, inc, s3)
                    for k in range(lanes):
                        ns[k] -= cnt
                if ce >= 0:
                    uce = np.uint64(ce)
                    s0 = _enter(flat, roff, t0, t1, 0, uce, h0, inc, s0)
                    if lanes >= 2:
                        s1 = _enter(flat, roff, t0, t1, 1, uce, h1, inc, s1)
                    if lanes == 4:
                        s2 = _enter(flat, roff, t0, t1, 2, uce, h2, inc, s2)
                        s3 = _enter(flat, roff, t0, t1, 3, uce, h3, inc, s3)
                    for k in range(lanes):
                        ns[k] += cnt
            out[line, x] = _out(s0, ns[0], kind, a, d, b, ln_base, inv_scale)
            if lanes >= 2:
                out[line + 1, x] = _out(s1, ns[1], kind, a, d, b, ln_base, inv_scale)
            if lanes == 4:
                out[line + 2, x] = _out(s2, ns[2], kind, a, d, b, ln_base, inv_scale)
                out[line + 3, x] = _out(s3, ns[3], kind, a, d, b, ln_base, inv_scale)
        # empty the histograms for the next lines
        for k in range(lanes):
            clear_window(levels, wrows[k], col_map, off_dx, width - 1, hists[k], nlevels)
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


def windowed_cpu(levels, valid, plan: WindowPlan, out_dtype, *, threads=None):
    """Run the sliding kernel on NumPy ``levels`` (and ``valid``) for ``plan``."""
    levels = kernel_levels(levels, valid)
    shape = plan.shape
    width = shape[-1]
    lines = int(np.prod(shape[:-1]))
    lv2 = readonly(np.ascontiguousarray(levels.reshape(lines, width)))
    out = np.empty((lines, width), dtype=np.float64)
    nthreads = threads or numba.get_num_threads()
    nchunks = max(1, min(lines, 8 * nthreads))
    call = (lv2, kernel_arguments(plan, valid is None), out, nchunks)
    ensure_compiled(sliding, call, f"{lv2.dtype} levels")
    sliding(*call)
    out = out.reshape(shape)
    return out if np.dtype(out_dtype) == np.float64 else out.astype(out_dtype)
