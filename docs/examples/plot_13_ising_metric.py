"""
Image-metric Ising model
========================

Notebook section 12.3: the energy of a site is the agreement ``c`` of its 3x3 window with
the initial image: ``ienergy = -c`` (``energy="block"``) or the inversion-symmetric
``sienergy = -|2c - 9|`` (``energy="symmetric"``). The image acts as a field pulling every
site back towards it: at low temperature the picture stays, at high temperature it
dissolves. These 3x3 energies are updated in 4 phases (2x2 sublattices).
"""

import matplotlib.pyplot as plt
from matplotlib import animation

from gpuent import ising

letters = ising.letters_image((96, 96))

# %%
# The two energies at a few constant temperatures: the symmetric energy also rewards the
# *inverted* picture, so it can settle into patches of the negative.

betas = [0.3, 1.0, 3.0]
fig, axs = plt.subplots(2, 3, figsize=(8, 5.6))
for row, energy in enumerate(["block", "symmetric"]):
    for col, beta in enumerate(betas):
        sim = ising.Simulation(ising.metric_model(letters, energy=energy), seed=1)
        sim.run(60, beta=beta)
        axs[row, col].imshow(sim.spins, cmap="gray")
        axs[row, col].set_title(f'"{energy}", beta = {beta}', fontsize=9)
        axs[row, col].set_axis_off()
fig.tight_layout()

# %%
# A movie at the boundary between the two regimes, block energy, beta = 0.7:

sim = ising.Simulation(ising.metric_model(letters), seed=0)
trace = sim.run(60, beta=0.7, frames=2)

fig, ax = plt.subplots(figsize=(3.2, 3.2))
ax.set_axis_off()
im = ax.imshow(trace.frames[0], cmap="gray", vmin=0, vmax=255)


def show(k):
    im.set_data(trace.frames[k])
    ax.set_title(f"sweep {2 * (k + 1)}")
    return (im,)


movie = animation.FuncAnimation(fig, show, frames=len(trace.frames), interval=120)
