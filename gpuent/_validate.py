"""Input checks shared by every public function: one place, messages that say what to do."""

from __future__ import annotations

import numbers
import string

import numpy as np

from ._backend import array_namespace
from ._memory import check_allocation, nbytes_of

MODES = ("clip", "reflect", "mirror", "wrap")
ESTIMATORS = ("plugin", "miller-madow", "grassberger", "dirichlet")
MAX_INTEGER_LEVEL = 65536

__all__ = [
    "ESTIMATORS",
    "MODES",
    "ParameterTypeError",
    "ParameterValueError",
    "SpelledError",
    "check_base",
    "UNSET",
    "check_bins",
    "check_channel_axis",
    "check_dtype",
    "check_estimator",
    "check_image",
    "check_mask",
    "check_mode",
    "check_nlevels",
    "check_radii",
    "check_window",
]


class SpelledError(Exception):
    """An error about named parameters that every front end spells its own way.

    ``template`` names each parameter in braces: ``{bins}`` is the parameter,
    ``{bins=K}`` the parameter given a value. Other fields are filled from
    ``values``. ``str()`` spells parameters the Python way (``bins``,
    ``bins=K``); the command line re-spells them as options (``--bins``,
    ``--bins K``) with :meth:`spelled`, so no front end rewrites message text.
    """

    def __init__(self, template, **values):
        self.template = template
        self.values = values
        super().__init__(self.spelled(python_spelling))

    @property
    def parameters(self):
        """The parameter names the message mentions, in order."""
        return [name.partition("=")[0] for name in self._fields() if name not in self.values]

    def _fields(self):
        return [f for _, f, _, _ in string.Formatter().parse(self.template) if f is not None]

    def spelled(self, spell):
        """The message with ``spell(name, value_or_None)`` naming each parameter."""
        parts = []
        for literal, field, spec, _ in string.Formatter().parse(self.template):
            parts.append(literal)
            if field is None:
                continue
            if field in self.values:
                parts.append(format(self.values[field], spec or ""))
            else:
                name, eq, hint = field.partition("=")
                parts.append(spell(name, hint if eq else None))
        return "".join(parts)

    def __reduce__(self):  # picklable (Dask and process pools send errors back)
        return _remake, (type(self), self.template, self.values)


def _remake(cls, template, values):
    return cls(template, **values)


def python_spelling(name, value):
    """``bins`` and ``bins=K``: how the Python API names a parameter."""
    return name if value is None else f"{name}={value}"


class ParameterValueError(SpelledError, ValueError):
    """A ``ValueError`` naming parameters (see :class:`SpelledError`)."""


class ParameterTypeError(SpelledError, TypeError):
    """A ``TypeError`` naming parameters (see :class:`SpelledError`)."""


class _Unset:
    """The default of ``channel_axis``: not given (a (..., 3|4) array may be colour)."""

    def __repr__(self):
        return "<unset>"

    def __reduce__(self):
        return "UNSET"


#: ``channel_axis`` not given
UNSET = _Unset()


def check_channel_axis(channel_axis, ndim, spatial=(2, 3)):
    """The non-negative channel axis of an ``ndim``-D array, or None (no channel axis)."""
    if channel_axis is None or channel_axis is UNSET:
        return None
    if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral):
        raise TypeError(f"channel_axis must be an int or None, got {channel_axis!r}")
    if ndim - 1 not in spatial:
        want = " or ".join(f"{d + 1}-D" for d in spatial)
        raise ParameterValueError(
            "with {channel_axis} the image must be {want} (channels plus {plain}), got {ndim}-D",
            want=want, plain=" or ".join(f"{d}-D" for d in spatial), ndim=ndim)
    if not -ndim <= int(channel_axis) < ndim:
        raise ParameterValueError("{channel_axis} {axis} is out of range for a {ndim}-D image",
                                  axis=channel_axis, ndim=ndim)
    return int(channel_axis) % ndim


