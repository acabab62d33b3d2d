"""
Entropy against blur, and the GIGO remark
=========================================

Notebook section 4: blur an image with Gaussians of growing width and take the intensity
entropy of each result. Blurring averages neighbours together, so the levels concentrate
and the entropy falls: the curve shows over how many pixels the intensities are correlated.

The notebook warned "Beware: GIGO" (4.2.1): for white noise its curve stopped falling.
It blurred with Pillow's ``GaussianBlur``, which repeats the edge pixels; once the kernel is
as wide as the image, the few edge pixels dominate every average and their deviations are
what the contrast-stretched display (and the entropy) shows.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data, transform

import gpuent as ge

camera = (transform.downscale_local_mean(data.camera(), 4)).astype(np.uint8)  # 128 x 128
noise = np.random.default_rng(0).integers(0, 256, (128, 128), dtype=np.uint8)

# %%
# A natural image and white noise
# -------------------------------
#
# ``relative=True`` takes sigma as a fraction of the image size, like the notebook's
# ``GaussianBlur(k * scale)``.

sigmas = np.linspace(0, 0.3, 31)
_, h_camera = ge.entropy_vs_blur(camera, sigmas, relative=True)
_, h_noise = ge.entropy_vs_blur(noise, sigmas, relative=True)
_, h_noise_nearest = ge.entropy_vs_blur(noise, sigmas, relative=True, mode="nearest")

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(sigmas, h_camera, "o-", ms=3, label="camera (reflect)")
ax.plot(sigmas, h_noise, "o-", ms=3, label="white noise (reflect, default)")
ax.plot(sigmas, h_noise_nearest, "o-", ms=3, label='white noise (mode="nearest", as Pillow)')
ax.set_xlabel("blur sigma / image size")
ax.set_ylabel("intensity entropy (bits)")
ax.set_ylim(0, 8.2)
ax.legend()

# %%
# Why the curves differ: the boundary
# -----------------------------------
#
# With ``mode="nearest"`` (edge pixels repeated, as Pillow does) a wide blur of noise is
# dominated near the borders by the few edge pixels, which keeps the entropy up. The default
# ``mode="reflect"`` mirrors the image, so the blur tends to the global mean and the entropy
# to 0, as it should for a signal without spatial correlations. The thumbnails are
# contrast-stretched, as the notebook's display was.

fig, axs = plt.subplots(2, 3, figsize=(8, 5.5))
for row, mode in enumerate(["nearest", "reflect"]):
    for col, s in enumerate([0.01, 0.05, 0.25]):
        b = ge.gaussian_blur(noise.astype(np.float64), s * 128, mode=mode)
        axs[row, col].imshow(b, cmap="gray")  # imshow stretches the contrast
        axs[row, col].set_title(f'{mode}, sigma = {s} x size', fontsize=9)
        axs[row, col].set_axis_off()
fig.tight_layout()

print(f"entropy of noise at sigma = 0.3 x size: reflect {h_noise[-1]:.3f} bits, "
      f"nearest {h_noise_nearest[-1]:.3f} bits")
