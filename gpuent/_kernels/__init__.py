"""Hot paths: per family a host spec, an array-API reference, Numba and CUDA kernels."""

#: say "gpuent: compiling kernels for ... (first use only)" on stderr when a Numba kernel
#: compiles; the CLI turns it off for ``--quiet``
announce_compiles = True
