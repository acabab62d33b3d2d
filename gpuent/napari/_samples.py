"""Sample data of the napari plugin: gpuent's built-in pictures, drawn at run time."""

from __future__ import annotations


def sample_scene():
    """The 512 x 512 uint8 scene of ``gpuent demo`` (regions of very different entropy)."""
    from gpuent._samples import sample_image

    return [(sample_image(512), {"name": "gpuent scene"}, "image")]


def sample_letters():
    """The 256 x 256 letters image of ``gpuent ising`` (black text on white)."""
    from gpuent.ising import letters_image

    return [(letters_image((256, 256)), {"name": "letters"}, "image")]
