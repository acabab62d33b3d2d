"""Built-in sample images, drawn at run time (nothing binary ships with gpuent)."""

from __future__ import annotations

import numpy as np

__all__ = ["sample_image"]


def sample_image(size: int = 512, seed: int = 0) -> np.ndarray:
    """A 2-D uint8 test scene with regions of very different local entropy.

    A smooth radial gradient (low entropy), a band of fine noise (high), a
    checkerboard and stripes (two levels: about 1 bit), discs of constant
    grey and a line of text: a local-entropy map outlines each of them.

    Parameters
    ----------
    size : int
        Side of the square image in pixels (>= 64).
    seed : int
        Seed of the noise band.
    """
    from PIL import Image, ImageDraw, ImageFont

    if size < 64:
        raise ValueError("size must be >= 64")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    img = 60 + 120 * np.hypot(x - 0.3, y - 0.35)
    band = (y > 0.62) & (y < 0.80)
    img[band] = 40 + 180 * rng.random(int(band.sum()))
    cells = ((np.floor(x * 32) + np.floor(y * 32)) % 2 == 0) & (x > 0.62) & (y < 0.5)
    img[(x > 0.62) & (y < 0.5)] = 90
    img[cells] = 200
    stripes = (x < 0.35) & (y > 0.85)
    img[stripes] = np.where(np.sin(x[stripes] * size * 0.8) > 0, 230, 30)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for cx, cy, rad, grey in ((0.2, 0.2, 0.08, 250), (0.45, 0.4, 0.1, 20), (0.8, 0.75, 0.07, 140)):
        draw.ellipse([(cx - rad) * size, (cy - rad) * size, (cx + rad) * size, (cy + rad) * size],
                     fill=grey)
    try:
        font = ImageFont.load_default(size=max(12, size // 12))
    except TypeError:  # Pillow < 10.1 has no sized default font
        font = ImageFont.load_default()
    draw.text((0.40 * size, 0.86 * size), "gpuent", fill=255, font=font)
    return np.asarray(im)
