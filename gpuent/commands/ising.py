"""``gpuent ising``: anneal an image with one of the REU notebook's Ising models (its
section 12), write a movie."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from ._input import add_plane_option, read_plane

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

#: what ``gpuent ising photo.png -o out.gif`` runs: the edges preset's model, schedule and length
IMAGE_DEFAULTS = PRESETS["edges"]

DESCRIPTION = f"""{HELP}.

Examples:
  gpuent ising photo.png -o photo.gif         # defaults: the edges preset (below)
  gpuent ising --preset metric -o metric.gif
  gpuent ising --preset edges -o edges.gif
  gpuent ising photo.png --model edge --schedule arctan:0.5 --sweeps 500 --every 5 -o out.mp4
  gpuent ising --model torus --size 512x512 --beta 0.44 --sweeps 300 -o critical.webp

Schedules: a number, const:B, linear:B0:B1, geometric:B0:B1, log:B0:B1, arctan:C, joined by
commas for consecutive parts (heat then cool: linear:4:1e-3,linear:1e-3:4; part@W weights).
The movie gets a frame every --every sweeps (sweeps / every frames).

Presets: edges cuts the bonds to the image's edge pixels (gradient above 0.25) and runs 200
sweeps at beta = 0.5, rising to 1 over the last few (arctan:0.5): the picture's regions
freeze while its outlines blink. metric couples each spin to its 3x3 block of the image,
heats from beta = 4 to 0.001 and cools back (200 sweeps): the picture dissolves into noise
and returns. With an input image and no --model/--beta/--schedule/--sweeps, gpuent ising
uses the edges preset's model, schedule and length. 16-bit images keep their depth (spins
from 2 x / 65535 - 1); for a stack of planes (multi-page TIFF) --plane picks one.
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
                   help="a ready-made movie: edges (image edges cut the bonds; arctan "
                        "schedule) or metric (spins pulled towards the image; heat then "
                        "cool); see below")
    add_plane_option(p, help="for a stack of planes (multi-page TIFF): the plane to use, "
                            "counting from 0 (default: the middle plane)")
    p.add_argument("--size", type=_size, metavar="HxW",
                   help="lattice size, even sides: resizes the input (default: the input's "
                        "own size, or 256x256 without an input)")
    p.add_argument("--model", choices=("torus", "edge", "metric"),
                   help="Ising model (default: edge with an input image, torus without; "
                        "or the preset's)")
    p.add_argument("--spins", choices=("binary", "continuous"),
                   help="--model torus only: int8 +-1 (default) or continuous float spins "
                        "in [-1, 1] that keep the image's gray levels")
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
    p.add_argument("--sweeps", type=int, metavar="N",
                   help="number of sweeps (default 200 with an input image, or the preset's)")
    p.add_argument("--every", type=int, metavar="K",
                   help="a movie frame every K sweeps (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--fps", type=float, default=25.0, metavar="F",
                   help="movie frames per second (default 25)")
    p.add_argument("--downscale", type=int, default=0, metavar="K",
                   help="average KxK spin blocks per movie pixel (default: 1, or enough to "
                        "keep frames within 2048 pixels a side)")
    p.add_argument("--label", action="store_true",
                   help="write the sweep and beta in the corner of each frame")
    p.add_argument("--backend", choices=("auto", "reference", "cpu", "cuda"), default="auto",
                   help="compute path (default auto: CUDA on a GPU, else Numba; cuda needs "
                        "CuPy and an NVIDIA GPU)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing on success (no progress bar or summary)")
    p.set_defaults(func=run)


