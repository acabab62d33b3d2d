"""A built-in test picture: black letters on white, drawn with Pillow's default font."""

from __future__ import annotations

import numpy as np

__all__ = ["letters_image"]


def letters_image(shape=(256, 256), text="ISING\nIMAGE") -> np.ndarray:
    """uint8 image (0 = black letters, 255 = white paper) of ``text``, ``shape = (H, W)``.

    Drawn at run time with Pillow's default font (scalable when FreeType is present,
    otherwise the bitmap font scaled up with nearest neighbours), centred and filling
    about 80% of the width.

    Parameters
    ----------
    shape : (int, int)
        (H, W) of the image.
    text : str
        Lines of text, separated by newlines.

    Returns
    -------
    numpy.ndarray of uint8
    """
    from PIL import Image, ImageDraw, ImageFont

    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"shape must be (height, width) in pixels, got {shape!r}") from None
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    from .._memory import check_allocation

    check_allocation(h * w * 2, f"a {h} x {w} letters image", "use a smaller shape")
    if h < 8 or w < 8:
        raise ValueError(f"letters image needs at least 8 x 8 pixels, got {h} x {w}")
    try:
        size = 100
        font = ImageFont.load_default(size=size)
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        box = probe.multiline_textbbox((0, 0), text, font=font, align="center")
        scale = min(0.85 * w / (box[2] - box[0]), 0.8 * h / (box[3] - box[1]))
        font = ImageFont.load_default(size=max(4, int(size * scale)))
        img = Image.new("L", (w, h), 255)
        d = ImageDraw.Draw(img)
        d.multiline_text((w / 2, h / 2), text, font=font, fill=0, anchor="mm", align="center")
    except (TypeError, OSError, ValueError):  # no FreeType: bitmap font, scaled up
        font = ImageFont.load_default()
        probe = ImageDraw.Draw(Image.new("L", (1, 1)))
        box = probe.multiline_textbbox((0, 0), text, font=font)
        small = Image.new("L", (box[2] - box[0] + 2, box[3] - box[1] + 2), 255)
        ImageDraw.Draw(small).multiline_text((1 - box[0], 1 - box[1]), text, font=font, fill=0)
        k = max(1, int(min(0.85 * w / small.width, 0.8 * h / small.height)))
        small = small.resize((small.width * k, small.height * k), Image.NEAREST)
        img = Image.new("L", (w, h), 255)
        img.paste(small, ((w - small.width) // 2, (h - small.height) // 2))
    return np.asarray(img, dtype=np.uint8).copy()
