#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the CPU benchmarks on a quiet machine from prebuilt binaries: LAMMPS in.lj vs batchmd
# bench_lj (alternating), the ZarrData/HostMemory overhead on in.lj, and bench_zarr.
# Prepare the binaries and their shared libraries here with bench/pack_cpu_bench.sh, then run
# this script on the target machine from the repository root. Prints figures only.
set -uo pipefail
root=$(pwd)
export LD_LIBRARY_PATH="$root/.bench_carry/lib" OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated OMPI_MCA_btl=self
bin="$root/.bench_carry/bin"
reps="${1:-3}"
tmp=$(mktemp -d)
cp bench/in.lj "$tmp/"
nproc; lscpu | grep -E "Model name" || true
echo "== in.lj: LAMMPS vs batchmd, one thread, alternating"
for r in $(seq "$reps"); do
  l=$(cd "$tmp" && /usr/bin/time -f "rss_kb %M" "$bin/lmp" -in in.lj -log none 2>&1)
  lt=$(echo "$l" | awk '/Loop time/{print $4}'); lr=$(echo "$l" | awk '/rss_kb/{printf "%.1f", $2/1024}')
  [ -z "$lt" ] && echo "$l" | tail -5
  b=$(/usr/bin/time -f "rss_kb %M" "$bin/bench_lj" --threads 1 2>&1)
  bt=$(echo "$b" | awk '/loop_time_s/{print $2}'); br=$(echo "$b" | awk '/rss_kb/{printf "%.1f", $2/1024}')
  nb=$(echo "$b" | awk '/neighbor_builds/{print $2}')
  echo "run $r: LAMMPS ${lt}s (${lr} MB)  batchmd ${bt}s (${br} MB, ${nb} list builds)  speed ratio $(awk -v a="$lt" -v b="$bt" 'BEGIN{if (b>0) printf "%.3f", a/b}')x"
done
echo "== in.lj with snapshots of positions/velocities/forces every 10 steps, one thread"
declare -A total
for r in $(seq "$reps"); do
  for sink in none zarr-none zarr-zstd1 host; do
    out=$(/usr/bin/time -f "rss_kb %M" "$bin/bench_lj" --threads 1 --sink "$sink" --store "$tmp/t.zarr" 2>&1)
    t=$(echo "$out" | awk '/loop_time_s/{print $2}'); rss=$(echo "$out" | awk '/rss_kb/{printf "%.0f", $2/1024}')
    extra=$(echo "$out" | awk '/hostmemory_allocated_over_raw/{print "allocated/raw " $2}')
    total[$sink]=$(awk -v a="${total[$sink]:-0}" -v b="$t" 'BEGIN{print a+b}')
    echo "run $r sink=$sink loop ${t}s peak RSS ${rss} MB $extra"
  done
done
for sink in zarr-none zarr-zstd1 host; do
  echo "slowdown $sink vs no hook: $(awk -v a="${total[$sink]}" -v b="${total[none]}" 'BEGIN{printf "%.3f", a/b}')x"
done
echo "== bench_zarr (write/read throughput)"
"$bin/bench_zarr" --dir "$tmp"
"$bin/bench_zarr" --dir "$tmp" --format v2 | grep -E "write"
rm -rf "$tmp"
