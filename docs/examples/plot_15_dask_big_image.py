"""
A big image with Dask
=====================

The notebook's companion lecture is about gigabyte-to-terabyte images: data that does not fit
in memory, processed in chunks by a task graph. :func:`gpuent.local_entropy` accepts a Dask
array and returns a lazy Dask array with the same chunks. Every output chunk is one task that
reads its input chunks plus a halo of the window radius, with the image boundary taken from
the *global* image, and the fixed-point sums make the result independent of the chunking:
**the same bits** as the in-memory map.

The "big" image here is small (1024 x 1024, 16 chunks) so the page builds in seconds; the
code is the same for a Zarr array of terabytes (``da.from_zarr``) on a cluster.
"""

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import gpuent as ge

# a 1024 x 1024 mosaic of the camera and its mirror images, in 256 x 256 chunks
camera = data.camera()
mosaic = np.block([[camera, camera[:, ::-1]], [camera[::-1], camera[::-1, ::-1]]])
image = da.from_array(mosaic, chunks=(256, 256))
print(image)

emap = ge.local_entropy(image, 5, mode="reflect")  # lazy: nothing computed yet
print(emap)

# %%
# Compute it (here with the threaded scheduler; ``distributed.Client`` works the same) and
# compare with the in-memory map, bit for bit:

with dask.config.set(scheduler="threads", num_workers=2):
    result = emap.compute()
direct = ge.local_entropy(mosaic, 5, mode="reflect")
print("identical to the in-memory map:", np.array_equal(result, direct))

# %%
# Chunks smaller than the window's halo work too (the halo then spans several chunks):

tiny = ge.local_entropy(da.from_array(mosaic, chunks=(100, 300)), 5, mode="reflect")
print("100 x 300 chunks, identical:", np.array_equal(tiny.compute(scheduler="threads"), direct))

fig, axs = plt.subplots(1, 2, figsize=(9, 4.4))
axs[0].imshow(mosaic, cmap="gray")
axs[0].set_title("1024 x 1024 image, 256 x 256 chunks")
for k in range(1, 4):
    axs[0].axhline(256 * k - 0.5, c="y", lw=0.6)
    axs[0].axvline(256 * k - 0.5, c="y", lw=0.6)
axs[1].imshow(result, cmap="inferno")
axs[1].set_title("local entropy, r = 5 (no seams)")
for ax in axs:
    ax.set_axis_off()
fig.tight_layout()

# %%
# On disk
# -------
#
# With ``pip install "gpuent[io,dask]"`` the same runs from the command line on TIFF or Zarr
# files, streamed tile by tile with bounded memory::
#
#     gpuent entropy big.tif -r 5 --mode reflect -o big-entropy.zarr
#     gpuent entropy big.zarr -o map.zarr --scheduler distributed --address tcp://host:8786