def _read_image(path, size, plane=None, quiet=True):
    """The image through the reader ``gpuent entropy`` uses: grayscale by luminance,
    uint16 kept (models scale by the dtype's range), one plane of a stack."""
    import numpy as np
    from PIL import Image

    from ..cli import CLIError

    if Path(path).suffix.lower() in (".npy", ".zarr"):
        raise CLIError(f"cannot read image {path}: ising takes an image file (PNG, JPEG, "
                       f"TIFF, ...), not {Path(path).suffix}")
    if Path(path).is_dir():
        raise CLIError(f"cannot read image {path}: it is a folder, not an image file")
    try:
        arr = read_plane(path, plane, quiet=quiet)
    except OSError as exc:
        raise OSError(f"cannot read image {path}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    if size is not None and arr.shape != tuple(size):
        if arr.dtype == np.uint8:
            im = Image.fromarray(arr).resize((size[1], size[0]), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8).copy()
        else:  # 16-bit, other integers and floats: resample in float32, back to the dtype
            im = Image.fromarray(arr.astype(np.float32), mode="F")
            res = np.asarray(im.resize((size[1], size[0]), Image.BILINEAR), dtype=np.float64)
            if np.issubdtype(arr.dtype, np.integer):
                info = np.iinfo(arr.dtype)
                res = np.clip(np.rint(res), info.min, info.max)
            arr = res.astype(arr.dtype)
    return arr


def _even(a):
    h, w = a.shape
    return a[: h - h % 2, : w - w % 2]


def _build(args):
    import numpy as np

    from .. import ising
    from ..cli import CLIError

    preset = PRESETS.get(args.preset or "", {})
    if not preset and args.input is not None:
        # a photo and nothing else: make the edges preset's movie (its model only when no
        # --model is given; its schedule and length when no --beta/--schedule/--sweeps)
        preset = {k: v for k, v in IMAGE_DEFAULTS.items() if k != "model" or not args.model}
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
        image = _read_image(args.input, size, args.plane, quiet=args.quiet)
        args.cropped_from = image.shape
        image = _even(image)
    elif args.plane is not None:
        raise CLIError("--plane picks a plane of an input stack; give the input file")
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
            half = 128 if e.dtype == np.uint8 else (
                np.iinfo(e.dtype).max / 2 if np.issubdtype(e.dtype, np.integer) else 0.5)
            edges = e[: image.shape[0], : image.shape[1]] > half
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


def _label_writer(ising):
    """A MovieWriter that writes "sweep S  beta B" on each frame (``--label``)."""

    class LabelWriter(ising.MovieWriter):
        def __init__(self, path, *, fps, betas, every):
            super().__init__(path, fps=fps)
            self._betas = betas
            self._every = every

        def append(self, frame):
            sweep = (self.count + 1) * self._every
            text = f"sweep {sweep}  beta {self._betas[sweep - 1]:.3g}"
            if hasattr(frame, "resolve"):  # a GPU frame: label it once it has arrived
                super().append(_Labelled(frame, text))
            else:
                super().append(draw_label(frame, text))

    return LabelWriter


class _Labelled:
    def __init__(self, pending, text):
        self.pending, self.text = pending, text
        self.shape, self.ndim, self.dtype = pending.shape, pending.ndim, pending.dtype

    def resolve(self):
        return draw_label(self.pending.resolve(), self.text)


def draw_label(frame, text):
    """``frame`` (2-D uint8) with ``text`` in white on a black band at its top left."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    im = Image.fromarray(np.ascontiguousarray(frame))
    size = max(8, min(im.size[1] // 16, im.size[0] // 24, 24))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(im)
    left, top, right, bottom = draw.textbbox((2, 1), text, font=font)
    draw.rectangle((0, 0, min(right + 2, im.size[0] - 1), bottom + 2), fill=0)
    draw.text((2, 1), text, fill=255, font=font)
    return np.asarray(im, dtype=np.uint8)


def run(args):
    from .. import ising
    from ..cli import check_output

    out = check_output(args.output, args.input, args.edges)
    model, sweeps, every, schedule = _build(args)
    backend = None if args.backend == "auto" else args.backend
    sim = ising.Simulation(model, seed=args.seed, backend=backend)
    from ..provenance import note

    note(path=sim.backend, model=model.kind, schedule=repr(schedule), seed=args.seed,
         sweeps=sweeps, every=every, lattice=list(model.shape[:2]))
    downscale = args.downscale or max(1, math.ceil(max(model.shape) / 2048))
    if getattr(args, "label", False):
        writer = _label_writer(ising)(out, fps=args.fps, betas=schedule.values(sweeps),
                                      every=every)
    else:
        writer = ising.MovieWriter(out, fps=args.fps)  # fails now if out is not writable
    writer.room_hint = ("take fewer frames (a larger --every, fewer --sweeps), --downscale K, "
                        "or write an .mp4, which streams")
    progress = (not args.quiet) and sys.stderr.isatty()
    if not args.quiet and args.input is not None and args.preset is None and not (
            args.model or args.beta is not None or args.schedule or args.sweeps):
        print(f"gpuent: note: no --model/--schedule/--sweeps given: using the edges preset "
              f"(edge model, {IMAGE_DEFAULTS['schedule']} schedule, {sweeps} sweeps)",
              file=sys.stderr)
    t0 = time.perf_counter()
    try:
        trace = sim.run(sweeps, beta=schedule, record_every=0, frames=every, movie=writer,
                        progress=progress, downscale=downscale)
    except BaseException as exc:
        if writer.count:
            frames = writer.count
            writer.close()  # a valid movie of the frames so far (Ctrl-C)
            if isinstance(exc, KeyboardInterrupt):
                print(f"gpuent: interrupted after sweep {sim.sweeps_done} of {sweeps}: kept "
                      f"the partial movie {out} ({frames} frame{'s' if frames != 1 else ''}"
                      f" of {sweeps // every})", file=sys.stderr)
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
        fps=25.0, downscale=0, backend="auto", quiet=quiet, plane=None, label=False)
    run(args)
