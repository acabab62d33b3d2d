"""CSV tables (the curves and per-radius figures of ``fractal``, ``blur-entropy``, ``maps``).

The provenance record goes into ``#`` lines before the header: ``# gpuent-provenance:
{...}`` (the record as one line of JSON) and ``# history: ...``. The table's checksum is
that of its bytes without those lines.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ._registry import Format

__all__ = ["CSV_PREFIX", "FORMATS"]

#: the CSV comment line that carries the record
CSV_PREFIX = "# gpuent-provenance: "


def _digest(tmp):
    data = Path(tmp).read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "of": "file"}


def _embed(tmp, record):
    tmp = Path(tmp)
    data = tmp.read_bytes()
    head = (CSV_PREFIX + json.dumps(record, separators=(",", ":")) + "\n"
            + "# history: " + record["history"] + "\n")
    tmp.write_bytes(head.encode() + data)
    return True


def _extract(path):
    with open(path) as fh:
        for line in fh:
            if line.startswith(CSV_PREFIX):
                return json.loads(line[len(CSV_PREFIX):])
            if not line.startswith("#"):
                return None
    return None


FORMATS = [Format("CSV", (".csv",), frozenset({"table"}), embed=_embed, extract=_extract,
                  digest=_digest)]
