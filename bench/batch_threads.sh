#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Parallel efficiency on many small systems (bench_batch: 4,096 systems of 13-256 atoms) or on
# in.lj (bench_lj): runs on 1 and N threads alternate, and each pair prints
#  - efficiency (critical path) = CPU of the 1-thread loop / (N × CPU of the busiest thread of the
#    N-thread loop): with OMP_WAIT_POLICY=passive (set here) a waiting thread sleeps, so this is
#    the efficiency as if the run had the cores to itself, less the barriers' wake-up latency;
#    other processes on the machine do not change it (bench/thread_cpu.hpp);
#  - efficiency (wall) = T1 / (N TN), meaningful only when the cores are otherwise idle.
# Usage: bench/batch_threads.sh [pairs=3] [threads=2] [batch|lj] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs="${1:-3}"
n="${2:-2}"
which="${3:-batch}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
if [ "$which" = batch ]; then
  cmd=(build/release/bench/bench_batch --steps "${4:-100}")
else
  cmd=(build/release/bench/bench_lj --steps "${4:-1000}")
fi
for r in $(seq "$pairs"); do
  one=$("${cmd[@]}" --threads 1)
  many=$("${cmd[@]}" --threads "$n")
  w1=$(echo "$one" | awk '/loop_time_s/{print $2}')
  c1=$(echo "$one" | awk '/^cpu_time_s/{print $2}')
  wn=$(echo "$many" | awk '/loop_time_s/{print $2}')
  cn=$(echo "$many" | awk '/^cpu_time_s/{print $2}')
  bn=$(echo "$many" | awk '/busiest_thread_cpu_s/{print $2}')
  awk -v r="$r" -v n="$n" -v w1="$w1" -v c1="$c1" -v wn="$wn" -v cn="$cn" -v bn="$bn" 'BEGIN{
    printf "pair %d: 1 thread cpu %.2fs wall %.2fs | %d threads cpu %.2fs (busiest thread %.2fs) wall %.2fs | efficiency: critical path %.2f, wall %.2f\n",
      r, c1, w1, n, cn, bn, wn, c1 / (n * bn), w1 / (n * wn)}'
done
