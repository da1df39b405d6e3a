# SPDX-License-Identifier: Apache-2.0
"""Python hooks run inside the C++ step loop and fire by the same rules as C++ hooks."""

import numpy as np
import pytest

from batchmd.data import Batch
from batchmd.dynamics import FIRE, ConvergenceHook, DemoDynamics, DynamicsStage, FusedStage, Langevin
from batchmd.dynamics.hooks import (
    BiasedPotentialHook,
    ConvergedSnapshotHook,
    FreezeAtomsHook,
    Hook,
    LoggingHook,
    ProfilerHook,
    SnapshotHook,
)
from batchmd.dynamics.sinks import HostMemory
from batchmd.models import LennardJones
from conftest import argon_crystals


class Counter(Hook):
    def __init__(self, stage, frequency, log=None):
        self.stage = stage
        self.frequency = frequency
        self.calls = []
        self.opened = self.closed = 0
        self.log = log

    def open(self, ctx):
        self.opened += 1

    def close(self, ctx):
        self.closed += 1
        self.failed = ctx.failed

    def __call__(self, ctx):
        assert ctx.stage == self.stage
        self.calls.append(ctx.step)
        if self.log is not None:
            self.log.append((ctx.step, int(ctx.stage)))


def test_firing_counts_follow_the_cpp_rule(argon_batch):
    n = 50
    counters = [Counter(s, f) for s in DynamicsStage.__members__.values() for f in (1, 3, 7)]
    sink = HostMemory(capacity=1000)
    cpp = SnapshotHook(sink=sink, frequency=7)
    dyn = DemoDynamics(model=LennardJones(), n_steps=n, dt=1.0, hooks=counters + [cpp])
    dyn.run(argon_batch)
    for c in counters:
        expected = [] if c.stage == DynamicsStage.ON_CONVERGE else [s for s in range(n) if s % c.frequency == 0]
        assert c.calls == expected, (c.stage, c.frequency)
        assert c.opened == 1 and c.closed == 1 and not c.failed
    py7 = next(c for c in counters if c.stage == DynamicsStage.AFTER_STEP and c.frequency == 7)
    assert len(py7.calls) == cpp.snapshots == 8


def test_stages_fire_in_step_order(argon_batch):
    log = []
    hooks = [Counter(s, 1, log) for s in reversed(list(DynamicsStage.__members__.values()))]
    DemoDynamics(model=LennardJones(), n_steps=2, dt=1.0, hooks=hooks).run(argon_batch)
    assert log == [(step, s) for step in range(2) for s in range(8)]


def test_on_converge_matches_the_cpp_hook():
    structures = argon_crystals(((2, 2, 2), (2, 2, 2), (2, 2, 3)), rattle=0.1)
    batch = Batch.from_atoms(structures)
    events = []

    class Watch(Hook):
        stage = DynamicsStage.ON_CONVERGE

        def __call__(self, ctx):
            events.append((ctx.step, ctx.newly_converged.copy()))

    sink = HostMemory(capacity=10)
    cpp = ConvergedSnapshotHook(sink=sink)
    fire = FIRE(model=LennardJones(), dt=5.0, n_steps=3000, convergence_hook=ConvergenceHook.from_fmax(1e-3),
                hooks=[Watch(), cpp])
    fire.run(batch)
    assert fire.steps_taken < 3000
    converged = np.sum([m for _, m in events], axis=0)
    np.testing.assert_array_equal(converged, [1, 1, 1])  # each system once
    assert cpp.written == 3 and len(sink) == 3
    got = sink.read()
    order = np.concatenate([np.flatnonzero(m) for _, m in events])
    np.testing.assert_array_equal(got.system_id, order)
    np.testing.assert_array_equal(got.step, [s + 1 for s, m in events for _ in np.flatnonzero(m)])


def test_toolkit_protocol_hooks_get_the_stage(argon_batch):
    seen = []

    class NvalchemiStyle:  # no base class: the toolkit's Hook protocol
        stage = DynamicsStage.AFTER_COMPUTE
        frequency = 2

        def __call__(self, ctx, stage):
            seen.append((ctx.step_count, stage))

    DemoDynamics(model=LennardJones(), n_steps=5, dt=1.0, hooks=[NvalchemiStyle()]).run(argon_batch)
    assert seen == [(0, DynamicsStage.AFTER_COMPUTE), (2, DynamicsStage.AFTER_COMPUTE), (4, DynamicsStage.AFTER_COMPUTE)]


