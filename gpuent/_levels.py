"""Pixels to histogram levels: the one quantization every path shares.

- bool -> 2 levels; uint8 -> 256 levels.
- other integers -> the value is the level (0 <= value < 65536), K = max + 1,
  unless ``bins`` is given.
- ``nlevels=K`` (scikit-image's ``n_bins``) sets K for bool and integer images
  whose values are the levels: every value must lie below K. K matters to the
  estimators that know the number of possible levels ("dirichlet": its prior
  spreads over K levels) and to nothing else; without it the same values give a
  different Dirichlet entropy as uint8 (K = 256) and as uint16 (K = max + 1).
- floats need ``bins=K``: level = floor((x - lo) / (hi - lo) * K) clipped to
  [0, K - 1], in float64, with ``value_range=(lo, hi)`` defaulting to the
  image's finite min and max. ``hi == lo`` puts every pixel in level 0.
- NaN pixels, and pixels where ``mask`` is False, are not counted.

Because this runs in the input's namespace with IEEE float64 basic operations
only, NumPy, CuPy and array-api-strict give the same levels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._validate import (
    MAX_INTEGER_LEVEL,
    ParameterValueError,
    check_bins,
    check_nlevels,
    check_value_range,
    dtype_kind,
)

__all__ = ["Levels", "array_stats", "image_levels", "quantize", "resolve_levels",
           "sentinel_levels"]

#: the level of a pixel that is not counted (masked out or NaN) in the kernels' input
NOT_COUNTED = -1


@dataclass
class Levels:
    """Quantized image.

    Attributes
    ----------
    levels : array
        Integer levels in [0, nlevels); the input itself when it is already
        uint8 (no copy), int32 otherwise. Only meaningful where ``valid``.
    valid : array of bool or None
        Pixels that are counted; ``None`` when all are.
    nlevels : int
        K, the number of levels.
    value_range : tuple or None
        (lo, hi) used for binning, or None when no binning was done.
    """

    levels: object
    valid: object
    nlevels: int
    value_range: tuple | None = None


def _finite_range(xp, image, valid):
    x = xp.astype(image, xp.float64)
    ok = xp.isfinite(x)
    if valid is not None:
        ok = xp.logical_and(ok, valid)
    if not bool(xp.any(ok)):
        return 0.0, 0.0
    lo = float(xp.min(xp.where(ok, x, xp.inf)))
    hi = float(xp.max(xp.where(ok, x, -xp.inf)))
    return lo, hi


def array_stats(xp, image, mask=None):
    """The ``stats(need)`` of :func:`resolve_levels` for an array in memory."""

    def stats(need):
        if need == "int":
            return int(xp.min(image)), int(xp.max(image))
        from ._memory import check_map

        # NaN and finite masks, the float64 copy and its masked min/max temporaries
        check_map(image.shape, bytes_per_pixel=26, what="the value range for binning",
                  hint="give value_range=(lo, hi), or use a smaller image")
        valid = mask
        if dtype_kind(image) == "f":
            finite = xp.logical_not(xp.isnan(image))
            valid = finite if valid is None else xp.logical_and(valid, finite)
            any_inf = bool(xp.any(xp.isinf(image)))
        else:
            any_inf = False
        lo, hi = _finite_range(xp, image, valid)
        return lo, hi, any_inf

    return stats


def resolve_levels(kind, is_uint8, *, bins=None, value_range=None, nlevels=None, stats=None):
    """K and the binning range of an image, by the rules of the module docstring.

    ``kind`` is the dtype's letter ('b', 'u', 'i', 'f'); ``stats(need)`` computes
    global facts only when the rules need them: ``"int"`` -> (min, max) of the
    values, ``"range"`` -> (lo, hi, any_inf) over finite counted pixels (lo = hi
    = 0 when there are none). Returns ``(K, value_range)``; ``value_range`` is
    None unless the image is binned.
    """
    bins = check_bins(bins)
    value_range = check_value_range(value_range)
    nlevels = check_nlevels(nlevels)
    if kind == "f" and bins is None:
        raise ParameterValueError(
            "a floating-point image needs {bins=K} to bin its values into K intensity levels "
            "(e.g. {bins=256})"
        )
    if bins is not None:
        if nlevels is not None and nlevels != bins:
            raise ParameterValueError(
                "{bins=" + str(bins) + "} and {nlevels=" + str(nlevels) + "} disagree: "
                "{bins=K} bins the values into K levels, {nlevels=K} sets K for values that "
                "are levels; give one of them")
        if value_range is None:
            lo, hi, any_inf = stats("range")
            if kind == "f" and any_inf:
                raise ParameterValueError(
                    "the image has infinite values: replace them with finite values or NaN "
                    "(NaN pixels are not counted), or give {value_range=(lo, hi)} for binning")
            value_range = (float(lo), float(hi))
        return bins, value_range
    if kind == "b":
        if nlevels is not None and nlevels < 2:
            raise ValueError(f"a boolean image has 2 levels; nlevels must be >= 2, got {nlevels}")
        return (2 if nlevels is None else nlevels), None
    if is_uint8 and nlevels is None:
        return 256, None
    if is_uint8 and nlevels >= 256:
        return nlevels, None
    lo, hi = (int(v) for v in stats("int"))
    limit = MAX_INTEGER_LEVEL if nlevels is None else nlevels
    if lo < 0 or hi >= limit:
        if nlevels is not None:
            raise ParameterValueError(
                "{nlevels=" + str(nlevels) + "} but the image holds values {lo}..{hi}; every "
                "value must lie in [0, {k}), or pass {bins=K} to bin them instead",
                k=nlevels, lo=lo, hi=hi)
        raise ParameterValueError(
            "integer image values must lie in [0, {limit}) to be used as levels "
            "(found {lo}..{hi}); pass {bins=K} to bin them instead",
            limit=MAX_INTEGER_LEVEL, lo=lo, hi=hi)
    return (hi + 1 if nlevels is None else nlevels), None


def quantize(xp, image, nlevels, value_range, *, mask=None) -> Levels:
    """Integer levels of ``image`` for resolved facts (``value_range`` not None: binned)."""
    kind = dtype_kind(image)
    valid = mask
    if kind == "f":
        nan = xp.isnan(image)
        if bool(xp.any(nan)):
            finite = xp.logical_not(nan)
            valid = finite if valid is None else xp.logical_and(valid, finite)
    if value_range is not None:
        lo, hi = value_range
        x = xp.astype(image, xp.float64)
        if hi > lo:
            x = xp.floor((x - lo) / (hi - lo) * float(nlevels))
            if kind == "f":
                x = xp.where(xp.isnan(x), 0.0, x)
            x = xp.clip(x, 0.0, float(nlevels - 1))
        else:
            x = xp.zeros_like(x)
        return Levels(xp.astype(x, xp.int32), valid, nlevels, (lo, hi))
    if kind == "b":
        return Levels(xp.astype(image, xp.uint8), valid, nlevels)
    if image.dtype == xp.uint8 or image.dtype == xp.uint16:
        return Levels(image, valid, nlevels)
    return Levels(xp.astype(image, xp.int32), valid, nlevels)


def image_levels(xp, image, *, bins=None, value_range=None, mask=None, nlevels=None) -> Levels:
    """Quantize ``image`` (already validated) into integer levels; see the module docstring."""
    nlevels, value_range = resolve_levels(
        dtype_kind(image), image.dtype == xp.uint8, bins=bins, value_range=value_range,
        nlevels=nlevels, stats=array_stats(xp, image, mask),
    )
    return quantize(xp, image, nlevels, value_range, mask=mask)


def sentinel_levels(xp, levels, valid):
    """Levels as the fast kernels read them: int32 with :data:`NOT_COUNTED` where not valid.

    Without ``valid`` the levels are returned as they are (uint8, uint16 or int32).
    The one copy of this step: the cpu and cuda launchers both call it, in any array-API
    namespace (NumPy, CuPy, array-api-strict).
    """
    if valid is None:
        return levels
    lv = xp.astype(levels, xp.int32, copy=False)
    return xp.where(valid, lv, xp.asarray(NOT_COUNTED, dtype=xp.int32))
