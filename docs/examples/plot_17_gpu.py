"""
On an NVIDIA GPU
================

With CuPy installed (``pip install "gpuent[cuda13]"`` or ``"[cuda12]"``), CuPy input runs
on the GPU and the result stays there. The CUDA kernels add the same fixed-point integers
and draw the same counter-based random numbers as the CPU paths, so the results are the same
bits.

This example is executed only when the documentation is built on a machine where CuPy sees a
GPU; elsewhere its code is shown without output.
"""

import time

import cupy as cp
import numpy as np
from skimage import data

import gpuent as ge
from gpuent import ising

camera = data.camera()
tiled = np.tile(camera, (8, 8))  # 4096 x 4096
on_gpu = cp.asarray(tiled)  # copy to the device once

emap = ge.local_entropy(on_gpu, 7)  # CUDA kernel (compiled on first use)
cp.cuda.Device().synchronize()
t0 = time.perf_counter()
emap = ge.local_entropy(on_gpu, 7)
cp.cuda.Device().synchronize()
print(type(emap), emap.shape, f"{time.perf_counter() - t0:.3f} s on the GPU")

cpu = ge.local_entropy(tiled, 7)  # Numba on the CPU
print("same bits as the CPU path:", np.array_equal(cp.asnumpy(emap), cpu))

# %%
# Ising sweeps on the GPU give the same lattice as on the CPU for the same seed:

gpu_sim = ising.Simulation(ising.torus((1024, 1024), xp=cp), seed=7)
cpu_sim = ising.Simulation(ising.torus((1024, 1024)), seed=7)
gpu_sim.run(50, beta=0.44)
cpu_sim.run(50, beta=0.44)
print("same lattice:", np.array_equal(cp.asnumpy(gpu_sim.spins), cpu_sim.spins))
