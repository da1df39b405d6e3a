#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`batchmd run` under mpirun, as real processes (label mpi; tests/mpi/CMakeLists.txt).

Each scenario starts mpirun with 1, 2 or 3 ranks (oversubscribed: CI has 2 cores) and reads the
stores with zarr-python, a reader independent of batchmd's own:

  equal_nve            NVE job: the store of 1, 2 and 3 ranks equals the single-process store,
                       every array bit for bit, samples in the same order
  equal_relax          FIRE then Langevin (fused): ranks finish at different steps; same promise
  restart_other_ranks  2 ranks run, 3 ranks continue with --restart: equal to one process doing both
  kill_rank            rank 1 SIGKILLed mid-run: mpirun ends (no hang) with a message naming the
                       rank; the store holds whole snapshots; inspect, convert and a restart with 3
                       ranks work
  kill_pipeline        the same for --mpi-pipeline (rank 1 runs the second stage)
  too_many_ranks       3 ranks for 2 systems: exit code 2 and a message saying what to do
  pipeline             --mpi-pipeline (FIRE on one group of ranks, Langevin on the next) with 2 and 3
                       ranks: equal to the fused single-process store bit for bit; bad uses refused

Usage: mpi_runs.py SCENARIO --batchmd EXE --mpirun MPIRUN --jobs DIR --workdir DIR
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import zarr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from batchmd_runs import check, env, fail, rank_pid  # noqa: E402
import batchmd_runs  # noqa: E402

ARGS = None
TIMEOUT = 120  # s for one command; a hang fails the test instead of blocking CI


def run(cmd, expect=0):
    return batchmd_runs.run(cmd, ARGS.workdir, TIMEOUT, expect)


def mpirun_cmd(n, args):
    return [ARGS.mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(n), ARGS.batchmd] + args


def job(name):
    return os.path.join(ARGS.jobs, name)


def arrays(path):
    """Every array of the store (meta/ and core/) and the root attributes."""
    g = zarr.open_group(os.path.join(ARGS.workdir, path), mode="r")
    out = {}
    for grp in ("meta", "core"):
        for name, a in g[grp].arrays():
            out[f"{grp}/{name}"] = a[...]
    return out, dict(g.attrs)


def assert_same_store(a, b):
    xa, atta = arrays(a)
    xb, attb = arrays(b)
    check(sorted(xa) == sorted(xb), f"{a} and {b} hold different arrays: {sorted(xa)} vs {sorted(xb)}")
    check(atta["num_samples"] == attb["num_samples"],
          f"{a}: {atta['num_samples']} samples, {b}: {attb['num_samples']}")
    for k in xa:
        check(xa[k].dtype == xb[k].dtype and xa[k].shape == xb[k].shape,
              f"{k}: {xa[k].dtype}{xa[k].shape} in {a}, {xb[k].dtype}{xb[k].shape} in {b}")
        if xa[k].tobytes() != xb[k].tobytes():
            diff = np.argwhere(xa[k] != xb[k])
            fail(f"{k} differs between {a} and {b} (first at {diff[:3].tolist()}, "
                 f"{xa[k][tuple(diff[0])] if len(diff) else '?'} vs {xb[k][tuple(diff[0])] if len(diff) else '?'})")
    print(f"  {b} == {a}: {atta['num_samples']} samples, {len(xa)} arrays bit for bit")
    return xa


def samples_sorted(path):
    """Every sample of the store as (step, system_id) -> {field: bytes}, for stores whose samples
    are the same in another order (the relaxed-structure store of several ranks)."""
    g = zarr.open_group(os.path.join(ARGS.workdir, path), mode="r")
    n = g.attrs["num_samples"]
    levels = g.attrs["fields"]["core"]
    ap = g["meta/atoms_ptr"][...]
    data = {name: a[...] for name, a in g["core"].arrays()}
    out = {}
    for i in range(n):
        key = (int(data["step"].reshape(-1)[i]), int(data["system_id"].reshape(-1)[i]))
        rec = {}
        for name, a in data.items():
            rec[name] = (a[ap[i]:ap[i + 1]] if levels[name] == "atom" else a[i]).tobytes()
        check(key not in out, f"{path}: sample (step, system) {key} twice")
        out[key] = rec
    return out


def assert_same_samples(a, b):
    sa, sb = samples_sorted(a), samples_sorted(b)
    check(sorted(sa) == sorted(sb), f"{a} and {b} hold samples of different (step, system_id)")
    for k in sa:
        check(sa[k] == sb[k], f"sample {k} differs between {a} and {b}")
    print(f"  {b} == {a}: {len(sa)} samples bit for bit, sorted by (step, system_id)")


