"""``gpuent rerun``: run the command that made a file again and compare the bits."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..cli import CLIError

HELP = "re-run the command recorded in an output and report whether it is bit-identical"
DESCRIPTION = HELP + """.

The recorded input is found by its path (as recorded, then as given, then next to FILE) and
must still hold the same pixels (SHA-256); the command runs again with the recorded
parameters. Without --check the new output replaces FILE; with --check FILE is left as it
is. Either way the report says whether the new output equals FILE bit for bit (for movies,
frame by frame), or where the first pixel differs; the exit status is 1 when it does.
"""


def register(sub):
    import argparse

    p = sub.add_parser("rerun", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help="an output of gpuent with a provenance record")
    p.add_argument("--check", action="store_true",
                   help="only compare: leave FILE as it is (exit status 1 if it differs)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing on success (a bit-identical rerun)")
    p.set_defaults(func=run)


def _short(digest):
    return f"{digest[:12]}..."


def locate_inputs(record, target, args):
    """Each recorded input's path here, checked against its recorded SHA-256."""
    from ..provenance import input_record

    cwd = Path(record.get("cwd") or ".")
    found = {}
    for inp in record.get("inputs") or []:
        role = inp["role"]
        given = getattr(args, role, None) or inp["file"]
        candidates = [Path(inp["path"]), cwd / given, Path(given), target.parent / inp["file"]]
        path = next((c for c in candidates if c.exists()), None)
        if path is None:
            raise CLIError(f"the input {inp['file']} that {target.name} was made from is "
                           f"missing (recorded at {inp['path']}); put it back to rerun")
        now = input_record(path, role)
        if now["sha256"] != inp["sha256"]:
            raise CLIError(f"the input {path} changed since {target.name} was made: its pixels' "
                           f"SHA-256 is {_short(now['sha256'])}, the record says "
                           f"{_short(inp['sha256'])}; rerun needs the same input")
        found[role] = str(path.resolve())
    return found


def run(args):
    from ..cli import build_parser, run_recorded
    from ..io import publish
    from ..provenance import pixel_digest, read_provenance, sidecar_path

    target = Path(args.file)
    record = read_provenance(target)
    command = record.get("command")
    if record.get("argv") is None or command is None:
        raise CLIError(f"{target} was written by a Python call ({record.get('function')}), not "
                       f"a gpuent command; rerun re-runs commands only")
    if command in ("rerun", "provenance", "demo"):
        raise CLIError(f"{target} was written by gpuent {command}, which rerun cannot repeat")
    recorded = list(record["argv"])
    try:
        again = build_parser().parse_args(recorded)
    except SystemExit:
        raise CLIError(f"this gpuent ({_version()}) does not accept the recorded command "
                       f"`gpuent {' '.join(recorded)}` (recorded by gpuent "
                       f"{record.get('gpuent')})") from None
    for role, path in locate_inputs(record, target, again).items():
        setattr(again, role, path)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.rerun.", dir=target.parent or "."))
    try:
        new = folder / target.name
        again.output = str(new)
        if hasattr(again, "quiet"):
            again.quiet = True
        run_recorded(again, recorded, cwd=record.get("cwd"))
        if not new.exists():
            raise CLIError(f"the recorded command wrote no {target.suffix} output (it may have "
                           f"written a CSV instead: is matplotlib installed?)")
        old_now = pixel_digest(target)
        fresh = pixel_digest(new)
        same = old_now["sha256"] == fresh["sha256"]
        altered = record["output"].get("sha256") != old_now["sha256"]
        if same:
            what = f"{len(fresh['frames'])} frames" if fresh.get("frames") else \
                "x".join(map(str, fresh.get("shape", []))) + " pixels" if "shape" in fresh \
                else "bytes"
            message = (f"bit-identical: re-running `gpuent {' '.join(recorded)}` reproduces "
                       f"{target} ({what}, sha256 {_short(fresh['sha256'])})")
        else:
            message = f"{target} differs from its rerun: {first_difference(target, new)}"
            if altered:
                message += (f" ({target.name} no longer matches its own record: it was changed "
                            f"after gpuent wrote it)")
        if not args.check:
            publish(new, target)
            if sidecar_path(new).exists():
                publish(sidecar_path(new), sidecar_path(target))
            message += f"; {target} rewritten"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if same:
        if not args.quiet:
            print(message)
        return 0
    print(f"gpuent: error: {message}", file=sys.stderr)
    return 1


def _version():
    from .. import __version__

    return __version__


def first_difference(old, new):
    """Where two outputs first differ: the frame, pixel index and both values."""
    from ..provenance import frames_of, open_pixels, pixel_digest

    old, new = Path(old), Path(new)
    if pixel_digest(new).get("of") == "file":
        a, b = old.read_bytes().splitlines(), new.read_bytes().splitlines()
        a = [x for x in a if not x.startswith(b"# ")]
        b = [x for x in b if not x.startswith(b"# ")]
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return f"first differing line {i + 1}: {x.decode()!r} vs {y.decode()!r}"
        return f"{len(a)} lines vs {len(b)} lines"
    if old.suffix.lower() in (".gif", ".png", ".webp", ".apng"):
        fa, fb = frames_of(old), frames_of(new)
        if len(fa) != len(fb):
            return f"{len(fa)} frames in the file, {len(fb)} in the rerun"
        for k, (x, y) in enumerate(zip(fa, fb)):
            where = _first(x, y)
            if where:
                return (f"frame {k} (checksums differ), " if len(fa) > 1 else "") + where
        return "the pixels are equal but their checksums differ"
    a, b = open_pixels(old, gray=False), open_pixels(new, gray=False)
    if tuple(a.shape) != tuple(b.shape):
        return f"shape {tuple(a.shape)} in the file, {tuple(b.shape)} in the rerun"
    step = max(1, (16 << 20) // max(1, int(np.prod(a.shape[1:])) * 4))
    for y0 in range(0, a.shape[0], step):
        y1 = min(a.shape[0], y0 + step)
        where = _first(np.asarray(a[y0:y1]), np.asarray(b[y0:y1]), offset=y0)
        if where:
            return where
    return "the pixels are equal but their checksums differ"


def _first(x, y, offset=0):
    """``"first differing pixel (i, j): a vs b"`` or None when equal (NaN equals NaN)."""
    if x.shape != y.shape:
        return f"shape {x.shape} vs {y.shape}"
    diff = x != y
    if np.issubdtype(x.dtype, np.floating):
        diff &= ~(np.isnan(x) & np.isnan(y))
    if not diff.any():
        return None
    idx = np.unravel_index(int(np.argmax(diff.reshape(-1))), diff.shape)
    at = (idx[0] + offset,) + tuple(int(i) for i in idx[1:])
    pixel = ", ".join(str(int(i)) for i in at)
    return f"first differing pixel ({pixel}): {x[idx]!r} in the file, {y[idx]!r} in the rerun"
