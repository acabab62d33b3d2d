"""Ising models of images (research notebook, section 12), on CPU or NVIDIA GPU.

>>> from gpuent import ising
>>> sim = ising.Simulation(ising.torus((64, 64), init="up"), seed=1)
>>> trace = sim.run(10, beta=0.6)
>>> trace.energy.shape
(10,)

Models: :func:`torus`, :func:`edge_model`, :func:`metric_model`; dynamics:
:class:`Simulation` (counter-based Metropolis, the same lattice on every backend; on the
GPU binary lattices are kept at 1 bit per spin when their width is a multiple of 32);
schedules: :func:`constant`, :func:`linear`, :func:`geometric`, :func:`logarithmic`,
:func:`arctan`, :func:`piecewise`; movies: :func:`write_movie`, :class:`MovieWriter`.
"""

from .letters import letters_image
from .models import IsingModel, edge_model, image_to_spins, metric_model, torus
from .movie import MovieWriter, spins_to_frame, write_movie
from .schedules import (
    Schedule,
    arctan,
    as_schedule,
    constant,
    geometric,
    linear,
    logarithmic,
    parse_schedule,
    piecewise,
)
from .simulation import Simulation, Trace

__all__ = [
    "IsingModel",
    "MovieWriter",
    "Schedule",
    "Simulation",
    "Trace",
    "arctan",
    "as_schedule",
    "constant",
    "edge_model",
    "geometric",
    "image_to_spins",
    "letters_image",
    "linear",
    "logarithmic",
    "metric_model",
    "parse_schedule",
    "piecewise",
    "spins_to_frame",
    "torus",
    "write_movie",
]
