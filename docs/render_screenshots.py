"""Render pages of the built site to PNG with headless Chromium (a look in a real browser).

Usage (after ``make docs``)::

    python docs/render_screenshots.py [--out docs/_screenshots] [--browser chromium]

Renders the index, one gallery page and one API page of ``docs/_build/html`` and
prints the PNG paths. Needs a Chromium (Debian: ``apt-get install chromium``); nothing
is fetched from the network (the pages load only local files).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HTML = HERE / "_build" / "html"
PAGES = {
    "index": "index.html",
    "gallery": "auto_examples/plot_14_heat_then_cool.html",
    "api": "generated/gpuent.local_entropy.html",
}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE / "_screenshots")
    ap.add_argument("--browser", default=None, help="Chromium executable")
    ap.add_argument("--size", default="1280,2400", help="window WIDTH,HEIGHT in pixels")
    args = ap.parse_args(argv)

    browser = args.browser or next(
        (b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None
    )
    if browser is None:
        print("render_screenshots: error: no Chromium found; install it "
              "(apt-get install chromium) or pass --browser", file=sys.stderr)
        return 2
    missing = [p for p in PAGES.values() if not (HTML / p).is_file()]
    if missing:
        print(f"render_screenshots: error: {missing} not built; run 'make docs' first",
              file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, page in PAGES.items():
        png = args.out / f"{name}.png"
        cmd = [browser, *FLAGS, f"--window-size={args.size}", f"--screenshot={png}",
               "--virtual-time-budget=5000", (HTML / page).as_uri()]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if run.returncode != 0 or not png.is_file():
            print(f"render_screenshots: error: {browser} failed on {page}:\n{run.stderr}",
                  file=sys.stderr)
            return 1
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
