"""Benchmark helpers: a kernel module of another git revision built beside the working tree,
best-of-N timings with variants alternated, and instruction counts from callgrind.

Timings on a shared machine are noisy: every variant is run in turn, several rounds in one
process, and the best time of each is kept. ``valgrind --tool=callgrind`` counts executed
instructions, which do not depend on the load; a count per item is the difference between
a child process doing the work once and three times, divided by twice the items.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# valgrind does not run AVX-512 code: children under it compile for a fixed AVX2 target, and
# a first child outside valgrind fills Numba's cache for that target, which the counted
# children then load (Numba's cache is keyed by the target).
CALLGRIND_ENV = {"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "", "NUMBA_NUM_THREADS": "1"}


def baseline_module(path, ref="main"):
    """Import the file ``path`` (relative to the repository) as it is at git revision ``ref``.

    Relative imports are rewritten to absolute ones (the package is the working tree's).
    Returns ``(module, commit)``, or ``(None, reason)`` when git cannot supply it or it does
    not import beside this tree (``--baseline`` then names another revision). The copy
    lives in a directory named after the file's content, so Numba's cache persists.
    """
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
        text = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"git could not show {ref}:{path} ({exc})"
    parts = Path(path).with_suffix("").parts[:-1]

    def absolute(m):
        up = len(m.group(1))
        name = ".".join([*parts[:len(parts) - up + 1], *filter(None, [m.group(2)])])
        return f"from {name} import"

    text = re.sub(r"^from (\.+)([\w.]*) import", absolute, text, flags=re.M)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"gpuent-baseline-{digest}"
    folder.mkdir(exist_ok=True)
    name = f"_baseline_{Path(path).stem.lstrip('_')}_{digest}"
    file = folder / f"{name}.py"
    if not file.exists():
        file.write_text(text)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # e.g. it imports helpers this tree does not have
        del sys.modules[name]
        return None, f"{ref}:{path} does not import beside this tree ({exc!r})"
    return module, commit


def best_alternated(variants, rounds=5, fewer=None):
    """Best wall time of each ``{name: fn}``, calling them in turn for ``rounds`` rounds
    (``fewer``: ``{name: rounds}`` for slow variants, which then run in the first rounds)."""
    fewer = fewer or {}
    best = {name: float("inf") for name in variants}
    for k in range(rounds):
        for name, fn in variants.items():
            if k >= fewer.get(name, rounds):
                continue
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def callgrind_counts(child_argv):
    """Instructions between the marks of a child run under callgrind: ``{label: count}``.

    The child runs uninstrumented until its first :func:`mark` and calls :func:`mark` after
    each piece of work it wants counted (each count runs from the previous mark). Returns
    None when valgrind is not installed or the child fails.
    """
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return None
    env = dict(os.environ, **CALLGRIND_ENV, GPUENT_CALLGRIND="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    try:
        plain = dict(env)
        del plain["GPUENT_CALLGRIND"]
        subprocess.run(child_argv, env=plain, check=True, capture_output=True)  # the cache
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                            f"--callgrind-out-file={tmp}/cg.out", *child_argv],
                           env=env, check=True, capture_output=True)
            counts = {}
            for file in Path(tmp).glob("cg.out.*"):
                text = file.read_text(errors="replace")
                label = re.search(r"^desc: Trigger: dump (\S+)", text, re.M)
                total = re.search(r"^totals:\s*(\d+)", text, re.M)
                if label and total:
                    counts[label.group(1)] = int(total.group(1))
    except (OSError, subprocess.CalledProcessError):
        return None
    return counts


def mark(label=None):
    """In a child under :func:`callgrind_counts`: start counting (no label), or dump the
    count since the previous mark as ``label``. Does nothing outside callgrind."""
    if not os.environ.get("GPUENT_CALLGRIND"):
        return
    pid = str(os.getpid())
    args = ["-i", "on"] if label is None else ["-d", label]
    subprocess.run(["callgrind_control", *args, pid], check=True, capture_output=True)


def measure_marked(label, work):
    """Mark ``label:1`` after one ``work()`` and ``label:2`` after two more (the difference
    of the two counts is one call's instructions, free of the marks' own cost)."""
    mark(f"{label}:0")
    work()
    mark(f"{label}:1")
    work()
    work()
    mark(f"{label}:2")


def per_call(counts, label):
    """One call's instructions from :func:`measure_marked`'s two counts (None if absent)."""
    if not counts or f"{label}:1" not in counts or f"{label}:2" not in counts:
        return None
    return (counts[f"{label}:2"] - counts[f"{label}:1"])
