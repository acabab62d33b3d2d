"""
A 3-D volume
============

Every windowed map takes 3-D arrays: a cube (``radius=r``, or one radius per axis) or any
3-D boolean ``footprint`` such as a ball. Here a synthetic 64^3 volume, a noisy sphere in
a smooth gradient with a flat slab, gets its local entropy in a ball of radius 2, and the
result is checked against scikit-image's 3-D ``rank.entropy`` (``mode="clip"``).
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage.filters import rank
from skimage.morphology import ball

import gpuent as ge

n = 64
z, y, x = np.mgrid[0:n, 0:n, 0:n] / n
rng = np.random.default_rng(0)
vol = 40 + 120 * x  # smooth gradient: few levels per window
sphere = (x - 0.5) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2 < 0.3**2
vol[sphere] = rng.integers(60, 220, int(sphere.sum()))  # noisy sphere: many levels
vol[(z > 0.8)] = 200  # a flat slab: 0 bits
vol = vol.astype(np.uint8)

emap = ge.local_entropy(vol, footprint=ball(2))
oracle = rank.entropy(vol, ball(2))
print("volume", vol.shape, vol.dtype, "-> map", emap.shape, emap.dtype)
print("max |gpuent - skimage rank.entropy (3-D)| =", float(np.max(np.abs(emap - oracle))))

fig, axs = plt.subplots(2, 3, figsize=(9, 6))
for col, k in enumerate([16, 32, 56]):
    axs[0, col].imshow(vol[k], cmap="gray", vmin=0, vmax=255)
    axs[0, col].set_title(f"plane z = {k}")
    axs[1, col].imshow(emap[k], cmap="inferno", vmin=0, vmax=6.5)
    axs[1, col].set_title(f"local entropy, plane z = {k}")
for ax in axs.flat:
    ax.set_axis_off()
fig.tight_layout()

# %%
# Volumes too big for memory stream from multi-page TIFF stacks or Zarr arrays with the
# command line (``gpuent entropy stack.tif -r 2 -o map.zarr``), or go through Dask as in the
# previous example.
