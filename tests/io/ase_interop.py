# SPDX-License-Identifier: Apache-2.0
"""ASE (python3-ase) as the independent reader and writer for batchmd's structure-file tests.

  ase_interop.py read FORMAT FILE [KEY=VALUE...]
      ASE reads FILE (every frame) and prints, as JSON, what it made of it.
  ase_interop.py write FORMAT FILE CASE
      ASE builds the structure(s) CASE, writes them to FILE and prints, as JSON, the Atoms it held
      in memory (full precision), so the test can compare batchmd's reading of FILE with both.

FORMAT is an ase.io format name (extxyz, lammps-data, vasp, cif). Read options: style=atomic|charge
and types=Cu,Ni (LAMMPS types 1, 2, ... as elements). Floats are printed with repr (exact).
Exit status 3 when ASE cannot be imported: the C++ tests fail, never skip, without python3-ase.
"""
import json
import sys

try:
    import numpy as np
    import ase
    import ase.io
    from ase import Atoms
    from ase.constraints import FixAtoms, FixScaled, FixCartesian
    from ase.calculators.singlepoint import SinglePointCalculator
except ImportError as e:
    print(f"ase_interop.py: cannot import ASE/numpy: {e}", file=sys.stderr)
    sys.exit(3)


def plain(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def selective_flags(atoms):
    """Per-atom [x, y, z] 'free to move' flags from ASE's constraints (as VASP's T/F), or None."""
    if not atoms.constraints:
        return None
    free = np.ones((len(atoms), 3), dtype=bool)
    for c in atoms.constraints:
        if isinstance(c, FixAtoms):
            free[c.index] = False
        elif isinstance(c, (FixScaled, FixCartesian)):
            free[c.a] = ~np.asarray(c.mask, dtype=bool)
    return free.tolist()


def describe(atoms):
    results = atoms.calc.results if atoms.calc is not None else {}
    velocities = atoms.get_velocities() if atoms.has("momenta") else None
    return {
        "natoms": len(atoms),
        "numbers": atoms.numbers.tolist(),
        "positions": atoms.positions.tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": [bool(x) for x in atoms.pbc],
        "masses": atoms.get_masses().tolist(),
        "velocities": plain(velocities),  # Å per ASE time unit
        "charges": atoms.get_initial_charges().tolist(),
        "energy": plain(results.get("energy")),
        "forces": plain(results.get("forces")),
        "stress": plain(results.get("stress")),
        "selective": selective_flags(atoms),
        "info": {k: plain(v) for k, v in atoms.info.items() if isinstance(v, (int, float, bool, str, np.ndarray, np.generic, list))},
        "arrays": {k: plain(v) for k, v in atoms.arrays.items() if k not in ("positions", "numbers")},
    }


def case_extxyz():
    """Three frames: a triclinic periodic alloy with velocities, masses, calculator results,
    custom arrays and info; an open molecule; a slab periodic in two directions."""
    rng = np.random.default_rng(7)
    a = Atoms("Cu2NiAl", positions=rng.uniform(0, 4, (4, 3)),
              cell=[[4.1, 0.0, 0.0], [0.7, 3.9, 0.0], [-0.3, 0.45, 4.3]], pbc=True)
    a.set_velocities(rng.normal(0, 0.02, (4, 3)))
    a.set_initial_charges([0.1, -0.2, 0.05, 0.05])
    a.new_array("tag_int", np.array([1, 2, 3, 4]))
    a.new_array("vec2", rng.normal(0, 1, (4, 2)))
    a.new_array("flag", np.array([True, False, True, True]))
    a.info["temperature"] = 300.5
    a.info["step"] = 42
    a.info["label_vector"] = np.array([1.5, 2.5, 3.5])
    a.info["converged"] = True
    a.info["config_type"] = "bulk"  # a string: batchmd has no string fields and leaves it out
    a.calc = SinglePointCalculator(a, energy=-12.25, forces=rng.normal(0, 1, (4, 3)),
                                   stress=np.array([0.01, 0.02, 0.03, 0.004, 0.005, 0.006]))
    b = Atoms("H2O", positions=[[0.0, 0.0, 0.119], [0.0, 0.763, -0.477], [0.0, -0.763, -0.477]])
    b.set_masses([2.014, 2.014, 15.999])  # heavy water: masses written as a column
    b.set_velocities([[0.001, 0.0, 0.0], [0.0, 0.002, 0.0], [0.0, 0.0, -0.003]])
    c = Atoms("Si4", scaled_positions=rng.uniform(0, 1, (4, 3)),
              cell=[5.4, 5.4, 20.0], pbc=[True, True, False])
    return [a, b, c]


def case_lammps():
    rng = np.random.default_rng(11)
    # Already in LAMMPS's lower-triangular form, so ASE writes positions unrotated.
    a = Atoms("CuNi2Cu", positions=rng.uniform(0, 4, (4, 3)),
              cell=[[4.0, 0.0, 0.0], [0.5, 3.8, 0.0], [0.25, -0.3, 4.2]], pbc=True)
    a.set_initial_charges([0.5, -0.25, -0.25, 0.0])
    a.set_velocities(rng.normal(0, 0.02, (4, 3)))
    return [a]


def case_vasp():
    rng = np.random.default_rng(5)
    a = Atoms("Fe2Co3Fe", scaled_positions=rng.uniform(0, 1, (6, 3)),
              cell=[[2.8, 0.1, 0.0], [0.0, 2.9, 0.2], [0.3, 0.0, 3.1]], pbc=True)
    a.set_constraint([FixAtoms(indices=[1]), FixScaled(a.cell, 3, [False, True, False])])
    return [a]


CASES = {"extxyz": case_extxyz, "lammps": case_lammps, "vasp": case_vasp}


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("read", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    cmd, fmt, path = sys.argv[1:4]
    if cmd == "read":
        opts = dict(kv.split("=", 1) for kv in sys.argv[4:])
        kwargs = {}
        if fmt == "lammps-data":
            kwargs["style"] = opts.get("style", "atomic")
            kwargs["units"] = "metal"
            if "types" in opts:
                from ase.data import atomic_numbers
                kwargs["Z_of_type"] = {i + 1: atomic_numbers[s] for i, s in enumerate(opts["types"].split(","))}
        frames = ase.io.read(path, index=":", format=fmt, **kwargs)
        if isinstance(frames, Atoms):
            frames = [frames]
    else:
        frames = CASES[sys.argv[4]]()
        kwargs = {}
        if fmt == "lammps-data":
            kwargs = {"atom_style": "charge", "velocities": True, "units": "metal", "specorder": ["Cu", "Ni"]}
            ase.io.write(path, frames[0], format=fmt, **kwargs)
        elif fmt == "vasp":
            ase.io.write(path, frames[0], format=fmt, direct=True, vasp5=True)
        else:
            ase.io.write(path, frames, format=fmt)
    json.dump({"ase_version": ase.__version__, "fs": ase.units.fs, "frames": [describe(a) for a in frames]},
              sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
