# SPDX-License-Identifier: Apache-2.0
"""The ALCHEMI toolkit's dynamics example runs unchanged and its comment holds."""

import numpy as np

from batchmd.data import Batch
from batchmd.dynamics import DemoDynamics
from batchmd.dynamics.hooks import SnapshotHook
from batchmd.dynamics.sinks import HostMemory
from batchmd.models import LennardJones
from conftest import argon_crystals


def test_example_writes_100_snapshots(argon_batch):
    model = LennardJones()
    batch = argon_batch
    start = batch.clone()

    # --- the example, as written in the toolkit's documentation ---
    sink = HostMemory(capacity=10_000)
    hook = SnapshotHook(sink=sink, frequency=10)
    dynamics = DemoDynamics(model=model, n_steps=1000, dt=0.5, hooks=[hook])
    dynamics.run(batch)  # 100 snapshots written
    trajectory = sink.read()
    # ---

    assert hook.snapshots == 100
    assert len(sink) == 100 * batch.n_systems
    assert trajectory.n_systems == 100 * batch.n_systems
    steps = trajectory.step.reshape(100, batch.n_systems)
    np.testing.assert_array_equal(steps, np.repeat(np.arange(1, 1000, 10)[:, None], batch.n_systems, axis=1))
    assert dynamics.steps_taken == 1000 and dynamics.step_count == 1000

    # The last snapshot is the state after step 991: a separate run of 991 steps reproduces it.
    again = DemoDynamics(model=LennardJones(), n_steps=991, dt=0.5).run(start)
    last = trajectory[-batch.n_systems:]
    np.testing.assert_allclose(last.positions, again.positions, rtol=0, atol=1e-12)
    np.testing.assert_allclose(last.velocities, again.velocities, rtol=0, atol=1e-12)


def test_snapshot_frequency_one_records_every_step():
    batch = Batch.from_atoms(argon_crystals(((2, 2, 2),)))
    sink = HostMemory(capacity=100)
    DemoDynamics(model=LennardJones(), n_steps=7, dt=1.0, hooks=[SnapshotHook(sink=sink, frequency=1)]).run(batch)
    np.testing.assert_array_equal(sink.read().step, np.arange(1, 8))
