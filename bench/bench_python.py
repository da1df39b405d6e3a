# SPDX-License-Identifier: Apache-2.0
"""bench_python: what driving batchmd from Python costs.

1. A whole run from Python vs the same run from C++: the default job's systems (32 argon liquids and
   clusters, 3,908 atoms) through the default job's pipeline (FIRE until fmax < 0.005 eV/Å or 1,000
   steps, then Langevin NVT at 40 K, fused; dt 2 fs) with a SnapshotHook writing every system to a
   HostMemory sink every 10 steps. The C++ side is build/<preset>/bench/bench_python_ref (the same
   code, no Python). Runs alternate C++, Python, C++, ... ; the figures are the ratios of the medians
   of CPU time (the process's CPU time over run(): steady on a shared, loaded machine, where wall
   time is not) and, for reference, of wall time.
2. The cost per firing of a Python hook: one that does nothing, one that reads positions as a NumPy
   view (``ctx.batch.positions[0, 0]``) — on a small system (13 atoms) so the step itself is short;
   (median CPU time with the hook − median CPU time without) / firings, runs interleaved.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/bench_python.py [--steps 500] [--repeat 5]
        [--threads 1] [--hook-steps 20000] [--build build/release]

Prints a table and a last line of JSON (the figures in docs/benchmarks.md).
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

import batchmd
from batchmd.data import Batch
from batchmd.dynamics import FIRE, DemoDynamics, FusedStage, Langevin, ConvergenceHook
from batchmd.dynamics.hooks import DynamicsStage, Hook, SnapshotHook
from batchmd.dynamics.sinks import HostMemory
from batchmd.models import LennardJones


def python_run(start, job, steps, every):
    """The pipeline of bench_python_ref.cpp, from Python; returns (wall s, CPU s of run(), snapshots)."""
    batch = start.clone()
    model = LennardJones(**batchmd.app.job_model_parameters())
    fire = FIRE(model=model, dt=job["dt_fs"], convergence_hook=ConvergenceHook.from_fmax(0.005))
    fire.set_convergence(fire.convergence | batchmd.dynamics.Convergence.steps(1000))
    nvt = Langevin(model=model, dt=job["dt_fs"], temperature=40.0, friction=0.01, random_seed=job["seed"])
    sink = HostMemory(capacity=(steps // every + 1) * start.n_systems)
    hook = SnapshotHook(sink=sink, frequency=every)
    fused = FusedStage([fire, nvt], n_steps=steps, hooks=[hook])
    c0, t0 = time.process_time(), time.perf_counter()
    fused.run(batch)
    return time.perf_counter() - t0, time.process_time() - c0, hook.snapshots


def cpp_run(binary, steps, every, threads):
    out = subprocess.run([str(binary), "--steps", str(steps), "--every", str(every), "--repeat", "1",
                          "--threads", str(threads)], check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    return r["seconds"][0], r["cpu_seconds"][0], r["snapshots"]


class Empty(Hook):
    stage = DynamicsStage.AFTER_STEP

    def __call__(self, ctx):
        pass


class ReadPositions(Hook):
    stage = DynamicsStage.AFTER_STEP

    def __call__(self, ctx):
        ctx.batch.positions[0, 0]


def hook_cost(steps, repeat):
    """Microseconds per firing of each Python hook kind (frequency 1)."""
    from ase.cluster import Icosahedron

    atoms = Icosahedron("Ar", noshells=2, latticeconstant=5.4)
    del atoms.arrays["tags"]
    start = Batch.from_atoms([atoms])
    times = {"none": [], "empty": [], "read_positions": []}
    for _ in range(repeat):
        for kind in times:
            batch = start.clone()
            hooks = {"none": [], "empty": [Empty()], "read_positions": [ReadPositions()]}[kind]
            md = DemoDynamics(model=LennardJones(), n_steps=steps, dt=1.0, hooks=hooks)
            c0 = time.process_time()
            md.run(batch)
            times[kind].append(time.process_time() - c0)
    base = statistics.median(times["none"])
    return {
        "step_us": 1e6 * base / steps,
        "empty_hook_us": 1e6 * (statistics.median(times["empty"]) - base) / steps,
        "read_positions_hook_us": 1e6 * (statistics.median(times["read_positions"]) - base) / steps,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hook-steps", type=int, default=20000)
    ap.add_argument("--build", default=str(pathlib.Path(batchmd.__file__).resolve().parents[2]))
    args = ap.parse_args()

    binary = pathlib.Path(args.build) / "bench" / "bench_python_ref"
    if not binary.exists():
        sys.exit(f"bench_python: {binary} not found (build the bench targets, or pass --build)")
    batchmd.set_num_threads(args.threads)
    job = batchmd.app.job_run_parameters()
    start = batchmd.app.build_systems()

    runs = {"cpp": [], "python": []}  # (wall, cpu) per run
    for _ in range(args.repeat):  # alternate, so drifts in machine load hit both alike
        wall, cpu, n_cpp = cpp_run(binary, args.steps, args.every, args.threads)
        runs["cpp"].append((wall, cpu))
        wall, cpu, n_py = python_run(start, job, args.steps, args.every)
        runs["python"].append((wall, cpu))
    assert n_py == n_cpp, (n_py, n_cpp)

    def med(side, k):
        return statistics.median(r[k] for r in runs[side])

    ratio_cpu = med("python", 1) / med("cpp", 1)
    ratio_wall = med("python", 0) / med("cpp", 0)
    hooks = hook_cost(args.hook_steps, args.repeat)

    print(f"whole run: {start.n_systems} systems, {start.n_atoms} atoms, {args.steps} steps, "
          f"{n_py} snapshots, {args.threads} thread(s), {args.repeat} runs each (CPU s / wall s)")
    for side in ("cpp", "python"):
        listing = ", ".join(f"{c:.3f}/{w:.3f}" for w, c in runs[side])
        print(f"  {side:7s} median CPU {med(side, 1):7.3f} s, wall {med(side, 0):7.3f} s   ({listing})")
    print(f"  Python / C++: CPU time {ratio_cpu:.4f} ({100 * (ratio_cpu - 1):+.2f} %), wall time "
          f"{ratio_wall:.4f} ({100 * (ratio_wall - 1):+.2f} %); target <= +2 %")
    print(f"Python hook per firing, CPU time ({args.hook_steps} steps of 13 atoms, step {hooks['step_us']:.2f} us):")
    print(f"  empty hook             {hooks['empty_hook_us']:.3f} us")
    print(f"  reads positions (view) {hooks['read_positions_hook_us']:.3f} us")
    print(json.dumps({"cpp": runs["cpp"], "python": runs["python"], "ratio_cpu": ratio_cpu,
                      "ratio_wall": ratio_wall, **hooks, "steps": args.steps, "threads": args.threads}))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
