"""
Standard-deviation maps
=======================

Notebook section 7.1 compares the entropy maps with a plain positive function of the
window: ``mapbox(r, np.std, a)``. :func:`gpuent.local_std` (and :func:`gpuent.local_mean`)
compute it in O(1) per pixel from summed-area tables, exactly in integers for integer
images, so flat windows give exactly 0.
"""

import matplotlib.pyplot as plt
import numpy as np

import gpuent as ge
from gpuent._samples import sample_image

image = sample_image(128)
radii = [1, 2, 3, 10, 20, 50]

fig, axs = plt.subplots(2, 3, figsize=(9, 6))
for ax, r in zip(axs.flat, radii):
    im = ax.imshow(ge.local_std(image, r), cmap="inferno")
    ax.set_title(f"std, r = {r}")
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.7)
fig.tight_layout()

# %%
# Standard deviation against entropy
# ----------------------------------
#
# Both are large in the noise band. They part ways on the two-level patterns: the
# checkerboard (90 and 200) has a large standard deviation but only about 1 bit of entropy,
# and the smooth gradient has many levels in a window but a small spread.

r = 3
fig, axs = plt.subplots(1, 3, figsize=(10, 3.4))
axs[0].imshow(image, cmap="gray")
axs[0].set_title("image")
axs[1].imshow(ge.local_std(image, r), cmap="inferno")
axs[1].set_title("local_std, r = 3")
axs[2].imshow(ge.local_entropy(image, r), cmap="inferno")
axs[2].set_title("local_entropy, r = 3")
for ax in axs:
    ax.set_axis_off()
fig.tight_layout()

# %%
# The same numbers as the notebook's definition (population std, ``ddof=0``):

crop = image[:24, :24].copy()
seed = np.reshape(
    [np.std(crop[max(0, x - 2) : x + 3, max(0, y - 2) : y + 3]) for x, y in np.ndindex(24, 24)],
    (24, 24),
)
print("max |local_std - mapbox(2, np.std)| =",
      float(np.max(np.abs(ge.local_std(crop, 2) - seed))), "(float32 output)")
