"""Read a plain C struct from a kernel source and check it against a NumPy dtype.

The CUDA kernels take their plan as one struct passed by value; the host builds it as
a one-item array of a structured dtype. These helpers let tests fail when the two
drift apart: :func:`struct_fields` parses the struct's declarations (names, C types,
array lengths) and :func:`layout_errors` compares them, and the compiler's ``offsetof``
and ``sizeof``, with the dtype.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

#: C types of struct fields and the NumPy types that hold them (pointers: 64-bit addresses)
SCALARS = {
    "int": np.dtype("<i4"), "unsigned int": np.dtype("<u4"), "u32": np.dtype("<u4"),
    "long long": np.dtype("<i8"), "i64": np.dtype("<i8"), "unsigned long long": np.dtype("<u8"),
    "u64": np.dtype("<u8"), "float": np.dtype("<f4"), "double": np.dtype("<f8"),
}
#: what the typedefs of the kernel sources mean, for compiling a struct on its own
PRELUDE = ("typedef unsigned int u32;\ntypedef unsigned long long u64;\n"
           "typedef long long i64;\n#include <cstddef>\n")


def struct_text(source: str, name: str) -> str:
    """The definition ``struct name { ... };`` in ``source`` (comments removed)."""
    m = re.search(r"struct\s+" + re.escape(name) + r"\s*\{(.*?)\};", source, re.S)
    if m is None:
        raise AssertionError(f"struct {name} not found")
    body = re.sub(r"//[^\n]*", "", m.group(1))
    return f"struct {name} {{{body}}};"


def struct_fields(source: str, name: str) -> list[tuple[str, str, int]]:
    """``(field, C type, array length or 0)`` of every field of ``struct name``, in order.

    A C type is written ``"int"``, ``"const int*"``, ``"double"``...
    """
    text = struct_text(source, name)
    body = text[text.index("{") + 1:text.rindex("}")]
    fields = []
    for decl in body.split(";"):
        decl = " ".join(decl.replace("*", " * ").split())
        if not decl:
            continue
        parts = [p.strip() for p in decl.split(",")]
        m = re.match(r"^(const\s+)?([A-Za-z_][\w ]*?)\s+(\*\s*)?([A-Za-z_]\w*)(\[\d+\])?$",
                     parts[0])
        if m is None:
            raise AssertionError(f"cannot read the declaration {decl!r}")
        const, base = m.group(1) or "", m.group(2)
        for k, p in enumerate(parts):
            if k:
                m = re.match(r"^(\*\s*)?([A-Za-z_]\w*)(\[\d+\])?$", p)
                if m is None:
                    raise AssertionError(f"cannot read the declaration {decl!r}")
                star, fname, arr = m.group(1), m.group(2), m.group(3)
            else:
                star, fname, arr = m.group(3), m.group(4), m.group(5)
            ctype = f"{const}{base}{'*' if star else ''}"
            fields.append((fname, ctype, int(arr[1:-1]) if arr else 0))
    return fields


def field_dtype(ctype: str, length: int = 0) -> np.dtype:
    """The NumPy dtype that holds one field of C type ``ctype``."""
    base = np.dtype("<u8") if ctype.endswith("*") else SCALARS[ctype]
    return np.dtype((base, (length,))) if length else base


def layout_errors(source: str, name: str, dtype: np.dtype, *, compile_dir: Path | None = None,
                  namespace: str = "") -> list[str]:
    """Differences between ``struct name`` in ``source`` and ``dtype`` (empty: they agree).

    Compares field names, order and types; with ``compile_dir`` (and g++ on the PATH)
    also the compiler's ``offsetof`` of every field and ``sizeof`` with the dtype's
    offsets and itemsize.
    """
    errors = []
    fields = struct_fields(source, name)
    names = [f for f, _, _ in fields]
    if names != list(dtype.names):
        errors.append(f"fields differ: struct {names}, dtype {list(dtype.names)}")
        return errors
    for fname, ctype, length in fields:
        want = field_dtype(ctype, length)
        got = dtype.fields[fname][0]
        if got != want:
            errors.append(f"field {fname}: struct {ctype}{f'[{length}]' if length else ''} "
                          f"is {want}, dtype has {got}")
    gxx = shutil.which("g++")
    if compile_dir is None or gxx is None or errors:
        return errors
    text = struct_text(source, name)
    if namespace:
        text = f"namespace {namespace} {{ {text} }}"
    qual = f"{namespace}::{name}" if namespace else name
    checks = [f"static_assert(sizeof({qual}) == {dtype.itemsize}, \"sizeof\");"]
    checks += [f"static_assert(offsetof({qual}, {f}) == {dtype.fields[f][1]}, \"offsetof {f}\");"
               for f in names]
    src = Path(compile_dir) / f"layout_{name}.cpp"
    src.write_text(PRELUDE + text + "\n" + "\n".join(checks) + "\n")
    proc = subprocess.run([gxx, "-std=c++17", "-fsyntax-only", str(src)], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode:
        errors += [line for line in proc.stderr.splitlines() if "static assertion" in line] \
            or [proc.stderr[-2000:]]
    return errors
