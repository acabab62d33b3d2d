"""The ``gpuent`` command.

Each subcommand lives in its own module under :mod:`gpuent.commands` and
exposes ``register(subparsers)``, which adds its parser and sets ``func`` (a
callable taking the parsed namespace and returning an exit code). A module may
also expose ``demo(out_dir, quiet)`` to add its pictures to ``gpuent demo``.

Bad input never shows a traceback: :class:`CLIError`, ``ValueError``,
``TypeError`` and ``OSError`` become one line ``gpuent: error: ...`` and exit
status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

__all__ = ["CLIError", "build_parser", "command_modules", "main"]


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
        self.exit(2, f"gpuent: error: {message}\n")


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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("gpuent: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, TypeError, OSError, MemoryError) as exc:
        message = str(exc) or type(exc).__name__
        print(f"gpuent: error: {message.splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
