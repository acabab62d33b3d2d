"""``gpuent maps``: local entropy, std or mean maps at several radii, as a montage (seed 7)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..cli import CLIError, check_output, check_radius, needs_bins

HELP = "local entropy / std / mean maps at several radii, as one montage (the seed's 7.1-7.2)"
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
                   help="montage .png, or .csv of per-radius min/mean/max; default IN-maps.png")
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


def montage(maps, stat, path, *, title=None, dpi=80):
    """Two rows of maps (the seed's ``plt.subplots(2, ceil(n/2))``), each with its colour bar."""
    from .._plot import pyplot, save_figure

    plt = pyplot(headless=True)
    n = len(maps)
    rows = 1 if n <= 3 else 2
    cols = -(-n // rows)
    fig, axs = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows + 0.4),
                            layout="constrained", squeeze=False)
    unit = {"entropy": "bits", "std": "grey levels", "mean": "grey level"}[stat]
    for ax, (r, m, _) in zip(axs.flat, maps, strict=False):
        im = ax.imshow(m, cmap="inferno", interpolation="nearest")
        ax.set_title(f"r = {r}", fontsize=10)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, shrink=0.8, label=unit if ax is axs.flat[cols - 1] else None)
    for ax in list(axs.flat)[n:]:
        ax.set_axis_off()
    fig.suptitle(title or f"local {stat}, (2r+1)-box windows")
    save_figure(fig, path, dpi=dpi)


def _write_csv(path, maps):
    from .._plot import write_csv
    from ..io import atomic_path

    rows = []
    for r, m, s in maps:
        v = m[np.isfinite(m)]
        lo, mean, hi = (float(v.min()), float(v.mean()), float(v.max())) if v.size else \
            (float("nan"),) * 3
        rows.append((r, lo, mean, hi, round(s, 4)))
    with atomic_path(path) as tmp:
        write_csv(tmp, ["radius", "min", "mean", "max", "seconds"], rows)


def run(args):
    from .._plot import plot_or_csv
    from ..io import atomic_path, read_image

    radii = parse_radii(args.radii if args.radii is not None else DEFAULT_RADII)
    if args.bins is not None:
        if args.stat != "entropy":
            raise CLIError(f"--bins applies to --stat entropy only, not --stat {args.stat}")
        if args.bins < 1:
            raise CLIError(f"--bins must be >= 1, got {args.bins}")
    src = Path(args.input)
    out, kind = plot_or_csv(args.output or src.with_name(f"{src.stem}-maps.png"))
    check_output(out, args.input)
    image = np.asarray(read_image(args.input))
    if args.stat == "entropy":
        needs_bins(image.dtype, args.bins, args.input)
    if args.radii is not None:  # the default radii are fine on any image
        check_radius(max(radii), image.shape, what=f"--radii {max(radii)}")
    maps = compute_maps(image, radii, args.stat, mode=args.mode, bins=args.bins)
    if kind == "png":
        with atomic_path(out) as tmp:
            montage(maps, args.stat, tmp)
    else:
        _write_csv(out, maps)
    if not args.quiet:
        total = sum(s for _, _, s in maps)
        print(f"wrote {out}: local {args.stat} at r = {','.join(map(str, radii))} "
              f"in {total:.2f} s", file=sys.stdout)
    return 0


def demo(out_dir: Path, quiet: bool):
    """maps.png: local entropy of the sample at the seed's radii 1, 2, 3, 10, 20, 50."""
    from .._plot import have_matplotlib
    from .._samples import sample_image

    maps = compute_maps(sample_image(256), [1, 2, 3, 10, 20, 50], "entropy")
    if have_matplotlib():
        path = out_dir / "maps.png"
        montage(maps, "entropy", path, title="local entropy of the sample (bits), r = radius",
                dpi=60)
    else:
        path = out_dir / "maps.csv"
        _write_csv(path, maps)
    if not quiet:
        print(f"wrote {path}")
