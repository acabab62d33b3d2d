"""
Expected f: Laurent and Taylor maps
===================================

Notebook section 7.3 asks how much the entropy maps depend on the surprisal ``-log p``:
replace it with other functions f and map the expected value ``sum_k p_k f(p_k)`` of every
window. :func:`gpuent.local_expected` takes any vectorized f.

- Laurent: ``f(p) = -1 + 1/p``, so ``E f = K_occ - 1`` (occupied levels minus one).
- Taylor: ``f(p) = -(1 + p)``, so ``E f = -1 - sum p^2`` (minus one minus the collision
  probability).
"""

import matplotlib.pyplot as plt
import numpy as np

import gpuent as ge
from gpuent._samples import sample_image

image = sample_image(128)
r = 2


def laurent(p):
    return -1 + 1 / p


def taylor(p):
    return -(1 + p)


maps = {
    "surprisal  -log2 p  (entropy)": ge.local_entropy(image, r),
    "Laurent  -1 + 1/p": ge.local_expected(image, laurent, r),
    "Taylor  -(1 + p)": ge.local_expected(image, taylor, r),
}
fig, axs = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, (name, m) in zip(axs, maps.items()):
    im = ax.imshow(m, cmap="inferno")
    ax.set_title(name, fontsize=9)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.75)
fig.tight_layout()

# %%
# All three rank the regions alike (they are all increasing measures of spread of the
# distribution): the question of the notebook has the answer "not much". The Laurent map
# counts distinct levels, so it saturates at 24 for a 5 x 5 window of noise.
#
# Checks: the Laurent map is exactly the number of occupied levels minus one; the Taylor map
# is ``-1 - sum p^2``, which is ``-1 - 2**(-H_2)`` with the Rényi order-2 entropy.

occupied = ge.local_renyi_entropy(image, 0.0, r)  # log2 of the number of occupied levels
print("max |Laurent - (2**H_0 - 1)|   =",
      float(np.max(np.abs(maps["Laurent  -1 + 1/p"] - (2.0**occupied - 1)))))
h2 = ge.local_renyi_entropy(image, 2.0, r)
print("max |Taylor - (-1 - 2**-H_2)|  =",
      float(np.max(np.abs(maps["Taylor  -(1 + p)"] - (-1 - 2.0**-h2)))))
