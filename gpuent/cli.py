"""The ``gpuent`` command.

Each subcommand lives in its own module under :mod:`gpuent.commands` and
exposes ``register(subparsers)``, which adds its parser and sets ``func`` (a
callable taking the parsed namespace and returning an exit code). A module may
also expose ``demo(out_dir, quiet)`` to add its pictures to ``gpuent demo``.

Bad input never shows a traceback: :class:`CLIError`, ``ValueError``,
``TypeError`` and ``OSError`` become one line ``gpuent: error: ...`` and exit
status 2. Library errors that name parameters (:class:`gpuent._validate.SpelledError`)
are shown with the command's option names (``bins=K`` becomes ``--bins K``); no
message text is rewritten.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import pkgutil
import re
import sys
from pathlib import Path

__all__ = ["CLIError", "build_parser", "check_output", "command_modules", "main"]


class CLIError(Exception):
    """An error whose message is shown to the user as it is."""


def command_modules():
    """Import and return the subcommand modules, sorted by name."""
    from . import commands

    found = pkgutil.iter_modules(commands.__path__)
    names = sorted(m.name for m in found if not m.name.startswith("_"))
    return [importlib.import_module(f"{commands.__name__}.{name}") for name in names]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as argparse does, without the usage dump
        m = re.match(r"argument (\S+): expected one argument$", message)
        if m:  # e.g. --sigmas -1,2: argparse takes "-1,2" for an option
            option = m.group(1).split("/")[-1]
            message += f" (for a value that starts with '-', write {option}=VALUE)"
        self.exit(2, f"gpuent: error: {message}\n")


def _option_spelling(args):
    """Spell a library parameter as this command's option (``bins=K`` -> ``--bins K``);
    a parameter the command has no option for keeps its Python spelling."""
    from ._validate import python_spelling

    def spell(name, value):
        if not hasattr(args, name):
            return python_spelling(name, value)
        option = "--" + name.replace("_", "-")
        return option if value is None else f"{option} {value}"

    return spell


def _error_message(exc, args) -> str:
    from ._memory import MemoryLimitError

    # a refusal before allocating already says what to do; a real MemoryError does not
    if isinstance(exc, MemoryError) and not isinstance(exc, MemoryLimitError):
        return f"not enough memory ({exc or 'out of memory'}); try a smaller image or window"
    if isinstance(exc, OSError) and exc.strerror and exc.filename and \
            str(exc).startswith("[Errno"):
        return f"{exc.filename}: {exc.strerror}"
    from ._validate import SpelledError

    if isinstance(exc, SpelledError):  # library errors name parameters; name our options
        message = exc.spelled(_option_spelling(args))
    else:
        message = str(exc) or type(exc).__name__
    return message.splitlines()[0]


def check_output(out, *inputs, option="-o/--output"):
    """Fail early (before any work) on an output path that cannot be written as asked."""
    out = Path(out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise CLIError(f"cannot write {out}: the output folder {folder} {what}")
    if out.is_dir() and out.suffix.lower() != ".zarr":
        raise CLIError(f"cannot write {out}: it is a folder; give a file name to {option}")
    if out.suffix.lower() == ".zarr" and out.exists() and not out.is_dir():
        raise CLIError(f"cannot write {out}: a .zarr output is a folder, and a file of that "
                       f"name exists; remove it or choose another name")
    for src in inputs:
        if src is not None and out.exists() and os.path.exists(src) and \
                os.path.samefile(out, src):
            raise CLIError(f"{option} {out} is the input file; choose another output name")
    return out


def check_radius(radius, shape, what=None):
    """A window radius bigger than the image only costs time (O(r) per pixel): refuse it."""
    limit = max(int(n) for n in shape)
    if radius > limit:
        size = "x".join(str(int(n)) for n in shape)
        what = what or f"--radius {radius}"
        raise CLIError(f"{what} is larger than the image ({size}); use a radius of at most "
                       f"{limit} (a window that wide already covers the image)")


def needs_bins(dtype, bins, name):
    """The one-line error for a floating-point image without --bins."""
    import numpy as np

    if bins is None and np.issubdtype(dtype, np.floating):
        raise CLIError(f"{name} holds floating-point values: pass --bins K to bin them into "
                       f"K levels (e.g. --bins 256)")


def finite(value, option):
    if value is not None and not math.isfinite(value):
        raise CLIError(f"{option} must be a finite number, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="gpuent",
        description="Information in images and Ising annealing, on CPU or NVIDIA GPU.",
    )
    parser.add_argument("--version", action="version", version=f"gpuent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in command_modules():
        module.register(sub)
    return parser


#: argument names that hold input files (hashed into each output's provenance record)
INPUT_ARGS = ("input", "edges")


def run_recorded(args, argv, *, record_argv=None, cwd=None):
    """Run a parsed command with its provenance being recorded (see :mod:`gpuent.provenance`)."""
    from .provenance import recording

    params = {k: v for k, v in vars(args).items() if k not in ("func", "command")}
    inputs = [(name, getattr(args, name)) for name in INPUT_ARGS
              if isinstance(getattr(args, name, None), str)]
    with recording(args.command, parameters=params,
                   argv=[str(a) for a in (argv if record_argv is None else record_argv)],
                   inputs=inputs) as rec:
        if cwd is not None:
            rec.cwd = cwd
        return int(args.func(args) or 0)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        names = ", ".join(sorted(parser._subparsers._group_actions[0].choices))
        print(f"gpuent: error: give a command ({names}); see gpuent --help", file=sys.stderr)
        return 2
    from . import _kernels

    announce = _kernels.announce_compiles
    if getattr(args, "quiet", False):
        _kernels.announce_compiles = False  # --quiet: nothing on stderr on success
    try:
        return run_recorded(args, sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:
        print("gpuent: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``gpuent ... | head``): stop quietly, as Unix tools do;
        # point stdout at devnull so the interpreter's final flush does not fail again
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CLIError, ValueError, TypeError, OSError, MemoryError) as exc:
        print(f"gpuent: error: {_error_message(exc, args)}", file=sys.stderr)
        return 2
    finally:
        _kernels.announce_compiles = announce


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
