# SPDX-License-Identifier: Apache-2.0
"""Models: the potentials batchmd evaluates, and the base class for models written in Python.

``Model`` subclasses define ``compute(self, batch, compute_stress)``. When it is called (by a dynamics,
or through ``model(batch)``), the batch has zeroed ``energy`` [n_systems] (eV) and ``forces``
[n_atoms, 3] (eV/Å) fields — and with ``compute_stress`` also ``virial`` and ``stress`` [n_systems, 3, 3]
(eV, eV/Å³; stress = -virial / volume). Fill them in place (``batch.forces[:] = f``) or return a dict
``{"energy": e, "forces": f[, "stress": s, "virial": w]}`` (or a tuple ``(energy, forces[, stress])``) to
have them copied in; NumPy arrays, lists and CPU torch tensors (detached) all work. A ``cutoff``
attribute (Å) is the model's interaction range. The step loop calls it with the GIL held only for
that call.

``ASEModel(calculator)`` runs any ASE calculator as a batchmd model, one call per system.
"""

import numpy as np

from batchmd._batchmd import LennardJones, Model


class ASEModel(Model):
    """Any ASE calculator as a batchmd model (host batches; one calculator call per system).

    ``calculator`` is an ASE calculator instance — shared by every system, which is always correct
    (ASE recalculates when the structure differs from its last one) — or a zero-argument factory
    (``lambda: EMT()``, ``EMT``) called once per system, so calculators that keep per-structure state
    (neighbor lists) keep it per system. ``cutoff`` (Å) is reported as the model's range.
    Stress (and virial = -stress·volume) is computed for periodic systems when asked for.
    """

    def __init__(self, calculator, cutoff=0.0):
        super().__init__()
        self.calculator = calculator
        self.cutoff = float(cutoff)
        self._atoms = []
        self._key = None

    def _calculator_for_system(self):
        c = self.calculator
        factory = isinstance(c, type) or (callable(c) and not hasattr(c, "get_property"))
        return c() if factory else c

    def _systems(self, batch):
        from ase import Atoms

        ptr = batch.atoms_ptr
        numbers = batch.atomic_numbers
        key = (ptr.tobytes(), numbers.tobytes())
        if key != self._key:
            self._atoms = []
            for s in range(batch.n_systems):
                a0, a1 = int(ptr[s]), int(ptr[s + 1])
                atoms = Atoms(numbers=numbers[a0:a1].copy(), positions=np.zeros((a1 - a0, 3)))
                atoms.calc = self._calculator_for_system()
                self._atoms.append(atoms)
            self._key = key
        return self._atoms

    def compute(self, batch, compute_stress):
        if batch.is_cuda:
            raise ValueError("ASEModel evaluates host batches only; move the batch to the CPU (batch.cpu())")
        ptr = batch.atoms_ptr
        pos = batch.positions
        cell = batch.cell if "cell" in batch else None
        pbc = batch.pbc if "pbc" in batch else None
        energy, forces = batch.energy, batch.forces
        for s, atoms in enumerate(self._systems(batch)):
            a0, a1 = int(ptr[s]), int(ptr[s + 1])
            if cell is not None:
                atoms.set_cell(cell[s])
            if pbc is not None:
                atoms.set_pbc(pbc[s])
            atoms.set_positions(pos[a0:a1])
            energy[s] = atoms.get_potential_energy()
            forces[a0:a1] = atoms.get_forces()
            if compute_stress and atoms.pbc.any():
                stress = atoms.get_stress(voigt=False)
                batch.stress[s] = stress
                batch.virial[s] = -stress * atoms.get_volume()


__all__ = ["ASEModel", "LennardJones", "Model"]
