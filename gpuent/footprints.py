"""Window shapes (footprints) by name, for the CLI and for users."""

from __future__ import annotations

import numbers
import re

import numpy as np

from ._memory import check_allocation, nbytes_of
from ._validate import ParameterValueError

__all__ = ["ball", "cube", "diamond", "disk", "parse_footprint", "rectangle", "square"]

#: footprint names for ``parse_footprint`` (and the CLI's ``--footprint``)
SPECS_2D = "disk:R, square:R, diamond:R or rect:HxW"
SPECS_3D = "ball:R or cube:R"


def _radius(r, name="radius", ndim=2, low=0):
    """A non-negative integer radius (or side) whose footprint fits in memory."""
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {r!r}")
    if not isinstance(r, numbers.Integral):
        if not (np.isfinite(r) and float(r).is_integer()):
            raise TypeError(f"{name} must be an integer, got {r!r}")
    r = int(r)
    if r < low:
        raise ValueError(f"{name} must be >= {low}, got {r}")
    side = 2 * r + 1 if name == "radius" else r
    # the mgrid coordinates (int64, one per axis) dominate
    check_allocation(nbytes_of((side,) * ndim, 8 * (ndim + 1)), f"a footprint of {name} {r}",
                     "use a smaller window")
    return r


def disk(radius: int) -> np.ndarray:
    """Boolean disk: pixels with x^2 + y^2 <= r^2 (as ``skimage.morphology.disk``)."""
    r = _radius(radius)
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return x * x + y * y <= r * r


def diamond(radius: int) -> np.ndarray:
    """Boolean diamond: ``|x| + |y| <= r``."""
    r = _radius(radius)
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return np.abs(x) + np.abs(y) <= r


def square(radius: int) -> np.ndarray:
    """The (2r+1)-box, the same window as ``radius=r``."""
    return np.ones((2 * _radius(radius) + 1,) * 2, dtype=bool)


def ball(radius: int) -> np.ndarray:
    """Boolean 3-D ball: voxels with x^2 + y^2 + z^2 <= r^2 (as ``skimage.morphology.ball``)."""
    r = _radius(radius, ndim=3)
    z, y, x = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1]
    return x * x + y * y + z * z <= r * r


def cube(radius: int) -> np.ndarray:
    """The 3-D (2r+1)-box, the same window as ``radius=r`` on a volume."""
    return np.ones((2 * _radius(radius, ndim=3) + 1,) * 3, dtype=bool)


def rectangle(height: int, width: int) -> np.ndarray:
    """A height x width box; both sides must be odd."""
    h, w = _radius(height, "height", 1, low=1), _radius(width, "width", 1, low=1)
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(f"rectangle {h}x{w} needs odd sides")
    check_allocation(h * w, f"a {h}x{w} footprint", "use a smaller window")
    return np.ones((h, w), dtype=bool)


_SPEC = re.compile(r"^(disk|square|diamond|ball|cube):(\d+)$|^rect:(\d+)x(\d+)$")
_BY_NAME = {"disk": disk, "square": square, "diamond": diamond, "ball": ball, "cube": cube}


def parse_footprint(spec: str) -> np.ndarray:
    """A footprint by name: ``"disk:R"``, ``"square:R"``, ``"diamond:R"``, ``"rect:HxW"``
    (2-D) or ``"ball:R"``, ``"cube:R"`` (3-D), as a boolean array."""
    if not isinstance(spec, str):
        raise TypeError(f"footprint spec must be a string such as 'disk:3', got {spec!r}")
    m = _SPEC.match(spec.strip().lower())
    if not m:
        raise ParameterValueError("{footprint} {spec} not understood; use {two} (2-D) or "
                                  "{three} (3-D)", spec=repr(spec), two=SPECS_2D,
                                  three=SPECS_3D)
    if m.group(1):
        return _BY_NAME[m.group(1)](int(m.group(2)))
    h, w = int(m.group(3)), int(m.group(4))
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(f"rect:{h}x{w} needs odd sides")
    return rectangle(h, w)
