#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GPU benchmark figures for docs/benchmarks.md (issue 5), run on the GPU machine from the repo
# root after scripts/gpu/pack.sh (see scripts/gpu/check.sh bench):
#  1. LJ MD throughput (atom-steps/s), (a) one 1,000,188-atom liquid and (b) 4,096 systems of
#     64–256 atoms: batchmd on the GPU (float32, float64), batchmd on the CPU (all cores) and the
#     PyTorch reference bench/torch_lj.py on the same GPU.
#  2. (b) with a SnapshotHook every 10 steps into GPUBuffer, HostMemory and ZarrData vs no hook,
#     alternating, REPS rounds.
#  3. bench_gpu_sinks: GPUBuffer.write and HostMemory-from-GPU bandwidth vs plain cudaMemcpy.
# Usage: bash bench/gpu_md.sh [REPS]   Prints figures only.
set -uo pipefail
root=$(pwd)
export LD_LIBRARY_PATH="$root/.gpu_carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$root/.gpu_carry/bin"
reps="${1:-2}"
tmp=$(mktemp -d)
nvidia-smi -L; nproc
pick() { awk -v k="$1" '$1==k{print $2}'; }
echo "== 1. MD throughput"
for case in batch liquid; do
  for dt in float32 float64; do
    o=$("$bin/bench_gpu_md" --case "$case" --device cuda --dtype "$dt" --steps 1000 2>&1)
    echo "$o" | grep -E "bench_gpu_md|potential|atom_steps|neighbor|mallocs" | tr '\n' ' '; echo
  done
  o=$("$bin/bench_gpu_md" --case "$case" --device cpu --dtype float32 --steps 100 --warmup 5 2>&1)
  echo "$o" | grep -E "bench_gpu_md|cpu_threads|potential|atom_steps" | tr '\n' ' '; echo
  o=$(python3 bench/torch_lj.py --case "$case" --dtype float32 --steps 300 --warmup 20 $([ "$case" = liquid ] && echo --check) 2>&1)
  echo "$o" | grep -E "check|torch_lj|potential|atom_steps|neighbor|peak|Error|error" | tr '\n' ' '; echo
done
echo "== 2. snapshot every 10 steps, case batch, float32, 1000 steps"
declare -A total
for r in $(seq "$reps"); do
  for sink in none gpubuffer host zarr; do
    o=$("$bin/bench_gpu_md" --case batch --device cuda --dtype float32 --steps 1000 --sink "$sink" --every 10 \
        --store "$tmp/t.zarr" 2>&1)
    t=$(echo "$o" | pick loop_time_s)
    [ -z "$t" ] && echo "$o" | tail -5
    total[$sink]=$(awk -v a="${total[$sink]:-0}" -v b="$t" 'BEGIN{print a+b}')
    echo "round $r sink=$sink loop ${t}s samples $(echo "$o" | pick samples_stored) mallocs_in_loop $(echo "$o" | pick cuda_mallocs_in_loop)"
  done
done
for sink in gpubuffer host zarr; do
  echo "slowdown $sink vs no hook: $(awk -v a="${total[$sink]}" -v b="${total[none]}" 'BEGIN{if (b>0) printf "%.3f", a/b}')x"
done
echo "== 3. sink bandwidth"
[ -x "$bin/bench_gpu_sinks" ] && "$bin/bench_gpu_sinks" --dir "$tmp"
rm -rf "$tmp"
