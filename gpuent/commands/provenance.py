"""``gpuent provenance``: how a file gpuent wrote was made."""

from __future__ import annotations

import json

HELP = "print how an output of gpuent was made (its provenance record)"


def register(sub):
    p = sub.add_parser("provenance", help=HELP, description=HELP + ": the command and its "
                       "parameters, the input and output SHA-256, the path, device and versions")
    p.add_argument("file", metavar="FILE", help="an output of gpuent (.png, .tif, .zarr, "
                   ".ome.zarr, .csv, .gif, .jpg; .npy/.webp/.pdf/.svg with their FILE.json)")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=run)


def run(args):
    from ..provenance import describe, read_provenance

    record = read_provenance(args.file)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(describe(record))
    return 0
