"""gpuent: information in images and Ising annealing, on CPU or NVIDIA GPU.

Importing gpuent never needs CuPy or a GPU; CuPy inputs use the GPU paths.
"""

__version__ = "0.1.0"

from . import footprints, ising
from .entropy import (
    expected,
    intensity_distribution,
    intensity_entropy,
    renyi_entropy,
    shannon_entropy,
)
from .fractal import box_counting_dimension, generalized_dimensions, information_dimension
from .local import (
    block_map,
    local_entropy,
    local_expected,
    local_mean,
    local_renyi_entropy,
    local_std,
    window_map,
)
from .scale import entropy_vs_blur, gaussian_blur

__all__ = [
    "__version__",
    "block_map",
    "box_counting_dimension",
    "entropy_vs_blur",
    "expected",
    "footprints",
    "gaussian_blur",
    "generalized_dimensions",
    "information_dimension",
    "ising",
    "intensity_distribution",
    "intensity_entropy",
    "local_entropy",
    "local_expected",
    "local_mean",
    "local_renyi_entropy",
    "local_std",
    "renyi_entropy",
    "shannon_entropy",
    "window_map",
]
