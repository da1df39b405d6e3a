# SPDX-License-Identifier: Apache-2.0
"""Data sinks: where snapshots go, and the reader for trajectory stores.

``HostMemory(capacity)`` keeps samples in host RAM; ``GPUBuffer(capacity, max_atoms, max_edges,
device="cuda")`` in pre-allocated GPU memory; ``ZarrData(store, capacity=1_000_000, **options)`` appends
them to a Zarr trajectory (a path, ``file://``, ``memory://``, ``s3://bucket/prefix`` or
``gs://bucket/prefix``; credentials from the environment, see docs/remote-stores.md) with encoding and
I/O on background threads. A sample is one system as it was when written; ``read()`` returns every
sample as one Batch (CSR by sample) whose fields are views of that batch, ``drain()`` reads and
empties, ``len(sink)`` counts samples. ``TrajectoryReader(store)`` reads a store back by index, slice,
list or system_id. A full sink raises CapacityError and stores nothing.
"""

from batchmd import _batchmd as _b

DataSink = _b.DataSink
HostMemory = _b.HostMemory
GPUBuffer = _b.GPUBuffer
ZarrData = _b.ZarrData
TrajectoryReader = _b.TrajectoryReader
last_snapshot_per_system = _b.last_snapshot_per_system

__all__ = ["DataSink", "GPUBuffer", "HostMemory", "TrajectoryReader", "ZarrData", "last_snapshot_per_system"]
