"""intensity_distribution(prior=a): the posterior predictive (c_k + a) / (N + K a)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import gpuent as ge
import gpuent.entropy


def test_posterior_predictive_prior():
    tosses = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    p = ge.intensity_distribution(tosses, prior=1)
    assert p[1] == 1 / 3 and p[0] == 2 / 3
    p = ge.intensity_distribution(np.array([0, 0, 2], np.uint16), prior=0.5)
    np.testing.assert_allclose(p, np.array([2.5, 0.5, 1.5]) / 4.5, rtol=1e-15)
    with pytest.raises(ValueError, match="prior"):
        ge.intensity_distribution(tosses, prior=-1)
    result = doctest.testmod(gpuent.entropy)
    assert result.attempted > 0 and result.failed == 0
