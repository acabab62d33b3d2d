"""
Rényi entropies
===============

Notebook Definition 6: the Rényi entropy of order alpha,
``H_alpha = log(sum p^alpha) / (1 - alpha)``. Order 0 counts the occupied levels, order 1 is
Shannon's entropy, order 2 the log of the inverse collision probability, and
``alpha -> infinity`` the min-entropy ``-log max p``. H_alpha never increases with alpha.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data

import gpuent as ge
from gpuent._samples import sample_image

camera = data.camera()
p = ge.intensity_distribution(camera)
alphas = np.linspace(0, 6, 61)
h = [ge.renyi_entropy(p, a) for a in alphas]

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(alphas, h)
ax.axhline(ge.shannon_entropy(p), ls=":", c="0.5", label="Shannon (alpha = 1)")
ax.axhline(-np.log2(p.max()), ls="--", c="0.5", label="min-entropy (alpha -> inf)")
ax.set_xlabel("order alpha")
ax.set_ylabel("H_alpha of the camera's levels (bits)")
ax.legend()
fig.tight_layout()

print("H_0 = log2(occupied levels):", ge.renyi_entropy(p, 0), "=", np.log2(np.count_nonzero(p)))
print("H_1 = Shannon:              ", ge.renyi_entropy(p, 1), "=", ge.shannon_entropy(p))

# %%
# Local Rényi maps
# ----------------
#
# :func:`gpuent.local_renyi_entropy` maps any order over windows, with the same window
# options as :func:`gpuent.local_entropy`; ``alpha = np.inf`` maps the min-entropy
# ``-log2(largest count / n)`` of each window.

image = sample_image(128)
fig, axs = plt.subplots(1, 4, figsize=(13, 3.6))
for ax, a in zip(axs, [0.0, 1.0, 2.0, np.inf]):
    im = ax.imshow(ge.local_renyi_entropy(image, a, 3), cmap="inferno", vmin=0, vmax=5.7)
    ax.set_title(f"alpha = {a:g}, r = 3")
    ax.set_axis_off()
fig.colorbar(im, ax=axs, shrink=0.75, label="bits")
