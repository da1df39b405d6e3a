# SPDX-License-Identifier: Apache-2.0
"""Relax many structures read with ASE: argon clusters of several sizes, written to an extended XYZ
file and read back with ase.io, relaxed together in one batch by FIRE until every force is below
1e-4 eV/Å; each relaxed structure is recorded once, when it converges, and compared with the
putative global minimum of the Lennard-Jones cluster (Cambridge Cluster Database, in units of ε).

    python3 examples/relax_structures.py [structures.xyz]
"""

import sys
import tempfile
from pathlib import Path

import ase.io
import numpy as np
from ase.cluster import Icosahedron

from batchmd.data import Batch
from batchmd.dynamics import FIRE, ConvergenceHook
from batchmd.dynamics.hooks import ConvergedSnapshotHook
from batchmd.dynamics.sinks import HostMemory
from batchmd.models import LennardJones

EPSILON, SIGMA = 0.0104, 3.40  # argon (eV, Å)
LJ_MINIMA = {13: -44.326801, 55: -279.248470}  # global minima, ε

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "clusters.xyz"
if not path.exists():  # make some structures: rattled icosahedra
    rng = np.random.default_rng(3)
    structures = []
    for shells, copies in ((2, 3), (3, 2)):
        for _ in range(copies):
            atoms = Icosahedron("Ar", noshells=shells, latticeconstant=2 ** (2 / 3) * SIGMA)
            atoms.positions += rng.normal(scale=0.15, size=atoms.positions.shape)
            del atoms.arrays["tags"]
            structures.append(atoms)
    ase.io.write(path, structures)

structures = ase.io.read(path, index=":")
batch = Batch.from_atoms(structures)
# A cutoff beyond every cluster's diameter: the full pair sum the reference minima use.
model = LennardJones(epsilon=EPSILON, sigma=SIGMA, cutoff=40.0)
relaxed = HostMemory(capacity=len(structures))
fire = FIRE(model=model, dt=5.0, maxstep=0.2, n_steps=5000,
            convergence_hook=ConvergenceHook.from_fmax(1e-4),
            hooks=[ConvergedSnapshotHook(sink=relaxed)])
fire.run(batch)

result = relaxed.read()
print(f"{len(structures)} structures from {path}, relaxed in {fire.steps_taken} steps")
print("system  atoms   E (eps)        reference     step")
for i in np.argsort(result.system_id):
    n = int(result.atoms_ptr[i + 1] - result.atoms_ptr[i])
    e = result.energy[i] / EPSILON
    print(f"{result.system_id[i]:6d}  {n:5d}  {e:12.6f}  {LJ_MINIMA[n]:12.6f}  {result.step[i]:6d}")
