"""``gpuent ising``: anneal an image with one of the notebook's Ising models, write a movie."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

HELP = "anneal an image with an Ising model (torus, edge, metric) and write a movie"

# The notebook's movies (section 12) ran n = 1e6 random single-site steps per part with a
# frame every 1000 steps, on its own letters image (size not in the scan). With 1 sweep =
# N steps that is 1e6 / N sweeps (15 on the default 256x256) and a frame every 1000 / N
# sweeps (1/65 sweep). Frames here can only be taken between sweeps, so the presets run
# longer (200 sweeps, 13x the notebook's steps on 256x256) with fewer frames (200 instead
# of ~1000 per part): a movie of the same process, not a step-for-step replay. Images
# are binarized (the notebook kept gray levels) and the letters image is gpuent's own.
PRESETS = {
    # notebook 12.2: letters and their edges (the notebook loaded an edge file; here edges
    # are computed, gradient threshold 0.25), beta = 0.5 (pi/2) / arctan(n - i) with i
    # counting sweeps: 0.5 for most of the run, rising to 1.0 over the last few sweeps.
    # The notebook counted steps, so its beta stayed ~0.5 to the end (see
    # gpuent.ising.arctan, steps_per_sweep). Edge pixels flip every sweep (blink).
    "edges": {"model": "edge", "schedule": "arctan:0.5", "sweeps": 200, "every": 1},
    # notebook 12.3 (ienergy = block): heat from beta = 4 to 1e-3 over the first half,
    # then cool back from 1e-3 to 4. In the scan the cooling loop's frame block sits
    # outside the loop (it would give no frames of the cooling); we read it as inside.
    "metric": {"model": "metric", "schedule": "linear:4:1e-3,linear:1e-3:4", "sweeps": 200,
               "every": 1},
}

DESCRIPTION = f"""{HELP}.

Examples:
  gpuent ising --preset metric -o metric.gif
  gpuent ising --preset edges -o edges.gif
  gpuent ising photo.png --model edge --schedule arctan:0.5 --sweeps 500 --every 5 -o out.mp4
  gpuent ising --model torus --size 512x512 --beta 0.44 --sweeps 300 -o critical.webp

