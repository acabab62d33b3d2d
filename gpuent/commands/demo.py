"""``gpuent demo``: every command's demo output for a built-in sample, in one folder."""

from __future__ import annotations

from pathlib import Path

HELP = "write the demo pictures (sample image, entropy map, ...) into a folder"


def register(sub):
    p = sub.add_parser("demo", help=HELP, description=HELP)
    p.add_argument("-o", "--output", "--out", dest="out", metavar="DIR", default="demo",
                   help="output folder, created if needed (default ./demo)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=run)


def run(args):
    from ..cli import CLIError, command_modules

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"cannot write the demo into {out}: it is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    # the entropy map first: it is the main job; then the other commands' pictures
    modules = sorted(command_modules(), key=lambda m: not m.__name__.endswith(".entropy"))
    for module in modules:
        step = getattr(module, "demo", None)
        if step is not None:
            step(out, args.quiet)
    return 0
