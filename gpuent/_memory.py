"""Memory bounded before allocation: estimate, check against a limit, refuse clearly.

The limit is ``GPUENT_MEMORY_LIMIT`` when set (bytes, or with a unit: ``512M``,
``8G``, ``1.5T``; or a share of the available memory: ``50%``), otherwise half
of the memory available when the check runs. A request above it raises
:class:`MemoryLimitError` (a ``ValueError`` and a ``MemoryError``) before
anything is allocated, instead of letting the system kill the process.
"""

from __future__ import annotations

import os
import re

__all__ = ["MAP_HINT", "MemoryLimitError", "available_memory", "check_allocation",
           "check_map", "memory_limit", "nbytes_of"]

DEFAULT_SHARE = 0.5
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


class MemoryLimitError(ValueError, MemoryError):
    """A request that would allocate more than the memory limit."""


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux; physical memory elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _parse(text: str) -> int:
    s = text.strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*%", s)
    if m:
        share = float(m.group(1)) / 100
        if not 0 < share <= 1:
            raise ValueError
        return int(share * available_memory())
    m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([kmgt]?)i?b?", s)
    if not m:
        raise ValueError
    value = int(float(m.group(1)) * _UNITS[m.group(2)])
    if value <= 0:
        raise ValueError
    return value


def memory_limit() -> int:
    """The limit in bytes: ``GPUENT_MEMORY_LIMIT`` or half of the available memory."""
    text = os.environ.get("GPUENT_MEMORY_LIMIT", "").strip()
    if text:
        try:
            return _parse(text)
        except ValueError:
            raise ValueError(
                f"GPUENT_MEMORY_LIMIT={text!r} not understood; give bytes with an optional "
                "unit (e.g. 512M, 8G) or a share of the available memory (e.g. 50%)") from None
    return int(DEFAULT_SHARE * available_memory())


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def nbytes_of(shape, itemsize: int) -> int:
    """Bytes of an array of ``shape`` (Python ints: no overflow)."""
    n = int(itemsize)
    for s in shape:
        n *= max(int(s), 0)
    return n


def check_allocation(nbytes, what: str, hint: str = "") -> int:
    """Raise :class:`MemoryLimitError` when ``nbytes`` exceeds :func:`memory_limit`.

    Parameters
    ----------
    nbytes : int
        The estimated peak allocation in bytes.
    what : str
        What would be allocated, for the message (e.g. ``"the entropy map"``).
    hint : str, optional
        What to do instead (e.g. ``"use a smaller radius"``).

    Returns
    -------
    int
        ``nbytes``, when it fits.
    """
    nbytes = int(nbytes)
    limit = memory_limit()
    if nbytes > limit:
        source = ("GPUENT_MEMORY_LIMIT" if os.environ.get("GPUENT_MEMORY_LIMIT", "").strip()
                  else f"{DEFAULT_SHARE:.0%} of the available memory; set GPUENT_MEMORY_LIMIT "
                       "to change it")
        raise MemoryLimitError(
            f"{what} needs about {_human(nbytes)}, above the memory limit of {_human(limit)} "
            f"({source})" + (f"; {hint}" if hint else ""))
    return nbytes


MAP_HINT = ("stream it tile by tile (gpuent entropy IN -o OUT.zarr), pass a Dask array, "
            "or use a smaller image or window")


def check_map(shape, *, bytes_per_pixel, table_bytes=0, what="the map", hint=MAP_HINT):
    """Refuse a whole-image computation whose working memory would exceed the limit.

    ``bytes_per_pixel`` is the peak of the temporaries per pixel (levels, masks,
    float64 intermediates, the output); ``table_bytes`` what does not scale with
    the image (footprint offsets, histograms); ``hint`` what to do instead.
    """
    return check_allocation(
        nbytes_of(shape, bytes_per_pixel) + int(table_bytes),
        f"{what} of a {' x '.join(str(int(s)) for s in shape)} image", hint)
