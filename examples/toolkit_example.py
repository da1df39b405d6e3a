# SPDX-License-Identifier: Apache-2.0
"""The ALCHEMI toolkit documentation's dynamics example, run by batchmd unchanged apart from the
imports and building `model` and `batch`: velocity Verlet, a snapshot of every system every 10 steps
into host memory.

    python3 examples/toolkit_example.py
"""

from ase.build import bulk
from ase.cluster import Icosahedron

from batchmd.data import Batch
from batchmd.dynamics import DemoDynamics, initialize_velocities
from batchmd.dynamics.hooks import SnapshotHook
from batchmd.dynamics.sinks import HostMemory
from batchmd.models import LennardJones

# --- building `model` and `batch` (batchmd) -------------------------------------------------------
model = LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5)  # argon
structures = [bulk("Ar", "fcc", a=5.26, cubic=True).repeat(3), Icosahedron("Ar", noshells=2, latticeconstant=5.26)]
batch = Batch.from_atoms(structures, fill_missing=True)  # 108 + 13 atoms (only the cluster has ASE tags)
initialize_velocities(batch, temperature=40.0, seed=1)

# --- the toolkit's example, as written ------------------------------------------------------------
sink = HostMemory(capacity=10_000)
hook = SnapshotHook(sink=sink, frequency=10)
dynamics = DemoDynamics(model=model, n_steps=1000, dt=0.5, hooks=[hook])
dynamics.run(batch)  # 100 snapshots written
trajectory = sink.read()

print(f"{hook.snapshots} snapshots of {batch.n_systems} systems: {len(sink)} samples")
print(f"trajectory: {trajectory.n_systems} samples, {trajectory.n_atoms} atoms, steps "
      f"{trajectory.step.min()}..{trajectory.step.max()}")
