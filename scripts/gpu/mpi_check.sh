#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# On the GPU machine (after scripts/gpu/pack.sh here, carrying .gpu_pack and unpacking it there:
# tar xzf .gpu_pack/carry.tgz): MPI ranks on the GPU. For the NVE and the fused FIRE -> Langevin
# test jobs (tests/mpi, skin = 0), one GPU process and mpirun -np 1, 2, 3 (device "auto", and
# "cuda:0" for 3 ranks sharing it) must write the same chunks, byte for byte; then a 2-rank run is
# continued with --restart on 3 ranks. The carried batchmd links Debian's Open MPI; the machine's
# own Open MPI (and its libstdc++) is used instead of the carried copies.
#   scripts/gpu/mpi_check.sh [out_dir]      (exit 1 on any difference or failed run)
set -u
cd "$(dirname "$0")/../.."
W=${1:-/tmp/mpi_gpu}
mkdir -p "$W" .gpu_carry/lib_mpi
for f in .gpu_carry/lib/*; do
  case $(basename "$f") in libmpi* | libopen-* | libpmix* | libstdc++* | libgcc_s*) ;; *) ln -sf "$PWD/$f" .gpu_carry/lib_mpi/ ;; esac
done
export LD_LIBRARY_PATH=$PWD/.gpu_carry/lib_mpi OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
B=.gpu_carry/bin/batchmd
mpi=(timeout 300 mpirun --allow-run-as-root --oversubscribe)
bad=0
for job in nve relax_nvt; do
  "$B" run "tests/mpi/$job.toml" -q -o "$W/$job.single.zarr" --device cuda:0 >"$W/$job.single.log" 2>&1 || { echo "$job: the single GPU process failed"; bad=1; }
  "${mpi[@]}" -np 1 "$B" run "tests/mpi/$job.toml" -o "$W/$job.r1.zarr" --device auto >"$W/$job.r1.log" 2>&1 || bad=1
  "${mpi[@]}" -np 2 "$B" run "tests/mpi/$job.toml" -o "$W/$job.r2.zarr" --device auto >"$W/$job.r2.log" 2>&1 || bad=1
  "${mpi[@]}" -np 3 "$B" run "tests/mpi/$job.toml" -o "$W/$job.r3.zarr" --device cuda:0 >"$W/$job.r3.log" 2>&1 || bad=1
  grep -m1 -E "on cuda" "$W/$job.r2.log"
  for r in r1 r2 r3; do
    # zarr.json holds the writer's run record (ranks, command line); every chunk must be equal.
    if diff -rq -x zarr.json -x '*.lock' -x '.batchmd-lock' "$W/$job.single.zarr" "$W/$job.$r.zarr" >"$W/$job.$r.diff" 2>&1; then
      echo "$job, $r: every chunk equal to the single GPU process's"
    else
      echo "$job, $r: DIFFERS"; head -5 "$W/$job.$r.diff"; bad=1
    fi
  done
done
"${mpi[@]}" -np 2 "$B" run tests/mpi/nve.toml -q -o "$W/restart.zarr" --device auto --steps 20 >"$W/restart1.log" 2>&1 || bad=1
"${mpi[@]}" -np 3 "$B" run tests/mpi/nve.toml -q --restart "$W/restart.zarr" --device auto >"$W/restart2.log" 2>&1 || bad=1
tail -2 "$W/restart2.log"
[ "$bad" = 0 ] && echo "mpi_check: all equal" || echo "mpi_check: FAILED (logs in $W)"
exit "$bad"
