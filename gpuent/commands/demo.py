"""``gpuent demo``: every command's demo output for a built-in sample, in one folder."""

from __future__ import annotations

from pathlib import Path

HELP = "write the demo pictures (sample image, entropy map, ...) into a folder"


def register(sub):
    p = sub.add_parser("demo", help=HELP, description=HELP)
    p.add_argument("--out", default="demo", help="output folder (default ./demo)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..cli import command_modules

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # the entropy map first: it is the main job; then the other commands' pictures
    modules = sorted(command_modules(), key=lambda m: not m.__name__.endswith(".entropy"))
    for module in modules:
        step = getattr(module, "demo", None)
        if step is not None:
            step(out, args.quiet)
    return 0
