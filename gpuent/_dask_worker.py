"""Preloaded into the worker processes of gpuent's local Dask clusters (``preload=``).

Ctrl-C in a terminal interrupts the whole process group. The workers then died with
KeyboardInterrupt tracebacks while gpuent itself was closing them; so a worker ignores
SIGINT, and gpuent, which receives it too, shuts the cluster down.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker):  # noqa: ARG001 - the preload hook's signature
    """Ignore SIGINT in this worker process (only the main thread may set handlers)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
