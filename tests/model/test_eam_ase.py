# SPDX-License-Identifier: Apache-2.0
"""ASE's EAM calculator (python3-ase) as a second, independent reference for test_eam_ase.cpp.

Usage: test_eam_ase.py POTENTIAL IN OUT
IN:  'n', then 9 cell numbers (rows a b c, Å), then 3 pbc flags (0/1), then n lines 'Z x y z' (Å).
OUT: the energy (eV), then n lines 'fx fy fz' (eV/Å), 17 significant digits.
ASE splines the tables itself (scipy cubic splines, not LAMMPS's Hermite cubics), so it agrees
with LAMMPS and batchmd to the interpolation error, not to rounding.
"""
import sys

import numpy as np
from ase import Atoms
from ase.calculators.eam import EAM


def main(potential, inp, out):
    with open(inp) as f:
        words = f.read().split()
    n = int(words[0])
    cell = np.array(words[1:10], float).reshape(3, 3)
    pbc = [w == "1" for w in words[10:13]]
    rows = np.array(words[13:13 + 4 * n], float).reshape(n, 4)
    atoms = Atoms(numbers=rows[:, 0].astype(int), positions=rows[:, 1:], cell=cell, pbc=pbc)
    atoms.calc = EAM(potential=potential)
    e = atoms.get_potential_energy()
    forces = atoms.get_forces()
    with open(out, "w") as f:
        f.write("%.17g\n" % e)
        for fx, fy, fz in forces:
            f.write("%.17g %.17g %.17g\n" % (fx, fy, fz))


if __name__ == "__main__":
    main(*sys.argv[1:4])
