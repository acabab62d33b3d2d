"""Subcommands of the ``gpuent`` CLI: one module each, found automatically by :mod:`gpuent.cli`."""
