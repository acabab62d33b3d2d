"""``gpuent info``: versions, usable backends and the GPU."""

from __future__ import annotations

import importlib
import platform

HELP = "print versions, the usable backends and the GPU, if any"


def register(sub):
    p = sub.add_parser("info", help=HELP, description=HELP)
    p.set_defaults(func=run)


def _version(name):
    try:
        module = importlib.import_module(name)
    except Exception:
        return "not installed"
    return getattr(module, "__version__", "installed")


def run(args):
    from .. import __version__
    from .._backend import cupy_or_none, gpu_available, numba_available

    print(f"gpuent {__version__} on Python {platform.python_version()} ({platform.machine()})")
    for name in ("numpy", "scipy", "numba", "array_api_compat", "PIL", "tqdm", "cupy",
                 "skimage", "tifffile", "zarr", "dask", "matplotlib"):
        print(f"  {name:17s} {_version(name)}")
    backends = ["reference"]
    if numba_available():
        backends.append("cpu (Numba)")
    gpu = "none"
    if gpu_available():
        cp = cupy_or_none()
        backends.append("cuda (CuPy)")
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        memory = props["totalGlobalMem"] / 2**30
        gpu = f"{name}, {memory:.0f} GiB, {props['multiProcessorCount']} SMs"
    elif cupy_or_none() is not None:
        gpu = "CuPy is installed but sees no CUDA device"
    print(f"backends: {', '.join(backends)}")
    print(f"GPU: {gpu}")
    return 0
