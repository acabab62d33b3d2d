"""Entropy estimators as per-count terms plus a finish in (n, K_occ).

Every estimator is written as

    H = a(n) - (S + b) / d(n) + [miller-madow] (K_occ - 1) / (2 n),   S = sum_k g(c_k)

over the occupied bins (g(0) = 0), with, in nats (n pixels counted, K levels):

=============  ================================  =============  ========  ===========
estimator      g(c)                              a(n)           b         d(n)
=============  ================================  =============  ========  ===========
plugin         c ln c                            ln n           0         n
miller-madow   c ln c                            ln n           0         n
grassberger    c G(c)                            ln n           0         n
dirichlet      (c+1) psi(c+2) - psi(2)           psi(n+K+1)     K psi(2)  n + K
=============  ================================  =============  ========  ===========

G(c) = psi(c) + (-1)^c / 2 (psi((c+1)/2) - psi(c/2)) (Grassberger 2003). The
Dirichlet row is the posterior mean of the entropy under a symmetric
Dirichlet(a=1) prior (the rule of succession of the REU notebook, section
10): psi(A+1) - sum_k (c_k+1)/A psi(c_k+2), A = n + K; the empty bins' share
K psi(2) is folded into b. Windowed maps keep S incrementally in fixed point.
"""

from __future__ import annotations

import math

import numpy as np

from ._exact import plugin_bits

__all__ = ["count_terms", "finish_coefficients", "global_entropy"]


def count_terms(estimator: str, counts: np.ndarray) -> np.ndarray:
    """g(c) in nats for an array of non-negative integer counts (float64, g(0) = 0)."""
    c = np.asarray(counts, dtype=np.float64)
    out = np.zeros_like(c)
    pos = c > 0
    cp = c[pos]
    if estimator in ("plugin", "miller-madow"):
        out[pos] = cp * np.log(cp)
    elif estimator == "grassberger":
        from scipy import special  # imported on use: it costs ~0.3 s at start-up

        sign = np.where(np.asarray(counts)[pos] % 2 == 0, 1.0, -1.0)
        half = special.digamma((cp + 1) / 2) - special.digamma(cp / 2)
        g = special.digamma(cp) + sign / 2 * half
        out[pos] = cp * g
    elif estimator == "dirichlet":
        from scipy import special

        out[pos] = (cp + 1) * special.digamma(cp + 2) - special.digamma(2.0)
    else:  # pragma: no cover - validated upstream
        raise ValueError(estimator)
    return out


def finish_coefficients(estimator: str, nmax: int, nlevels: int):
    """Host tables for the finish: ``(a, d, b, mm)`` with a, d float64 of length nmax + 1."""
    n = np.arange(nmax + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        if estimator == "dirichlet":
            from scipy import special

            a = special.digamma(n + nlevels + 1)
            d = n + nlevels
            b = nlevels * float(special.digamma(2.0))
        else:
            a = np.log(n)
            d = n.copy()
            b = 0.0
    a[0] = np.nan  # no counted pixel: NaN whatever the estimator
    return a, d, float(b), estimator == "miller-madow"


def global_entropy(counts: np.ndarray, estimator: str, nlevels: int, base: float) -> float:
    """Entropy of one histogram (host NumPy counts) by ``estimator``, in units of ``base``."""
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return float("nan")
    if estimator in ("plugin", "miller-madow"):
        # integer-first, in bits (gpuent._exact): exact 0 and k bits where the value is a float
        h, n, kocc = plugin_bits(counts)
        if estimator == "miller-madow":
            h = h + (kocc - 1) / (2.0 * n * math.log(2.0))
        return h / math.log2(base)
    occupied = counts[counts > 0]
    s = float(np.sum(count_terms(estimator, occupied)))
    if estimator == "dirichlet":
        from scipy import special

        b = nlevels * float(special.digamma(2.0))
        h = float(special.digamma(n + nlevels + 1)) - (s + b) / (n + nlevels)
    else:
        h = float(np.log(n)) - s / n
    return h / float(np.log(base))
