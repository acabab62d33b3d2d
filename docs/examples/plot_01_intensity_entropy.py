"""
Intensity-level entropy and distributions
=========================================

The notebook's first quantity (sections 3 and 4.1): the Shannon entropy of the empirical
distribution of an image's intensity levels. It ignores where the pixels are; only how often
each grey level occurs matters.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data, measure

import gpuent as ge
from gpuent._samples import sample_image

camera = data.camera()  # 512 x 512 uint8: 256 levels
scene = sample_image(256)  # gpuent's built-in test scene

# %%
# The distribution is the normalized histogram of the levels (the notebook's
# ``np.histogram(data, bins=range(257), density=True)``); the entropy is
# ``-sum p log2 p`` in bits.

p_camera = ge.intensity_distribution(camera)
p_scene = ge.intensity_distribution(scene)
h_camera = ge.intensity_entropy(camera)
h_scene = ge.intensity_entropy(scene)

fig, axs = plt.subplots(2, 2, figsize=(8, 6), height_ratios=[3, 2])
for col, (img, p, h, name) in enumerate(
    [(camera, p_camera, h_camera, "camera"), (scene, p_scene, h_scene, "sample scene")]
):
    axs[0, col].imshow(img, cmap="gray", vmin=0, vmax=255)
    axs[0, col].set_title(f"{name}: H = {h:.3f} bits")
    axs[0, col].set_axis_off()
    axs[1, col].bar(np.arange(p.shape[0]), p, width=1.0, color="0.3")
    axs[1, col].set_xlabel("intensity level")
    axs[1, col].set_ylabel("probability")
fig.tight_layout()

# %%
# The numbers, beside the notebook's
# ------------------------------------
#
# The notebook printed ``intensity_entropy(img) = 7.51132356216608`` for its photograph
# ``test.jpg``, which is not distributed. scikit-image's camera gives a comparable natural
# image; its value is computed below by gpuent and by an independent oracle,
# ``skimage.measure.shannon_entropy``. The remark of the notebook holds for both: the
# intensity entropy of a natural 8-bit image is close to its maximum, 8 bits.

print("notebook, test.jpg (not shipped):      7.51132356216608 bits")
print(f"gpuent, camera:                        {h_camera:.14f} bits")
print(f"skimage.measure.shannon_entropy:       {measure.shannon_entropy(camera):.14f} bits")
print(f"maximum for 256 levels:                {np.log2(256):.1f} bits")

# %%
# The entropy of a distribution
# -----------------------------
#
# :func:`gpuent.shannon_entropy` works on any probability vector (or counts, which it
# normalizes); :func:`gpuent.expected` is the notebook's ``intensity_expected``: the mean of
# ``f(p)`` under ``p``. With ``f = -log2`` it is the entropy again.

coin = np.array([0.5, 0.5])
die = np.full(6, 1 / 6)
print("fair coin:", ge.shannon_entropy(coin), "bits;  fair die:", ge.shannon_entropy(die))
print("E[-log2 p] for the camera:", ge.expected(p_camera, lambda q: -np.log2(q)))
