# SPDX-License-Identifier: Apache-2.0
"""ASE both ways: ``batchmd.ase.Calculator(model)`` runs any batchmd model as an ASE calculator,
``ASEModel(calculator)`` runs any ASE calculator as a batchmd model, and AtomicData/Batch convert to
and from ``ase.Atoms``.

Units. ASE and batchmd share Å, eV and amu; time differs: ASE's unit is Å·sqrt(amu/eV), batchmd's
the femtosecond. ``FS`` (= batchmd.units.ASE_FS) is one femtosecond in ASE's unit with batchmd's
constants (CODATA 2018), so batchmd velocities (Å/fs) = ASE velocities × FS, and an ASE integrator
given ``timestep=dt * FS`` takes the same step as a batchmd one given ``dt``. (``ase.units.fs`` is
CODATA 2014 and differs from FS by 4e-9 relative.)

Conversion of an ``ase.Atoms`` (``AtomicData.from_atoms``): positions, numbers, masses (ASE's),
cell (rows a, b, c), pbc, velocities (if it has momenta); the calculator's stored energy, forces and
stress (no recomputation); numeric ``info`` entries as system fields; numeric per-atom ``arrays`` as
atom fields. Non-numeric info (strings, dicts) is not carried. ``to_atoms`` reverses it: energy,
forces and stress on a SinglePointCalculator, other system fields into ``info``, other atom fields
into ``arrays``.
"""

import numpy as np

from batchmd import _batchmd as _b
from batchmd.data import AtomicData, Batch
from batchmd.models import ASEModel

FS = _b.units.ASE_FS

_ATOM_HANDLED = {"positions", "atomic_numbers", "masses", "velocities", "forces"}
_SYSTEM_HANDLED = {"cell", "pbc", "energy", "stress", "virial"}
_ARRAYS_HANDLED = {"numbers", "positions", "momenta", "masses"}


def _numeric(value):
    try:
        a = np.asarray(value)
    except Exception:  # ragged or exotic objects: not a field
        return None
    return a if a.dtype.kind in "biuf" else None


def _voigt_to_full(s):
    s = np.asarray(s, dtype=float).reshape(-1)
    if s.size == 9:
        return s.reshape(3, 3)
    xx, yy, zz, yz, xz, xy = s
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def _full_to_voigt(m):
    m = np.asarray(m, dtype=float)
    return np.array([m[0, 0], m[1, 1], m[2, 2], m[1, 2], m[0, 2], m[0, 1]])


def atomic_data_from_atoms(atoms, dtype="float64"):
    """An AtomicData from an ase.Atoms (see the module docstring for what is carried)."""
    data = AtomicData(
        positions=atoms.get_positions(),
        atomic_numbers=atoms.get_atomic_numbers(),
        cell=atoms.cell.array,
        pbc=atoms.get_pbc(),
        masses=atoms.get_masses(),
        dtype=dtype,
    )
    if atoms.has("momenta"):
        data.velocities = atoms.get_velocities() * FS
    for name, values in atoms.arrays.items():
        a = _numeric(values)
        if name in _ARRAYS_HANDLED or a is None or name in _SYSTEM_HANDLED:
            continue
        data.add_node_property(name, a)
    results = getattr(atoms.calc, "results", None) or {}
    if "energy" in results:
        data.energy = [float(results["energy"])]
    if "forces" in results:
        data.forces = results["forces"]
    if "stress" in results:
        data.stress = _voigt_to_full(results["stress"])
    for key, value in atoms.info.items():
        a = _numeric(value)
        if a is None or key in _ATOM_HANDLED or key in ("cell", "pbc"):
            continue
        if key in ("energy", "stress", "virial"):
            data[key] = a.reshape(-1)[:1] if key == "energy" else a.reshape(1, 3, 3) if a.size == 9 else _voigt_to_full(a)
            continue
        data.add_system_property(key, a)
    return data


def _zeros_like_field(data, template, name):
    lvl = template.level(name)
    ref = np.asarray(template[name])
    rows = data.n_atoms if lvl == "atom" else data.n_edges if lvl == "edge" else 1
    return np.zeros((rows,) + ref.shape[1:], dtype=ref.dtype), lvl


