"""Inverse-temperature schedules: beta as a function of the sweep index.

A schedule is evaluated for a run of ``n`` sweeps by :meth:`Schedule.values`, which
returns ``n`` betas (float64): sweep ``t = 0 .. n-1`` runs at ``values(n)[t]``.
Anything :func:`as_schedule` accepts can be passed as ``beta=`` to
:meth:`gpuent.ising.Simulation.run`: a number, an array of length ``n``, a callable
``f(t, n) -> beta`` (or ``f(t)``), or a :class:`Schedule`.

The notebook's schedules (section 12): ``arctan(0.5)`` is its
``0.5 (pi/2) / arctan(n - i)``; ``piecewise(linear(4, 1e-3), linear(1e-3, 4))`` its
heat-then-cool run of the image-metric model.

The notebook counts single-site steps ``i = 0 .. n-1`` (``n = 1e6`` in its movies); here
``t`` counts sweeps, and 1 sweep = N single-site steps (N = number of spins), so the
notebook's run is ``n / N`` sweeps (15 on 256 x 256) with one frame every ``1000 / N``
sweeps. Its linear schedules use ``k = i / n`` (never quite reaching the end value); ours
use ``t / (n - 1)`` (both endpoints exact), a difference of one sweep in ``k``. For
:func:`arctan` see its note: it is faithful only with ``steps_per_sweep=N``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "Schedule",
    "arctan",
    "as_schedule",
    "constant",
    "geometric",
    "linear",
    "logarithmic",
    "parse_schedule",
    "piecewise",
]


class Schedule:
    """A beta schedule: ``values(n)`` gives the betas of ``n`` sweeps."""

    def __init__(self, func: Callable[[np.ndarray, int], np.ndarray], name: str = "schedule"):
        self._func = func
        self.name = name

    def values(self, n: int) -> np.ndarray:
        n = int(n)
        if n < 0:
            raise ValueError(f"number of sweeps must be >= 0, got {n}")
        from .._memory import check_allocation

        check_allocation(24 * n, f"the betas of {n} sweeps", "use fewer sweeps")
        t = np.arange(n, dtype=np.float64)
        b = np.broadcast_to(np.asarray(self._func(t, n), dtype=np.float64), (n,)).copy()
        _check_betas(b)
        return b

    def __call__(self, t, n):
        return self.values(n)[t]

    def __repr__(self) -> str:
        return f"<Schedule {self.name}>"

    def then(self, other, weights=(1.0, 1.0)) -> Schedule:
        """This schedule followed by ``other`` (the run split by ``weights``)."""
        return piecewise((self, weights[0]), (as_schedule(other), weights[1]))


def _check_betas(b):
    if b.size and not (np.all(np.isfinite(b)) and np.all(b >= 0)):
        bad = b[~(np.isfinite(b) & (b >= 0))][0]
        raise ValueError(f"beta must be finite and >= 0, got {bad}")


def _pos(x, name):
    x = float(x)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {x}")
    return x


def _frac(t, n):
    """0 at the first sweep, 1 at the last."""
    return t / (n - 1) if n > 1 else np.zeros_like(t)


def constant(beta: float) -> Schedule:
    """The same beta for every sweep.

    Parameters
    ----------
    beta : float
        Inverse temperature, >= 0.

    Returns
    -------
    Schedule
    """
    b = _pos(beta, "beta")
    return Schedule(lambda t, n: np.full(t.shape, b), f"constant({b:g})")


def linear(start: float, stop: float) -> Schedule:
    """Linear in the sweep index from ``start`` (first sweep) to ``stop`` (last sweep).

    Parameters
    ----------
    start, stop : float
        Beta of the first and last sweep, >= 0.

    Returns
    -------
    Schedule
    """
    a, b = _pos(start, "start"), _pos(stop, "stop")
    return Schedule(lambda t, n: a + (b - a) * _frac(t, n), f"linear({a:g}, {b:g})")


def geometric(start: float, stop: float) -> Schedule:
    """Geometric (exponential) from ``start`` to ``stop``; both must be > 0.

    Parameters
    ----------
    start, stop : float
        Beta of the first and last sweep, both > 0.

    Returns
    -------
    Schedule
    """
    a, b = _pos(start, "start"), _pos(stop, "stop")
    if a <= 0 or b <= 0:
        raise ValueError("geometric schedule needs start > 0 and stop > 0")
    return Schedule(lambda t, n: a * (b / a) ** _frac(t, n), f"geometric({a:g}, {b:g})")


def logarithmic(start: float, stop: float) -> Schedule:
    """``start + (stop - start) log(1 + t) / log(n)``: fast change first, then slow
    (the classic logarithmic annealing curve), ``start`` at t = 0, ``stop`` at t = n - 1.

    Parameters
    ----------
    start, stop : float
        Beta of the first and last sweep, >= 0.

    Returns
    -------
    Schedule
    """
    a, b = _pos(start, "start"), _pos(stop, "stop")

    def f(t, n):
        return a + (b - a) * (np.log1p(t) / math.log(n) if n > 1 else np.zeros_like(t))

    return Schedule(f, f"logarithmic({a:g}, {b:g})")


def arctan(scale: float, *, steps_per_sweep: float = 1.0) -> Schedule:
    """The notebook's ``beta = scale (pi/2) / arctan(n - i)``.

    Beta rises from ``scale`` (``arctan(n) ~ pi/2``) to ``2 scale`` (``arctan(1) = pi/4``)
    at the very end. In the notebook ``i`` counts single-site steps; here ``t`` counts
    sweeps and ``n - i = (n - t) * steps_per_sweep``: sweep ``t`` takes the beta of its
    first step, ``i = t * steps_per_sweep``.

    Faithful mapping: ``steps_per_sweep = N`` (spins per lattice; 1 sweep = N steps). Then
    beta stays within 0.1% of ``scale`` for the whole run (N >= 640), as in the notebook, where only
    the last 64 of its 1e6 steps exceed ``1.01 scale``: the notebook's arctan schedule is
    in effect a constant beta.

    Default ``steps_per_sweep = 1`` (what ``"arctan:C"`` on the command line and the
    ``edges`` preset use) applies the formula to sweeps: the last 64 sweeps exceed
    ``1.01 scale``, the last 6 ``1.1 scale``, and the last runs at ``2 scale``, a quench
    over the last few sweeps that the notebook does not have.

    Parameters
    ----------
    scale : float
        c, the starting beta (> 0).
    steps_per_sweep : float
        Notebook steps per sweep (N for the notebook's own pace); default 1.

    Returns
    -------
    Schedule
    """
    c = _pos(scale, "scale")
    k = float(steps_per_sweep)
    if not k > 0:
        raise ValueError("steps_per_sweep must be > 0")
    return Schedule(lambda t, n: c * (np.pi / 2) / np.arctan((n - t) * k), f"arctan({c:g})")


def piecewise(*parts) -> Schedule:
    """Concatenate schedules: ``parts`` are schedules or ``(schedule, weight)`` pairs.

    A run of ``n`` sweeps is split in proportion to the weights (equal by default);
    part ``k`` runs its own schedule over its share. Example, heat then cool:
    ``piecewise(linear(4, 1e-3), linear(1e-3, 4))``.

    Parameters
    ----------
    *parts : Schedule, float, array, callable or (schedule, weight)
        The consecutive parts (a single list of them is accepted too).

    Returns
    -------
    Schedule
    """
    if len(parts) == 1 and isinstance(parts[0], list):
        parts = tuple(parts[0])  # piecewise([a, b]) reads as piecewise(a, b)
    if not parts:
        raise ValueError("piecewise needs at least one part")
    scheds, weights = [], []
    for p in parts:
        if isinstance(p, tuple):
            s, w = p
        else:
            s, w = p, 1.0
        w = _pos(w, "weight")
        scheds.append(as_schedule(s))
        weights.append(w)
    total = sum(weights)
    if total <= 0:
        raise ValueError("piecewise weights must not all be 0")

    def values(t, n):
        bounds = np.rint(np.cumsum([0.0] + weights) / total * n).astype(int)
        out = [sc.values(int(b1 - b0)) for sc, b0, b1 in zip(scheds, bounds[:-1], bounds[1:])]
        return np.concatenate(out) if out else np.zeros(0)

    return Schedule(values, " + ".join(s.name for s in scheds))


def as_schedule(beta) -> Schedule:
    """Turn a number, array, callable or :class:`Schedule` into a :class:`Schedule`.

    Parameters
    ----------
    beta : float, array_like, callable or Schedule
        A constant beta, one beta per sweep, ``f(t, n)`` of the sweep index and run length,
        or a schedule.

    Returns
    -------
    Schedule
    """
    if isinstance(beta, Schedule):
        return beta
    if isinstance(beta, str):
        return parse_schedule(beta)
    if isinstance(beta, (int, float, np.integer, np.floating)) and not isinstance(beta, bool):
        return constant(beta)
    if callable(beta):
        try:
            nargs = len(inspect.signature(beta).parameters)
        except (TypeError, ValueError):
            nargs = 2
        if nargs >= 2:
            return Schedule(lambda t, n: np.array([beta(int(k), n) for k in t]), "callable")
        return Schedule(lambda t, n: np.array([beta(int(k)) for k in t]), "callable")
    if isinstance(beta, (Sequence, np.ndarray)) or hasattr(beta, "__array__"):
        arr = np.asarray(beta, dtype=np.float64).reshape(-1)
        _check_betas(arr)

        def f(t, n):
            if n != arr.size:
                raise ValueError(f"beta array has {arr.size} values for a run of {n} sweeps")
            return arr

        return Schedule(f, f"array[{arr.size}]")
    raise TypeError("beta must be a number, array, callable or Schedule, got "
                    f"{type(beta).__name__}")


_NAMES = {
    "const": (constant, 1), "constant": (constant, 1),
    "linear": (linear, 2), "lin": (linear, 2),
    "geometric": (geometric, 2), "geom": (geometric, 2), "exp": (geometric, 2),
    "log": (logarithmic, 2), "logarithmic": (logarithmic, 2),
    "arctan": (arctan, 1), "atan": (arctan, 1),
}


def parse_schedule(spec: str) -> Schedule:
    """Parse the CLI's ``--schedule`` text.

    ``NAME:ARG[:ARG][@WEIGHT]`` parts joined by commas, e.g. ``0.44``, ``const:0.44``,
    ``linear:0.1:1``, ``geometric:0.1:2``, ``log:0.1:1``, ``arctan:0.5``, or heat then
    cool ``linear:4:1e-3,linear:1e-3:4`` (equal halves; ``@2`` weights a part).

    Parameters
    ----------
    spec : str
        The schedule text.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        For text that is not a schedule, with what was expected.
    """
    parts = []
    for raw in str(spec).split(","):
        raw = raw.strip()
        if not raw:
            raise ValueError(f"empty part in schedule {spec!r}")
        weight = 1.0
        if "@" in raw:
            raw, w = raw.rsplit("@", 1)
            weight = _num(w, spec)
        fields = raw.split(":")
        name = fields[0].lower()
        if len(fields) == 1:
            try:
                parts.append((constant(float(name)), weight))
                continue
            except ValueError:
                pass
        if name not in _NAMES:
            raise ValueError(
                f"unknown schedule {fields[0]!r} in {spec!r}; use const, linear, geometric, "
                "log, arctan or a number")
        func, nargs = _NAMES[name]
        args = [_num(a, spec) for a in fields[1:]]
        if len(args) != nargs:
            raise ValueError(f"schedule {name!r} takes {nargs} number(s), got {len(args)} in "
                             f"{spec!r}")
        parts.append((func(*args), weight))
    return parts[0][0] if len(parts) == 1 else piecewise(*parts)


def _num(text, spec):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number: {text!r} in schedule {spec!r}") from None
