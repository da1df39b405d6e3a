# SPDX-License-Identifier: Apache-2.0
"""The GIL is released while C++ runs: another Python thread makes progress in the middle of run(),
of model evaluations and of runs with a Python hook. Were the GIL held, that thread could run only
while the main thread executes Python bytecode (before and after the call, inside hook calls), so
it would make no progress at all in the window the tests look at. (Only the presence of progress
is tested, not its rate: the machine may be busy.)"""

import threading
import time

from ase.build import bulk

import batchmd
from batchmd.data import Batch
from batchmd.dynamics import DemoDynamics
from batchmd.dynamics.hooks import Hook
from batchmd.models import LennardJones


class Spinner:
    """A Python thread that counts and notes the time every 1,000 counts."""

    def __init__(self):
        self.stamps = []
        self.stop = False
        self.thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self):
        n = 0
        while not self.stop:
            n += 1
            if n % 1000 == 0:
                self.stamps.append(time.perf_counter())

    def __enter__(self):
        self.thread.start()
        while not self.stamps:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()


def progress_during(fn):
    """(seconds fn took, the spinner's counts (in 1,000s) from 20% to 70% of that time: the last
    few tens of ms after the C++ call returns belong to Python code and are left out)."""
    threads = batchmd.num_threads()
    batchmd.set_num_threads(1)  # leave the second core to the spinner
    try:
        with Spinner() as s:
            t0 = time.perf_counter()
            fn()
            t1 = time.perf_counter()
    finally:
        batchmd.set_num_threads(threads)
    lo, hi = t0 + 0.2 * (t1 - t0), t0 + 0.7 * (t1 - t0)
    return t1 - t0, sum(1 for t in s.stamps if lo < t < hi)


def progress_during_long(make_fn, min_seconds):
    """progress_during(make_fn(scale)) with the workload doubled until the call lasts min_seconds:
    a fast machine must not make the window too short to tell."""
    scale = 1
    while True:
        seconds, progress = progress_during(make_fn(scale))
        if seconds > min_seconds or scale >= 64:
            return seconds, progress
        scale *= 2


def big_batch():
    return Batch.from_atoms([bulk("Ar", "fcc", a=5.26, cubic=True).repeat(5)] * 2)  # 1,000 atoms


def test_run_releases_the_gil():
    batch = big_batch()

    def make(scale):
        dyn = DemoDynamics(model=LennardJones(), n_steps=600 * scale, dt=1.0)
        return lambda: dyn.run(batch)

    seconds, progress = progress_during_long(make, 0.25)
    assert seconds > 0.25, "the run is too short to tell"
    assert progress >= 3, (seconds, progress)


def test_model_call_releases_the_gil():
    def make(scale):  # one long C++ call: a fresh model builds its neighbor list (cutoff 20 Å)
        cells = round(10 * scale ** (1 / 3))
        batch = Batch.from_atoms([bulk("Ar", "fcc", a=5.26, cubic=True).repeat(cells)])  # 4,000+ atoms
        return lambda: LennardJones(cutoff=20.0)(batch)

    seconds, progress = progress_during_long(make, 0.1)
    assert seconds > 0.1, "too short to tell"
    assert progress >= 3, (seconds, progress)


def test_python_hooks_take_the_gil_only_while_called():
    batch = big_batch()
    calls = []

    class Rare(Hook):
        frequency = 600  # fires at step 0 only: after that call the GIL must be given back

        def __call__(self, ctx):
            calls.append(ctx.step)

    dyn = DemoDynamics(model=LennardJones(), n_steps=600, dt=1.0, hooks=[Rare()])
    seconds, progress = progress_during(lambda: dyn.run(batch))
    assert calls == [0]
    assert progress >= 3, (seconds, progress)


def test_threads_can_run_separate_batches():
    results = {}

    def work(key):
        b = big_batch()
        DemoDynamics(model=LennardJones(), n_steps=10, dt=1.0).run(b)
        results[key] = b.positions.copy()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (results[0] == results[1]).all()
