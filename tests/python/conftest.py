# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures of the Python package tests (run by CTest with PYTHONPATH=<build>/python; by hand:
PYTHONPATH=build/release/python /usr/bin/python3 -m pytest tests/python)."""

import os
import pathlib

import numpy as np
import pytest

import batchmd
from batchmd.data import Batch

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a usable NVIDIA GPU (CTest label gpu)")


def argon_crystals(repeats=((2, 2, 2), (2, 2, 3)), rattle=0.05, seed=1):
    """Rattled periodic fcc argon boxes (4 atoms per cubic cell, `repeats` cells each)."""
    from ase.build import bulk  # here, not at import: test_gpu.py runs where ASE may be missing

    out = []
    for i, r in enumerate(repeats):
        atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(r)
        atoms.rattle(rattle, seed=seed + i)
        out.append(atoms)
    return out


@pytest.fixture
def argon_batch():
    batch = Batch.from_atoms(argon_crystals())
    batchmd.dynamics.initialize_velocities(batch, 40.0, seed=3)
    return batch


@pytest.fixture
def child_env():
    """Environment for child python3 processes: the same batchmd the tests import."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(pathlib.Path(batchmd.__file__).resolve().parents[1])
    return env


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
