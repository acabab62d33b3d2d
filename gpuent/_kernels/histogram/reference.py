"""The array-API reference path of windowed histograms: the specification made executable.

Only array-API standard functions are used, so it runs on NumPy, CuPy and
array-api-strict. It is deliberately simple and slow (O(N^2) array operations
for an N-pixel footprint): for each footprint offset j it counts how many
counted pixels of the window share the level of pixel j, and adds the table
entry g(c) once per level, at the first offset where the level occurs. The
integer sums and the finish are those of :mod:`.spec`, so the result is bit
for bit that of the fast paths.
"""

from __future__ import annotations

import numpy as np

from .spec import KIND_BITS, KIND_ENTROPY, WindowPlan

__all__ = ["windowed_reference"]


def _pad(xp, levels, valid, plan: WindowPlan):
    """Gather the padded level and validity arrays through the plan's index maps."""
    lv = xp.astype(levels, xp.int64)
    ok = xp.ones(lv.shape, dtype=xp.bool) if valid is None else valid
    ndim = lv.ndim
    for axis, idx in enumerate(plan.index_maps):
        inside = idx >= 0
        take = xp.asarray(np.where(inside, idx, 0), device=_device(lv))
        lv = xp.take(lv, take, axis=axis)
        ok = xp.take(ok, take, axis=axis)
        shape = [1] * ndim
        shape[axis] = idx.shape[0]
        ok = xp.logical_and(ok, xp.reshape(xp.asarray(inside, device=_device(lv)), tuple(shape)))
    return lv, ok


def _device(x):
    return getattr(x, "device", None)


def _window_slices(plan: WindowPlan):
    return [
        tuple(slice(int(o), int(o) + n) for o, n in zip(offset, plan.shape))
        for offset in plan.offsets
    ]


def windowed_sums(xp, levels, valid, plan: WindowPlan):
    """Per pixel: the fixed-point sum S, the count n and the occupied levels K_occ (int64)."""
    lv, ok = _pad(xp, levels, valid, plan)
    slices = _window_slices(plan)
    lvs = [lv[s] for s in slices]
    oks = [ok[s] for s in slices]
    dev = _device(lv)
    n = xp.zeros(plan.shape, dtype=xp.int64, device=dev)
    for o in oks:
        n = n + xp.astype(o, xp.int64)
    table = xp.asarray(plan.table, device=dev)
    row = xp.take(xp.asarray(plan.row_offsets(), device=dev), xp.reshape(n, (-1,)))
    s = xp.zeros(plan.shape, dtype=xp.int64, device=dev)
    kocc = xp.zeros(plan.shape, dtype=xp.int64, device=dev)
    for j in range(len(slices)):
        count = xp.zeros(plan.shape, dtype=xp.int64, device=dev)
        seen = xp.zeros(plan.shape, dtype=xp.bool, device=dev)
        for i in range(len(slices)):
            same = xp.logical_and(lvs[i] == lvs[j], oks[i])
            count = count + xp.astype(same, xp.int64)
            if i < j:
                seen = xp.logical_or(seen, same)
        first = xp.logical_and(oks[j], xp.logical_not(seen))
        term = xp.take(table, row + xp.reshape(count, (-1,)))
        s = s + xp.where(first, xp.reshape(term, plan.shape), 0)
        kocc = kocc + xp.astype(first, xp.int64)
    return s, n, kocc


def windowed_reference(xp, levels, valid, plan: WindowPlan, out_dtype):
    """The windowed map of ``plan`` (estimator entropy, or sum of p f(p)) as ``out_dtype``."""
    s, n, kocc = windowed_sums(xp, levels, valid, plan)
    dev = _device(s)
    x = xp.astype(s, xp.float64) * plan.inv_scale
    if plan.kind == KIND_BITS:
        flat_n = xp.reshape(n, (-1,))
        nl = xp.reshape(xp.take(xp.asarray(plan.nl, device=dev), flat_n), plan.shape)
        one = xp.astype(xp.where(n > 0, n, 1), xp.float64)  # n == 0 ends as NaN below
        h = xp.astype(nl - s, xp.float64) / one * plan.inv_scale
        if plan.miller_madow:
            d = xp.reshape(xp.take(xp.asarray(plan.d, device=dev), flat_n), plan.shape)
            h = h + xp.astype(kocc - 1, xp.float64) / d
        x = h / plan.ln_base
    elif plan.kind == KIND_ENTROPY:
        flat_n = xp.reshape(n, (-1,))
        a = xp.reshape(xp.take(xp.asarray(plan.a, device=dev), flat_n), plan.shape)
        d = xp.reshape(xp.take(xp.asarray(plan.d, device=dev), flat_n), plan.shape)
        d = xp.where(n > 0, d, 1.0)  # n == 0 ends as NaN below; avoid 0/0 warnings
        h = a - (x + plan.b) / d
        if plan.miller_madow:
            twice_n = 2.0 * xp.astype(xp.where(n > 0, n, 1), xp.float64)
            h = h + xp.astype(kocc - 1, xp.float64) / twice_n
        x = h / plan.ln_base
    x = xp.where(n > 0, x, xp.nan)
    return xp.astype(x, out_dtype)
