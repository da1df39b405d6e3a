# SPDX-License-Identifier: Apache-2.0
"""Bad arguments raise the matching Python exception, with the C++ message naming the problem."""

import numpy as np
import pytest

import batchmd
from batchmd.data import AtomicData, Batch
from batchmd.dynamics import DemoDynamics, FIRE, Langevin
from batchmd.dynamics.hooks import EnergyDriftMonitorHook, LoggingHook, NaNDetectorHook, SnapshotHook
from batchmd.dynamics.sinks import HostMemory, TrajectoryReader, ZarrData
from batchmd.models import LennardJones
from conftest import argon_crystals


def test_hierarchy():
    assert issubclass(batchmd.InvalidArgument, ValueError) and issubclass(batchmd.InvalidArgument, batchmd.Error)
    assert issubclass(batchmd.FormatError, ValueError)
    assert issubclass(batchmd.CapacityError, RuntimeError)
    assert issubclass(batchmd.errors.IOError, OSError)
    assert issubclass(batchmd.NumericalError, FloatingPointError)


def test_invalid_arguments_are_value_errors():
    sink = HostMemory(capacity=10)
    with pytest.raises(ValueError, match="frequency must be >= 1"):
        SnapshotHook(sink=sink, frequency=0)
    with pytest.raises(batchmd.InvalidArgument, match="capacity must be >= 1"):
        HostMemory(capacity=0)
    with pytest.raises(batchmd.InvalidArgument, match="reserve_pinned.*not from 'cpu'"):
        HostMemory(capacity=10).reserve_pinned(1 << 20, device="cpu")
    with pytest.raises(ValueError, match="expected shape"):
        AtomicData(positions=np.zeros((4, 2)), atomic_numbers=[1, 1, 1, 1])
    with pytest.raises(ValueError, match="3 atomic numbers for 4 positions"):
        AtomicData(positions=np.zeros((4, 3)), atomic_numbers=[1, 1, 1])
    with pytest.raises(ValueError, match="no standard atomic weight"):
        AtomicData(positions=np.zeros((1, 3)), atomic_numbers=[119])
    with pytest.raises(ValueError, match="cannot store float64 values as int64"):
        AtomicData(positions=np.zeros((1, 3)), atomic_numbers=[1.5])
    with pytest.raises(ValueError, match="warn.*stop"):
        EnergyDriftMonitorHook(threshold=1e-3, action="explode")
    with pytest.raises(ValueError, match="unknown device"):
        Batch.from_atoms(argon_crystals()).to("tpu")
    with pytest.raises(ValueError, match="n_steps"):
        DemoDynamics(model=LennardJones(), dt=1.0).run(Batch.from_atoms(argon_crystals()))
    with pytest.raises(ValueError, match="unknown option 'compresor'"):
        ZarrData("memory://bad-option", compresor="zstd")
    with pytest.raises(ValueError, match="backend"):
        LoggingHook(log_path="x.csv", backend="tensorboard")


def test_type_errors():
    with pytest.raises(TypeError):
        HostMemory(capacity="ten")
    with pytest.raises(TypeError):
        DemoDynamics(model="lj", n_steps=1, dt=1.0)
    with pytest.raises(TypeError, match="AtomicData"):
        Batch.from_data_list([1, 2])


def test_missing_fields():
    batch = Batch.from_atoms(argon_crystals())
    with pytest.raises(AttributeError, match="no field 'forces'"):
        batch.forces
    with pytest.raises(KeyError, match="forces"):
        batch["forces"]
    with pytest.raises(IndexError):
        batch[5]


def test_full_sink_is_a_capacity_error_and_stores_nothing():
    batch = Batch.from_atoms(argon_crystals())  # 2 systems
    sink = HostMemory(capacity=3)
    sink.write(batch)
    with pytest.raises(batchmd.CapacityError):
        sink.write(batch)
    assert len(sink) == 2
    with pytest.raises(RuntimeError):  # and it is a RuntimeError, ending a run
        DemoDynamics(model=LennardJones(), n_steps=5, dt=1.0, hooks=[SnapshotHook(sink=sink, frequency=1)]).run(batch)
    assert len(sink) == 2


def test_nan_is_a_numerical_error():
    batch = Batch.from_atoms(argon_crystals())
    batch.positions[5, 1] = np.nan
    with pytest.raises(FloatingPointError, match="NaN|nan"):
        DemoDynamics(model=LennardJones(), n_steps=5, dt=1.0, hooks=[NaNDetectorHook()]).run(batch)


def test_store_errors_are_os_and_format_errors(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        sink = ZarrData(str(blocker / "traj.zarr"))
        sink.write(Batch.from_atoms(argon_crystals()))
        sink.flush()
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(batchmd.FormatError, match="no Zarr store"):
        TrajectoryReader(str(tmp_path / "empty.zarr"))
    with pytest.raises(ValueError):
        TrajectoryReader(str(tmp_path / "empty.zarr"))


def test_dynamics_parameter_errors():
    with pytest.raises(ValueError):
        Langevin(model=LennardJones(), dt=1.0, temperature=-5.0, friction=0.01)
    with pytest.raises(ValueError):
        FIRE(model=LennardJones(), dt=1.0, maxstep=-1.0)
