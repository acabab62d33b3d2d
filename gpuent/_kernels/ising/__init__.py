"""Ising kernels: one spec (this module), three paths (reference, cpu, cuda).

Every path (the array-API reference in :mod:`.reference`, Numba in :mod:`._cpu`,
CUDA in ``cuda/ising.cu`` launched by :mod:`._cuda`) implements exactly what is
written here, so the same seed gives the same lattice bit for bit everywhere.

Random numbers: Philox4x32-10 (Salmon et al., SC'11; the Random123 constants)
----------------------------------------------------------------------------

* key   ``(k0, k1) = (seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)``, ``0 <= seed < 2**64``.
* counter ``(c0, c1, c2, c3) = (j >> 3, i, sweep, phase)`` for the site in row ``i``,
  column ``j``: ``sweep`` is the number of sweeps the simulation has done before this one
  (it keeps counting across ``run`` calls), ``phase`` the colour phase being updated.
* the site uses word ``(j >> 1) & 3`` of the four output words: the 8 columns
  ``8 c0 .. 8 c0 + 7`` of a row hold exactly 4 sites of any one phase (one per column
  pair), so one Philox call serves 4 sites.
* phases: 2-phase models (torus, edge) update ``(i + j) % 2 == phase`` for phase 0 then 1;
  the 4-phase model (metric) updates ``2 (i % 2) + (j % 2) == phase`` for phase 0, 1, 2, 3.
  Each site is updated exactly once per sweep, so no word is ever used twice.

Acceptance (Metropolis, no floating point per flip)
---------------------------------------------------

A flip with energy change ``dE`` is accepted iff ``word < T[index(dE)]`` with the
unsigned 64-bit table ``T`` computed once per beta on the host by :func:`thresholds`:
``T = 2**32`` for ``dE <= 0`` (always accepted), else ``floor(2**32 exp(-beta dE))``.

* integer models (binary torus, edge, metric): ``index = dE + 8`` for ``-8 <= dE <= 8``;
  ``T[17] = 0`` (never accepted) serves frozen edge pixels and ``T[18] = 2**31``
  (accepted with probability 1/2, heat-bath for a zero energy change) free edge pixels.
* continuous torus: ``dE`` is a float32 sum (see :mod:`.reference`), rounded on a grid of
  1/256: ``q = floor(float64(dE) * 256 + 0.5)``, ``index = q + 2048`` in ``[0, 4096]``.
  Every step is an exactly rounded IEEE operation (no FMA), so every path gets the same
  index; the acceptance probability is ``exp(-beta q / 256)`` (an error below 1/512 in dE).

Observables are integer sums (int64), hence exact on every path: binary spins sum
``s`` and the bond energies directly; continuous spins quantize each bond term
``|s_i - s_j|`` and each spin to a multiple of ``2**-24`` first.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CONT_OFFSET",
    "CONT_SCALE",
    "FIXED_SCALE",
    "HALF",
    "INT_OFFSET",
    "NEVER",
    "PHILOX_M0",
    "PHILOX_M1",
    "PHILOX_W0",
    "PHILOX_W1",
    "philox_key",
    "thresholds",
]

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85

INT_OFFSET = 8  # index = dE + 8 for integer energy changes in [-8, 8]
NEVER = 17  # index of the "never accept" entry (frozen edge pixels)
# index of the "accept with probability 1/2" entry (free edge pixels). They are decoupled
# (dE = 0): Metropolis would flip them at every sweep, a period-2 cycle that never mixes,
# while the notebook's random-site steps leave them random. Heat-bath acceptance of a zero
# energy change (1/2) satisfies detailed balance too, and mixes.
HALF = 18
CONT_SCALE = 256  # continuous dE grid: 1/256
CONT_OFFSET = 2048  # index = q + 2048, q in [-2048, 2048]
FIXED_SCALE = 1 << 24  # fixed point of continuous observables


def philox_key(seed) -> tuple[int, int]:
    """Philox key ``(k0, k1)`` of an integer seed in ``[0, 2**64)``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF


def thresholds(beta: float, continuous: bool) -> np.ndarray:
    """Acceptance table (uint64) for one inverse temperature ``beta >= 0``."""
    beta = float(beta)
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    if continuous:
        de = (np.arange(2 * CONT_OFFSET + 1, dtype=np.float64) - CONT_OFFSET) / CONT_SCALE
    else:
        de = np.arange(2 * INT_OFFSET + 1, dtype=np.float64) - INT_OFFSET
    p = np.exp(-beta * np.maximum(de, 0.0))
    t = np.floor(np.ldexp(p, 32))
    t = np.where(de <= 0, 2.0**32, np.minimum(t, 2.0**32)).astype(np.uint64)
    if not continuous:
        t = np.append(t, np.array([0, 2**31], dtype=np.uint64))  # NEVER, HALF
    return t
