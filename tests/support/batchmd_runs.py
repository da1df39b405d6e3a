# SPDX-License-Identifier: Apache-2.0
"""What the scripts that drive the real batchmd binary share (tests/mpi/mpi_runs.py,
tests/app/inflight_runs.py): failing with a message, running a command with a timeout in a work
directory, the environment of the processes started (with their own Open MPI session directory),
and finding a rank's process."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def env():
    """The environment of the processes started here. Under the sanitizers (asan preset) leak
    checking is off for them: Open MPI's components are dlopen()ed, allocate at MPI_Init and are
    unloaded at MPI_Finalize, so LeakSanitizer reports their memory from "<unknown module>" at exit
    and no suppression can name it. Memory errors (ASan) and undefined behaviour (UBSan) are still
    fatal; test_mpi (no MPI) keeps leak checking."""
    e = dict(os.environ)
    if "ASAN_OPTIONS" in e:
        e["ASAN_OPTIONS"] += ":detect_leaks=0"
    e["TMPDIR"] = e["OMPI_MCA_orte_tmpdir_base"] = ompi_dir()
    return e


_ompi_dir = None


def ompi_dir():
    """This script's own directory for Open MPI's session files (mpirun's and PMIx's). With the
    shared default (/tmp/ompi.<host>.<uid>) two mpiruns that start and end at the same moment (CTest
    runs tests in parallel) race: one removes the directory the other is creating its session in,
    and orte_init fails ("A call to mkdir was unable to create the desired directory"). Removed when
    the script exits."""
    global _ompi_dir
    if _ompi_dir is None:
        _ompi_dir = tempfile.mkdtemp(prefix=f"batchmd_ompi_{os.getpid()}_")
        atexit.register(shutil.rmtree, _ompi_dir, True)
    return _ompi_dir


def run(cmd, workdir, timeout, expect=0):
    """Runs cmd in workdir (timeout in s: a hang fails the test), echoes the end of its output and,
    unless expect is None, fails when its exit code is not expect."""
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=env())
    sys.stdout.write(p.stdout[-3000:])
    sys.stdout.write(p.stderr[-3000:])
    if expect is not None:
        check(p.returncode == expect, f"{' '.join(cmd)} exited with {p.returncode}, expected {expect}")
    return p


def rank_pid(rank, marker):
    """The pid of the batchmd process of `rank` whose command line holds `marker`."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{d}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"batchmd") and marker.encode() in cmd and \
                f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ:
            return int(d)
    return None
