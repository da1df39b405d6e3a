# SPDX-License-Identifier: Apache-2.0
"""Writes a trajectory store (Zarr v2) with zarr-python 2 in the layout of TRAJECTORY_FORMAT.md,
from a JSON description made by test_trajectory_interop:
  {"attrs": {"num_samples": N, "fields": {...}},
   "arrays": {"meta/atoms_ptr": {"dtype": "<i8", "shape": [...], "values": [flat]}, ...}}
usage: /usr/bin/python3 zarr_python_write.py INPUT.json STORE zstd|blosc|none CHUNK_ROWS
Prints {"ok": true, "arrays": [...]} on success.
"""
import json
import sys

import numcodecs
import numpy as np
import zarr


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: zarr_python_write.py INPUT.json STORE zstd|blosc|none CHUNK_ROWS")
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    store, codec, chunk_rows = sys.argv[2], sys.argv[3], int(sys.argv[4])
    compressor = {
        "zstd": numcodecs.Zstd(level=3),
        "blosc": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        "none": None,
    }[codec]
    root = zarr.open_group(zarr.DirectoryStore(store), mode="w")
    for group in ("meta", "core", "custom"):
        root.require_group(group)
    for name, a in spec["arrays"].items():
        data = np.array(a["values"], dtype=np.dtype(a["dtype"])).reshape(a["shape"])
        chunks = (chunk_rows,) + tuple(a["shape"][1:])
        root.create_dataset(name, data=data, chunks=chunks, compressor=compressor)
    root.attrs.update(spec["attrs"])
    json.dump({"ok": True, "arrays": sorted(spec["arrays"])}, sys.stdout)


if __name__ == "__main__":
    main()
