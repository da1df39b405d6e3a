# SPDX-License-Identifier: Apache-2.0
"""GPU batches from Python: fields as DeviceArrays exporting DLPack without copies, runs on the GPU,
Python hooks reading GPU batches. Needs a usable NVIDIA GPU; CTest runs this file under the label
gpu (scripts/test.sh leaves it out where no GPU is usable) with BATCHMD_REQUIRE_GPU=1, so a missing
GPU there is a failure, not a skip. Needs only NumPy and pytest (and torch with CUDA for one test).
By hand:
    PYTHONPATH=build/release/python /usr/bin/python3 -m pytest -p no:cacheprovider tests/python/test_gpu.py
"""

import ctypes
import os

import numpy as np
import pytest

import batchmd
from batchmd.data import AtomicData, Batch
from batchmd.dynamics import DemoDynamics, FIRE, ConvergenceHook
from batchmd.dynamics.hooks import Hook, SnapshotHook
from batchmd.dynamics.sinks import GPUBuffer, HostMemory
from batchmd.models import LennardJones

HAVE_GPU = batchmd.cuda.device_count() > 0
if not HAVE_GPU and os.environ.get("BATCHMD_REQUIRE_GPU") == "1":
    raise RuntimeError(f"BATCHMD_REQUIRE_GPU=1 but no GPU is usable: {batchmd.cuda.unavailable_reason()}")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not HAVE_GPU, reason=f"no usable GPU: {batchmd.cuda.unavailable_reason()}")]


class DLTensorView(ctypes.Structure):  # the DLPack ABI (legacy DLManagedTensor), enough to read it
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32),
                ("ndim", ctypes.c_int32), ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.c_void_p), ("byte_offset", ctypes.c_uint64)]


def capsule_tensor(capsule):
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return DLTensorView.from_address(get(capsule, b"dltensor"))


def fcc_argon(cells, seed):
    """A rattled periodic fcc argon box of cells[0] x cells[1] x cells[2] cubic cells (a = 5.26 Å)."""
    a = 5.26
    basis = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    grid = np.array([[i, j, k] for i in range(cells[0]) for j in range(cells[1]) for k in range(cells[2])])
    pos = a * (grid[:, None, :] + basis[None, :, :]).reshape(-1, 3)
    pos += np.random.default_rng(seed).normal(scale=0.05, size=pos.shape)
    return AtomicData(positions=pos, atomic_numbers=[18] * len(pos), cell=np.diag(a * np.array(cells, float)),
                      pbc=True)


@pytest.fixture
def gpu_batch():
    batch = Batch.from_data_list([fcc_argon((2, 2, 2), 1), fcc_argon((2, 2, 3), 2)])
    batchmd.dynamics.initialize_velocities(batch, 40.0, seed=3)
    return batch, batch.cuda()


def test_fields_are_device_arrays(gpu_batch):
    host, dev = gpu_batch
    pos = dev.positions
    assert isinstance(pos, batchmd.data.DeviceArray) and dev.is_cuda
    assert pos.shape == (host.n_atoms, 3) and pos.dtype == np.float64 and pos.device == "cuda:0"
    assert pos.__dlpack_device__() == (2, 0)
    np.testing.assert_array_equal(pos.numpy(), host.positions)
    np.testing.assert_array_equal(dev.atoms_ptr, host.atoms_ptr)  # structure stays on the host


def test_dlpack_aliases_device_memory(gpu_batch):
    host, dev = gpu_batch
    pos = dev.positions
    cap = pos.__dlpack__(stream=None)
    t = capsule_tensor(cap)
    assert (t.device_type, t.device_id, t.ndim, t.code, t.bits) == (2, 0, 2, 2, 64)
    assert [t.shape[0], t.shape[1]] == [host.n_atoms, 3] and not t.strides
    raw = batchmd.cuda._read_device(t.data, host.n_atoms * 24)
    np.testing.assert_array_equal(np.frombuffer(raw, dtype=np.float64).reshape(-1, 3), host.positions)
    batchmd.cuda._write_device(t.data, np.full((host.n_atoms, 3), 7.0).tobytes())  # through the pointer
    np.testing.assert_array_equal(dev.cpu().positions, 7.0)  # seen by the batch: no copy was made
    with pytest.raises(BufferError):
        dev.append(dev)  # the capsule pins the storage like any view
    del cap, pos, t


def test_torch_consumes_dlpack_without_copy(gpu_batch):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch has no CUDA")
    _, dev = gpu_batch
    t = torch.from_dlpack(dev.velocities)
    t.mul_(0.0)
    torch.cuda.synchronize()
    assert np.all(dev.velocities.numpy() == 0.0)


def test_gpu_run_matches_cpu_run(gpu_batch):
    host, dev = gpu_batch
    seen = []

    class ReadPositions(Hook):
        frequency = 25

        def __call__(self, ctx):
            seen.append(ctx.batch.positions.numpy())  # a host copy of the GPU field

    sink = GPUBuffer(capacity=100, max_atoms=64)
    DemoDynamics(model=LennardJones(), n_steps=100, dt=2.0,
                 hooks=[SnapshotHook(sink=sink, frequency=25), ReadPositions()]).run(dev)
    cpu_sink = HostMemory(capacity=100)
    DemoDynamics(model=LennardJones(), n_steps=100, dt=2.0, hooks=[SnapshotHook(sink=cpu_sink, frequency=25)]).run(host)
    np.testing.assert_allclose(dev.positions.numpy(), host.positions, rtol=0, atol=1e-9)
    traj = sink.read()
    assert traj.is_cuda and traj.n_systems == 8
    np.testing.assert_allclose(traj.cpu().positions, cpu_sink.read().positions, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.concatenate(seen), cpu_sink.read().positions, rtol=0, atol=1e-9)


def test_pinned_reservation_holds_gpu_snapshots(gpu_batch):
    host, dev = gpu_batch
    sink = HostMemory(capacity=100)
    sink.reserve_pinned(8 << 20)
    assert sink.allocated_bytes == 8 << 20
    DemoDynamics(model=LennardJones(), n_steps=100, dt=2.0, hooks=[SnapshotHook(sink=sink, frequency=25)]).run(dev)
    cpu_sink = HostMemory(capacity=100)
    DemoDynamics(model=LennardJones(), n_steps=100, dt=2.0, hooks=[SnapshotHook(sink=cpu_sink, frequency=25)]).run(host)
    assert sink.allocated_bytes == 8 << 20  # every snapshot went into the reservation
    np.testing.assert_allclose(sink.read().positions, cpu_sink.read().positions, rtol=0, atol=1e-9)


def test_gpu_fire_converges(gpu_batch):
    _, dev = gpu_batch
    fire = FIRE(model=LennardJones(), dt=5.0, n_steps=2000, convergence_hook=ConvergenceHook.from_fmax(1e-3))
    fire.run(dev)
    assert np.all(np.asarray(batchmd.dynamics.max_force(dev)) <= 1e-3)
