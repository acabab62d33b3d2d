"""``gpuent blur-entropy``: intensity entropy against Gaussian blur (the REU notebook's
section 4)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..cli import CLIError, check_output, needs_bins

MAX_SIGMAS = 10_000
HELP = ("intensity-level entropy of an image (of its histogram of gray levels) as the image "
        "is blurred by wider and wider Gaussians")


def register(sub):
    p = sub.add_parser("blur-entropy", help=HELP, description=HELP)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, TIFF, .npy, .zarr, ...)")
    p.add_argument("--sigmas", default="0:8:33", metavar="SPEC",
                   help="blur widths: START:STOP:NUM (linspace) or a comma list (default 0:8:33)")
    p.add_argument("--relative", action="store_true",
                   help="sigmas are fractions of the image size max(h, w), e.g. "
                        "--sigmas 0:0.3:31")
    p.add_argument("--mode", default="reflect",
                   choices=("reflect", "mirror", "wrap", "nearest", "constant"),
                   help="image boundary of the blur (default reflect: mirrored, so a wide "
                        "blur tends to the mean; nearest repeats the edge pixels, whose "
                        "deviations then dominate and keep the entropy of noise from falling)")
    p.add_argument("--bins", type=int, metavar="K",
                   help="bin values into K levels (needed for floating-point images)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="curve .png or .csv; default: print the table")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="with -o, print nothing on success (without -o the table is printed)")
    p.set_defaults(func=run)


def parse_sigmas(text):
    text = str(text).strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
            if not 1 <= num <= MAX_SIGMAS:
                raise CLIError(f"--sigmas START:STOP:NUM needs 1 <= NUM <= {MAX_SIGMAS}, "
                               f"got {text!r}")
            values = np.linspace(start, stop, num)
        else:
            values = np.asarray([float(t) for t in text.split(",") if t.strip()])
    except ValueError:
        raise CLIError(
            f"--sigmas must be START:STOP:NUM or a comma list of numbers, got {text!r}"
        ) from None
    if values.size > MAX_SIGMAS:
        raise CLIError(f"--sigmas gives {values.size} blur widths; at most {MAX_SIGMAS}")
    if values.size == 0 or np.any(values < 0) or not np.all(np.isfinite(values)):
        raise CLIError(f"--sigmas must be finite numbers >= 0, got {text!r}")
    return values


def curve_plot(curves, path, *, xlabel="blur sigma (pixels)", title=None, images=None):
    """Entropy curves ``[(label, sigmas, entropies)]``; optional thumbnails ``[(title, img)]``."""
    from .._plot import pyplot, save_figure

    plt = pyplot(headless=True)
    if images:
        fig = plt.figure(figsize=(9, 4.2), layout="constrained")
        grid = fig.add_gridspec(2, 1 + -(-len(images) // 2), width_ratios=[2.4] + [1] * (
            -(-len(images) // 2)))
        ax = fig.add_subplot(grid[:, 0])
        for k, (name, img) in enumerate(images):
            sub = fig.add_subplot(grid[k % 2, 1 + k // 2])
            sub.imshow(img, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            sub.set_title(name, fontsize=8)
            sub.set_axis_off()
    else:
        fig, ax = plt.subplots(figsize=(5.5, 4), layout="constrained")
    top = 0.0
    for label, s, h in curves:
        ax.plot(s, h, "o-", ms=3, label=label)
        top = max(top, float(np.max(h)))
    ax.set_ylim(0, max(8.0, top * 1.05))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("intensity entropy (bits)")
    ax.grid(alpha=0.3)
    if len(curves) > 1 or curves[0][0]:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title, fontsize=10)
    save_figure(fig, path)


def run(args):
    from .._plot import plot_or_csv, write_csv
    from ..io import atomic_path, read_image
    from ..scale import entropy_vs_blur

    sigmas = parse_sigmas(args.sigmas)
    if args.bins is not None and args.bins < 1:
        raise CLIError(f"--bins must be >= 1, got {args.bins}")
    out = kind = None
    if args.output:
        out, kind = plot_or_csv(args.output)
        check_output(out, args.input)
    image = np.asarray(read_image(args.input))
    needs_bins(image.dtype, args.bins, args.input)
    s, h = entropy_vs_blur(image, sigmas, relative=args.relative, mode=args.mode,
                           bins=args.bins)
    unit = "fraction of size" if args.relative else "pixels"
    if kind == "png":
        with atomic_path(out) as tmp:
            curve_plot([(None, s, h)], tmp, xlabel=f"blur sigma ({unit})",
                       title=f"{Path(args.input).name}, mode={args.mode}")
    elif kind == "csv":
        with atomic_path(out) as tmp:
            write_csv(tmp, ["sigma", "entropy_bits"],
                      zip(s.tolist(), h.tolist(), strict=True))
    if out is None:
        print(f"sigma ({unit})\tentropy (bits)")
        for a, b in zip(s, h, strict=True):
            print(f"{a:.6g}\t{b:.6f}")
    elif not args.quiet:
        print(f"wrote {out}: {s.size} blur widths, entropy {h[0]:.3f} -> {h[-1]:.3f} bits",
              file=sys.stdout)
    return 0


def demo(out_dir: Path, quiet: bool):
    """blur_entropy.png: entropy vs blur for the sample and for white noise (GIGO check)."""
    from .._plot import have_matplotlib, write_csv
    from .._samples import sample_image
    from ..scale import entropy_vs_blur, gaussian_blur

    sample = sample_image(256)
    noise = np.random.default_rng(0).integers(0, 256, (250, 250)).astype(np.uint8)
    fractions = np.linspace(0, 0.3, 31)
    curves = [
        ("sample, reflect", *entropy_vs_blur(sample, fractions, relative=True)),
        ("white noise, reflect", *entropy_vs_blur(noise, fractions, relative=True)),
        ("white noise, nearest (edge copies: GIGO)",
         *entropy_vs_blur(noise, fractions, relative=True, mode="nearest")),
    ]
    if have_matplotlib():
        thumbs = []
        for k in (0.01, 0.05, 0.25):
            for name, mode in (("reflect", "reflect"), ("nearest", "nearest")):
                b = gaussian_blur(noise, k * 250, mode=mode)
                # the seed's display renormalized each image: stretch the contrast likewise
                b = (b - b.min()) / max(float(np.ptp(b)), 1e-12) * 255
                thumbs.append((f"{name}, {k:g}", b))
        path = out_dir / "blur_entropy.png"
        curve_plot(curves, path, xlabel="blur sigma (fraction of image size)",
                   title="entropy vs blur; right: noise blurred (stretched)", images=thumbs)
    else:
        path = out_dir / "blur_entropy.csv"
        rows = zip(fractions.tolist(), *[c[2].tolist() for c in curves], strict=True)
        write_csv(path, ["sigma_fraction"] + [c[0] for c in curves], rows)
    if not quiet:
        print(f"wrote {path}")