def whole_snapshots(path, n_systems):
    """Every snapshot step holds each system exactly once."""
    x, attrs = arrays(path)
    n = attrs["num_samples"]
    check(n > 0 and n % n_systems == 0, f"{path}: {n} samples is not whole snapshots of {n_systems} systems")
    ids = x["core/system_id"].reshape(-1)
    for k in range(n // n_systems):
        block = sorted(ids[k * n_systems:(k + 1) * n_systems].tolist())
        check(block == list(range(n_systems)), f"{path}: snapshot {k} holds systems {block}")
    return n


def fresh(*paths):
    for p in paths:
        shutil.rmtree(os.path.join(ARGS.workdir, p), ignore_errors=True)


def equal(job_file, n_systems, expect_samples):
    fresh("single.zarr", "r1.zarr", "r2.zarr", "r3.zarr", "single.relaxed.zarr", "r1.relaxed.zarr",
          "r2.relaxed.zarr", "r3.relaxed.zarr")
    run([ARGS.batchmd, "run", job(job_file), "-q", "-o", "single.zarr"])
    n = whole_snapshots("single.zarr", n_systems)
    check(n == expect_samples, f"single.zarr holds {n} samples, expected {expect_samples}")
    for ranks in (1, 2, 3):
        p = run(mpirun_cmd(ranks, ["run", job(job_file), "-q", "-o", f"r{ranks}.zarr"]))
        if ranks > 1:
            check(f"x {ranks} MPI ranks" in p.stdout, "the header does not name the ranks")
            check(p.stdout.count("Summary") == 1, "the summary is printed by rank 0 only")
        assert_same_store("single.zarr", f"r{ranks}.zarr")
        check(f"{expect_samples} samples in r{ranks}.zarr" in p.stdout, "the summary's sample count")
        if os.path.exists(os.path.join(ARGS.workdir, "single.relaxed.zarr")):
            assert_same_samples("single.relaxed.zarr", f"r{ranks}.relaxed.zarr")


def scenario_equal_nve():
    # 45 steps, snapshots fire at 0, 10, 20, 30, 40, and the final state at 45: 6 x 8 samples.
    equal("nve.toml", 8, 48)


def scenario_equal_relax():
    # 7 systems; snapshots every 7 steps. Systems finish their stages at different steps.
    equal("relax_nvt.toml", 7, count_relax_samples())
    x, _ = arrays("r3.zarr")
    status = x["core/status"].reshape(-1)
    check((status == 2).any(), "no system finished both stages: the test job no longer exercises early ends")
    check(samples_sorted("single.relaxed.zarr"), "the job writes no relaxed structures: the test checks nothing")


def count_relax_samples():
    fresh("probe.zarr", "probe.relaxed.zarr")
    run([ARGS.batchmd, "run", job("relax_nvt.toml"), "-q", "-o", "probe.zarr"])
    _, attrs = arrays("probe.zarr")
    return attrs["num_samples"]


def scenario_restart_other_ranks():
    fresh("s.zarr", "m.zarr")
    run([ARGS.batchmd, "run", job("nve.toml"), "-q", "--steps", "25", "-o", "s.zarr"])
    run([ARGS.batchmd, "run", "--restart", "s.zarr", "-q", "--steps", "20"])
    run(mpirun_cmd(2, ["run", job("nve.toml"), "-q", "--steps", "25", "-o", "m.zarr"]))
    p = run(mpirun_cmd(3, ["run", "--restart", "m.zarr", "-q", "--steps", "20"]))
    check("restarting at step 25" in p.stdout, "the restart header")
    assert_same_store("s.zarr", "m.zarr")


def samples(path):
    attrs_file = os.path.join(ARGS.workdir, path, ".zattrs")
    try:
        with open(attrs_file) as f:
            return json.load(f).get("num_samples", 0)
    except (OSError, ValueError):
        return 0


def scenario_kill_rank():
    fresh("kill.zarr", "kill.xyz")
    out = os.path.join(ARGS.workdir, "kill.zarr")
    cmd = mpirun_cmd(2, ["run", job("nve.toml"), "-q", "--steps", "1000000", "-o", out])
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ARGS.workdir, env=env())
    deadline = time.time() + 60
    while samples("kill.zarr") < 3 * 8 and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    if p.poll() is not None:
        fail("the run ended before it could be killed: " + p.stderr.read()[-1500:])
    victim = rank_pid(1, out)
    check(victim is not None, "rank 1's process not found")
    os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    try:
        stdout, stderr = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("mpirun still runs 60 s after rank 1 was killed: the job hangs")
    print(f"  mpirun ended {time.time() - t0:.1f} s after rank 1 was killed, exit code {p.returncode}")
    sys.stdout.write(stderr[-2000:])
    check(p.returncode != 0, "mpirun reported success after a rank was killed")
    check("rank 1" in stderr and ("signal 9" in stderr or "Killed" in stderr),
          "mpirun's message does not name the killed rank")
    n = whole_snapshots("kill.zarr", 8)
    print(f"  the store holds {n} samples = {n // 8} whole snapshots")
    q = run([ARGS.batchmd, "inspect", "kill.zarr"])
    check(f"{n} samples" in q.stdout or str(n) in q.stdout, "inspect does not report the samples")
    run([ARGS.batchmd, "convert", "kill.zarr", "kill.xyz"])
    with open(os.path.join(ARGS.workdir, "kill.xyz")) as f:
        frames = sum(1 for line in f if line.startswith("Lattice=") or "Properties=" in line)
    check(frames == n, f"convert wrote {frames} frames for {n} samples")
    run(mpirun_cmd(3, ["run", "--restart", "kill.zarr", "-q", "--steps", "20"]))
    m = whole_snapshots("kill.zarr", 8)
    check(m > n, "the restart appended nothing")
    print(f"  restarted with 3 ranks: {m} samples")


