# SPDX-License-Identifier: Apache-2.0
"""Write a trajectory to a Zarr store and read it back: Langevin MD of argon boxes with a snapshot
every 20 steps into ZarrData (Zarr v2 here, so Debian's zarr-python opens it too), then the store
read with TrajectoryReader into a Batch of NumPy views, one system's samples turned into ase.Atoms
and written as extended XYZ, and the raw arrays opened with zarr-python.

    python3 examples/zarr_trajectory.py [store.zarr]
"""

import sys
import tempfile
from pathlib import Path

import ase.io
import numpy as np
import zarr
from ase.build import bulk

from batchmd.data import Batch
from batchmd.dynamics import Langevin
from batchmd.dynamics.hooks import SnapshotHook
from batchmd.dynamics.sinks import TrajectoryReader, ZarrData
from batchmd.models import LennardJones

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "argon.zarr"

batch = Batch.from_atoms([bulk("Ar", "fcc", a=5.3, cubic=True).repeat(n) for n in (2, 2, 3)])
batch.system_id = [10, 11, 12]  # a new system-level field (standard name)
with ZarrData(str(out), format="v2", compressor="zstd", level=3) as store:
    md = Langevin(model=LennardJones(), dt=2.0, temperature=50.0, friction=0.01, random_seed=1,
                  n_steps=200, hooks=[SnapshotHook(sink=store, frequency=20, final_snapshot=True)])
    md.run(batch)

reader = TrajectoryReader(str(out))
print(f"{out}: {len(reader)} samples, Zarr v{reader.zarr_format}, systems {sorted(set(reader.system_ids))}")
traj = reader.read_system(12)  # every sample of one system, in order
print(f"system 12: {traj.n_systems} samples of {traj.num_nodes_list[0]} atoms, steps {list(traj.step)}")
frames = traj.to_atoms()
ase.io.write(out.with_suffix(".xyz"), frames)
print(f"wrote {len(frames)} frames to {out.with_suffix('.xyz')}; last energy {frames[-1].get_potential_energy():.4f} eV")

root = zarr.open_group(str(out), mode="r")
positions = root["core/positions"][:]
first = reader.read(0)
same = np.array_equal(positions[: first.n_atoms], first.positions)
print(f"zarr-python: core/positions {positions.shape}; sample 0 equals TrajectoryReader's: {same}")
