"""
Image-edge Ising model
======================

Notebook section 12.2: an Ising model whose bonds to edge pixels are cut
(``nenergy``), so the regions an image's edges enclose evolve independently. The notebook
annealed a picture of letters with ``beta = 0.5 (pi/2) / arctan(n - i)`` for 10^6 steps and
wrote a movie. :func:`gpuent.ising.edge_model` takes the edges from a gradient threshold (or
from a mask you give, as the notebook loaded them from ``ising-edges.png``).
"""

import matplotlib.pyplot as plt
from matplotlib import animation

from gpuent import ising

letters = ising.letters_image((96, 96))  # the notebook's ising-letters.png is not shipped
model = ising.edge_model(letters)

fig, axs = plt.subplots(1, 2, figsize=(6.5, 3.4))
axs[0].imshow(letters, cmap="gray")
axs[0].set_title("letters")
axs[1].imshow(model.edges, cmap="gray_r")
axs[1].set_title("edges (bonds cut)")
for ax in axs:
    ax.set_axis_off()
fig.tight_layout()

# %%
# The notebook's run: 10^6 single-site steps are about 109 sweeps of 96 x 96 sites. With the
# notebook's pace (``steps_per_sweep=N``) beta stays at 0.5, a little on the ordered side of
# the critical 0.44: the large white background stays white with thermal flecks, while the
# thin letter strokes, cut off from it by their edge outlines and bordered by edge pixels
# that flip at random (see the fidelity notes in :doc:`/user_guide/ising`), break up into
# noise.

sim = ising.Simulation(model, seed=0)
trace = sim.run(109, beta=ising.arctan(0.5, steps_per_sweep=96 * 96), frames=3,
                record_every=1)

fig, ax = plt.subplots(figsize=(3.2, 3.2))
ax.set_axis_off()
im = ax.imshow(trace.frames[0], cmap="gray", vmin=0, vmax=255)


def show(k):
    im.set_data(trace.frames[k])
    ax.set_title(f"sweep {3 * (k + 1)}")
    return (im,)


movie = animation.FuncAnimation(fig, show, frames=len(trace.frames), interval=120)

# %%
# Energy and magnetization per recorded sweep:

fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(trace.sweep, trace.energy, label="energy per spin")
ax.plot(trace.sweep, trace.magnetization, label="magnetization")
ax.set_xlabel("sweep")
ax.legend()
fig.tight_layout()
