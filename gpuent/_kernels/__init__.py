"""Hot paths: per family a host spec, an array-API reference, Numba and CUDA kernels."""
