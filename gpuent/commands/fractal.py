"""``gpuent fractal``: box-counting and generalized dimensions of a thresholded image.

The REU notebook's sections 8-9 (fractal dimension regression).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..cli import CLIError, check_output, finite

HELP = ("box-counting dimension of an image's bright set (pixels >= a threshold), and the "
        "Renyi dimensions D_q of the image's pixel values as a mass distribution")


def register(sub):
    p = sub.add_parser("fractal", help=HELP, description=HELP)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, TIFF, .npy, .zarr, ...)")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="the set is pixels >= T (default: the image mean; bool images as is)")
    p.add_argument("--sizes", metavar="S1,S2,...",
                   help="comma-separated box sides in pixels (default powers of two up to a "
                        "quarter of the shorter side)")
    p.add_argument("--q", default="0,1,2", metavar="Q1,Q2,...",
                   help="orders of the generalized dimensions of the image's pixel values as "
                        "a mass (default 0,1,2); write negative orders as --q=-2,0,1,2")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="figure .png/.pdf/.svg (the set, the box-counting fit, the D_q "
                        "spectrum) or .csv (box counts of the set, H_q of the mass in bits); "
                        "default: print only")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="with -o, print nothing on success (without -o the result is printed)")
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


def image_mass(image):
    """``(mass, label)``: the image's pixel values as a non-negative mass for D_q.

    NaN pixels weigh nothing; an image with negative values is shifted by its minimum
    (and the label says so), a boolean image is a uniform mass on its True pixels.
    """
    image = np.asarray(image)
    if image.dtype == bool:
        return image, "the set as a uniform mass"
    mass = image.astype(np.float64)
    mass[~np.isfinite(mass)] = np.nan
    lo = np.nanmin(mass)
    label = "the image as a mass"
    if lo < 0:
        mass = mass - lo
        label = f"the image minus its minimum {lo:g} as a mass"
    return np.nan_to_num(mass, nan=0.0), label


def analyse(image, threshold=None, sizes=None, q=(0, 1, 2)):
    """``(mask, threshold, box-counting result, generalized-dimensions result, mass label)``.

    The box-counting dimension is the thresholded set's; the generalized dimensions D_q
    are those of the image's pixel values as a mass distribution (a uniform mass on a
    thresholded set has no multifractal content at the pixel scale: every D_q of a set
    with positive area is 2, and the finite-scale fits only rise towards it with q).
    """
    from ..fractal import box_counting_dimension, generalized_dimensions

    image = np.asarray(image)
    if image.dtype == bool:
        mask, threshold = image, 0.5
    else:
        if threshold is None:  # NaN pixels are in no set and do not move the mean
            values = image[np.isfinite(image)] if image.dtype.kind == "f" else image
            if values.size == 0:
                raise CLIError("the image has no finite pixel values; nothing to measure")
            threshold = float(np.mean(values))
        threshold = float(threshold)
        mask = image >= threshold
        if not mask.any():
            raise CLIError(f"no pixel is >= {threshold:g} (the image's maximum is "
                           f"{np.nanmax(image):g}); pass a lower --threshold")
    box = box_counting_dimension(mask, sizes=sizes)
    mass, label = image_mass(image)
    if not mass.any():
        mass, label = mask, "the set as a uniform mass (the image has no mass)"
    gen = generalized_dimensions(mass, list(q), sizes=box.sizes)
    return mask, threshold, box, gen, label


def fit_figure(panels, path, *, suptitle=None, spectrum=None):
    """One row: for each ``(title, mask, BoxCountingResult)`` the set; then all box-counting
    fits on log-log axes in pixels; then, with ``spectrum=(GeneralizedDimensionsResult,
    what)``, the D_q spectrum. Large fonts: the picture is read on a screen or a slide."""
    from .._plot import pyplot, save_figure

    plt = pyplot(headless=True)
    n = len(panels)
    extra = spectrum is not None
    ratios = [1] * n + [1.8] + ([1.3] if extra else [])
    with plt.rc_context({"font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13,
                         "legend.fontsize": 11, "xtick.labelsize": 12, "ytick.labelsize": 12}):
        size = (3.6 * n + 6.4 + 4.6 * extra, 5.2 + 0.45 * n)
        fig, axs = plt.subplots(1, len(ratios), figsize=size,
                                layout="constrained", gridspec_kw={"width_ratios": ratios})
        fit_ax = axs[n]
        sizes_seen = set()
        for ax, (title, mask, res) in zip(axs[:n], panels, strict=True):
            shown = title
            if np.ndim(mask) == 3:  # a volume's set: show its middle plane (D is the volume's)
                mask = np.asarray(mask)[len(mask) // 2]
                shown = f"{title}\n(middle plane)"
            if np.ndim(mask) == 1:
                mask = np.asarray(mask)[None, :]
            ax.imshow(mask, cmap="gray_r", interpolation="nearest")
            ax.set_title(f"{shown}\n(set in black)")
            ax.set_axis_off()
            s = res.sizes.astype(np.float64)
            sizes_seen.update(int(v) for v in res.sizes)
            pts = fit_ax.loglog(s, res.counts, "o", ms=7)
            ends = np.array([s.min(), s.max()])
            fit_ax.loglog(ends, np.exp(res.intercept) * ends ** -res.dimension, "-",
                          color=pts[0].get_color(), lw=1.5,
                          label=f"{title}: D = {res.dimension:.3f} ± {res.stderr:.3f}\n"
                                f"   fit over s = {int(s.min())}-{int(s.max())} px, "
                                f"R² = {res.r2:.4f}")
        ticks = []
        for t in sorted(sizes_seen):  # no two labels closer than a factor 1.25 (8 and 9)
            if not ticks or t >= 1.25 * ticks[-1]:
                ticks.append(t)
        fit_ax.set_xticks(ticks, [str(t) for t in ticks], minor=False)
        fit_ax.minorticks_off()
        fit_ax.set_xlabel("box side s (pixels, log scale)")
        fit_ax.set_ylabel("boxes holding the set, N(s) (log scale)")
        fit_ax.set_title(r"box counting: $N(s) \propto s^{-D}$")
        fit_ax.grid(True, which="major", alpha=0.3)
        fit_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        if extra:
            gen, what = spectrum
            sp = axs[-1]
            sp.errorbar(gen.q, gen.dimensions, yerr=gen.stderr, fmt="o-", ms=7, lw=1.5,
                        color="C3", capsize=4, label="$D_q$ ± standard error of the fit")
            sp.legend(loc="lower left")
            for qi, d in zip(gen.q, gen.dimensions, strict=True):
                sp.annotate(f"{d:.3f}", (qi, d), textcoords="offset points", xytext=(0, 9),
                            ha="center", fontsize=11)
            lo = float((gen.dimensions - gen.stderr).min())
            hi = float((gen.dimensions + gen.stderr).max())
            pad = max(0.05, 0.25 * (hi - lo))
            sp.set_ylim(lo - pad, hi + pad)
            sp.set_xlabel("order q")
            sp.set_ylabel("generalized dimension $D_q$")
            sizes = gen.sizes
            sp.set_title(f"{what}\n(boxes {int(sizes.min())}-{int(sizes.max())} px)")
            sp.grid(True, alpha=0.3)
        if suptitle:
            fig.suptitle(suptitle)
        save_figure(fig, path, dpi=100)


def run(args):
    from .._plot import plot_or_csv, write_csv
    from ..io import atomic_path, read_image

    sizes = _ints(args.sizes, "--sizes") if args.sizes is not None else None
    qs = _floats(args.q, "--q")
    finite(args.threshold, "--threshold")
    out = kind = None
    if args.output:
        out, kind = plot_or_csv(args.output)
        check_output(out, args.input)
    image = np.asarray(read_image(args.input))
    if image.dtype.kind not in "biuf":
        raise CLIError(f"{args.input} holds {image.dtype} values; fractal needs a real-valued "
                       f"(or boolean) image")
    if image.ndim >= 1 and min(image.shape) < 2:
        raise CLIError(f"{args.input} is {'x'.join(map(str, image.shape))} pixels: too small to "
                       f"measure a dimension (at least 2 pixels a side)")
    if image.dtype == bool and args.threshold is not None:
        raise CLIError(f"{args.input} is a boolean mask: it is the set as is; drop --threshold")
    if sizes and image.ndim >= 1 and max(sizes) > min(image.shape) >= 1:
        raise CLIError(f"--sizes {max(sizes)} is larger than the shorter side "
                       f"{min(image.shape)} of {args.input}: D_q is measured in whole boxes; "
                       f"use box sides up to {min(image.shape)}")
    mask, t, box, gen, mass_label = analyse(image, args.threshold, sizes, qs)
    if kind == "png":
        with atomic_path(out) as tmp:
            fit_figure([(f"pixels >= {t:g}", mask, box)], tmp,
                       suptitle=f"{Path(args.input).name}: fractal dimensions",
                       spectrum=(gen, f"$D_q$ of {mass_label}"))
    elif kind == "csv":
        header = ["size", "count"] + [f"H_q{q:g}_bits" for q in gen.q]
        rows = [[int(s), int(c), *gen.entropies[:, j].tolist()]
                for j, (s, c) in enumerate(zip(box.sizes, box.counts, strict=True))]
        with atomic_path(out) as tmp:
            write_csv(tmp, header, rows)
    if not args.quiet or out is None:
        dq = ", ".join(f"D_{q:g} = {d:.4f}" for q, d in zip(gen.q, gen.dimensions, strict=True))
        wrote = "" if out is None else f"wrote {out}: "
        print(f"{wrote}set of pixels >= {t:g}: {int(mask.sum())} pixels, box-counting "
              f"dimension {box.dimension:.4f} (R^2 = {box.r2:.4f}); {mass_label}: {dq}",
              file=sys.stdout)
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
