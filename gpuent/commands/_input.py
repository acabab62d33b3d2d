"""One plane of an image file, for the commands that work on 2-D pictures (maps, ising)."""

from __future__ import annotations

import sys

import numpy as np

from ..cli import CLIError

PLANE_HELP = ("for a 3-D stack (multi-page TIFF, 3-D .npy/.zarr): the plane to use, "
              "counting from 0 (default: the middle plane)")


def add_plane_option(parser, *, help=PLANE_HELP):
    parser.add_argument("--plane", type=int, metavar="N", help=help)


def read_plane(path, plane=None, *, quiet=False):
    """Read ``path`` with :func:`gpuent.io.read_image` (uint16 kept) and return a 2-D image.

    A 3-D stack gives its plane ``plane`` (default the middle one); which plane is used is
    said on stderr unless ``quiet``. ``plane`` on a 2-D image is refused.
    """
    from ..io import read_image

    image = np.asarray(read_image(path))
    if image.ndim == 2:
        if plane is not None:
            raise CLIError(f"--plane applies to 3-D stacks; {path} is a 2-D image "
                           f"({image.shape[0]}x{image.shape[1]})")
        return image
    if image.ndim != 3:
        raise CLIError(f"{path}: expected a 2-D image or a 3-D stack of planes, got shape "
                       f"{image.shape}")
    n = image.shape[0]
    if plane is None:
        index = n // 2
        why = "the middle one; choose another with --plane N"
    else:
        if not -n <= plane < n:
            raise CLIError(f"--plane {plane} is outside {path}'s {n} planes (0 to {n - 1})")
        index = plane % n
        why = "--plane"
    if not quiet:
        print(f"gpuent: note: {path} is a stack of {n} planes of {image.shape[1]}x"
              f"{image.shape[2]} pixels; using plane {index} ({why})", file=sys.stderr)
    return np.ascontiguousarray(image[index])
