"""Pixels to histogram levels: the one quantization every path shares.

- bool -> 2 levels; uint8 -> 256 levels.
- other integers -> the value is the level (0 <= value < 65536), K = max + 1
  (as scikit-image's ``n_bins``), unless ``bins`` is given.
- floats need ``bins=K``: level = floor((x - lo) / (hi - lo) * K) clipped to
  [0, K - 1], in float64, with ``value_range=(lo, hi)`` defaulting to the
  image's finite min and max. ``hi == lo`` puts every pixel in level 0.
- NaN pixels, and pixels where ``mask`` is False, are not counted.

Because this runs in the input's namespace with IEEE float64 basic operations
only, NumPy, CuPy and array-api-strict give the same levels.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._validate import MAX_INTEGER_LEVEL, check_bins, check_value_range, dtype_kind

__all__ = ["Levels", "image_levels"]


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


def image_levels(xp, image, *, bins=None, value_range=None, mask=None) -> Levels:
    """Quantize ``image`` (already validated) into integer levels; see the module docstring."""
    bins = check_bins(bins)
    value_range = check_value_range(value_range)
    kind = dtype_kind(image)
    valid = mask
    if kind == "f":
        nan = xp.isnan(image)
        if bool(xp.any(nan)):
            finite = xp.logical_not(nan)
            valid = finite if valid is None else xp.logical_and(valid, finite)
        if bins is None:
            raise ValueError(
                "a floating-point image needs bins=K (the number of intensity levels), "
                "and optionally value_range=(lo, hi)"
            )
        if value_range is None and bool(xp.any(xp.isinf(image))):
            raise ValueError("the image has infinite values; give value_range=(lo, hi) for binning")
    if bins is not None:
        lo, hi = value_range if value_range is not None else _finite_range(xp, image, valid)
        x = xp.astype(image, xp.float64)
        if hi > lo:
            x = xp.floor((x - lo) / (hi - lo) * float(bins))
            if kind == "f":
                x = xp.where(xp.isnan(x), 0.0, x)
            x = xp.clip(x, 0.0, float(bins - 1))
        else:
            x = xp.zeros_like(x)
        return Levels(xp.astype(x, xp.int32), valid, bins, (lo, hi))
    if kind == "b":
        return Levels(xp.astype(image, xp.uint8), valid, 2)
    if image.dtype == xp.uint8:
        return Levels(image, valid, 256)
    lo = int(xp.min(image))
    hi = int(xp.max(image))
    if lo < 0 or hi >= MAX_INTEGER_LEVEL:
        raise ValueError(
            f"integer image values must lie in [0, {MAX_INTEGER_LEVEL}) to be used as levels "
            f"(found {lo}..{hi}); pass bins=K to bin them instead"
        )
    levels = image if image.dtype == xp.uint16 else xp.astype(image, xp.int32)
    return Levels(levels, valid, hi + 1)
