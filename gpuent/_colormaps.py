"""Colormap tables shipped with gpuent, so that PNG maps need no matplotlib.

``inferno`` is the perceptually uniform map by Nathaniel J. Smith and Stefan van
der Walt (CC0), the notebook's choice for entropy maps: 256 RGB entries.
"""

import numpy as np

__all__ = ["COLORMAPS", "apply_colormap", "colormap_table"]

_INFERNO_HEX = (
    "00000401000501010601010802010a02020c02020e03021004031204031405041706041907051b08051d09061f0a0722"
    "0b07240c08260d08290e092b10092d110a30120a32140b34150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48"
    "210c4a230c4c240c4f260c51280b53290b552b0b572d0b592f0a5b310a5c320a5e340a5f3609613809623909633b0964"
    "3d09653e0966400a67420a68440a68450a69470b6a490b6a4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d"
    "57106e59106e5a116e5c126e5d126e5f136e61136e62146e64156e65156e67166e69166e6a176e6c186e6d186e6f196e"
    "71196e721a6e741a6e751b6e771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a"
    "8a226a8c23698d23698f24699025689225689326679526679727669827669a28659b29649d29649f2a63a02a63a22b62"
    "a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305cb0315bb1325ab3325ab43359b63458b73557b93556ba3655"
    "bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545"
    "d24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513ade5238df5337e05536e15635e25734e35933"
    "e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711f"
    "f1731df2741cf3761bf37819f47918f57b17f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0a"
    "f98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0f"
    "fcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1ffbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932"
    "f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865"
    "f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96f8fb9af9fc9dfafda1fcffa4"
)

COLORMAPS = {
    "inferno": np.frombuffer(bytes.fromhex(_INFERNO_HEX), dtype=np.uint8).reshape(256, 3),
    "gray": np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1),
}


def colormap_table(name="inferno"):
    """The 256 x 3 uint8 RGB table of a colour map.

    ``inferno`` and ``gray`` are built in; any other name is looked up in matplotlib
    (the ``plot`` extra), e.g. ``viridis``, ``magma``, ``cividis``, ``gray_r``.

    Raises
    ------
    ValueError
        Unknown name, or a name other than the built-in ones without matplotlib.
    """
    if name in COLORMAPS:
        return COLORMAPS[name]
    try:
        import matplotlib
    except ImportError:
        raise ValueError(f"colour map {name!r} needs matplotlib (pip install gpuent[plot]); "
                         f"built in: {', '.join(COLORMAPS)}") from None
    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}; try inferno, viridis, magma, cividis "
                         f"or gray (matplotlib's names; _r reverses)") from None
    rgba = cmap(np.linspace(0.0, 1.0, 256))
    return np.clip(np.rint(rgba[:, :3] * 255.0), 0, 255).astype(np.uint8)


def apply_colormap(values, *, name="inferno", vmin=None, vmax=None):
    """Map a 2-D float array to RGB uint8 through a 256-entry table; NaN becomes black.

    ``name`` is any name :func:`colormap_table` knows. ``vmin``/``vmax`` default to the
    finite min and max of ``values``; values outside them take the end colours.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if vmin is None:
        vmin = float(values[finite].min()) if finite.any() else 0.0
    if vmax is None:
        vmax = float(values[finite].max()) if finite.any() else 1.0
    span = vmax - vmin if vmax > vmin else 1.0
    index = np.clip((np.where(finite, values, vmin) - vmin) / span * 255.0 + 0.5, 0, 255)
    rgb = colormap_table(name)[index.astype(np.uint8)]
    rgb[~finite] = 0
    return rgb
