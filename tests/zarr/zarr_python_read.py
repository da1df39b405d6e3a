# SPDX-License-Identifier: Apache-2.0
"""Reads Zarr v2 arrays and groups with zarr-python, for batchmd's interop tests.

usage: zarr_python_read.py STORE OUT NAME...
Writes OUT/NAME.bin (the array's values, C order, little-endian) and OUT/manifest.json
({name: {"shape": [...], "dtype": "<f8", "attrs": {...}}, "/": {root group attrs}}).
"""
import json
import os
import sys

import numpy as np
import zarr


def main():
    store, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out, exist_ok=True)
    manifest = {}
    root = zarr.open_group(store, mode="r")
    manifest["/"] = {"attrs": root.attrs.asdict(), "groups": sorted(k for k, _ in root.groups())}
    for name in names:
        arr = zarr.open_array(os.path.join(store, name), mode="r")
        values = arr[...]
        little = values.astype(values.dtype.newbyteorder("<"), copy=False)
        with open(os.path.join(out, name.replace("/", "_") + ".bin"), "wb") as f:
            f.write(np.ascontiguousarray(little).tobytes())
        manifest[name] = {
            "shape": list(arr.shape),
            "chunks": list(arr.chunks),
            "dtype": arr.dtype.str,
            "attrs": arr.attrs.asdict(),
        }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
