"""
Heat, then cool: annealing the letters
======================================

The notebook's metric-model movie (section 12.3) first heats, ``beta`` falling linearly from
4 to 10^-3 over 10^6 steps, then cools, ``beta`` rising from 10^-3 back to 4. The picture
dissolves into noise and, because the energy remembers the image, comes back.
:func:`gpuent.ising.piecewise` concatenates the two schedules.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from gpuent import ising

# sphinx_gallery_thumbnail_number = 2

letters = ising.letters_image((96, 96))
beta = ising.piecewise(ising.linear(4, 1e-3), ising.linear(1e-3, 4))

sweeps = 120
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.plot(np.arange(sweeps), beta.values(sweeps))
ax.set_xlabel("sweep")
ax.set_ylabel("beta")
ax.set_title("heat (beta 4 -> 0.001), then cool (0.001 -> 4)")
fig.tight_layout()

# %%
# The notebook ran 2 x 10^6 steps on its letter picture; the same number of sweeps per site
# would be about 2 x 10^6 / 96^2 = 217 sweeps here. The picture's story is already told in
# 120, which keep this page quick.

sim = ising.Simulation(ising.metric_model(letters, energy="block"), seed=0)
trace = sim.run(sweeps, beta=beta, frames=3, record_every=1)

fig, axs = plt.subplots(1, 5, figsize=(11, 2.6))
for ax, k in zip(axs, [0, 10, 19, 29, 39]):
    ax.imshow(trace.frames[k], cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"sweep {3 * (k + 1)}, beta {beta.values(sweeps)[3 * k + 2]:.2g}", fontsize=8)
    ax.set_axis_off()
fig.tight_layout()

# %%
# The movie and the energy per site (the agreement with the image, summed over all 3x3
# windows, per spin: -9 is the image itself):

fig, ax = plt.subplots(figsize=(3.2, 3.2))
ax.set_axis_off()
im = ax.imshow(trace.frames[0], cmap="gray", vmin=0, vmax=255)


def show(k):
    im.set_data(trace.frames[k])
    ax.set_title(f"sweep {3 * (k + 1)}")
    return (im,)


movie = animation.FuncAnimation(fig, show, frames=len(trace.frames), interval=100)

fig, ax = plt.subplots(figsize=(6, 2.8))
ax.plot(trace.sweep, trace.energy)
ax.set_xlabel("sweep")
ax.set_ylabel("energy per spin")
fig.tight_layout()
