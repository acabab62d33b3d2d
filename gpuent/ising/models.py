"""The notebook's three Ising models of images (section 12).

Images map to spins by ``s = 2 x / x_max - 1``, then ``s -> +1 if s >= 0 else -1`` for
binary spins. ``x_max`` is the dtype's maximum for integer images (255 for uint8: the
notebook's ``eimg = -1 + 2 * (np.array(img) / 255)``; never the image's own maximum, so a
dark image stays dark; a uint16 image holding 8-bit values maps to -1 everywhere), 1 for
bool images, and 1 for float images given to :func:`edge_model` / :func:`metric_model`
(taken to lie in [0, 1]). :func:`torus` is the exception: a float ``init`` array is
taken as spins in [-1, 1] already, not as an image. Lattices are tori with even height
and width (the colour phases of the updates need it; crop odd images by one row/column).

* :func:`torus` (12.1): ``H = sum over bonds |s_i - s_j|`` up to a constant, which for
  binary spins is the standard ferromagnet ``-sum s_i s_j`` (J = 1, Onsager's model);
  the notebook's site energy ``energy() = -1 + sum |s - s_n|`` gives the same flip cost
  ``dE``. ``spins="continuous"`` is the notebook's "grayscale for fun" with float32 spins
  in [-1, 1] and flips ``s -> -s``; gpuent rounds its ``dE`` to a multiple of 1/256
  before the acceptance test (see :mod:`gpuent._kernels.ising`). Reported energy per spin:
  ``(1/N) sum over bonds (|s_i - s_j| - 1)`` (= ``-(1/N) sum s_i s_j`` for binary spins).
* :func:`edge_model` (12.2, ``nenergy``): bonds that touch an edge pixel are cut. The
  notebook's site energy is ``-s (l + r + t + b)`` over non-edge neighbours (the scan
  shows ``1 + r + t + b``; we read the ``1`` as ``l``), and 0 on an edge pixel. Its other
  variant ``eenergy`` (edge pixels still felt by their neighbours) is not used by its
  movies and not offered here. An edge pixel's flip costs nothing. In the notebook it is
  always accepted, and since sites are picked at random an edge pixel ends up random.
  With sweeps (every site once) that rule would make it alternate, a period-2 cycle that
  blinks in movies and never mixes; so with ``edge_spins="flip"`` (default) gpuent accepts
  an edge pixel's flip with probability 1/2 (heat-bath acceptance of a zero energy
  change, which satisfies detailed balance as Metropolis does): edge pixels end up random,
  as in the notebook. ``edge_spins="fixed"`` freezes them instead.
* :func:`metric_model` (12.3): energy from the agreement of the 3x3 window with the
  initial image; ``energy="block"`` is ``ienergy = -c``, ``"symmetric"`` ``sienergy =
  -|2c - 9|`` with ``c`` the number of agreeing cells. As in the notebook, a flip's
  ``dE`` is the change of the energy of the window centred on the flipped site only (not
  of the sum over all windows, which the observables report): for ``"block"`` that is
  ``+1`` to leave the image and ``-1`` to return, a field toward the image on each site.

The notebook kept the images' gray levels as spins in 12.2 and 12.3 (``eimg`` is a float
image); :func:`edge_model` and :func:`metric_model` take the sign. For the metric model
this changes only the picture (agreement ``img == init`` is all or nothing either way);
for the edge model it changes the flip costs at and next to gray (anti-aliased) pixels.
The notebook loaded its edges from a file (``np.array(edges) > 128``, as the CLI's
``--edges``); the gradient-threshold edges of :func:`edge_model` are gpuent's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._backend import array_namespace, is_numpy
from .._memory import check_allocation
from .._validate import check_image

__all__ = ["IsingModel", "edge_model", "image_to_spins", "metric_model", "torus"]

_KINDS = ("torus", "continuous", "edge", "block", "symmetric")


@dataclass(frozen=True, eq=False)
class IsingModel:
    """An Ising model on a torus: initial spins plus what the energy needs.

    ``kind`` is one of ``"torus"``, ``"continuous"``, ``"edge"``, ``"block"``,
    ``"symmetric"``; ``aux`` holds the int8 bond mask (1 = not an edge pixel) of the edge
    model or the int8 initial image of the metric model.
    """

    kind: str
    spins: object
    aux: object = None
    edge_spins: str = "flip"
    info: dict = field(default_factory=dict)

    @property
    def shape(self):
        return tuple(self.spins.shape)

    @property
    def continuous(self) -> bool:
        return self.kind == "continuous"

    @property
    def four_phase(self) -> bool:
        return self.kind in ("block", "symmetric")

    @property
    def edges(self):
        """Boolean edge mask of the edge model (None for the others)."""
        if self.kind != "edge":
            return None
        return self.aux == 0

    @property
    def xp(self):
        return array_namespace(self.spins)

    def __repr__(self):
        return f"IsingModel(kind={self.kind!r}, shape={self.shape})"


def _check_shape(shape):
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"shape must be (height, width), got {shape!r}") from None
    if h < 2 or w < 2 or h % 2 or w % 2:
        raise ValueError(
            f"Ising lattices need an even height and width >= 2 (colour phases on a torus), "
            f"got {h} x {w}; crop or pad the image by one row/column")
    # spins, neighbour sums and random numbers: about 16 bytes per site at the peak
    check_allocation(16 * h * w, f"an Ising lattice of {h} x {w}", "use a smaller lattice")
    return h, w


def _xmax(xp, x):
    if x.dtype == xp.bool:
        return 1.0
    if xp.isdtype(x.dtype, "integral"):
        return float(xp.iinfo(x.dtype).max)
    return 1.0


def image_to_spins(image, spins="binary"):
    """Map an image to spins: ``s = 2 x / x_max - 1`` (int8 sign or float32).

    Parameters
    ----------
    image : 2-D array
        Integer images use their dtype's maximum as x_max (255 for uint8, as the notebook),
        bool uses 1, floats are taken in [0, 1].
    spins : {"binary", "continuous"}
        int8 signs (0 maps to +1) or float32 values in [-1, 1].

    Returns
    -------
    array
        Spins in the image's namespace.
    """
    xp, image = check_image(image, ndims=(2,))
    x = xp.astype(image, xp.float64)
    s = xp.clip(2.0 * x / _xmax(xp, image) - 1.0, -1.0, 1.0)
    if spins == "binary":
        return xp.where(s >= 0, xp.ones(s.shape, dtype=xp.int8, device=s.device),
                        -xp.ones(s.shape, dtype=xp.int8, device=s.device))
    if spins == "continuous":
        return xp.astype(s, xp.float32)
    raise ValueError(f"spins must be 'binary' or 'continuous', got {spins!r}")


def torus(shape=None, *, init="random", spins="binary", seed=0, xp=None):
    """Standard Ising model on a torus (notebook 12.1).

    Parameters
    ----------
    shape : (int, int) or array
        Lattice size; may be omitted when ``init`` is an array. An array here is ``init``.
    init : "random" | "up" | "down" | array
        Initial spins: random (from ``seed``), all +1, all -1, or an image / spin array
        (integer or bool images map through ``2 x / x_max - 1``; float arrays are taken
        as spins in [-1, 1]).
    spins : "binary" | "continuous"
        int8 +-1 spins, or the notebook's float32 "grayscale for fun" spins.
    seed : int
        Seed of the random initial lattice (NumPy's default generator).
    xp : namespace, optional
        Array namespace of the lattice when ``init`` is not an array (default NumPy).
    """
    if spins not in ("binary", "continuous"):
        raise ValueError(f"spins must be 'binary' or 'continuous', got {spins!r}")
    if hasattr(shape, "ndim") and hasattr(shape, "dtype"):  # torus(image)
        if not isinstance(init, str) or init != "random":
            raise ValueError("give the initial array as shape or as init, not both")
        shape, init = None, shape
    if isinstance(init, str):
        if shape is None:
            raise ValueError("torus needs a shape unless init is an array")
        h, w = _check_shape(shape)
        if init == "random":
            rng = np.random.default_rng(seed)
            u = rng.random((h, w))
            s = np.where(u < 0.5, -1, 1).astype(np.int8) if spins == "binary" else (
                2 * u - 1).astype(np.float32)
        elif init in ("up", "down"):
            s = np.full((h, w), 1 if init == "up" else -1,
                        np.int8 if spins == "binary" else np.float32)
        else:
            raise ValueError(f"init must be 'random', 'up', 'down' or an array, got {init!r}")
        if xp is not None and not is_numpy(xp):
            s = xp.asarray(s)
        return IsingModel("torus" if spins == "binary" else "continuous", s)
    arr = init
    axp = array_namespace(arr)
    if arr.ndim != 2:
        raise ValueError(f"init must be a 2-D array, got shape {tuple(arr.shape)}")
    if shape is not None and tuple(int(v) for v in shape) != tuple(arr.shape):
        raise ValueError(f"shape {tuple(shape)} does not match init's {tuple(arr.shape)}")
    _check_shape(arr.shape)
    if axp.isdtype(arr.dtype, "real floating"):
        s = axp.clip(axp.astype(arr, axp.float32), -1.0, 1.0)
        if spins == "binary":
            s = axp.astype(axp.where(s >= 0, 1, -1), axp.int8)
    else:
        s = image_to_spins(arr, spins)
    return IsingModel("torus" if spins == "binary" else "continuous", s)


def _gradient_edges(xp, image, threshold):
    x = xp.astype(image, xp.float64) / _xmax(xp, image)
    gy = (xp.roll(x, -1, axis=0) - xp.roll(x, 1, axis=0)) / 2
    gx = (xp.roll(x, -1, axis=1) - xp.roll(x, 1, axis=1)) / 2
    return xp.sqrt(gx * gx + gy * gy) > threshold


def edge_model(image, *, edges=None, threshold=None, edge_spins="flip"):
    """Image-edge Ising model (notebook 12.2): bonds touching an edge pixel are cut.

    Parameters
    ----------
    image : 2-D array
        Initial image (binary spins ``sign(2 x / x_max - 1)``).
    edges : 2-D bool array, optional
        Edge pixels (True). Default: gradient magnitude of ``x / x_max`` (wrapped central
        differences) above ``threshold``.
    threshold : float, optional
        Gradient threshold (default 0.25: a step of more than half the range, 128 of
        255, marks the two pixels beside it as edges).
    edge_spins : "flip" | "fixed"
        An edge pixel carries no energy: its flips are accepted with probability 1/2
        (``"flip"``: edge pixels become random, as the notebook's random-site steps make
        them; see the module docstring) or never (``"fixed"``, a steady picture).
    """
    xp = array_namespace(image)
    s = image_to_spins(image, "binary")
    _check_shape(s.shape)
    if edge_spins not in ("flip", "fixed"):
        raise ValueError(f"edge_spins must be 'flip' or 'fixed', got {edge_spins!r}")
    if edges is None:
        thr = 0.25 if threshold is None else float(threshold)
        if not thr >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        e = _gradient_edges(xp, image, thr)
    else:
        if threshold is not None:
            raise ValueError("give edges or threshold, not both")
        e = xp.asarray(edges)
        if tuple(e.shape) != tuple(s.shape):
            raise ValueError(f"edges shape {tuple(e.shape)} differs from image's {tuple(s.shape)}")
        if e.dtype != xp.bool:
            e = e != 0
    aux = xp.astype(xp.logical_not(e), xp.int8)
    return IsingModel("edge", s, aux, edge_spins)


def metric_model(image, *, energy="block"):
    """Image-metric Ising model (notebook 12.3): 3x3 agreement with the initial image.

    ``energy="block"`` (``ienergy``, ``-c``) or ``"symmetric"`` (``sienergy``,
    ``-|2c - 9|``); updates in 4 phases (2x2 sublattices: sites updated together are two
    apart, outside each other's 3x3 windows). Starts from the image itself (binary; the
    notebook's gray levels only change the picture, see the module docstring).

    Parameters
    ----------
    image : 2-D array
        Initial image, even sides; it is also the reference the energy compares with.
    energy : {"block", "symmetric"}
        The notebook's ``ienergy`` or ``sienergy``.

    Returns
    -------
    IsingModel
    """
    if energy not in ("block", "symmetric"):
        raise ValueError(f"energy must be 'block' or 'symmetric', got {energy!r}")
    xp = array_namespace(image)
    s = image_to_spins(image, "binary")
    _check_shape(s.shape)
    return IsingModel(energy, s, xp.asarray(s, copy=True))