def scenario_kill_pipeline():
    """The stage pipeline with its NVE rank killed: rank 0 has written only whole snapshots."""
    fresh("killp.zarr", "killp.relaxed.zarr")
    toml = os.path.join(ARGS.workdir, "two_stages.toml")
    with open(job("nve.toml")) as f:
        text = f.read()
    with open(toml, "w") as f:  # FIRE for 5 steps, then NVE with no end: systems live on rank 1
        f.write(text.replace("[[liquid]]", "[[stage]]\ntype = \"fire\"\nmax_steps = 5\n\n"
                             "[[stage]]\ntype = \"velocity_verlet\"\n\n[[liquid]]", 1))
    out = os.path.join(ARGS.workdir, "killp.zarr")
    cmd = mpirun_cmd(2, ["run", toml, "-q", "--mpi-pipeline", "--steps", "1000000", "-o", out])
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ARGS.workdir, env=env())
    deadline = time.time() + 60
    while samples("killp.zarr") < 3 * 8 and time.time() < deadline and p.poll() is None:
        time.sleep(0.05)
    if p.poll() is not None:
        fail("the run ended before it could be killed: " + p.stderr.read()[-1500:])
    victim = rank_pid(1, out)
    check(victim is not None, "rank 1's process not found")
    os.kill(victim, signal.SIGKILL)
    try:
        _, stderr = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("mpirun still runs 60 s after rank 1 was killed: the job hangs")
    check(p.returncode != 0 and "rank 1" in stderr, "mpirun did not fail naming the killed rank")
    n = whole_snapshots("killp.zarr", 8)
    print(f"  the store holds {n} samples = {n // 8} whole snapshots")
    run([ARGS.batchmd, "inspect", "killp.zarr"])
    run(mpirun_cmd(3, ["run", "--restart", "killp.zarr", toml, "-q", "--steps", "20"]))
    check(whole_snapshots("killp.zarr", 8) > n, "the restart appended nothing")


def scenario_too_many_ranks():
    fresh("few.zarr")
    toml = os.path.join(ARGS.workdir, "two_systems.toml")
    with open(toml, "w") as f:
        f.write("[run]\nsteps = 5\n[[cluster]]\ncount = 2\natoms = 13\n[output]\nprogress = false\nformat = \"v2\"\n")
    p = run(mpirun_cmd(3, ["run", toml, "-q", "-o", "few.zarr"]), expect=None)
    check(p.returncode == 2, f"exit code {p.returncode}, expected 2")
    check("2 systems for 3 MPI ranks" in p.stderr and "mpirun -np 2" in p.stderr,
          "the message does not say what is wrong and what to do")
    # The path is usable afterwards: a run with as many ranks as systems takes it.
    run(mpirun_cmd(2, ["run", toml, "-q", "-o", "few.zarr"]))
    whole_snapshots("few.zarr", 2)


def scenario_pipeline():
    fresh("fused.zarr", "p2.zarr", "p3.zarr", "fused.relaxed.zarr", "p2.relaxed.zarr", "p3.relaxed.zarr")
    run([ARGS.batchmd, "run", job("relax_nvt.toml"), "-q", "-o", "fused.zarr"])
    for ranks in (2, 3):
        p = run(mpirun_cmd(ranks, ["run", job("relax_nvt.toml"), "-q", "--mpi-pipeline", "-o", f"p{ranks}.zarr"]))
        check("finished 7" in p.stdout, "the summary does not show every system finished")
        assert_same_store("fused.zarr", f"p{ranks}.zarr")
        assert_same_samples("fused.relaxed.zarr", f"p{ranks}.relaxed.zarr")
    # One stage: nothing to pipeline. One rank: no groups.
    p = run(mpirun_cmd(2, ["run", job("nve.toml"), "-q", "--mpi-pipeline", "-o", "bad.zarr"]), expect=2)
    check("the job has one stage" in p.stderr, "no message for a one-stage pipeline")
    p = run([ARGS.batchmd, "run", job("relax_nvt.toml"), "-q", "--mpi-pipeline", "-o", "bad.zarr"], expect=2)
    check("start batchmd with mpirun" in p.stderr, "no message for a pipeline without mpirun")
    check(not os.path.exists(os.path.join(ARGS.workdir, "bad.zarr")), "a refused run left a store behind")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--batchmd", required=True)
    ap.add_argument("--mpirun", required=True)
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--workdir", required=True)
    ARGS = ap.parse_args()
    ARGS.batchmd, ARGS.jobs, ARGS.workdir = (os.path.abspath(p) for p in (ARGS.batchmd, ARGS.jobs, ARGS.workdir))
    os.makedirs(ARGS.workdir, exist_ok=True)
    globals()["scenario_" + ARGS.scenario]()
    print("PASS " + ARGS.scenario)


if __name__ == "__main__":
    main()
