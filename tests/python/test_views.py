# SPDX-License-Identifier: Apache-2.0
"""Batch fields are NumPy views of the C++ memory: writes go both ways, views keep their batch alive,
and operations that would move the memory refuse while views exist."""

import gc

import numpy as np
import pytest

import batchmd
from batchmd.data import AtomicData, Batch
from batchmd.dynamics import DemoDynamics
from batchmd.dynamics.hooks import SnapshotHook
from batchmd.dynamics.sinks import HostMemory
from batchmd.models import LennardJones
from conftest import argon_crystals


def test_write_through_numpy_is_seen_by_cpp(argon_batch):
    model = LennardJones()
    moved = argon_batch.clone()
    pos = moved.positions  # a view
    pos[3] += [0.2, -0.1, 0.05]  # written through NumPy
    energy_view = model(moved)["energy"].copy()

    # The same displacement built independently, from ASE structures.
    structures = argon_crystals()
    structures[0].positions[3] += [0.2, -0.1, 0.05]
    reference = Batch.from_atoms(structures)
    np.testing.assert_allclose(energy_view, model(reference)["energy"], rtol=1e-13)
    assert abs(energy_view[0] - model(argon_batch)["energy"][0]) > 1e-6  # and it made a difference


def test_cpp_writes_are_seen_through_an_earlier_view(argon_batch):
    pos = argon_batch.positions
    before = pos.copy()
    DemoDynamics(model=LennardJones(), n_steps=5, dt=2.0).run(argon_batch)
    assert np.shares_memory(pos, argon_batch.positions)
    np.testing.assert_array_equal(pos, argon_batch.positions)
    assert np.max(np.abs(pos - before)) > 1e-4
    energy = argon_batch.energy  # fields the run added are views too
    argon_batch.energy[0] = 123.0
    assert energy[0] == 123.0


def test_views_alias_the_fields_not_copies(argon_batch):
    v = argon_batch.velocities
    argon_batch.velocities = 0.5  # assignment copies into the existing storage
    assert np.all(v == 0.5)
    argon_batch["velocities"] = np.ones((argon_batch.n_atoms, 3))
    assert np.all(v == 1.0)
    assert v.base is not None and not v.flags.owndata


def test_view_keeps_its_batch_alive():
    def make():
        return Batch.from_atoms(argon_crystals()).positions

    pos = make()
    expected = np.concatenate([a.positions for a in argon_crystals()])
    gc.collect()
    np.testing.assert_array_equal(pos, expected)


def test_moving_storage_refuses_while_views_live(argon_batch):
    other = Batch.from_atoms(argon_crystals(((2, 2, 2),)))
    other.velocities = 0.0  # same fields as argon_batch
    pos = argon_batch.positions
    with pytest.raises(BufferError, match="view"):
        argon_batch.append(other)
    with pytest.raises(BufferError):
        del argon_batch["positions"]
    with pytest.raises(BufferError):
        argon_batch.clear()
    del pos
    n = argon_batch.n_systems
    argon_batch.append(other)
    assert argon_batch.n_systems == n + 1


def test_structure_arrays_are_read_only(argon_batch):
    ptr = argon_batch.atoms_ptr
    assert not ptr.flags.writeable
    with pytest.raises(ValueError):
        ptr[1] = 0
    np.testing.assert_array_equal(ptr, [0, 32, 80])
    np.testing.assert_array_equal(argon_batch.batch_ptr, ptr)
    np.testing.assert_array_equal(np.bincount(argon_batch.batch_idx), [32, 48])
    assert argon_batch.num_nodes_list == [32, 48]


def test_sink_read_gives_views_of_a_new_batch(argon_batch):
    sink = HostMemory(capacity=10)
    sink.write(argon_batch)
    first = sink.read()
    pos = first.positions
    assert np.shares_memory(pos, first.positions)
    pos[:] = 0.0  # the read batch is the caller's: the sink keeps its own data
    np.testing.assert_array_equal(sink.read().positions, argon_batch.positions)


def test_selections_are_copies(argon_batch):
    sub = argon_batch[[1]]
    sub.positions[:] = 0.0
    assert np.all(argon_batch.positions[32:] != 0.0)
    one = argon_batch[0]
    assert isinstance(one, AtomicData) and one.n_atoms == 32
    assert [d.n_atoms for d in argon_batch] == [32, 48]  # iteration yields systems
    assert argon_batch.index_select([True, False]).n_systems == 1


def test_dlpack_on_the_host_is_zero_copy(argon_batch):
    torch = pytest.importorskip("torch")
    t = torch.from_dlpack(argon_batch.positions)
    t[0, 0] = 42.0
    assert argon_batch.positions[0, 0] == 42.0


def test_float32_batches_have_float32_views():
    structures = argon_crystals(((2, 2, 2),))
    data = AtomicData.from_atoms(structures[0], dtype="float32")
    batch = Batch.from_data_list([data, data])
    assert batch.positions.dtype == np.float32 and batch.float_dtype == "float32"
    DemoDynamics(model=LennardJones(), n_steps=3, dt=1.0).run(batch)
    assert batch.forces.dtype == np.float32 and batch.energy.dtype == np.float32
    assert batch.step.dtype == np.int64


def test_atomic_data_fields_and_levels():
    d = AtomicData(positions=np.zeros((2, 3)), atomic_numbers=[18, 18], cell=np.eye(3) * 10, pbc=True,
                   charge_state=[0.0, 1.0], temperature_target=300.0)
    assert d.level("charge_state") == "atom" and d.level("temperature_target") == "system"
    assert d.cell.shape == (1, 3, 3) and d.pbc.tolist() == [[True, True, True]]
    np.testing.assert_allclose(d.masses, [39.948, 39.948])
    d.add_system_property("label", [7])
    batch = Batch.from_data_list([d, d.clone()])
    assert batch.temperature_target.tolist() == [300.0, 300.0] and batch.label.dtype == np.int64
    batch["per_system"] = [1.5, 2.5]  # 2 rows: the 2 systems (the batch has 4 atoms)
    assert batch.level("per_system") == "system"

    single = AtomicData(positions=np.zeros((1, 3)), atomic_numbers=[18])
    ones = Batch.from_data_list([single, single])  # 2 atoms and 2 systems: rows do not tell
    with pytest.raises(ValueError, match="level"):
        ones["ambiguous"] = np.zeros(2)
    ones.set_field("ambiguous", np.zeros(2), level="atom")
    with pytest.raises(ValueError, match="bogus"):
        ones.set_field("other", np.zeros(2), level="bogus")


def test_gpu_fields_need_a_gpu(argon_batch):
    if batchmd.cuda.device_count() > 0:
        pytest.skip("a GPU is usable here: tests/python/test_gpu.py covers GPU batches")
    with pytest.raises(ValueError, match="not available"):
        argon_batch.cuda()