def test_context_gives_the_running_objects(argon_batch):
    model = LennardJones()
    got = {}

    class Look(Hook):
        def __call__(self, ctx):
            got.update(batch=ctx.batch, model=ctx.model, dynamics=ctx.dynamics, dt=ctx.dt, ctx=ctx)

    dyn = DemoDynamics(model=model, n_steps=1, dt=0.75, hooks=[Look()])
    dyn.run(argon_batch)
    assert got["batch"] is argon_batch and got["model"] is model and got["dynamics"] is dyn
    assert got["dt"] == 0.75
    with pytest.raises(ValueError, match="only valid during"):
        got["ctx"].batch  # kept beyond its call


def test_hook_exception_ends_the_run_and_closes_hooks(argon_batch):
    class Boom(Hook):
        def __call__(self, ctx):
            if ctx.step == 4:
                raise KeyError("boom at 4")

    watcher = Counter(DynamicsStage.AFTER_STEP, 1)
    sink = HostMemory(capacity=100)
    dyn = DemoDynamics(model=LennardJones(), n_steps=10, dt=1.0,
                       hooks=[watcher, Boom(), SnapshotHook(sink=sink, frequency=1)])
    with pytest.raises(KeyError, match="boom at 4"):
        dyn.run(argon_batch)
    assert watcher.closed == 1 and watcher.failed
    assert len(sink) == 4 * argon_batch.n_systems  # steps 0..3 recorded, nothing after the error


def test_hooks_on_a_fused_stage(argon_batch):
    model = LennardJones()
    opt = FIRE(model=model, dt=5.0, convergence_hook=ConvergenceHook.from_fmax(5e-3))
    md = Langevin(model=model, dt=2.0, temperature=30.0, friction=0.01, n_steps=20)
    counter = Counter(DynamicsStage.BEFORE_STEP, 5)
    fused = opt + md
    assert isinstance(fused, FusedStage)
    fused.register_hook(counter)
    fused.run(argon_batch)
    # Every system relaxes, then takes its 20 MD steps (the sub-stage's n_steps budget), then stops.
    assert np.all(argon_batch.status == 2)
    assert counter.calls == [s for s in range(fused.steps_taken) if s % 5 == 0]


def test_bad_hook_arguments():
    class NoCall:
        stage = DynamicsStage.AFTER_STEP

    class ZeroFrequency(Hook):
        frequency = 0

        def __call__(self, ctx):
            pass

    dyn = DemoDynamics(model=LennardJones(), n_steps=1, dt=1.0)
    with pytest.raises(TypeError, match="not callable"):
        dyn.register_hook(NoCall())
    with pytest.raises(ValueError, match="frequency"):
        dyn.register_hook(ZeroFrequency())
    with pytest.raises(TypeError, match="stage"):
        dyn.register_hook(type("Bad", (Hook,), {"stage": 3.5, "__call__": lambda self, ctx: None})())


def test_library_hooks_from_python(argon_batch, tmp_path):
    frozen = np.zeros(argon_batch.n_atoms, dtype=bool)
    frozen[[0, 40]] = True
    start = argon_batch.positions.copy()
    bias_calls = []

    def push_atom_1(batch):  # the toolkit's convention: return (energies, forces)
        bias_calls.append(batch.n_systems)
        forces = np.zeros((batch.n_atoms, 3))
        forces[1] = [0.01, 0.0, 0.0]
        return np.zeros(batch.n_systems), forces

    profiler = ProfilerHook()
    log = LoggingHook(log_path=str(tmp_path / "log.csv"), frequency=5)
    md = Langevin(model=LennardJones(), dt=2.0, temperature=50.0, friction=0.05, n_steps=20,
                  hooks=[FreezeAtomsHook(frozen), BiasedPotentialHook(push_atom_1), profiler, log])
    md.run(argon_batch)

    np.testing.assert_array_equal(argon_batch.positions[frozen], start[frozen])  # pinned under a thermostat
    assert np.all(np.any(argon_batch.positions[~frozen] != start[~frozen], axis=1))
    bias = argon_batch.forces - LennardJones()(argon_batch.clone())["forces"]
    bias[frozen] = 0.0
    expected = np.zeros_like(bias)
    expected[1, 0] = 0.01
    np.testing.assert_allclose(bias, expected, rtol=0, atol=1e-12)
    assert bias_calls == [2] * 21  # open() re-evaluates the start, then every step
    assert profiler.calls(DynamicsStage.AFTER_STEP) == 20 and "AFTER_STEP" in profiler.report()
    assert log.rows == 4 * 2 and len((tmp_path / "log.csv").read_text().splitlines()) == 1 + 8
