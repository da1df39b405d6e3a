#!/usr/bin/env bash
# Runs LAMMPS's in.lj and batchmd's bench_lj side by side on one thread, alternating, and
# prints each run's figures and the speed ratio. Needs lammps (scripts/setup.sh installs it).
# Usage: bench/lj_vs_lammps.sh [repeats=3]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
scripts/build.sh release >/dev/null
command -v lmp >/dev/null || { echo "lmp not found: run scripts/setup.sh" >&2; exit 1; }
tmp=$(mktemp -d)
cp bench/in.lj "$tmp/"
export OMP_NUM_THREADS=1
for r in $(seq "$reps"); do
  lout=$( cd "$tmp" && /usr/bin/time -f "rss_kb %M" lmp -in in.lj -log none 2>&1 )
  lt=$(echo "$lout" | awk '/Loop time/{print $4}')
  lrss=$(echo "$lout" | awk '/rss_kb/{print $2/1024}')
  bout=$(/usr/bin/time -f "rss_kb %M" build/release/bench/bench_lj --threads 1 2>&1)
  bt=$(echo "$bout" | awk '/loop_time_s/{print $2}')
  brss=$(echo "$bout" | awk '/rss_kb/{print $2/1024}')
  echo "run $r: LAMMPS loop ${lt}s (${lrss} MB peak RSS)  batchmd loop ${bt}s (${brss} MB peak RSS)  speed ratio batchmd/LAMMPS = $(awk -v a="$lt" -v b="$bt" 'BEGIN{printf "%.3f", a/b}')x"
done
rm -rf "$tmp"
