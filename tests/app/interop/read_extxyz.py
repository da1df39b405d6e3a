# SPDX-License-Identifier: Apache-2.0
"""Independent reader for `batchmd convert` output: reads an extended XYZ file with ASE
(ase.io.read(path, index=':')) and prints, as one JSON document, what ASE made of every frame.

Usage: /usr/bin/python3 read_extxyz.py FILE.xyz
Exit status 3 when ASE cannot be imported (the C++ test treats every failure as a failure).
"""
import json
import sys

try:
    import ase
    import ase.io
    import numpy as np
except ImportError as e:  # the test must fail, not skip, without python3-ase
    print(f"read_extxyz.py: cannot import ASE/numpy: {e}", file=sys.stderr)
    sys.exit(3)


def plain(v):
    """numpy values and arrays -> JSON-friendly Python values."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def main():
    if len(sys.argv) != 2:
        print("usage: read_extxyz.py FILE.xyz", file=sys.stderr)
        return 2
    frames = ase.io.read(sys.argv[1], index=":", format="extxyz")
    out = []
    for atoms in frames:
        results = atoms.calc.results if atoms.calc is not None else {}
        frame = {
            "natoms": len(atoms),
            "symbols": atoms.get_chemical_symbols(),
            "numbers": atoms.numbers.tolist(),
            "positions": atoms.positions.tolist(),
            "cell": atoms.cell.array.tolist(),
            "pbc": [bool(x) for x in atoms.pbc],
            "energy": plain(results["energy"]) if "energy" in results else None,
            "forces": plain(results["forces"]) if "forces" in results else None,
            "stress": plain(results["stress"]) if "stress" in results else None,
            "info": {k: plain(v) for k, v in atoms.info.items()},
            "arrays": {k: plain(v) for k, v in atoms.arrays.items() if k not in ("positions", "numbers")},
        }
        out.append(frame)
    json.dump({"ase_version": ase.__version__, "frames": out}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
