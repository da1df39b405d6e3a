# SPDX-License-Identifier: Apache-2.0
"""Reads a batchmd trajectory store (Zarr v2) with zarr-python 2 or xarray and prints it as JSON on
stdout for test_trajectory_interop:
  {"zarr_format": 2, "attrs": {...root attributes...},
   "arrays": {"core/positions": {"shape": [...], "dtype": "<f8", "dims": [...],
                                 "compressor": "zstd" | null, "values": [flat, C order]}, ...}}
usage: /usr/bin/python3 zarr_python_read.py STORE MODE [ARRAY...]
  zarr:       the root attributes and every array of meta/ and the root's "fields", through
              zarr.open_group; with ARRAY names, only those arrays (the root attributes unread).
  xarray:     every variable of xarray.open_zarr(STORE, group="core", consolidated=False).
  xarray-raw: the same with mask_and_scale=False (no fill_value masking).
NaN (which xarray makes of values equal to a fill_value) is printed as null.
"""
import json
import math
import sys


def flat(values):
    out = []
    for v in values.ravel().tolist():
        out.append(None if isinstance(v, float) and math.isnan(v) else v)
    return out


def read_zarr(store, names):
    import zarr

    root = zarr.open_group(store, mode="r")
    out = {"zarr_format": 2, "arrays": {}}
    if not names:
        out["attrs"] = dict(root.attrs)
        names = ["meta/atoms_ptr", "meta/edges_ptr", "meta/samples_mask", "meta/atoms_mask", "meta/edges_mask"]
        for group, fields in out["attrs"]["fields"].items():
            names += [group + "/" + f for f in fields]
    for name in names:
        a = root[name]
        out["arrays"][name] = {
            "shape": list(a.shape),
            "dtype": a.dtype.str,
            "dims": a.attrs.get("_ARRAY_DIMENSIONS"),
            "compressor": None if a.compressor is None else a.compressor.codec_id,
            "values": flat(a[...]),
        }
    return out


def read_xarray(store, raw):
    import xarray

    if raw:
        ds = xarray.open_zarr(store, group="core", consolidated=False, mask_and_scale=False)
    else:
        ds = xarray.open_zarr(store, group="core", consolidated=False)
    out = {"zarr_format": 2, "attrs": dict(ds.attrs), "arrays": {}}
    for name, var in ds.variables.items():
        values = var.values
        out["arrays"]["core/" + name] = {
            "shape": list(values.shape),
            "dtype": values.dtype.str,
            "dims": list(var.dims),
            "compressor": None,
            "values": flat(values),
        }
    return out


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in ("zarr", "xarray", "xarray-raw"):
        sys.exit("usage: zarr_python_read.py STORE zarr|xarray|xarray-raw [ARRAY...]")
    store, mode = sys.argv[1], sys.argv[2]
    if mode == "zarr":
        out = read_zarr(store, sys.argv[3:])
    else:
        out = read_xarray(store, mode == "xarray-raw")
    json.dump(out, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
