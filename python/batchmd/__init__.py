# SPDX-License-Identifier: Apache-2.0
"""batchmd: batched atomistic dynamics — the C++ engine, driven from Python.

A thin skin over the C++ library (pybind11): every integrator, model, hook and sink runs in C++
with the GIL released; the names follow NVIDIA's ALCHEMI toolkit (nvalchemi)::

    from batchmd.data import AtomicData, Batch
    from batchmd.models import LennardJones
    from batchmd.dynamics import DemoDynamics
    from batchmd.dynamics.hooks import SnapshotHook
    from batchmd.dynamics.sinks import HostMemory

Batch fields are NumPy views of the C++ memory (GPU fields export DLPack); Python subclasses of
``batchmd.dynamics.Hook`` and ``batchmd.models.Model`` run inside the C++ step loop; ``batchmd.ase``
bridges to ASE both ways. Units: Å, eV, amu, fs, K. See docs/python.md.
"""

from batchmd import _batchmd
from batchmd.errors import (
    CapacityError,
    Error,
    FormatError,
    InvalidArgument,
    NumericalError,
)
from batchmd import data, dynamics, errors, models, units
from batchmd.data import AtomicData, Batch
from batchmd.dynamics.sinks import TrajectoryReader

cuda = _batchmd.cuda
app = _batchmd.app
num_threads = _batchmd.num_threads
set_num_threads = _batchmd.set_num_threads

__version__ = "0.1.0"

__all__ = [
    "AtomicData",
    "Batch",
    "CapacityError",
    "Error",
    "FormatError",
    "InvalidArgument",
    "NumericalError",
    "TrajectoryReader",
    "app",
    "cuda",
    "data",
    "dynamics",
    "errors",
    "models",
    "num_threads",
    "set_num_threads",
    "units",
]