Schedules: a number, const:B, linear:B0:B1, geometric:B0:B1, log:B0:B1, arctan:C, joined by
commas for consecutive parts (heat then cool: linear:4:1e-3,linear:1e-3:4; part@W weights).
The movie gets a frame every --every sweeps (sweeps / every frames).
"""


def _size(text):
    try:
        h, w = (int(v) for v in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW (e.g. 256x256), got {text!r}") \
            from None
    if h < 2 or w < 2:
        raise argparse.ArgumentTypeError(f"size must be at least 2x2, got {text!r}")
    if h % 2 or w % 2:
        raise argparse.ArgumentTypeError(
            f"size must have even sides (the lattice is updated as a checkerboard), got "
            f"{text!r}; try {h + h % 2}x{w + w % 2}")
    return h, w


def register(sub):
    p = sub.add_parser("ising", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", metavar="IN",
                   help="image file (PNG, JPEG, TIFF, ...; default: a built-in letters image); "
                        "odd sides are cropped to even")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="movie file: .gif, .png (APNG), .webp or .mp4 (needs imageio-ffmpeg)")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="the notebook's movies: edges (12.2) or metric (12.3)")
    p.add_argument("--size", type=_size, metavar="HxW",
                   help="lattice size, even sides: resizes the input (default: the input's "
                        "own size, or 256x256 without an input)")
    p.add_argument("--model", choices=("torus", "edge", "metric"),
                   help="Ising model (default torus, or the preset's)")
    p.add_argument("--spins", choices=("binary", "continuous"),
                   help="--model torus only: int8 +-1 (default) or the notebook's grayscale "
                        "(float) spins")
    p.add_argument("--energy", choices=("block", "symmetric"),
                   help="--model metric only: ienergy (block, default) or sienergy (symmetric)")
    p.add_argument("--edges", metavar="FILE",
                   help="--model edge only: edge image (pixels > 128 are edges)")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="--model edge only: gradient threshold for computed edges "
                        "(default 0.25)")
    p.add_argument("--edge-spins", choices=("flip", "fixed"),
                   help="--model edge only: edge pixels flip freely (default, as in the "
                        "notebook) or stay fixed")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--beta", type=float, metavar="B", help="constant inverse temperature >= 0")
    g.add_argument("--schedule", metavar="SPEC",
                   help="beta schedule, e.g. linear:0.1:1 (see above)")
    p.add_argument("--sweeps", type=int, metavar="N", help="number of sweeps")
    p.add_argument("--every", type=int, metavar="K",
                   help="a movie frame every K sweeps (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--fps", type=float, default=25.0, metavar="F",
                   help="movie frames per second (default 25)")
    p.add_argument("--downscale", type=int, default=0, metavar="K",
                   help="average KxK spin blocks per movie pixel (default: 1, or enough to "
                        "keep frames within 2048 pixels a side)")
    p.add_argument("--backend", choices=("auto", "reference", "cpu", "cuda"), default="auto",
                   help="compute path (default auto: CUDA on a GPU, else Numba; cuda needs "
                        "CuPy and an NVIDIA GPU)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing on success (no progress bar or summary)")
    p.set_defaults(func=run)


def _read_image(path, size):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from ..cli import CLIError

    if Path(path).suffix.lower() in (".npy", ".zarr"):
        raise CLIError(f"cannot read image {path}: ising takes an image file (PNG, JPEG, "
                       f"TIFF, ...), not {Path(path).suffix}")
    if Path(path).is_dir():
        raise CLIError(f"cannot read image {path}: it is a folder, not an image file")
    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if size is not None:
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as exc:
        raise OSError(f"cannot read image {path}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    return arr


def _even(a):
    h, w = a.shape
    return a[: h - h % 2, : w - w % 2]


def _build(args):
    from .. import ising
    from ..cli import CLIError

    preset = PRESETS.get(args.preset or "", {})
    model = args.model or preset.get("model", "torus")
    sweeps = args.sweeps if args.sweeps is not None else preset.get("sweeps")
    every = args.every if args.every is not None else preset.get("every", 1)
    if sweeps is None:
        raise CLIError("give --sweeps N (or a --preset)")
    if sweeps < 0:
        raise CLIError(f"--sweeps must be >= 0, got {sweeps}")
    if every < 1:
        raise CLIError(f"--every must be >= 1, got {every}")
    if sweeps // every < 1:
        raise CLIError(f"--sweeps {sweeps} with --every {every} gives no frame")
    for option, value, wants in (("--spins", args.spins, "torus"),
                                 ("--energy", args.energy, "metric"),
                                 ("--edges", args.edges, "edge"),
                                 ("--threshold", args.threshold, "edge"),
                                 ("--edge-spins", args.edge_spins, "edge")):
        if value is not None and model != wants:
            raise CLIError(f"{option} applies to --model {wants} only, not {model}")
    if args.beta is not None:
        if not (math.isfinite(args.beta) and args.beta >= 0):
            raise CLIError(f"--beta must be a finite number >= 0, got {args.beta}")
        beta = args.beta
    elif args.schedule is not None:
        try:
            if float(args.schedule) < 0:
                raise CLIError(f"--schedule must give beta >= 0, got {args.schedule}")
        except ValueError:
            pass
        try:
            beta = ising.parse_schedule(args.schedule)
            ising.as_schedule(beta).values(sweeps)
        except (ValueError, TypeError) as exc:
            raise CLIError(f"--schedule {args.schedule!r}: {exc}") from None
    elif "schedule" in preset:
        beta = ising.parse_schedule(preset["schedule"])
    else:
        raise CLIError("give --beta B or --schedule SPEC (or a --preset)")
    schedule = ising.as_schedule(beta)
    schedule.values(sweeps)  # validate now
    if args.downscale < 0:
        raise CLIError(f"--downscale must be >= 1, got {args.downscale}")
    if not args.fps > 0:
        raise CLIError(f"--fps must be > 0, got {args.fps}")
    if not 0 <= args.seed < 2**64:
        raise CLIError(f"--seed must be in [0, 2**64), got {args.seed}")

    size = args.size
    if args.input is not None:
        image = _read_image(args.input, size)
        args.cropped_from = image.shape
        image = _even(image)
    elif model == "torus" and args.preset is None:
        image = None
    else:
        image = ising.letters_image(size or (256, 256))
    if image is not None and min(image.shape) < 2:
        raise CLIError("input image is smaller than 2x2")

    if model == "torus":
        if image is None:
            h, w = size or (256, 256)
            m = ising.torus((h - h % 2, w - w % 2), init="random",
                            spins=args.spins or "binary", seed=args.seed)
        else:
            m = ising.torus(init=image, spins=args.spins or "binary")
    elif model == "edge":
        edges = None
        if args.edges is not None:
            e = _read_image(args.edges, image.shape if args.input is None else None)
            if e.shape[0] < image.shape[0] or e.shape[1] < image.shape[1]:
                raise CLIError(f"edge image {args.edges} is {e.shape[0]}x{e.shape[1]}, smaller "
                               f"than the input's {image.shape[0]}x{image.shape[1]}")
            edges = e[: image.shape[0], : image.shape[1]] > 128
        m = ising.edge_model(image, edges=edges, threshold=args.threshold,
                             edge_spins=args.edge_spins or "flip")
    else:
        m = ising.metric_model(image, energy=args.energy or "block")

    xp_model = m
    if args.backend == "cuda":
        from .._backend import gpu_available

        if not gpu_available():
            raise CLIError("--backend cuda needs CuPy and an NVIDIA GPU; none is visible")
        xp_model = _to_cupy(m)
    return xp_model, sweeps, every, schedule


def _to_cupy(m):
    import cupy as cp

    from ..ising.models import IsingModel

    aux = None if m.aux is None else cp.asarray(m.aux)
    return IsingModel(m.kind, cp.asarray(m.spins), aux, m.edge_spins, dict(m.info))


def run(args):
    from .. import ising
    from ..cli import check_output

    out = check_output(args.output, args.input, args.edges)
    model, sweeps, every, schedule = _build(args)
    backend = None if args.backend == "auto" else args.backend
    sim = ising.Simulation(model, seed=args.seed, backend=backend)
    downscale = args.downscale or max(1, math.ceil(max(model.shape) / 2048))
    writer = ising.MovieWriter(out, fps=args.fps)  # fails now if out is not writable
    progress = (not args.quiet) and sys.stderr.isatty()
    t0 = time.perf_counter()
    try:
        trace = sim.run(sweeps, beta=schedule, record_every=0, frames=every, movie=writer,
                        progress=progress, downscale=downscale)
    except BaseException:
        if writer.count:
            writer.close()  # a valid movie of the frames so far (Ctrl-C)
        else:
            writer.abort()
        raise
    writer.close()
    dt = time.perf_counter() - t0
    if not args.quiet:
        h, w = writer.size
        flips = sweeps * sim.size
        run_s = trace.seconds
        src = getattr(args, "cropped_from", model.shape)
        cropped = "" if tuple(src) == tuple(model.shape[:2]) else \
            f" (input {src[0]}x{src[1]} cropped to even sides)"
        print(f"wrote {out}: {trace.frame_count} frames of {h}x{w} pixels, {sweeps} sweeps of a "
              f"{model.shape[0]}x{model.shape[1]} {model.kind} lattice{cropped} ({sim.backend}): "
              f"simulation {run_s:.2f} s ({flips / max(run_s, 1e-9) / 1e6:.3g} M flips/s, "
              f"with frames), {dt:.2f} s in all")
    return 0


def demo(out_dir: Path, quiet: bool) -> None:
    """``gpuent demo``: the notebook's heat-then-cool metric movie (12.3)."""
    args = argparse.Namespace(
        input=None, output=str(Path(out_dir) / "ising-metric.gif"), preset="metric",
        size=None, model=None, spins=None, energy=None, edges=None, threshold=None,
        edge_spins=None, beta=None, schedule=None, sweeps=None, every=None, seed=0,
        fps=25.0, downscale=0, backend="auto", quiet=quiet)
    run(args)