def check_image(image, *, ndims=(2,), name="image", guess_channels=True,
                channel_param=False):
    """Return ``(xp, image)`` after checking the image is a non-empty numeric array.

    A 3-D array with 3 or 4 samples on its last axis, given to a function that
    takes 2-D and 3-D images, looks like RGB(A) and is refused unless
    ``guess_channels`` is False (the caller passed ``channel_axis=None``: it is a
    volume). ``channel_param`` says the function takes ``channel_axis``, so the
    message can offer it.

    Raises
    ------
    TypeError
        Not an array, or of a non-numeric dtype.
    ValueError
        Empty, or of a dimension not in ``ndims`` (e.g. an RGB array for a
        2-D function).
    """
    if isinstance(image, (list, tuple)):
        image = np.asarray(image)
    if not hasattr(image, "shape") or not hasattr(image, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(image).__name__}")
    xp = array_namespace(image)
    kind = _dtype_kind(xp, image.dtype)
    if kind not in ("b", "i", "u", "f"):
        raise TypeError(
            f"{name} has dtype {image.dtype}; use a boolean, integer or real floating-point array"
        )
    if guess_channels and image.ndim == 3 and image.shape[-1] in (3, 4) and 3 in ndims \
            and 2 in ndims:
        if channel_param:
            raise ParameterValueError(
                "{name} of shape {shape} may be RGB(A) or a 3-D volume: pass "
                "{channel_axis=-1} for one map per colour channel, or {channel_axis=None} for "
                "a volume (or convert colour to grayscale with gpuent.io.to_grayscale)",
                name=name, shape=tuple(image.shape))
        raise ValueError(
            f"{name} of shape {tuple(image.shape)} looks like RGB(A): convert it to grayscale "
            "(gpuent.io.to_grayscale); a 3-D volume must have more than 4 samples on its last axis"
        )
    if image.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        hint = ""
        if image.ndim == 3 and image.shape[-1] in (3, 4) and 3 not in ndims:
            hint = "; it looks like RGB(A): convert to grayscale first (gpuent.io.to_grayscale)"
        raise ValueError(f"{name} must be {want}, got shape {tuple(image.shape)}{hint}")
    if any(s == 0 for s in image.shape):
        raise ValueError(f"{name} is empty (shape {tuple(image.shape)}); pass an image with pixels")
    return xp, image


def _dtype_kind(xp, dtype) -> str:
    if dtype == xp.bool:
        return "b"
    if xp.isdtype(dtype, "unsigned integer"):
        return "u"
    if xp.isdtype(dtype, "signed integer"):
        return "i"
    if xp.isdtype(dtype, "real floating"):
        return "f"
    return "?"


def dtype_kind(image) -> str:
    """One letter: 'b' bool, 'u' unsigned, 'i' signed, 'f' real float, '?' other."""
    return _dtype_kind(array_namespace(image), image.dtype)


def _check_radius_value(r):
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Integral):
        if isinstance(r, numbers.Real) and float(r).is_integer():
            r = int(r)
        else:
            raise TypeError(f"radius must be a non-negative integer (or one per axis), got {r!r}")
    r = int(r)
    if r < 0:
        raise ValueError(f"radius must be >= 0, got {r}")
    return r


def check_radii(radius, ndim):
    """One non-negative int radius per axis from an int or a sequence of them."""
    if isinstance(radius, (tuple, list, np.ndarray)):
        radii = [_check_radius_value(r) for r in radius]
        if len(radii) != ndim:
            raise ValueError(f"radius has {len(radii)} entries; give one per axis ({ndim})")
        return radii
    return [_check_radius_value(radius)] * ndim


