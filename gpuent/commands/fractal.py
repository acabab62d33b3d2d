"""``gpuent fractal``: box-counting and generalized dimensions of a thresholded image (seed 9)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..cli import CLIError

HELP = "box-counting dimension (and Renyi dimensions D_q) of an image's bright set (seed 9.1)"


def register(sub):
    p = sub.add_parser("fractal", help=HELP, description=HELP)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, TIFF, .npy, ...)")
    p.add_argument("--threshold", type=float,
                   help="the set is pixels >= T (default: the image mean; bool images as is)")
    p.add_argument("--sizes", help="comma-separated box sides in pixels (default powers of two "
                                   "up to a quarter of the shorter side)")
    p.add_argument("--q", default="0,1,2",
                   help="orders of the generalized dimensions of the image as a mass "
                        "(default 0,1,2)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="fit plot .png or .csv of the box counts; default: print only")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)


def _ints(text, name):
    try:
        values = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise CLIError(f"{name} must be comma-separated integers, got {text!r}") from None
    return values


def _floats(text, name):
    try:
        values = [float(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        raise CLIError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise CLIError(f"{name} needs at least one value")
    return values


def analyse(image, threshold=None, sizes=None, q=(0, 1, 2)):
    """``(mask, threshold, box-counting result, generalized-dimensions result)``."""
    from ..fractal import box_counting_dimension, generalized_dimensions

    image = np.asarray(image)
    if image.dtype == bool:
        mask, threshold = image, 0.5
    else:
        threshold = float(np.mean(image)) if threshold is None else float(threshold)
        mask = image >= threshold
    box = box_counting_dimension(mask, sizes=sizes)
    gen = generalized_dimensions(mask, list(q), sizes=box.sizes)
    return mask, threshold, box, gen


def fit_figure(panels, path, *, suptitle=None):
    """One row: for each ``(title, mask, BoxCountingResult)`` the mask; then all fits; D_q."""
    from .._plot import pyplot, save_figure

    plt = pyplot(headless=True)
    n = len(panels)
    fig, axs = plt.subplots(1, n + 1, figsize=(2.6 * n + 4.2, 3.2), layout="constrained",
                            gridspec_kw={"width_ratios": [1] * n + [1.7]})
    fit_ax = axs[-1]
    for ax, (title, mask, res) in zip(axs[:-1], panels, strict=True):
        ax.imshow(mask, cmap="gray_r", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
        res.plot(fit_ax)
        fit_ax.lines[-2].set_label(f"{title}: D = {res.dimension:.3f}")
    fit_ax.legend(fontsize="x-small", loc="upper left")
    fit_ax.set_title("box counting: ln N vs ln(1/s)", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    save_figure(fig, path)


def run(args):
    from .._plot import plot_or_csv, write_csv
    from ..io import read_image

    sizes = _ints(args.sizes, "--sizes") if args.sizes else None
    qs = _floats(args.q, "--q")
    out = kind = None
    if args.output:
        out, kind = plot_or_csv(args.output)
        if str(out.parent) and not out.parent.is_dir():
            raise CLIError(f"output folder does not exist: {out.parent}")
    image = np.asarray(read_image(args.input))
    mask, t, box, gen = analyse(image, args.threshold, sizes, qs)
    if kind == "png":
        fit_figure([(f"pixels >= {t:g}", mask, box)], out)
    elif kind == "csv":
        header = ["size", "count"] + [f"H_q{q:g}_bits" for q in gen.q]
        rows = [[int(s), int(c), *gen.entropies[:, j].tolist()]
                for j, (s, c) in enumerate(zip(box.sizes, box.counts, strict=True))]
        write_csv(out, header, rows)
    if not args.quiet or out is None:
        dq = ", ".join(f"D_{q:g} = {d:.4f}" for q, d in zip(gen.q, gen.dimensions, strict=True))
        print(f"threshold {t:g}: {int(mask.sum())} pixels; box-counting dimension "
              f"{box.dimension:.4f} (R^2 = {box.r2:.4f}); {dq}", file=sys.stdout)
        if out is not None:
            print(f"wrote {out}")
    return 0


def demo(out_dir: Path, quiet: bool):
    """fractal.png: box counting for exact fractals and the thresholded sample image."""
    from .._plot import have_matplotlib, write_csv
    from .._samples import sample_image
    from ..fractal import box_counting_dimension

    carpet = np.ones((1, 1), bool)
    for _ in range(5):
        z = np.zeros_like(carpet)
        carpet = np.block([[carpet, carpet, carpet], [carpet, z, carpet],
                           [carpet, carpet, carpet]])
    i, j = np.indices((256, 256))
    triangle = (i & j) == j
    sample = sample_image(256) >= 160
    panels = [
        ("Sierpinski carpet (1.893)", carpet,
         box_counting_dimension(carpet, sizes=[1, 3, 9, 27])),
        ("Sierpinski triangle (1.585)", triangle, box_counting_dimension(triangle)),
        ("sample >= 160", sample, box_counting_dimension(sample)),
    ]
    if have_matplotlib():
        path = out_dir / "fractal.png"
        fit_figure(panels, path)
    else:
        path = out_dir / "fractal.csv"
        write_csv(path, ["set", "dimension", "r2"],
                  [(t, r.dimension, r.r2) for t, _, r in panels])
    if not quiet:
        print(f"wrote {path}")