def batch_from_atoms(atoms, dtype="float64", fill_missing=False):
    """A Batch from one ase.Atoms or a sequence of them; every system must end up with the same
    fields unless fill_missing (zeros for the fields a structure lacks)."""
    from ase import Atoms

    items = [atoms] if isinstance(atoms, Atoms) else list(atoms)
    data = [atomic_data_from_atoms(a, dtype=dtype) for a in items]
    keys = [set(d.keys()) for d in data]
    union = set().union(*keys) if keys else set()
    for i, (d, k) in enumerate(zip(data, keys)):
        missing = union - k
        if missing and not fill_missing:
            have = next(j for j, kk in enumerate(keys) if missing & kk)
            raise ValueError(
                f"Batch.from_atoms: structure {i} lacks {sorted(missing)} that structure {have} has "
                "(pass fill_missing=True to use zeros)"
            )
        for name in sorted(missing):
            template = data[next(j for j, kk in enumerate(keys) if name in kk)]
            values, lvl = _zeros_like_field(d, template, name)
            d.set_field(name, values, level=lvl)
    return Batch.from_data_list(data)


def atoms_from_data(data):
    """An ase.Atoms from an AtomicData (copies)."""
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    keys = set(data.keys())
    atoms = Atoms(
        numbers=np.array(data.atomic_numbers),
        positions=np.array(data.positions, dtype=float),
        cell=np.array(data.cell[0], dtype=float) if "cell" in keys else None,
        pbc=np.array(data.pbc[0]) if "pbc" in keys else False,
    )
    if "masses" in keys:
        atoms.set_masses(np.array(data.masses, dtype=float))
    if "velocities" in keys:
        atoms.set_velocities(np.array(data.velocities, dtype=float) / FS)
    for name in sorted(keys - _ATOM_HANDLED - _SYSTEM_HANDLED):
        lvl = data.level(name)
        if lvl == "atom":
            atoms.set_array(name, np.array(data[name]))
        elif lvl == "system":
            v = np.array(data[name][0])
            atoms.info[name] = v.item() if v.ndim == 0 else v
    results = {}
    if "energy" in keys:
        results["energy"] = float(data.energy[0])
    if "forces" in keys:
        results["forces"] = np.array(data.forces, dtype=float)
    if "stress" in keys:
        results["stress"] = _full_to_voigt(data.stress[0])
    if results:
        atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms


def atoms_from_batch(batch):
    """Every system of a Batch as an ase.Atoms (a list)."""
    if batch.is_cuda:
        batch = batch.cpu()
    return [atoms_from_data(batch.system(i)) for i in range(batch.n_systems)]


def _base_calculator():
    from ase.calculators.calculator import Calculator as AseCalculator

    return AseCalculator


class Calculator(_base_calculator()):
    """A batchmd model as an ASE calculator: energy, free_energy and forces for any structure,
    stress (eV/Å³, ASE's sign convention) for periodic ones.

    Each calculation builds a one-system batch from the Atoms and evaluates the model in C++ (the
    GIL released). ``dtype`` is the float type of that batch.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model, dtype="float64", **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.dtype = dtype

    def calculate(self, atoms=None, properties=("energy",), system_changes=None):
        from ase.calculators.calculator import PropertyNotImplementedError, all_changes

        super().calculate(atoms, properties, all_changes if system_changes is None else system_changes)
        want_stress = "stress" in properties
        if want_stress and not self.atoms.pbc.any():
            raise PropertyNotImplementedError("stress needs a periodic structure")
        batch = Batch.from_data_list([AtomicData(
            positions=self.atoms.get_positions(),
            atomic_numbers=self.atoms.get_atomic_numbers(),
            cell=self.atoms.cell.array,
            pbc=self.atoms.get_pbc(),
            masses=self.atoms.get_masses(),
            dtype=self.dtype,
        )])
        out = self.model(batch, compute_stress=want_stress)
        energy = float(out["energy"][0])
        self.results = {"energy": energy, "free_energy": energy, "forces": np.array(out["forces"], dtype=float)}
        if want_stress:
            self.results["stress"] = _full_to_voigt(out["stress"][0])


__all__ = ["ASEModel", "Calculator", "FS", "atomic_data_from_atoms", "atoms_from_batch", "atoms_from_data",
           "batch_from_atoms"]
