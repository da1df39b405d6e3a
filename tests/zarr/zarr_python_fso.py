# SPDX-License-Identifier: Apache-2.0
"""Writes Zarr v2 arrays stored at a fixed precision with zarr-python and numcodecs'
FixedScaleOffset filter, for batchmd's interop tests.

usage: zarr_python_fso.py STORE OUT
Writes arrays fso_f8 (float64, scale 1000, offset 2.5, int32, zstd compressor) and fso_f4
(float32, scale 100, int64, no compressor) and, for each, OUT/NAME.bin: the values zarr-python
reads back (its own decoding), C order, little-endian.
"""
import os
import sys

import numcodecs
import numpy as np
import zarr


def main():
    store, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    root = zarr.open_group(zarr.DirectoryStore(store), mode="w")
    x = 40.0 * np.sin(0.37 * np.arange(3 * 29)).reshape(29, 3) + 3.0
    specs = [
        ("fso_f8", x, numcodecs.FixedScaleOffset(offset=2.5, scale=1000, dtype="<f8", astype="<i4"),
         numcodecs.Zstd(level=1)),
        ("fso_f4", x.astype("<f4"), numcodecs.FixedScaleOffset(offset=0, scale=100, dtype="<f4", astype="<i8"),
         None),
    ]
    for name, values, fso, compressor in specs:
        arr = root.create_dataset(name, shape=values.shape, chunks=(8, 3), dtype=values.dtype, filters=[fso],
                                  compressor=compressor)
        arr[...] = values
        back = arr[...]
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(np.ascontiguousarray(back.astype(back.dtype.newbyteorder("<"))).tobytes())


if __name__ == "__main__":
    main()
