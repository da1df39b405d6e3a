#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# MPI scaling of `batchmd run` (docs/mpi.md, figures in docs/benchmarks.md): systems x steps per
# second from the wall time of the whole command (start-up, building the systems and the store
# included), for one process and for 1, 2, ... ranks, side by side in one run, alternating rounds.
#   [ROUNDS=3] [STEPS=N] [WEAK=1] [DEVICE=cpu] bench/mpi_scaling.sh [build/release/batchmd] [JOB] [RANKS...]
#   (default ranks: 1 2; STEPS overrides the job's steps)
#   (DEVICE=cpu: CPU ranks on a machine with GPUs, where the job says device = "auto")
# Strong scaling: the same job on more ranks. Weak scaling: WEAK=1 scales the job's counts with
# the ranks (the job's [[liquid]]/[[cluster]] counts times the rank count).
set -euo pipefail
exe=${1:-build/release/batchmd}
job=${2:-examples/mpi_screening.toml}
shift 2 || true
ranks=("$@")
[ ${#ranks[@]} -eq 0 ] && ranks=(1 2)
rounds=${ROUNDS:-3}
mpirun=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpirun+=(--allow-run-as-root)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
systems=$(awk '/^count/ {n += $3} END {print n}' "$job")
steps=${STEPS:-$(awk '/^steps/ {print $3; exit}' "$job")}

job_for() {  # the job with its counts times $1 (weak scaling)
  if [ "${WEAK:-0}" = 1 ]; then
    awk -v k="$1" '/^count/ {$3 = $3 * k} {print}' "$job" >"$work/job_$1.toml"
    echo "$work/job_$1.toml"
  else
    echo "$job"
  fi
}

measure() {  # label, command...: prints seconds of wall time
  rm -rf "$work/out.zarr"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" -q --steps "$steps" -o "$work/out.zarr" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}'
}

declare -A best
for round in $(seq "$rounds"); do
  for n in "${ranks[@]}"; do
    j=$(job_for "$n")
    s=$(measure "${mpirun[@]}" -np "$n" "$exe" run "$j" --threads 1 ${DEVICE:+--device "$DEVICE"})
    if [ -z "${best[r$n]:-}" ] || awk -v a="$s" -v b="${best[r$n]}" 'BEGIN{exit !(a < b)}'; then best[r$n]=$s; fi
  done
  j=$(job_for 1)
  s=$(measure "$exe" run "$j" --threads "${ranks[-1]}" ${DEVICE:+--device "$DEVICE"})
  if [ -z "${best[single]:-}" ] || awk -v a="$s" -v b="${best[single]}" 'BEGIN{exit !(a < b)}'; then best[single]=$s; fi
done

printf '%-34s %8s %10s %18s %10s\n' "configuration" "systems" "wall s" "system-steps/s" "efficiency"
base=""
for n in "${ranks[@]}"; do
  k=1
  [ "${WEAK:-0}" = 1 ] && k=$n
  sys=$((systems * k))
  rate=$(awk -v a="$sys" -v s="$steps" -v t="${best[r$n]}" 'BEGIN{print a * s / t}')
  [ -z "$base" ] && base=$rate
  eff=$(awk -v r="$rate" -v b="$base" -v n="$n" 'BEGIN{print r / (b * n)}')  # strong and weak alike: the rate per rank kept
  printf '%-34s %8d %10.2f %18.0f %10.2f\n' "mpirun -np $n (1 thread per rank)" "$sys" "${best[r$n]}" "$rate" "$eff"
done
rate=$(awk -v a="$systems" -v s="$steps" -v t="${best[single]}" 'BEGIN{print a * s / t}')
printf '%-34s %8d %10.2f %18.0f %10s\n' "one process, ${ranks[-1]} threads" "$systems" "${best[single]}" "$rate" "-"
echo "(best of $rounds rounds; efficiency = rate / (rate with ${ranks[0]} rank x ranks); $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
