# SPDX-License-Identifier: Apache-2.0
"""Custom hooks written in Python: a logger that reads the batch through NumPy views (no copies)
and a convergence test that stops a run early, both run inside the C++ step loop.

    python3 examples/custom_hook.py
"""

import numpy as np
from ase.build import bulk

import batchmd
from batchmd.data import Batch
from batchmd.dynamics import Langevin
from batchmd.dynamics.hooks import DynamicsStage, Hook
from batchmd.models import LennardJones


class TemperatureLog(Hook):
    """Every `frequency` steps: each system's temperature and its largest displacement since the
    start (positions read as a NumPy view of the C++ memory)."""

    stage = DynamicsStage.AFTER_STEP

    def __init__(self, frequency=50):
        self.frequency = frequency
        self.rows = []

    def open(self, ctx):
        self.start = np.array(ctx.batch.positions)  # a copy: the view would follow the run

    def __call__(self, ctx):
        batch = ctx.batch
        disp = np.linalg.norm(batch.positions - self.start, axis=1)  # a view, read in place
        per_system = np.maximum.reduceat(disp, batch.atoms_ptr[:-1])
        self.rows.append((ctx.step + 1, batchmd.dynamics.temperature(batch), per_system))


class Hot(Exception):
    """Raised by StopWhenHot: the run ends (hooks closed) and this propagates out of run()."""


class StopWhenHot(Hook):
    """A convergence test: ends the run once every system is above a temperature."""

    stage = DynamicsStage.AFTER_STEP
    frequency = 10

    def __init__(self, kelvin):
        self.kelvin = kelvin

    def __call__(self, ctx):
        if min(batchmd.dynamics.temperature(ctx.batch)) > self.kelvin:
            raise Hot(f"every system above {self.kelvin} K after {ctx.step + 1} steps")


batch = Batch.from_atoms([bulk("Ar", "fcc", a=5.26, cubic=True).repeat(n) for n in (2, 3)])
log = TemperatureLog(frequency=10)
md = Langevin(model=LennardJones(), dt=2.0, temperature=60.0, friction=0.02, random_seed=7,
              n_steps=500, hooks=[log, StopWhenHot(kelvin=55.0)])
try:
    md.run(batch)
    print(f"ran all {md.steps_taken} steps")
except Hot as stop:
    print(f"stopped early: {stop}")

print("step  T(K) per system              max displacement (A)")
for step, temps, disp in log.rows:
    print(f"{step:4d}  {'  '.join(f'{t:6.1f}' for t in temps):24s}  {'  '.join(f'{d:5.2f}' for d in disp)}")
