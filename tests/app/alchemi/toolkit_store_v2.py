# SPDX-License-Identifier: Apache-2.0
"""Writes the same small trajectory store as toolkit_store.mjs, as the Python ALCHEMI toolkit's
documentation draws it with a ".zattrs" root (Zarr v2), using zarr-python 2 — an independent
writer — with its default compressor (Blosc lz4). Layout and values: see toolkit_store.mjs.
usage: /usr/bin/python3 toolkit_store_v2.py STORE simple|full
"""
import json
import sys

import numpy as np
import zarr


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("simple", "full"):
        sys.exit("usage: toolkit_store_v2.py STORE simple|full")
    store, full = sys.argv[1], sys.argv[2] == "full"
    n = 6
    deleted = 3 if full else -1
    natoms = [2 + (i * 5) % 7 for i in range(n)]
    nedges = [a - 1 if full else 0 for a in natoms]
    aptr = np.concatenate([[0], np.cumsum(natoms)]).astype(np.int64)
    eptr = np.concatenate([[0], np.cumsum(nedges)]).astype(np.int64)
    pos, frc, z, ei, bond, energy, cell, pbc, label = [], [], [], [[], []], [], [], [], [], []
    for i in range(n):
        zero = i == deleted  # delete() zeroes every field of the sample
        for a in range(natoms[i]):
            pos.append([0, 0, 0] if zero else [i * 10 + a, -0.5 * a, 0.25 * i])
            frc.append([0, 0, 0] if zero else [0.125 * a, -i, 1.0])
            z.append(0 if zero else 1 + (i + a) % 20)
        for k in range(nedges[i]):
            ei[0].append(0 if zero else aptr[i] + k)
            ei[1].append(0 if zero else aptr[i] + k + 1)
            bond.append(0 if zero else i + 0.5 * k)
        energy.append([0 if zero else -1.5 * i])
        cell.append(np.zeros((3, 3)) if zero else np.diag([10 + i, 11, 12]))
        pbc.append([False] * 3 if zero else [i % 2 == 0, True, False])
        label.append(0 if zero else 100 + i)
    mask = lambda counts: np.repeat([i != deleted for i in range(n)], counts).astype(bool)

    root = zarr.open_group(zarr.DirectoryStore(store), mode="w")
    meta, core, custom = root.create_group("meta"), root.create_group("core"), root.create_group("custom")
    meta.array("atoms_ptr", aptr)
    meta.array("edges_ptr", eptr)
    meta.array("samples_mask", np.array([i != deleted for i in range(n)]))
    meta.array("atoms_mask", mask(natoms))
    meta.array("edges_mask", mask(nedges))
    core.array("positions", np.array(pos, dtype=np.float32), chunks=(16, 3))
    core.array("forces", np.array(frc, dtype=np.float32))
    core.array("atomic_numbers", np.array(z, dtype=np.int64), chunks=(10,))
    core.array("energy", np.array(energy, dtype=np.float32))
    core.array("cell", np.array(cell, dtype=np.float32))
    core.array("pbc", np.array(pbc, dtype=bool))
    custom.array("label", np.array(label, dtype=np.int64))
    fields = {"core": {"positions": "atom", "forces": "atom", "atomic_numbers": "atom",
                       "energy": "system", "cell": "system", "pbc": "system"},
              "custom": {"label": "system"}}
    if full:
        core.array("edge_index", np.array(ei, dtype=np.int64))
        custom.array("bond_length", np.array(bond, dtype=np.float32))
        fields["core"]["edge_index"] = "edge"
        fields["custom"]["bond_length"] = "edge"
    root.attrs["num_samples"] = n
    root.attrs["fields"] = fields
    print(json.dumps({"ok": True, "samples": n, "atoms": int(aptr[-1]), "edges": int(eptr[-1])}))


if __name__ == "__main__":
    main()
