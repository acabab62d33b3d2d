"""``gpuent maps``: local entropy, std or mean maps at several radii, as a montage.

The analysis of the REU notebook's section 7 (boxcar entropy and standard deviation).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..cli import CLIError, check_output, check_radius, needs_bins
from ._input import add_plane_option, read_plane

HELP = ("local entropy / std / mean maps of an image at several window radii, side by side "
        "on one colour scale")
STATS = ("entropy", "std", "mean")
DEFAULT_RADII = "1,2,3,10,20,50"


def register(sub):
    p = sub.add_parser("maps", help=HELP, description=HELP)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, TIFF, .npy, .zarr, ...)")
    p.add_argument("--radii", default=None, metavar="R1,R2,...",
                   help="comma-separated window radii: (2R+1)x(2R+1) boxes "
                        "(default 1,2,3,10,20,50)")
    p.add_argument("--stat", default="entropy", choices=STATS,
                   help="quantity per window (default entropy, in bits)")
    p.add_argument("--mode", default="clip", choices=("clip", "reflect", "mirror", "wrap"),
                   help="image boundary (default clip: the window shrinks at borders)")
    p.add_argument("--bins", type=int, metavar="K",
                   help="bin values into K levels (needed for floating-point images; "
                        "--stat entropy only)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="montage .png (or .pdf/.svg), or .csv of per-radius min/mean/max; "
                        "default IN-maps.png")
    add_plane_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def parse_radii(text):
    try:
        radii = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise CLIError(f"--radii must be comma-separated integers, got {text!r}") from None
    if not radii or min(radii) < 0:
        raise CLIError(f"--radii must be one or more integers >= 0, got {text!r}")
    return radii


def compute_maps(image, radii, stat, *, mode="clip", bins=None):
    """``[(radius, map, seconds)]`` for each radius (NumPy float32 maps)."""
    from .._backend import to_numpy
    from .._local_stats import local_mean, local_std

    out = []
    for r in radii:
        start = time.perf_counter()
        if stat == "entropy":
            from ..local import local_entropy

            m = local_entropy(image, r, mode=mode, bins=bins)
        elif stat == "std":
            m = local_std(image, r, mode=mode)
        else:
            m = local_mean(image, r, mode=mode)
        out.append((r, to_numpy(m), time.perf_counter() - start))
    return out


def shared_scale(maps, stat, levels=None):
    """One ``(vmin, vmax)`` for every map: 0 to log2(levels) bits for entropy (the most a
    window can hold, so montages of different images compare), else the maps' joint range."""
    if stat == "entropy" and levels is not None:
        return 0.0, float(np.log2(max(int(levels), 2)))
    finite = [m[np.isfinite(m)] for _, m, _ in maps]
    finite = [v for v in finite if v.size]
    if not finite:
        return 0.0, 1.0
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    return lo, hi if hi > lo else lo + 1.0


def montage(maps, stat, path, *, title=None, levels=None, width=1700):
    """The maps side by side (the notebook's ``plt.subplots(2, ceil(n/2))``) on ONE colour
    scale with one colour bar; ``width`` pixels wide (at 100 dpi)."""
    from .._plot import pyplot, save_figure

    plt = pyplot(headless=True)
    n = len(maps)
    rows = 1 if n <= 3 else 2
    cols = -(-n // rows)
    h, w = maps[0][1].shape[:2]
    dpi = 100
    fig_w = width / dpi
    panel = (fig_w - 1.4) / cols  # inches per panel, the colour bar takes the rest
    fig_h = rows * (panel * h / w + 0.35) + 0.6
    fig, axs = plt.subplots(rows, cols, figsize=(fig_w, fig_h), layout="constrained",
                            squeeze=False)
    unit = {"entropy": "bits", "std": "grey levels", "mean": "grey level"}[stat]
    vmin, vmax = shared_scale(maps, stat, levels)
    im = None
    for ax, (r, m, _) in zip(axs.flat, maps, strict=False):
        im = ax.imshow(m, cmap="inferno", interpolation="nearest", vmin=vmin, vmax=vmax)
        ax.set_title(f"r = {r} ({2 * r + 1}x{2 * r + 1} window)", fontsize=12)
        ax.set_axis_off()
    for ax in list(axs.flat)[n:]:
        ax.set_axis_off()
    fig.colorbar(im, ax=axs, shrink=0.9, aspect=30, label=f"local {stat} ({unit})")
    fig.suptitle(title or f"local {stat} in (2r+1)x(2r+1) windows, one colour scale",
                 fontsize=14)
    save_figure(fig, path, dpi=dpi)


def _write_csv(path, maps):
    from .._plot import write_csv
    from ..io import atomic_path

    rows = []
    for r, m, _ in maps:
        v = m[np.isfinite(m)]
        lo, mean, hi = (float(v.min()), float(v.mean()), float(v.max())) if v.size else \
            (float("nan"),) * 3
        rows.append((r, lo, mean, hi))
    # numbers only: a timing column would make every rerun differ (gpuent rerun --check)
    with atomic_path(path) as tmp:
        write_csv(tmp, ["radius", "min", "mean", "max"], rows)


def run(args):
    from .._plot import plot_or_csv
    from ..io import atomic_path

    radii = parse_radii(args.radii if args.radii is not None else DEFAULT_RADII)
    if args.bins is not None:
        if args.stat != "entropy":
            raise CLIError(f"--bins applies to --stat entropy only, not --stat {args.stat}")
        if args.bins < 1:
            raise CLIError(f"--bins must be >= 1, got {args.bins}")
    src = Path(args.input)
    out, kind = plot_or_csv(args.output or src.with_name(f"{src.stem}-maps.png"))
    check_output(out, args.input)
    image = read_plane(args.input, args.plane, quiet=args.quiet)
    if args.stat == "entropy":
        needs_bins(image.dtype, args.bins, args.input)
    if args.radii is not None:  # the default radii are fine on any image
        check_radius(max(radii), image.shape, what=f"--radii {max(radii)}")
    maps = compute_maps(image, radii, args.stat, mode=args.mode, bins=args.bins)
    if kind == "png":
        levels = None
        if args.stat == "entropy":
            from ._picture import count_levels

            levels = count_levels(image, args.bins)
        with atomic_path(out) as tmp:
            montage(maps, args.stat, tmp, levels=levels)
    else:
        _write_csv(out, maps)
    if not args.quiet:
        total = sum(s for _, _, s in maps)
        print(f"wrote {out}: local {args.stat} at r = {','.join(map(str, radii))} "
              f"in {total:.2f} s", file=sys.stdout)
    return 0


def demo(out_dir: Path, quiet: bool):
    """maps.png: local entropy of the sample at the notebook's radii 1, 2, 3, 10, 20, 50."""
    from .._plot import have_matplotlib
    from .._samples import sample_image

    maps = compute_maps(sample_image(256), [1, 2, 3, 10, 20, 50], "entropy")
    if have_matplotlib():
        path = out_dir / "maps.png"
        montage(maps, "entropy", path, levels=256,
                title="local entropy of the sample in (2r+1)x(2r+1) windows, one colour scale")
    else:
        path = out_dir / "maps.csv"
        _write_csv(path, maps)
    if not quiet:
        print(f"wrote {path}")
