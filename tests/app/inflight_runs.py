#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`batchmd run` with inflight batching (`[run] inflight_slots`), as real processes (label app;
tests/app/CMakeLists.txt). The stores are read with zarr-python, a reader independent of batchmd.

A plain run records every system at every snapshot, finished systems repeated unchanged; an
inflight run records each system's rows at its own snapshot steps and its end row, each once. So
the promise checked is: the inflight store's samples, keyed by (system_id, step), are exactly the
plain store's samples with the repeats removed, every field bit for bit.

  equal_relax  FIRE then Langevin (fused; systems end at different steps) with 1, 3 and 8 slots
  equal_nve    NVE (no convergence: every system runs the job's steps) with 2 slots
  restart      an inflight run with a per-system budget of 22 steps, continued with --restart up to
               80: the same samples as one run to 80; a restart with nothing left runs nothing
  bad_values   inflight_slots = -1, 1.5, "4", 10^9 + 1: exit code 2 naming run.inflight_slots
  stop         SIGINT mid-run: exit 130, the systems in flight written as they stand; a restart
               completes the job: the uninterrupted run's samples plus those rows, bit for bit

Under mpirun (MPI build; rank 0 hands out the systems as the ranks' slots free up; registered in
tests/mpi/CMakeLists.txt, label mpi):

  mpi_equal    the relax job on 1, 2 and 4 ranks and the NVE job on 4 ranks: the samples of the
               plain single-process run without its repeats, bit for bit, each exactly once
  mpi_restart  2 ranks with a budget of 22 steps, continued on 4 ranks up to 80: as one run to 80
  mpi_kill     rank 1 SIGKILLed mid-run: mpirun ends (no hang) naming it; inspect reads the store;
               a restart on 3 ranks completes it, and the store then holds exactly the samples of
               an uninterrupted run, plus the rows rank 0 may have written for its systems in
               flight when mpirun stopped it (SIGTERM: as `stop`)
  mpi_pipeline --mpi-pipeline with inflight_slots: refused (exit code 2)

Usage: inflight_runs.py SCENARIO --batchmd EXE [--mpirun MPIRUN] --jobs DIR --workdir DIR [--device DEV]
(--device cuda:0 on a GPU machine: the plain and the inflight runs both on the GPU.)
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

import zarr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from batchmd_runs import check, env, fail, rank_pid  # noqa: E402
import batchmd_runs  # noqa: E402

ARGS = None
# s for one command: a hang fails the test instead of blocking CI (longer under the sanitizers)
TIMEOUT = 400 if "ASAN_OPTIONS" in os.environ else 120


def run(cmd, expect=0):
    return batchmd_runs.run(cmd, ARGS.workdir, TIMEOUT, expect)


def batchmd(args, ranks=0):
    """The batchmd command line; under mpirun with `ranks` ranks when ranks > 0. --device DEV (a
    run by hand on a GPU machine) is passed to every `run`."""
    if ARGS.device and args and args[0] == "run":
        args = args + ["--device", ARGS.device]
    if ranks > 0:
        return [ARGS.mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), ARGS.batchmd] + args
    return [ARGS.batchmd] + args


def fresh(*names):
    for n in names:
        p = os.path.join(ARGS.workdir, n)
        shutil.rmtree(p, ignore_errors=True)
        if os.path.exists(p):
            os.remove(p)


