# SPDX-License-Identifier: Apache-2.0
"""AtomicData (one system) and Batch (many systems, CSR by system), with the ALCHEMI toolkit's names.

Both are the C++ classes. Fields read as views of the C++ memory — NumPy arrays for host data,
``DeviceArray`` (DLPack: ``torch.from_dlpack``, ``cupy.from_dlpack``) for GPU data — and writes through
a view are seen by C++ (and the other way round). Rules:

* A view keeps its batch alive. While views of a batch exist, operations that would move its storage
  (``append``, ``put``, ``reserve``, ``clear``, replacing a field with another shape, ``del batch[name]``)
  raise ``BufferError``; delete the views first. Runs, steps and model evaluations never move storage.
* Assigning to a field (``batch.velocities = v``, ``batch["velocities"] = v``) copies into the existing
  storage (broadcasting like NumPy); a new name adds a field, its level taken from the standard schema
  or from the leading dimension (``set_field(name, values, level=...)`` when that is ambiguous).
* Structure arrays (``atoms_ptr``/``batch_ptr``, ``edges_ptr``, ``system_index``/``batch_idx``) are
  read-only views.
* Views from ``ctx.batch`` inside a hook or model belong to the batch being run; a batch that only C++
  owns (e.g. inflight batching's) may change after the call returns, so copy what you keep.

``from_atoms`` / ``to_atoms`` convert to and from ``ase.Atoms`` (see batchmd.ase).
"""

from batchmd._batchmd import AtomicData, Batch, DeviceArray


def _ase():
    import batchmd.ase as bridge

    return bridge


def _data_from_atoms(atoms, dtype="float64"):
    """An AtomicData from an ``ase.Atoms``: positions, numbers, masses, cell, pbc, velocities (from
    momenta), the calculator's energy/forces/stress if it has results, numeric ``info`` entries as
    system fields and numeric per-atom ``arrays`` as atom fields."""
    return _ase().atomic_data_from_atoms(atoms, dtype=dtype)


def _data_to_atoms(self):
    """This system as an ``ase.Atoms`` (copies; energy/forces/stress on a SinglePointCalculator,
    other system fields in ``info``, other atom fields in ``arrays``)."""
    return _ase().atoms_from_data(self)


def _batch_from_atoms(atoms, dtype="float64", fill_missing=False):
    """A Batch from one ``ase.Atoms`` or a sequence of them (see AtomicData.from_atoms). Every system
    must end up with the same fields; with fill_missing, fields some structures lack (e.g. velocities,
    an info key) are zero for them instead of an error."""
    return _ase().batch_from_atoms(atoms, dtype=dtype, fill_missing=fill_missing)


def _batch_to_atoms(self):
    """Every system as an ``ase.Atoms`` (a list; a GPU batch is copied to the host first)."""
    return _ase().atoms_from_batch(self)


AtomicData.from_atoms = staticmethod(_data_from_atoms)
AtomicData.to_atoms = _data_to_atoms
Batch.from_atoms = staticmethod(_batch_from_atoms)
Batch.to_atoms = _batch_to_atoms

__all__ = ["AtomicData", "Batch", "DeviceArray"]
