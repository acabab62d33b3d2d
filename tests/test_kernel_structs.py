"""The CUDA kernels' plan structures and their one Python definition cannot drift apart.

``windowed_sliding`` (local entropy) takes ``struct WindowArgs`` and the integer Ising
sweeps take ``struct Params``, both by value; the host builds them from
``_cuda.WINDOW_ARGS`` / ``_cuda.PARAMS``. The struct in the ``.cu`` file is read back
(field names, order, C types) and compiled with g++ to compare ``offsetof`` / ``sizeof``
with the NumPy dtype's offsets and itemsize. The Numba kernel reads its plan
(``_cpu.SlidingArgs``) by field name, so a field missing there fails at compile time.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from _cstruct import layout_errors, struct_fields

from gpuent._kernels.histogram import _cpu as hist_cpu
from gpuent._kernels.histogram import _cuda as hist_cuda
from gpuent._kernels.histogram.spec import plan_window
from gpuent._kernels.ising import _cuda as ising_cuda

GXX = shutil.which("g++")


def _hist_source():
    return hist_cuda.SOURCE.read_text()


def test_window_args_match_the_struct_field_by_field():
    fields = struct_fields(_hist_source(), "WindowArgs")
    assert [(n, t) for n, t, _ in fields] == list(hist_cuda.WINDOW_ARGS)
    assert layout_errors(_hist_source(), "WindowArgs", hist_cuda.WINDOW_ARGS_DTYPE) == []


def test_ising_params_match_the_struct_field_by_field():
    src = ising_cuda.cuda_source()
    assert [n for n, _, _ in struct_fields(src, "Params")] == list(ising_cuda.PARAMS.names)
    assert layout_errors(src, "Params", ising_cuda.PARAMS) == []


@pytest.mark.skipif(GXX is None, reason="g++ is not on the PATH")
@pytest.mark.parametrize("which", ["WindowArgs", "Params"])
def test_struct_layout_equals_the_dtype_by_the_compiler(which, tmp_path):
    src, dtype, ns = ((_hist_source(), hist_cuda.WINDOW_ARGS_DTYPE, "gpuent")
                      if which == "WindowArgs" else
                      (ising_cuda.cuda_source(), ising_cuda.PARAMS, ""))
    assert layout_errors(src, which, dtype, compile_dir=tmp_path, namespace=ns) == []


@pytest.mark.skipif(GXX is None, reason="g++ is not on the PATH")
def test_a_drifted_field_list_is_caught(tmp_path):
    src = _hist_source()
    # two fields swapped, a field's type changed, a field dropped: each one is reported
    fields = list(hist_cuda.WINDOW_ARGS)
    swapped = fields[:]
    swapped[0], swapped[1] = swapped[1], swapped[0]
    retyped = [(n, "double" if n == "nruns" else t) for n, t in fields]
    dropped = [f for f in fields if f[0] != "nitems"]
    for variant in (swapped, retyped, dropped):
        dtype = np.dtype({"names": [n for n, _ in variant],
                          "formats": [hist_cuda._field_dtype(t) for _, t in variant]},
                         align=True)
        assert layout_errors(src, "WindowArgs", dtype, compile_dir=tmp_path)
    # same names and types, another layout (packed, no alignment padding): the compiler sees it
    packed = np.dtype({"names": [n for n, _ in fields],
                       "formats": [hist_cuda._field_dtype(t) for _, t in fields]})
    errors = layout_errors(src, "WindowArgs", packed, compile_dir=tmp_path, namespace="gpuent")
    assert errors and any("offsetof" in e or "sizeof" in e for e in errors)


class _Dev(np.ndarray):
    """A NumPy array posing as a device array (its address is its data pointer)."""


def test_pack_window_args_checks_names_and_types():
    dev = {n: np.zeros(3, hist_cuda.C_TYPES[t[:-1].replace("const ", "")]).view(_Dev)
           for n, t in hist_cuda.WINDOW_ARGS if t.endswith("*")}
    fields = dev | {n: 7 for n, t in hist_cuda.WINDOW_ARGS if not t.endswith("*")}
    packed = hist_cuda.pack_window_args(fields, lambda a: a.ctypes.data)
    assert packed.dtype == hist_cuda.WINDOW_ARGS_DTYPE and packed.shape == (1,)
    assert int(packed["inc"][0]) == dev["inc"].ctypes.data and int(packed["nitems"][0]) == 7
    with pytest.raises(ValueError, match="missing \\['nitems'\\]"):
        hist_cuda.pack_window_args({k: v for k, v in fields.items() if k != "nitems"},
                                   lambda a: a.ctypes.data)
    with pytest.raises(ValueError, match="extra \\['oops'\\]"):
        hist_cuda.pack_window_args(fields | {"oops": 1}, lambda a: a.ctypes.data)
    with pytest.raises(TypeError, match="inc must be a C-contiguous int64"):
        hist_cuda.pack_window_args(fields | {"inc": np.zeros(3, np.int32).view(_Dev)},
                                   lambda a: a.ctypes.data)


def test_cpu_plan_structure_is_built_once_from_the_plan():
    plan = plan_window((7, 9), np.ones((3, 3), bool), "reflect", 256, estimator="plugin")
    args = hist_cpu.kernel_arguments(plan, all_valid=False)
    assert isinstance(args, hist_cpu.SlidingArgs)
    assert args.all_valid is False and args.nlevels == 256 and args.per_n is False
    # the Numba kernel reads every field of the structure by name, and nothing else
    code = hist_cpu.sliding.py_func.__code__
    src = __import__("inspect").getsource(hist_cpu.sliding.py_func)
    assert code.co_varnames[:code.co_argcount] == ("levels", "plan", "out", "nchunks")
    for name in hist_cpu.SlidingArgs._fields:
        assert f"{name} = plan.{name}\n" in src, name
