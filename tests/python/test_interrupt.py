# SPDX-License-Identifier: Apache-2.0
"""Ctrl-C interrupts a run cleanly: SIGINT stops it after the current step, hooks are closed (the
sink flushed, the final snapshot written), and run() raises KeyboardInterrupt."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from batchmd.dynamics.sinks import TrajectoryReader

CHILD = textwrap.dedent(
    """
    import json, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the test runner ignores SIGINT
    from ase.build import bulk
    from batchmd.data import Batch
    from batchmd.dynamics import DemoDynamics
    from batchmd.dynamics.hooks import Hook, SnapshotHook
    from batchmd.dynamics.sinks import ZarrData
    from batchmd.models import LennardJones, Model

    class SlowLJ(Model):  # a Python model, so that Ctrl-C usually lands inside it
        def __init__(self):
            super().__init__()
            self.lj = LennardJones()
        def compute(self, batch, compute_stress):
            total = 0
            for i in range(20000):
                total += i
            self.lj(batch)

    class Report(Hook):
        def open(self, ctx):
            print("RUNNING", flush=True)
        def close(self, ctx):
            self.closed = (ctx.step, ctx.failed)
        def __call__(self, ctx):
            pass

    batch = Batch.from_atoms([bulk("Ar", "fcc", a=5.26, cubic=True).repeat(4)] * 4)
    sink = ZarrData(sys.argv[1])
    report = Report()
    model = SlowLJ() if sys.argv[2] == "python-model" else LennardJones()
    md = DemoDynamics(model=model, n_steps=10**9, dt=1.0,
                      hooks=[report, SnapshotHook(sink=sink, frequency=50, final_snapshot=True)])
    try:
        md.run(batch)
        print(json.dumps({"interrupted": False}))
    except KeyboardInterrupt:
        step, failed = report.closed
        print(json.dumps({"interrupted": True, "step": step, "failed": failed,
                          "step_count": md.step_count, "batch_step": int(batch.step[0])}))
    """
)


@pytest.mark.parametrize("model", ["cpp-model", "python-model"])
def test_sigint_stops_the_run_cleanly(tmp_path, child_env, model):
    """A Python hook fires every step, so Ctrl-C lands in C++, in that hook or in the Python model:
    each way the step completes, hooks close normally and KeyboardInterrupt comes out of run()."""
    store = tmp_path / "interrupted.zarr"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(store), model], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env)
    assert proc.stdout.readline().strip() == "RUNNING"
    time.sleep(0.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    latency = time.monotonic() - sent
    assert proc.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["interrupted"] and not result["failed"]
    assert 0 < result["step"] == result["step_count"] == result["batch_step"] < 10**9
    assert latency < 10, latency
    # Closed cleanly: the sink holds the last state (final_snapshot), every sample whole.
    reader = TrajectoryReader(str(store))
    assert reader[-1].step[0] == result["step"]
    n = result["step"]
    writes = len(range(0, n, 50)) + (n % 50 != 1)  # every 50 steps from step 0, plus the final state
    assert len(reader) == 4 * writes


def small_batch():
    from ase.build import bulk

    from batchmd.data import Batch

    return Batch.from_atoms([bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)])


def test_keyboard_interrupt_in_a_hook_finishes_the_step():
    from batchmd.dynamics import DemoDynamics
    from batchmd.dynamics.hooks import DynamicsStage, Hook, SnapshotHook
    from batchmd.dynamics.sinks import HostMemory
    from batchmd.models import LennardJones

    class CtrlC(Hook):
        stage = DynamicsStage.AFTER_COMPUTE  # mid-step: the step must still complete

        def __call__(self, ctx):
            if ctx.step == 5:
                raise KeyboardInterrupt

    class Close(Hook):
        def close(self, ctx):
            self.failed = ctx.failed

        def __call__(self, ctx):
            pass

    sink, close = HostMemory(capacity=100), Close()
    md = DemoDynamics(model=LennardJones(), n_steps=100, dt=1.0,
                      hooks=[CtrlC(), close, SnapshotHook(sink=sink, frequency=10, final_snapshot=True)])
    batch = small_batch()
    with pytest.raises(KeyboardInterrupt):
        md.run(batch)
    assert md.step_count == 6 and batch.step[0] == 6 and not close.failed
    assert list(sink.read().step) == [1, 6]  # the final snapshot of a clean stop


def test_keyboard_interrupt_in_a_model_reevaluates_once():
    from batchmd.dynamics import DemoDynamics
    from batchmd.models import LennardJones, Model

    class Flaky(Model):
        def __init__(self, interrupts):
            super().__init__()
            self.lj, self.calls, self.interrupts = LennardJones(), 0, interrupts

        def compute(self, batch, compute_stress):
            self.calls += 1
            if self.calls in self.interrupts:
                raise KeyboardInterrupt
            self.lj(batch)

    once = Flaky({4})  # call 1 prepares, call 4 is step 3's evaluation
    md = DemoDynamics(model=once, n_steps=100, dt=1.0)
    batch = small_batch()
    with pytest.raises(KeyboardInterrupt):
        md.run(batch)
    assert md.step_count == 3 and once.calls == 5
    reference = DemoDynamics(model=LennardJones(), n_steps=3, dt=1.0).run(small_batch())
    np.testing.assert_array_equal(batch.positions, reference.positions)  # the step completed normally

    twice = Flaky({4, 5})  # a second Ctrl-C during the re-evaluation aborts the step
    with pytest.raises(KeyboardInterrupt):
        DemoDynamics(model=twice, n_steps=100, dt=1.0).run(small_batch())
    assert twice.calls == 5
