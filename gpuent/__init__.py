"""gpuent: information in images and Ising annealing, on CPU or NVIDIA GPU.

Importing gpuent never needs CuPy or a GPU; CuPy inputs use the GPU paths.
"""

__version__ = "0.1.0"

from .entropy import (
    expected,
    intensity_distribution,
    intensity_entropy,
    renyi_entropy,
    shannon_entropy,
)
from .local import local_entropy, local_expected, local_renyi_entropy

__all__ = [
    "__version__",
    "expected",
    "intensity_distribution",
    "intensity_entropy",
    "local_entropy",
    "local_expected",
    "local_renyi_entropy",
    "renyi_entropy",
    "shannon_entropy",
]
