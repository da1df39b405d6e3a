# SPDX-License-Identifier: Apache-2.0
"""ASE both ways: ASE calculators as batchmd models, batchmd models as ASE calculators, and
conversions of structures and trajectories."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones as AseLJ
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet

import batchmd.ase
from batchmd.data import AtomicData, Batch
from batchmd.dynamics import DemoDynamics
from batchmd.dynamics.hooks import SnapshotHook
from batchmd.dynamics.sinks import TrajectoryReader, ZarrData
from batchmd.models import ASEModel, LennardJones
from conftest import max_abs


def copper(seed, repeat=(1, 1, 1)):
    """A periodic copper cell (4 atoms per repeat: ASE's EMT costs ~10 ms per call for 4 atoms)."""
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat)
    atoms.rattle(0.05, seed=seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.RandomState(seed))
    return atoms


def test_emt_velocity_verlet_equals_ase_verlet():
    dt, steps = 2.0, 200  # fs
    starts = [copper(1), copper(2)]
    references = []
    for atoms in starts:
        ref = atoms.copy()
        ref.calc = EMT()
        VelocityVerlet(ref, timestep=dt * batchmd.ase.FS).run(steps)
        references.append(ref)

    batch = Batch.from_atoms(starts)
    model = ASEModel(EMT)  # a factory: one EMT per system
    DemoDynamics(model=model, n_steps=steps, dt=dt).run(batch)

    for s, (ref, got) in enumerate(zip(references, batch.to_atoms())):
        assert max_abs(got.positions, ref.positions) < 1e-10, s
        assert max_abs(got.get_velocities(), ref.get_velocities()) < 1e-10, s
        assert abs(batch.energy[s] - ref.get_potential_energy()) < 1e-10
    # ...and the run moved the atoms well beyond that tolerance.
    assert max_abs(references[0].positions, starts[0].positions) > 0.05


def test_shared_calculator_gives_the_same_result_as_one_per_system():
    starts = [copper(3), copper(4)]
    a, b = Batch.from_atoms(starts), Batch.from_atoms(starts)
    DemoDynamics(model=ASEModel(EMT()), n_steps=10, dt=2.0).run(a)
    DemoDynamics(model=ASEModel(lambda: EMT()), n_steps=10, dt=2.0).run(b)
    np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=1e-12)  # EMT sums in another order


def test_batchmd_model_as_ase_calculator_matches_ase_lennard_jones():
    eps, sigma, rc = 0.0104, 3.40, 8.5
    atoms = bulk("Ar", "fcc", a=5.3, cubic=True).repeat(3)
    atoms.rattle(0.1, seed=7)
    atoms.set_cell(atoms.cell * [1.0, 1.02, 0.99], scale_atoms=True)
    ref = atoms.copy()
    ref.calc = AseLJ(epsilon=eps, sigma=sigma, rc=rc)
    atoms.calc = batchmd.ase.Calculator(LennardJones(epsilon=eps, sigma=sigma, cutoff=rc, shift_energy=True))
    assert abs(atoms.get_potential_energy() - ref.get_potential_energy()) < 1e-10
    assert max_abs(atoms.get_forces(), ref.get_forces()) < 1e-10
    assert max_abs(atoms.get_stress(), ref.get_stress()) < 1e-10
    assert np.max(np.abs(ref.get_stress())) > 1e-4  # a stressed cell, so the comparison means something


def test_calculator_refuses_stress_of_an_open_system():
    from ase.calculators.calculator import PropertyNotImplementedError

    atoms = Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 3.8]])
    atoms.calc = batchmd.ase.Calculator(LennardJones())
    assert atoms.get_potential_energy() < 0
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_atoms_round_trip():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((1, 2, 1))
    atoms.set_cell(atoms.cell.array + [[0, 0.1, 0], [0, 0, 0], [0.2, 0, 0]], scale_atoms=True)
    atoms.pbc = [True, False, True]
    atoms.set_masses(np.linspace(60, 70, len(atoms)))
    atoms.set_velocities(np.random.default_rng(1).normal(size=(len(atoms), 3)) * 0.01)
    atoms.set_tags(np.arange(len(atoms)))
    atoms.info.update({"target_temperature": 321.5, "replica": 4, "label": "not numeric", "flags": [1, 0, 1]})

    batch = Batch.from_atoms([atoms, atoms])
    assert batch.n_systems == 2 and "label" not in batch
    back = batch.to_atoms()[1]
    np.testing.assert_array_equal(back.numbers, atoms.numbers)
    np.testing.assert_allclose(back.positions, atoms.positions, rtol=0, atol=1e-14)
    np.testing.assert_allclose(back.cell.array, atoms.cell.array, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(back.pbc, atoms.pbc)
    np.testing.assert_allclose(back.get_masses(), atoms.get_masses(), rtol=1e-15)
    np.testing.assert_allclose(back.get_velocities(), atoms.get_velocities(), rtol=1e-14, atol=1e-17)
    np.testing.assert_array_equal(back.get_tags(), atoms.get_tags())
    assert back.info["target_temperature"] == 321.5 and back.info["replica"] == 4
    np.testing.assert_array_equal(back.info["flags"], [1, 0, 1])
    # batchmd units: velocities in Å/fs
    np.testing.assert_allclose(batch.velocities[: len(atoms)], atoms.get_velocities() * batchmd.ase.FS, rtol=1e-14)


def test_calculator_results_round_trip():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.02, seed=2)
    atoms.calc = EMT()
    e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    data = AtomicData.from_atoms(atoms)
    assert data.energy[0] == e
    back = data.to_atoms()
    assert back.get_potential_energy() == e
    np.testing.assert_array_equal(back.get_forces(), f)
    np.testing.assert_allclose(back.get_stress(), s, rtol=1e-15)


def test_trajectory_to_numpy_and_ase(tmp_path):
    starts = [copper(5, (2, 2, 2)), copper(6, (2, 2, 2))]
    batch = Batch.from_atoms(starts)
    batch.system_id = [7, 9]
    store = tmp_path / "cu.zarr"
    sink = ZarrData(str(store), format="v3")
    snapshots = []

    class Keep:  # a Python hook beside the C++ one: copies of what the sink gets
        stage = batchmd.dynamics.DynamicsStage.AFTER_STEP
        frequency = 5

        def __call__(self, ctx):
            snapshots.append(np.array(ctx.batch.positions))

    model = LennardJones(epsilon=0.4, sigma=2.3, cutoff=6.0)  # a copper-ish LJ: fast
    hooks = [SnapshotHook(sink=sink, frequency=5), Keep()]
    DemoDynamics(model=model, n_steps=20, dt=2.0, hooks=hooks).run(batch)
    sink.flush()

    reader = TrajectoryReader(store)
    assert len(reader) == 4 * 2
    np.testing.assert_array_equal(reader.system_ids, [7, 9] * 4)
    everything = reader[:]
    np.testing.assert_array_equal(everything.positions, np.concatenate(snapshots))  # NumPy, exactly
    frames = reader.read_system(9).to_atoms()  # ASE
    assert [len(f) for f in frames] == [32] * 4
    for k, frame in enumerate(frames):
        np.testing.assert_array_equal(frame.positions, snapshots[k][32:])
        assert frame.info["system_id"] == 9 and frame.info["step"] == 5 * k + 1
        ref = frame.copy()
        ref.calc = batchmd.ase.Calculator(model)
        assert abs(frame.get_potential_energy() - ref.get_potential_energy()) < 1e-12