def check_window(radius, footprint, ndim):
    """Return a boolean NumPy footprint with odd sides from ``radius`` or ``footprint``.

    Exactly one of them must be given. ``radius`` is an int or one int per
    axis: the (2r+1)-wide box of the REU notebook's Definition 5.
    """
    if (radius is None) == (footprint is None):
        raise ValueError(
            "give exactly one of radius= (an int, the square (2r+1)-box) or footprint= "
            "(a boolean array with odd sides)"
        )
    if radius is not None:
        side = tuple(2 * r + 1 for r in check_radii(radius, ndim))
        check_allocation(nbytes_of(side, 1), f"a window of radius {radius}",
                         "use a smaller radius")
        return np.ones(side, dtype=bool)
    fp = footprint
    if hasattr(fp, "get"):  # CuPy: the footprint is small, the host needs it for tables
        fp = fp.get()
    fp = np.asarray(fp)
    if fp.ndim != ndim:
        raise ValueError(f"footprint must be {ndim}-D like the image, got shape {fp.shape}"
                         + ("; for a volume use a 3-D footprint such as "
                            "gpuent.footprints.ball(r) or cube(r)" if ndim == 3 else ""))
    if any(s % 2 == 0 for s in fp.shape):
        raise ValueError(
            f"footprint sides must be odd so it has a centre pixel, got shape {fp.shape}; "
            "pad it with a row/column of False"
        )
    if fp.dtype != bool:
        if not np.all((fp == 0) | (fp == 1)):
            raise ValueError("footprint must be boolean (or 0/1)")
        fp = fp.astype(bool)
    if not fp.any():
        raise ValueError("footprint has no True element; it must select at least one pixel")
    return fp


def check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(map(repr, MODES))}")
    return mode


def check_estimator(estimator):
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"unknown estimator {estimator!r}; use one of {', '.join(map(repr, ESTIMATORS))}"
        )
    return estimator


def check_base(base):
    if base is None:
        return float(np.e)
    if base == "e":
        return float(np.e)
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(f"base must be a positive number other than 1 (2 for bits), got {base!r}")
    base = float(base)
    if not base > 0 or base == 1.0 or not np.isfinite(base):
        raise ParameterValueError("{base} must be positive, finite and not 1 (2 for bits), "
                                  "got {value}", value=base)
    return base


def check_bins(bins):
    if bins is None:
        return None
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral):
        raise ParameterTypeError("{bins} must be a positive integer number of levels, got "
                                 "{got}", got=repr(bins))
    bins = int(bins)
    if not 1 <= bins <= MAX_INTEGER_LEVEL:
        raise ParameterValueError("{bins} must be between 1 and {limit}, got {got}",
                                  limit=MAX_INTEGER_LEVEL, got=bins)
    return bins


def check_nlevels(nlevels):
    """K for images whose values are the levels: None (the default rule) or 1..65536."""
    if nlevels is None:
        return None
    if isinstance(nlevels, bool) or not isinstance(nlevels, numbers.Integral):
        raise TypeError(f"nlevels must be a positive integer number of levels, got {nlevels!r}")
    nlevels = int(nlevels)
    if not 1 <= nlevels <= MAX_INTEGER_LEVEL:
        raise ValueError(f"nlevels must be between 1 and {MAX_INTEGER_LEVEL}, got {nlevels}")
    return nlevels


def check_value_range(value_range):
    if value_range is None:
        return None
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise TypeError(f"value_range must be a pair (lo, hi), got {value_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi < lo:
        raise ValueError(f"value_range must be finite with lo <= hi, got {value_range!r}")
    return lo, hi


def check_mask(mask, image, xp):
    """Return the mask as a boolean array of ``xp``, or None."""
    if mask is None:
        return None
    if isinstance(mask, (list, tuple)):
        mask = np.asarray(mask)
    if tuple(mask.shape) != tuple(image.shape):
        raise ValueError(
            f"mask has shape {tuple(mask.shape)} but the image has {tuple(image.shape)}; "
            "give a boolean mask of the image's shape"
        )
    mxp = array_namespace(mask)
    if type(mask).__module__.split(".")[0] != type(image).__module__.split(".")[0]:
        raise TypeError("mask must be an array of the same library (and device) as the image")
    if mask.dtype != mxp.bool:
        mask = mask != 0
    return mask


def check_dtype(dtype, xp):
    """Output dtype: float32 by default; float32 or float64 (as dtype, type or name)."""
    if dtype is None:
        return xp.float32
    for candidate, name in ((xp.float32, "float32"), (xp.float64, "float64")):
        if dtype == candidate or dtype == name:
            return candidate
        try:
            if np.dtype(dtype).name == name:
                return candidate
        except TypeError:
            pass
    raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
