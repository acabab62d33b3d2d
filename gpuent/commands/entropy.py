"""``gpuent entropy``: the local-entropy map of an image file."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..cli import CLIError
from ..footprints import parse_footprint

HELP = "local-entropy map of an image (PNG through inferno, or raw float32 .tif/.npy)"


def register(sub):
    p = sub.add_parser("entropy", help=HELP, description=HELP)
    p.add_argument("input", metavar="IN", help="image file (PNG, JPEG, TIFF, .npy, ...)")
    window = p.add_mutually_exclusive_group()
    window.add_argument("-r", "--radius", type=int, help="square (2r+1)-box radius (default 3)")
    window.add_argument("--footprint", metavar="SPEC",
                        help="window shape: disk:R, square:R, rect:HxW or diamond:R")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output .png (colour map), .tif or .npy (float32); default IN-entropy.png")
    p.add_argument("--mode", default="clip", choices=("clip", "reflect", "mirror", "wrap"),
                   help="image boundary (default clip: the window shrinks at borders)")
    p.add_argument("--estimator", default="plugin",
                   choices=("plugin", "miller-madow", "grassberger", "dirichlet"))
    p.add_argument("--bins", type=int, help="number of levels to bin into (needed for floats)")
    p.add_argument("--base", type=float, default=2.0, help="logarithm base (default 2: bits)")
    p.add_argument("--backend", default="auto", choices=("auto", "reference", "cpu", "cuda"),
                   help="computation path (default auto: CUDA for a GPU, else Numba)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def _output_path(args) -> Path:
    if args.output:
        return Path(args.output)
    src = Path(args.input)
    return src.with_name(f"{src.stem}-entropy.png")


def run(args):
    from .. import local_entropy
    from ..io import read_image, write_map

    if args.radius is not None and args.radius < 0:
        raise CLIError(f"--radius must be >= 0, got {args.radius}")
    out = _output_path(args)
    if out.suffix.lower() not in (".png", ".tif", ".tiff", ".npy", ".jpg", ".jpeg", ".webp"):
        raise CLIError(f"output {out} must end in .png, .tif or .npy")
    if not out.parent.is_dir() and str(out.parent):
        raise CLIError(f"output folder does not exist: {out.parent}")
    image = np.asarray(read_image(args.input))
    footprint = parse_footprint(args.footprint) if args.footprint else None
    radius = None if footprint is not None else (3 if args.radius is None else args.radius)
    backend = None if args.backend == "auto" else args.backend
    if backend == "cuda":
        from .._backend import cupy_or_none, gpu_available

        if not gpu_available():
            raise CLIError("--backend cuda needs CuPy and an NVIDIA GPU; none is usable here")
        image = cupy_or_none().asarray(image)
    elif backend is None:
        from .._backend import cupy_or_none, gpu_available

        if gpu_available() and image.ndim == 2:
            image = cupy_or_none().asarray(image)
    start = time.perf_counter()
    emap = local_entropy(image, radius, footprint=footprint, mode=args.mode, bins=args.bins,
                         estimator=args.estimator, base=args.base, backend=backend)
    from .._backend import to_numpy

    emap = to_numpy(emap)
    seconds = time.perf_counter() - start
    write_map(out, emap)
    if not args.quiet:
        mpix = emap.size / 1e6
        print(f"wrote {out}: {emap.shape[0]}x{emap.shape[1]} entropy map "
              f"({np.nanmin(emap):.3g}..{np.nanmax(emap):.3g} bits) in {seconds:.2f} s "
              f"({mpix / max(seconds, 1e-9):.1f} Mpix/s)", file=sys.stdout)
    return 0


def demo(out_dir: Path, quiet: bool):
    """The foundation demo: the sample image and its local-entropy map (r = 5)."""
    from .. import local_entropy
    from .._samples import sample_image
    from ..io import write_image, write_map

    image = sample_image(512)
    write_image(out_dir / "sample.png", image)
    emap = local_entropy(image, 5)
    write_map(out_dir / "sample-entropy.png", emap)
    if not quiet:
        print(f"wrote {out_dir / 'sample.png'} and {out_dir / 'sample-entropy.png'}")


