"""Shared fixtures: the ``xp`` fixture runs a test on every installed array namespace."""

from __future__ import annotations

import numpy as np
import pytest
from _expected import adopts, fixed_examples
from _expected import mode as expected_mode

from gpuent._backend import cupy_or_none, gpu_available


def _namespaces():
    params = [pytest.param("numpy", id="numpy")]
    try:
        import array_api_strict  # noqa: F401

        params.append(pytest.param("array_api_strict", id="array_api_strict"))
    except ImportError:
        pass
    params.append(pytest.param("cupy", id="cupy", marks=pytest.mark.gpu))
    return params


@pytest.fixture(params=_namespaces())
def xp(request):
    """An array namespace: numpy, array_api_strict, or cupy (only with a GPU).

    ``None`` for cupy in a run that only fills or checks stored expectations
    (``GPUENT_EXPECTED=fill|require``, tests/_expected.py): the test stops after its cpu side.
    """
    name = request.param
    if name == "cupy" and expected_mode() != "use":
        return None
    if name == "numpy":
        return np
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict
    if not gpu_available():
        pytest.skip("CuPy with a CUDA GPU is not available")
    return cupy_or_none()


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no GPU is usable (they run on the device machine).

    With ``GPUENT_EXPECTED=fill|require`` (tests/_expected.py) the GPU tests of modules that
    use stored expectations run without a GPU, up to their GPU part, and every other test is
    skipped: the run only fills or checks ``.gpu-expected/``.
    """
    if expected_mode() != "use":
        skip = pytest.mark.skip(reason="this run only fills or checks stored GPU expectations")
        for item in items:
            module = getattr(item, "module", None)
            if "gpu" not in item.keywords or module is None or not adopts(module):
                item.add_marker(skip)
        return
    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """GPU tests that use stored expectations draw the same Hypothesis examples everywhere."""
    module = getattr(item, "module", None)
    if "gpu" in item.keywords and module is not None and adopts(module):
        with fixed_examples():
            yield
    else:
        yield


def to_host(x):
    """Explicit conversion of any namespace's array to NumPy, for assertions."""
    if hasattr(x, "get"):
        return x.get()
    return np.asarray(x)
