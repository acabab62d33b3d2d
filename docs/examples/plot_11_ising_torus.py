"""
Ising model on a torus
======================

Notebook section 12.1: the standard Ising ferromagnet on a 50 x 50 torus, started from
random "grayscale for fun" spins in [-1, 1] and annealed by 100 000 random single-site
Metropolis steps at ``beta = 3 (pi/2) / arctan(n - i)``. :func:`gpuent.ising.torus` and
:class:`gpuent.ising.Simulation` run the same model as colour-phase sweeps (1 sweep = N
single-site steps, so 100 000 steps on 2500 sites are 40 sweeps), with counter-based random
numbers: the same seed gives the same lattice on every backend.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from gpuent import ising

# %%
# The notebook's run
# ------------------
#
# ``ising.arctan(3, steps_per_sweep=N)`` is the notebook's schedule with its own pace; it
# stays within 0.1% of beta = 3 (the notebook's arctan schedule is in effect a constant,
# cold beta), so the random start orders into domains within a few sweeps.

model = ising.torus((50, 50), spins="continuous", seed=1)
sim = ising.Simulation(model, seed=0)
trace = sim.run(40, beta=ising.arctan(3, steps_per_sweep=50 * 50), frames=1)

fig, axs = plt.subplots(1, 2, figsize=(7, 3.4))
axs[0].imshow(model.spins, cmap="gray", vmin=-1, vmax=1)
axs[0].set_title("start: random in [-1, 1]")
axs[1].imshow(sim.spins, cmap="gray", vmin=-1, vmax=1)
axs[1].set_title("after 40 sweeps (1e5 steps)")
for ax in axs:
    ax.set_axis_off()
fig.tight_layout()

# %%
# Its movie
# ---------
#
# ``sim.run(..., frames=k)`` keeps a uint8 frame every k sweeps; ``movie="torus.gif"`` would
# stream them to a file instead (see :func:`gpuent.ising.write_movie`).

fig, ax = plt.subplots(figsize=(3, 3))
ax.set_axis_off()
im = ax.imshow(trace.frames[0], cmap="gray", vmin=0, vmax=255)


def show(k):
    im.set_data(trace.frames[k])
    ax.set_title(f"sweep {k + 1}")
    return (im,)


movie = animation.FuncAnimation(fig, show, frames=len(trace.frames), interval=100)

# %%
# Binary spins near the critical point
# ------------------------------------
#
# With binary spins the model is Onsager's: it orders below the critical temperature,
# beta_c = ln(1 + sqrt 2)/2 = 0.4407. Energy per spin and magnetization of a 128 x 128
# lattice started from random spins, at three temperatures:

fig, axs = plt.subplots(1, 4, figsize=(12, 3))
for k, beta in enumerate([0.3, 0.4407, 0.6]):
    s = ising.Simulation(ising.torus((128, 128), seed=2), seed=3)
    tr = s.run(200, beta=beta, record_every=2)
    axs[0].plot(tr.sweep, tr.energy, label=f"beta = {beta}")
    axs[k + 1].imshow(s.spins, cmap="gray")
    axs[k + 1].set_title(f"beta = {beta}, 200 sweeps")
    axs[k + 1].set_axis_off()
axs[0].set_xlabel("sweep")
axs[0].set_ylabel("energy per spin")
axs[0].legend(fontsize=8)
fig.tight_layout()

# %%
# From a random start the cold lattices are still coarsening after 200 sweeps: the domain
# walls visible above cost energy. Started all up, a lattice at beta = 0.6 reaches
# equilibrium within a few sweeps, and its energy per spin matches Onsager's exact
# ``u = -coth(2 beta) [1 + (2/pi)(2 tanh^2(2 beta) - 1) K(k^2)]``,
# ``k = 2 sinh(2 beta) / cosh^2(2 beta)`` (the tests check this more tightly with longer
# runs):

from scipy.special import ellipk  # noqa: E402

b = 0.6
k = 2 * np.sinh(2 * b) / np.cosh(2 * b) ** 2
u = -1 / np.tanh(2 * b) * (1 + 2 / np.pi * (2 * np.tanh(2 * b) ** 2 - 1) * ellipk(k**2))
eq = ising.Simulation(ising.torus((128, 128), init="up"), seed=4).run(300, beta=b)
print(f"Onsager u(0.6) = {u:.4f};  128 x 128 from all up, mean over sweeps 101..300: "
      f"{float(np.mean(eq.energy[100:])):.4f}")
