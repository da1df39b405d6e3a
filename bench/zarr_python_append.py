#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""zarr-python baseline for bench_zarr: append the same number of frames (positions, velocities,
forces of 32,000 atoms, float64) to Zarr v2 arrays, uncompressed, with ~1 MiB chunks like
batchmd's default, and print MB/s of raw array bytes."""
import shutil, sys, tempfile, time
import numpy as np
import zarr

frames = int(sys.argv[1]) if len(sys.argv) > 1 else 100
natoms = 32000
rng = np.random.default_rng(1)
data = [rng.standard_normal((natoms, 3)) for _ in range(3)]
d = tempfile.mkdtemp(prefix="bench_zarr_python_")
try:
    root = zarr.open_group(d, mode="w")
    core = root.create_group("core")
    rows = (1 << 20) // 24
    arrays = [core.zeros(n, shape=(0, 3), chunks=(rows, 3), dtype="f8", compressor=None)
              for n in ("positions", "velocities", "forces")]
    t0 = time.perf_counter()
    for _ in range(frames):
        for a, x in zip(arrays, data):
            a.append(x)
    t = time.perf_counter() - t0
    raw = frames * 3 * natoms * 3 * 8
    print(f"zarr_python_append_MBps {raw / 1e6 / t:.0f}")
finally:
    shutil.rmtree(d)