def job_file(name, base, run_keys, output_keys=""):
    """A copy of tests/mpi/<base> with extra [run] and [output] keys (TOML text), in the work dir."""
    with open(os.path.join(ARGS.jobs, base)) as f:
        text = f.read()
    check("[run]\n" in text and "[output]\n" in text, f"{base} has no [run] or [output] table")
    text = text.replace("[run]\n", "[run]\n" + run_keys + "\n", 1)
    text = text.replace("[output]\n", "[output]\n" + output_keys + "\n", 1)
    path = os.path.join(ARGS.workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def samples(path, allow_repeats):
    """(system_id, step) -> {field: bytes} for every sample of the store. A repeated key must
    repeat the sample exactly (a plain run's finished systems) and is refused when not allowed."""
    g = zarr.open_group(os.path.join(ARGS.workdir, path), mode="r")
    n = g.attrs["num_samples"]
    levels = g.attrs["fields"]["core"]
    ap = g["meta/atoms_ptr"][...]
    data = {name: a[...] for name, a in g["core"].arrays()}
    out = {}
    for i in range(n):
        key = (int(data["system_id"].reshape(-1)[i]), int(data["step"].reshape(-1)[i]))
        rec = {}
        for name, a in data.items():
            rec[name] = (a[ap[i]:ap[i + 1]] if levels[name] == "atom" else a[i]).tobytes()
        if key in out:
            check(allow_repeats, f"{path}: sample (system, step) {key} stored twice")
            check(out[key] == rec, f"{path}: the repeats of sample {key} differ")
        out[key] = rec
    return out


def assert_same_samples(plain, inflight, plain_repeats=True):
    a = samples(plain, plain_repeats)
    b = samples(inflight, False)
    check(len(a) > 0, f"{plain} holds no samples")
    missing = sorted(set(a) - set(b))
    extra = sorted(set(b) - set(a))
    check(not missing, f"{inflight} lacks samples (system, step) of {plain}: {missing[:8]}")
    check(not extra, f"{inflight} holds samples (system, step) {plain} does not: {extra[:8]}")
    for key in a:
        check(sorted(a[key]) == sorted(b[key]), f"sample {key}: fields {sorted(a[key])} vs {sorted(b[key])}")
        for name in a[key]:
            check(a[key][name] == b[key][name], f"sample {key}: field {name} differs between {plain} and {inflight}")
    systems = {k[0] for k in a}
    print(f"  {inflight} == {plain} without repeats: {len(a)} samples of {len(systems)} systems, bit for bit")
    return a


def stop_rows(stopped, whole, what):
    """The rows of `stopped` (samples()) that the uninterrupted run `whole` lacks: those a stopped
    run writes for its systems in flight as they stand — at most one per slot (2), one per system."""
    extra = {k for k in stopped if k not in whole}
    check(len(extra) <= 2 and len({k[0] for k in extra}) == len(extra),
          f"{what}: {sorted(extra)} (expected at most 2, one per system)")
    return extra


def assert_whole_plus_stop_rows(path, whole, extra):
    """After a restart the store `path` holds every sample of `whole`, bit for bit, plus the stop
    rows `extra`."""
    after = samples(path, False)
    check(set(after) == set(whole) | extra, "after the restart the store does not hold the whole run's samples "
          f"plus the stop rows: missing {sorted(set(whole) - set(after))[:5]}, extra {sorted(set(after) - set(whole) - extra)[:5]}")
    for key in whole:
        check(after[key] == whole[key], f"sample {key} differs from the uninterrupted run's")


def scenario_equal_relax(ranks=0, slot_counts=(1, 3, 8)):
    fresh("plain.zarr", "plain.relaxed.zarr")
    run(batchmd(["run", job_file("plain.toml", "relax_nvt.toml", ""), "-q", "-o", "plain.zarr"]))
    for slots in slot_counts:
        name = f"slots{slots}.zarr"
        fresh(name, name.replace(".zarr", ".relaxed.zarr"))
        p = run(batchmd(["run", job_file(f"slots{slots}.toml", "relax_nvt.toml", f"inflight_slots = {slots}"), "-q",
                         "-o", name], ranks))
        check(f"inflight batching: {slots} slots" in p.stdout, "the header does not say the run is inflight")
        if ranks > 1:  # every rank ran its first share (7 systems dealt evenly, at most `slots` each)
            line = [ln for ln in p.stdout.splitlines() if "systems handed out per rank:" in ln]
            check(len(line) == 1, "the summary does not say which rank ran how many systems")
            handed = [int(x) for x in line[0].split(":")[1].split()]
            first = [min(slots, 7 // ranks + (r < 7 % ranks)) for r in range(ranks)]
            check(len(handed) == ranks and sum(handed) == 7 and all(h >= f for h, f in zip(handed, first)),
                  f"systems handed out per rank: {handed}, each rank's first share: {first}")
        assert_same_samples("plain.zarr", name)
        # The relaxed-structure store: the same converged systems (written as they converge).
        assert_same_samples("plain.relaxed.zarr", name.replace(".zarr", ".relaxed.zarr"), plain_repeats=False)


def scenario_equal_nve(ranks=0):
    fresh("plain.zarr", "slots2.zarr")
    run(batchmd(["run", job_file("plain.toml", "nve.toml", ""), "-q", "-o", "plain.zarr"]))
    run(batchmd(["run", job_file("slots2.toml", "nve.toml", "inflight_slots = 2"), "-q", "-o", "slots2.zarr"], ranks))
    a = assert_same_samples("plain.zarr", "slots2.zarr")
    check(max(k[1] for k in a) == 45, "the NVE systems did not all run the job's 45 steps")


def scenario_restart(ranks=0, ranks_after=0):
    fresh("whole.zarr", "whole.relaxed.zarr", "part.zarr", "part.relaxed.zarr")
    job = job_file("slots3.toml", "relax_nvt.toml", "inflight_slots = 3")
    run(batchmd(["run", job, "-q", "-o", "whole.zarr"]))
    # A budget of 22 steps per system (rows at steps 1, 8, 15, 22: 22 is a snapshot step, so the
    # end rows of the systems that run out are rows of the whole run too), then up to 80.
    run(batchmd(["run", job, "-q", "--steps", "22", "-o", "part.zarr"], ranks))
    part = samples("part.zarr", False)
    check(max(k[1] for k in part) == 22, "the first part ran past its budget of 22 steps")
    p = run(batchmd(["run", "--restart", "part.zarr", "--steps", "80"], ranks_after))
    check("continue from their last row" in p.stdout, "the restart does not say which systems continue")
    assert_same_samples("whole.zarr", "part.zarr", plain_repeats=False)
    assert_same_samples("whole.relaxed.zarr", "part.relaxed.zarr", plain_repeats=False)
    # Nothing left: every system has ended; the store is unchanged.
    p = run(batchmd(["run", "--restart", "part.zarr", "--steps", "80"], ranks_after))
    check("0 systems to run" in p.stdout, "a restart of an ended inflight job ran systems again")
    assert_same_samples("whole.zarr", "part.zarr", plain_repeats=False)


def scenario_bad_values():
    for value in ("-1", "1.5", '"4"', "1000000001"):
        fresh("bad.zarr")
        p = run(batchmd(["run", job_file("bad.toml", "nve.toml", f"inflight_slots = {value}"), "-q", "-o", "bad.zarr"]),
                expect=2)
        check("run.inflight_slots" in p.stderr, f"inflight_slots = {value}: the error does not name the key:\n"
              + p.stderr)
    fresh("bad.zarr")
    p = run(batchmd(["run", job_file("bad.toml", "nve.toml", "inflight_slots = 0"), "-q", "--steps", "3",
                     "-o", "bad.zarr"]))
    check("inflight batching" not in p.stdout, "inflight_slots = 0 ran inflight")


def scenario_mpi_equal():
    for ranks in (1, 2, 4):
        print(f"--- {ranks} ranks")
        scenario_equal_relax(ranks, slot_counts=(1, 3) if ranks < 4 else (2,))
    scenario_equal_nve(4)


def scenario_mpi_restart():
    scenario_restart(ranks=2, ranks_after=4)


def num_samples(path):
    try:
        return zarr.open_group(os.path.join(ARGS.workdir, path), mode="r").attrs["num_samples"]
    except Exception:  # not created yet, or between two commits of its attributes
        return 0


def kill_rank1_mid_run(job, steps, out, at_s):
    """Starts the job on 2 ranks, SIGKILLs rank 1 once the store has its first samples or `at_s`
    seconds have passed (the first commits can lag behind the ranks on a loaded machine), and checks
    that mpirun ends (no hang) naming it. Returns False when the run had already written every
    sample (a kill too late to mean anything: the caller tries again)."""
    fresh(out)
    path = os.path.join(ARGS.workdir, out)
    cmd = batchmd(["run", job, "-q", "--steps", steps, "-o", path], 2)
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ARGS.workdir, env=env())
    t_start = time.time()
    victim = None
    while victim is None and p.poll() is None and time.time() < t_start + 60:
        victim = rank_pid(1, path)
    # at_s counts from rank 1's start, not mpirun's: on an idle machine mpirun's own start-up is
    # longer than the whole single-process run, and the kill then came before the store existed.
    t_ranks = time.time()
    while victim is not None and num_samples(out) < 1 and time.time() < t_ranks + at_s and p.poll() is None:
        time.sleep(0.01)
    if victim is None:
        p.communicate(timeout=TIMEOUT)
        print("  the run ended before it could be killed")
        return False
    os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    try:
        _, stderr = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("mpirun still runs 60 s after rank 1 was killed: the job hangs")
    print(f"  mpirun ended {time.time() - t0:.1f} s after rank 1 was killed, exit code {p.returncode}")
    sys.stdout.write(stderr[-1500:])
    check(p.returncode != 0, "mpirun reported success after a rank was killed")
    check("rank 1" in stderr and ("signal 9" in stderr or "Killed" in stderr),
          "mpirun's message does not name the killed rank")
    return True


def scenario_mpi_kill():
    fresh("whole.zarr", "kill.zarr")
    # Commits every 0.1 s, so that the run is seen writing early; 4,000 steps per system (3,208
    # samples: 0.14 s of work at 800 steps on an idle machine was over before a kill could land),
    # killed after its first commit. On a loaded machine the ranks may have computed
    # everything before rank 0's commits show it: then the kill is tried again (3 times at most).
    job = job_file("kill.toml", "nve.toml", "inflight_slots = 2", "commit_interval_s = 0.1")
    # 800 steps under the sanitizers (slow enough there for a kill to land mid-run).
    steps = "800" if "ASAN_OPTIONS" in os.environ else "4000"
    t0 = time.time()
    run(batchmd(["run", job, "-q", "--steps", steps, "-o", "whole.zarr"]))
    t_whole = time.time() - t0
    whole = samples("whole.zarr", False)
    for attempt in range(3):
        if kill_rank1_mid_run(job, steps, "kill.zarr", at_s=t_whole):
            n = num_samples("kill.zarr")
            if n > 0:
                part = samples("kill.zarr", False)  # each sample at most once
                check(len(part) == n, f"the killed run's store: {n} samples, {len(part)} distinct")
                if len(part) < len(whole):
                    break
        print(f"  attempt {attempt + 1}: the kill came before the first commit or after the last; again")
    else:
        fail("3 runs could not be killed between their first and last commit")
    print(f"  killed with {len(part)} of {len(whole)} samples in the store")
    # mpirun stops rank 0 with SIGTERM after rank 1 dies; rank 0 then writes its own systems in
    # flight as they stand (as `stop` does on SIGINT) when the signal finds it able to: rows of
    # steps the whole run has no sample of. At most one per system, the system's last row, and
    # at most one per slot of rank 0 (2). Whether it gets there depends on timing (seen under
    # load and ASan; it was once taken for a last-bit difference between runs).
    extra = stop_rows(part, whole, "the killed run's rows that the whole run lacks")
    for sid, st in extra:
        check(st == max(s for (i, s) in part if i == sid),
              f"row ({sid}, {st}) is not in the whole run and is not system {sid}'s last row in the killed store")
    for key, rec in part.items():
        if key not in extra:
            check(whole[key] == rec, f"sample {key} of the killed run differs from the whole run's")
    q = run([ARGS.batchmd, "inspect", "kill.zarr"])
    check(str(n) in q.stdout, "inspect does not report the samples")
    run(batchmd(["run", "--restart", "kill.zarr", "-q", "--steps", steps], 3))
    assert_whole_plus_stop_rows("kill.zarr", whole, extra)
    print(f"  restarted on 3 ranks: {len(whole)} samples as one run, bit for bit, plus {len(extra)} stop rows")


def scenario_stop():
    """SIGINT mid-run: exit 130, the systems in flight written as they stand; a restart continues
    them, and the store then holds every sample of an uninterrupted run plus those rows."""
    fresh("whole.zarr", "stop.zarr")
    job = job_file("stop.toml", "nve.toml", "inflight_slots = 2", "commit_interval_s = 0.1")
    steps = "4000"  # 800 steps (0.14 s on an idle machine) could end before the signal
    run(batchmd(["run", job, "-q", "--steps", steps, "-o", "whole.zarr"]))
    cmd = batchmd(["run", job, "-q", "--steps", steps, "-o", "stop.zarr"])
    for attempt in range(3):  # a run that ends before the signal (a fast machine) is tried again
        fresh("stop.zarr")
        print("$ " + " ".join(cmd), flush=True)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ARGS.workdir,
                             env=env())
        deadline = time.time() + 60
        while num_samples("stop.zarr") < 1 and time.time() < deadline and p.poll() is None:
            time.sleep(0.01)
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        _, stderr = p.communicate(timeout=TIMEOUT)
        if p.returncode == 130:
            break
        check(p.returncode == 0, f"exit code {p.returncode}\n{stderr[-1500:]}")
        print(f"  attempt {attempt + 1}: the run ended before the signal; again")
    else:
        fail("3 runs ended before they could be stopped")
    whole = samples("whole.zarr", False)
    stopped = samples("stop.zarr", False)
    # The systems in flight at the stop (2 slots) are written as they stand unless their row of
    # that step was a snapshot row anyway: at most one extra row per slot.
    extra = stop_rows(stopped, whole, "the stopped run's rows of its systems in flight")
    running = [sid for sid in {k[0] for k in stopped} if max(st for (i, st) in stopped if i == sid) < int(steps)]
    check(len(running) <= 2, f"systems left unfinished by the stop: {running} (2 slots)")
    run(batchmd(["run", "--restart", "stop.zarr", "-q", "--steps", steps]))
    assert_whole_plus_stop_rows("stop.zarr", whole, extra)
    print(f"  stopped with {len(extra)} systems in flight; restarted: {len(whole)} samples as one run, bit for bit")


def scenario_mpi_pipeline():
    fresh("pipe.zarr")
    p = run(batchmd(["run", job_file("pipe.toml", "relax_nvt.toml", "inflight_slots = 2"), "--mpi-pipeline", "-q",
                     "-o", "pipe.zarr"], 2), expect=2)
    check("inflight_slots" in p.stderr and "--mpi-pipeline" in p.stderr, "the refusal does not say why")


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--batchmd", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--device", default="", help="e.g. cuda:0: every run on that device (by hand, GPU machine)")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.workdir, exist_ok=True)
    scenarios = {
        "equal_relax": scenario_equal_relax,
        "equal_nve": scenario_equal_nve,
        "restart": scenario_restart,
        "bad_values": scenario_bad_values,
        "stop": scenario_stop,
        "mpi_equal": scenario_mpi_equal,
        "mpi_restart": scenario_mpi_restart,
        "mpi_kill": scenario_mpi_kill,
        "mpi_pipeline": scenario_mpi_pipeline,
    }
    if ARGS.scenario not in scenarios:
        fail(f"unknown scenario {ARGS.scenario}")
    scenarios[ARGS.scenario]()
    print("OK")


if __name__ == "__main__":
    main()
