# SPDX-License-Identifier: Apache-2.0
"""Writes Zarr v2 arrays with zarr-python, for batchmd's reader to open (interop tests).

usage: zarr_python_write.py STORE EXPECTED
Writes the store, and EXPECTED/NAME.bin (values, C order, little-endian) plus
EXPECTED/manifest.json ({name: {"shape", "dtype", "chunks", "fill_value"}}).
"""
import json
import os
import sys

import numcodecs
import numpy as np
import zarr


def values(dtype, shape, seed):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64) + seed
    if dtype.kind == "f":
        v = np.sin(i) * 1000.0
    elif dtype.kind == "b":
        v = (i.astype(np.int64) % 3) == 0
    elif dtype.kind == "u":
        v = i.astype(np.int64) % 251
    else:
        v = (i.astype(np.int64) * 7919) % 1000003 - 500000
    return v.astype(dtype).reshape(shape)


def main():
    store, expected = sys.argv[1], sys.argv[2]
    os.makedirs(expected, exist_ok=True)
    root = zarr.open_group(store, mode="w")
    root.attrs["num_samples"] = 3
    cases = [
        # name, dtype, shape, chunks, compressor
        ("blosc_lz4_f4", "<f4", (50, 3), (8, 3), numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)),
        ("blosc_zstd_f8", "<f8", (37, 3, 3), (5, 3, 3), numcodecs.Blosc("zstd", 3, numcodecs.Blosc.BITSHUFFLE)),
        ("blosc_default_i8", "<i8", (101,), (16,), numcodecs.Blosc()),
        ("blosc_autoshuffle_u1", "|u1", (64,), (10,), numcodecs.Blosc("lz4", 5, numcodecs.Blosc.AUTOSHUFFLE)),
        ("blosc_blosclz_i4", "<i4", (30, 2), (7, 2), numcodecs.Blosc("blosclz", 9, numcodecs.Blosc.NOSHUFFLE)),
        ("zstd_i4", "<i4", (40, 2), (6, 2), numcodecs.Zstd(level=5)),
        ("gzip_b1", "|b1", (33,), (4,), numcodecs.GZip(level=6)),
        ("none_f8", "<f8", (20, 3), (20, 3), None),
        ("bigendian_f8", ">f8", (25, 3), (4, 3), numcodecs.Zstd(level=1)),
        ("bigendian_i4", ">i4", (9,), (2,), None),
        ("core/positions", "<f4", (12, 3), (5, 3), numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)),
    ]
    manifest = {}
    for seed, (name, dtype, shape, chunks, compressor) in enumerate(cases):
        dt = np.dtype(dtype)
        data = values(dt, shape, seed)
        arr = root.create_dataset(name, shape=shape, chunks=chunks, dtype=dt, compressor=compressor)
        arr[...] = data
        arr.attrs["units"] = "test"
        write_expected(expected, name, data)
        manifest[name] = {"shape": list(shape), "dtype": dt.str, "chunks": list(chunks), "fill_value": 0}
    # Chunks never written read as the fill value; a NaN fill value.
    sparse = root.create_dataset("sparse_f8", shape=(30, 2), chunks=(4, 2), dtype="<f8", fill_value=-2.5,
                                 compressor=numcodecs.Zstd(level=1))
    sparse[8:12] = 1.0
    data = np.full((30, 2), -2.5)
    data[8:12] = 1.0
    write_expected(expected, "sparse_f8", data)
    nan = root.create_dataset("nan_fill_f4", shape=(6,), chunks=(4,), dtype="<f4", fill_value=np.nan)
    nan[:2] = [1.0, 2.0]
    write_expected(expected, "nan_fill_f4", np.array([1.0, 2.0] + [np.nan] * 4, dtype="<f4"))
    with open(os.path.join(expected, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def write_expected(expected, name, data):
    little = data.astype(data.dtype.newbyteorder("<"), copy=False)
    with open(os.path.join(expected, name.replace("/", "_") + ".bin"), "wb") as f:
        f.write(np.ascontiguousarray(little).tobytes())


if __name__ == "__main__":
    main()
