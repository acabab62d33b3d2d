"""Entropy maps as pictures: colour map, a fixed colour scale, an optional colour bar.

Shared by ``gpuent entropy`` (and usable by other commands): the options, the default
scale (0 to the log of the number of levels, the most any window can reach), and the
writer (built-in tables for plain PNG/JPEG/WebP; matplotlib for a colour bar or .pdf/.svg).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..cli import CLIError, finite

#: raster formats written pixel for pixel (one map pixel = one picture pixel)
RASTER = (".png", ".jpg", ".jpeg", ".webp")
#: vector formats (matplotlib): the map embedded as an image, text and colour bar as vectors
VECTOR = (".pdf", ".svg")
PICTURES = RASTER + VECTOR


def add_options(parser):
    """``--cmap``, ``--vmin``, ``--vmax`` and ``--colorbar`` in their own help group."""
    g = parser.add_argument_group(
        "pictures", "for .png/.jpg/.webp outputs (one map pixel per picture pixel) and "
        ".pdf/.svg (vector; needs matplotlib: pip install gpuent[plot])")
    g.add_argument("--cmap", default="inferno", metavar="NAME",
                   help="colour map (default inferno; gray built in; other matplotlib names "
                        "such as viridis, magma, cividis need matplotlib)")
    g.add_argument("--vmin", type=float, metavar="V",
                   help="value at the bottom of the colour scale (default 0)")
    g.add_argument("--vmax", type=float, metavar="V",
                   help="value at the top of the colour scale (default: the log of the number "
                        "of levels: 8 bits for 8-bit images, 16 for 16-bit; the same for "
                        "every image of that type, so pictures compare)")
    g.add_argument("--colorbar", action="store_true",
                   help="add a colour bar labelled with the unit (bits or nats) and the "
                        "window (needs matplotlib)")


def unit_name(base) -> str:
    """``bits`` for base 2, ``nats`` for base e, else ``base-B units``."""
    if base == 2:
        return "bits"
    if abs(base - math.e) < 1e-6:  # also --base 2.718281828
        return "nats"
    return f"base-{base:g} units"


def count_levels(image, bins) -> int:
    """The number of levels an image of this type can have: ``bins`` when binned, 2 for
    bool, 256 for 8-bit and 65536 for 16-bit (and wider) integers, whose values are levels.

    It depends on the type, not on the pixels, so every picture of that type gets the same
    scale (the library itself counts max + 1 levels for 16-bit images).
    """
    if bins is not None:
        return int(bins)
    dtype = np.dtype(image.dtype)
    if dtype == np.bool_:
        return 2
    if np.issubdtype(dtype, np.integer):
        return 256 if dtype.itemsize == 1 else 65536
    raise CLIError("a floating-point image needs --bins K")


def default_scale(levels, base):
    """``(0, log_base(levels))``: the whole range a window's entropy can take."""
    return 0.0, math.log(max(int(levels), 1)) / math.log(base)


def check_options(args, out):
    """Refuse picture options for raw outputs and inconsistent scales, before any work."""
    suffix = Path(out).suffix.lower()
    given = [o for o, v in (("--vmin", args.vmin), ("--vmax", args.vmax),
                            ("--colorbar", args.colorbar or None)) if v is not None]
    if args.cmap != "inferno":
        given.insert(0, "--cmap")
    if suffix not in PICTURES:
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise CLIError(f"{'/'.join(given)} {verb} to pictures (.png, .jpg, .webp, .pdf, "
                           f".svg), not {Path(out).name}, which holds the raw values")
        return
    finite(args.vmin, "--vmin")
    finite(args.vmax, "--vmax")
    if args.vmin is not None and args.vmax is not None and not args.vmin < args.vmax:
        raise CLIError(f"--vmin {args.vmin:g} must be below --vmax {args.vmax:g}")
    if args.colorbar or suffix in VECTOR:
        from .._plot import have_matplotlib

        if not have_matplotlib():
            what = "--colorbar" if args.colorbar else f"a {suffix} output"
            raise CLIError(f"{what} needs matplotlib: pip install gpuent[plot] (or write a "
                           f"plain .png)")
    from .._colormaps import colormap_table

    try:
        colormap_table(args.cmap)
    except ValueError as exc:
        raise CLIError(f"--cmap: {exc}") from None


def scale(args, levels, base):
    """``(vmin, vmax, note)``: the colour scale and how it was chosen, for the summary."""
    lo, hi = default_scale(levels, base)
    vmin = lo if args.vmin is None else args.vmin
    vmax = hi if args.vmax is None else args.vmax
    if not vmin < vmax:
        raise CLIError(f"the colour scale {vmin:g}..{vmax:g} is empty; give --vmin below "
                       f"--vmax")
    log = {2: "log2", 10: "log10"}.get(base, "ln" if unit_name(base) == "nats"
                                       else f"log base {base:g} of")
    why = f"{log} {levels} levels" if args.vmax is None else "--vmax"
    return vmin, vmax, f"colours {vmin:g}..{vmax:.4g} {unit_name(base)}: {why}"


def write(out, emap, *, cmap="inferno", vmin, vmax, colorbar=False, label=""):
    """Write the 2-D map ``emap`` as a picture; atomically (whole or absent)."""
    from ..io import atomic_path, write_map

    out = Path(out)
    if np.ndim(emap) != 2:
        raise CLIError(f"a {out.suffix} picture needs a 2-D map, got shape {np.shape(emap)}; "
                       f"write .tif, .npy or .zarr for volumes")
    if not colorbar and out.suffix.lower() in RASTER:
        write_map(out, emap, colormap=cmap, vmin=vmin, vmax=vmax)
        return out
    with atomic_path(out) as tmp:
        figure(emap, cmap=cmap, vmin=vmin, vmax=vmax, colorbar=colorbar, label=label,
               path=tmp, fmt=out.suffix.lower().lstrip("."))
    return out


def figure(emap, *, cmap, vmin, vmax, colorbar, label, path, fmt):
    """The map at its own pixel size (100 px per inch), with a colour bar to its right."""
    from matplotlib.colors import ListedColormap

    from .._colormaps import colormap_table
    from .._plot import pyplot

    plt = pyplot(headless=True)
    lut = ListedColormap(colormap_table(cmap) / 255.0, name=cmap).with_extremes(bad="black")
    h, w = np.shape(emap)
    dpi = 100
    zoom = max(1.0, 300.0 / max(h, 1))  # tiny maps are enlarged (nearest) to stay legible
    img_w, img_h = w * zoom / dpi, h * zoom / dpi
    bar_w = 1.3 if colorbar else 0.0
    fig = plt.figure(figsize=(img_w + bar_w, img_h), dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, img_w / (img_w + bar_w), 1.0))
    im = ax.imshow(np.asarray(emap, dtype=np.float64), cmap=lut, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    ax.set_axis_off()
    if colorbar:
        left = (img_w + 0.15) / (img_w + bar_w)
        cax = fig.add_axes((left, 0.08, 0.18 / (img_w + bar_w), 0.84))
        fig.colorbar(im, cax=cax, label=label)
    fig.savefig(str(path), dpi=dpi, format=fmt, facecolor="white")
    plt.close(fig)
