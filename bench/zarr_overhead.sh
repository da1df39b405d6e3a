#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ZarrData cost on the in.lj run (32,000 atoms, 1,000 steps, positions/velocities/forces every
# 10 steps), one thread, runs alternated so machine noise hits all alike; then write/read
# throughput (bench_zarr) and the zarr-python append baseline.
# Usage: bench/zarr_overhead.sh [repeats=3]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
scripts/build.sh release >/dev/null
export OMP_NUM_THREADS=1
tmp=$(mktemp -d)
declare -A total
for r in $(seq "$reps"); do
  for sink in none zarr-none zarr-zstd1 host; do
    out=$(/usr/bin/time -f "rss_kb %M" build/release/bench/bench_lj --threads 1 --sink "$sink" --store "$tmp/t.zarr" 2>&1)
    t=$(echo "$out" | awk '/loop_time_s/{print $2}')
    rss=$(echo "$out" | awk '/rss_kb/{printf "%.0f", $2/1024}')
    total[$sink]=$(awk -v a="${total[$sink]:-0}" -v b="$t" 'BEGIN{print a+b}')
    echo "run $r sink=$sink loop ${t}s peak RSS ${rss} MB"
  done
done
for sink in zarr-none zarr-zstd1 host; do
  echo "slowdown $sink vs no hook: $(awk -v a="${total[$sink]}" -v b="${total[none]}" 'BEGIN{printf "%.3f", a/b}')x"
done
build/release/bench/bench_zarr --dir "$tmp"
build/release/bench/bench_zarr --dir "$tmp" --format v2 | grep -E "zarr_none_write"
/usr/bin/python3 bench/zarr_python_append.py 100
rm -rf "$tmp"
