"""Bad input raises ValueError/TypeError with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest

import gpuent as ge

IMG = np.zeros((8, 8), np.uint8)


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: ge.local_entropy(np.zeros((8, 8, 3), np.uint8), 1), ValueError, "grayscale"),
        (lambda: ge.local_entropy(IMG, -1), ValueError, ">= 0"),
        (lambda: ge.local_entropy(IMG, 1.5), TypeError, "integer"),
        (lambda: ge.local_entropy(IMG, "3"), TypeError, "integer"),
        (lambda: ge.local_entropy(IMG, 1, footprint=np.ones((3, 3), bool)), ValueError,
         "exactly one"),
        (lambda: ge.local_entropy(IMG), ValueError, "exactly one"),
        (lambda: ge.local_entropy(IMG, footprint=np.ones((2, 3), bool)), ValueError, "odd"),
        (lambda: ge.local_entropy(IMG, footprint=np.zeros((3, 3), bool)), ValueError, "no True"),
        (lambda: ge.local_entropy(np.zeros((8, 8)), 1), ValueError, "bins"),
        (lambda: ge.local_entropy(np.zeros((0, 8), np.uint8), 1), ValueError, "empty"),
        (lambda: ge.local_entropy(IMG, 1, mask=np.ones((7, 8), bool)), ValueError, "shape"),
        (lambda: ge.local_entropy(IMG, 1, mode="nearest"), ValueError, "'clip'"),
        (lambda: ge.local_entropy(IMG, 1, estimator="jackknife"), ValueError, "'plugin'"),
        (lambda: ge.local_entropy(IMG, 1, base=1), ValueError, "not 1"),
        (lambda: ge.local_entropy(IMG, 1, dtype=np.int32), TypeError, "float32"),
        (lambda: ge.local_entropy(IMG, 1, backend="gpu"), ValueError, "'cuda'"),
        (lambda: ge.local_entropy(IMG, 1, backend="cuda"), ValueError, "CuPy"),
        (lambda: ge.local_entropy(np.full((4, 4), -1), 1), ValueError, "bins=K"),
        (lambda: ge.local_entropy(np.full((4, 4), 70000), 1), ValueError, "bins=K"),
        (lambda: ge.local_entropy(np.zeros((4, 4), complex), 1), TypeError, "dtype"),
        (lambda: ge.local_entropy("image.png", 1), TypeError, "array"),
        (lambda: ge.local_entropy(np.zeros(5, np.uint8), 1), ValueError, "2-D"),
        (lambda: ge.local_entropy(np.array([[np.inf, 0.0]]), 1, bins=4), ValueError,
         "value_range"),
        (lambda: ge.local_entropy(IMG, 1, bins=0), ValueError, "bins"),
        (lambda: ge.local_expected(IMG, 3, 1), TypeError, "callable"),
        (lambda: ge.local_expected(IMG, lambda p: 1 / (p - p), 1), ValueError, "finite"),
        (lambda: ge.local_renyi_entropy(IMG, -1, 1), ValueError, "alpha"),
        (lambda: ge.renyi_entropy([0.5, 0.5], -2), ValueError, "alpha"),
        (lambda: ge.shannon_entropy([0.5, -0.5]), ValueError, "non-negative"),
        (lambda: ge.intensity_entropy(IMG, estimator="x"), ValueError, "'plugin'"),
    ],
)
def test_bad_input_says_what_to_do(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    assert words in str(info.value)
