"""Shared matplotlib helpers (the ``plot`` extra), imported lazily by ``.plot()`` and the CLI.

Nothing here imports matplotlib at module import time; :func:`pyplot` does, and says
``pip install gpuent[plot]`` when it is missing.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PLOT_HINT",
    "axes",
    "fit_plot",
    "have_matplotlib",
    "plot_or_csv",
    "pyplot",
    "save_figure",
    "write_csv",
]

PLOT_HINT = "plots need matplotlib: pip install gpuent[plot]"


def have_matplotlib() -> bool:
    """True when matplotlib imports."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def pyplot(headless: bool = False):
    """Return ``matplotlib.pyplot``; ``headless=True`` selects the Agg backend first (CLI)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    if headless:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def axes(ax=None, figsize=(5, 4)):
    """``ax`` itself, or the axes of a new figure."""
    if ax is not None:
        return ax
    plt = pyplot()
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def fit_plot(ax, x, y, slope, intercept, *, xlabel, ylabel, label=None, marker="o"):
    """Points ``(x, y)`` and the fitted line ``slope * x + intercept`` on ``ax``."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pts = ax.plot(x, y, marker, ms=4, label=label)
    ends = np.array([x.min(), x.max()])
    ax.plot(ends, slope * ends + intercept, "-", color=pts[0].get_color(), lw=1, alpha=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def save_figure(fig, path, *, dpi=80):
    """Write ``fig`` to ``path`` (format from the suffix) and close it."""
    plt = pyplot()
    fig.savefig(str(path), dpi=dpi)
    plt.close(fig)


def write_csv(path, header, rows):
    """Write ``rows`` (sequences of numbers) under a ``header`` line to ``path``."""
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row in rows:
            w.writerow([f"{v:.10g}" if isinstance(v, float) else v for v in row])


def plot_or_csv(out):
    """For a CLI output path: ``(path, "png"|"csv")``, falling back to CSV without matplotlib.

    A ``.png`` (or ``.pdf``/``.svg``) asks for a plot; without matplotlib a note goes to
    stderr and the CSV is written next to it instead. Any other suffix must be ``.csv``.
    """
    import sys
    from pathlib import Path

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        return out, "csv"
    if suffix not in (".png", ".pdf", ".svg"):
        raise ValueError(f"output {out} must end in .png (a plot) or .csv (the numbers)")
    if not have_matplotlib():
        csv_path = out.with_suffix(".csv")
        print(f"gpuent: note: {PLOT_HINT}; writing the numbers to {csv_path} instead",
              file=sys.stderr)
        return csv_path, "csv"
    return out, "png"
