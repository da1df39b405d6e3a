# SPDX-License-Identifier: Apache-2.0
"""ZarrData's commit_interval keyword (seconds between commits: the loss window of a kill) from
Python: it decides when written samples become visible to a reader while the sink is open, it is
what the store records (read back with zarr-python), and a value out of range names the option."""

import time

import pytest
import zarr

from batchmd.data import Batch
from batchmd.dynamics.sinks import TrajectoryReader, ZarrData
from conftest import argon_crystals


def visible(path):
    try:
        return TrajectoryReader(path).num_samples
    except ValueError:  # no root document yet
        return 0


def test_commit_interval_decides_when_samples_become_visible(tmp_path):
    batch = Batch.from_atoms(argon_crystals())
    every = str(tmp_path / "every.zarr")
    sink = ZarrData(every, format="v2", commit_interval=0.0)  # v2: the zarr-python here reads v2
    sink.write(batch)
    deadline = time.monotonic() + 10
    while visible(every) < 2 and time.monotonic() < deadline:  # committed by the writer, no flush
        time.sleep(0.02)
    assert visible(every) == 2
    sink.flush()
    del sink
    assert zarr.open_group(every, mode="r").attrs["batchmd"]["commit_interval_s"] == 0.0

    hourly = str(tmp_path / "hourly.zarr")
    sink = ZarrData(hourly, format="v2", commit_interval=3600.0)
    sink.write(batch)
    time.sleep(1.5)  # longer than the default interval (1 s): only the keyword holds the commit back
    assert visible(hourly) == 0  # stored but not committed: the hour has not passed
    sink.flush()
    assert visible(hourly) == 2
    del sink
    assert zarr.open_group(hourly, mode="r").attrs["batchmd"]["commit_interval_s"] == 3600.0


@pytest.mark.parametrize("bad", [-1.0, 86401.0, float("nan")])
def test_commit_interval_out_of_range_names_the_option(tmp_path, bad):
    with pytest.raises(ValueError, match="commit_interval"):
        ZarrData(str(tmp_path / "bad.zarr"), commit_interval=bad)
    assert not (tmp_path / "bad.zarr").exists() or not any((tmp_path / "bad.zarr").iterdir())


def test_precision_stores_positions_that_zarr_python_decodes_within_half_of_it(tmp_path):
    import numpy as np

    batch = Batch.from_atoms(argon_crystals())
    path = str(tmp_path / "q.zarr")
    sink = ZarrData(path, format="v2", fields={"positions": {"precision": 1e-3}})
    sink.write(batch)
    sink.flush()
    del sink
    exact = np.asarray(batch.positions)
    theirs = zarr.open_group(path, mode="r")["core/positions"][...]  # numcodecs decodes the filter
    ours = TrajectoryReader(path).read_range(0, 2).positions
    assert theirs.dtype == np.float64
    assert np.array_equal(theirs, np.asarray(ours))
    assert np.max(np.abs(theirs - exact)) <= 0.5e-3 * (1 + 1e-9)
    assert np.max(np.abs(theirs - exact)) > 0  # it is lossy: crystals at 5.26 Å do not sit on the grid

    with pytest.raises(ValueError, match="precision of field 'positions' must be finite and > 0"):
        bad = ZarrData(str(tmp_path / "bad.zarr"), fields={"positions": {"precision": -1.0}})
        bad.write(batch)
