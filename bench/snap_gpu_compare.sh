#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SNAP GPU kernels, one build against another (issue 13), on the GPU machine from the repo root
# after scripts/gpu/pack.sh (carry .gpu_pack, unpack .gpu_pack/carry.tgz first):
#  1. test_snap_gpu of this build (every shape variable included);
#  2. bench_snap gpu, cases (a) one 2,000-atom W crystal and (b) 1,024 x 128 atoms, the BASE
#     binary (a bench_snap of the other build, e.g. main's, copied beside) and this build's
#     alternating, REPS rounds;
#  3. this build with BATCHMD_SNAP_GPU_LANES = 8, 16, 32 and BATCHMD_SNAP_GPU_GROUP = 16;
#  4. Nsight Compute per kernel (time, FP64 pipe, FP64 instructions) for (a) and (b).
# Usage: bash bench/snap_gpu_compare.sh BASE_BENCH_SNAP [REPS]   Prints figures only; the ncu
# CSVs go to $OUT (or /tmp).
set -uo pipefail
root=$(pwd)
export LD_LIBRARY_PATH="$root/.gpu_carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$root/.gpu_carry/bin"
base="${1:?usage: bash bench/snap_gpu_compare.sh BASE_BENCH_SNAP [REPS]}"
reps="${2:-2}"
out="${OUT:-/tmp}"
nvidia-smi -L
echo "== 1. test_snap_gpu"
timeout 300 "$bin/test_snap_gpu" --gtest_brief=1 2>&1 | tail -15
echo "== 2. base vs this build (atom-steps/s: model, MD)"
for c in a b; do
  for r in $(seq "$reps"); do
    echo "base $c: $(timeout 60 "$base" gpu --case "$c" --steps 10 2>&1 | tail -1)"
    echo "this $c: $(timeout 60 "$bin/bench_snap" gpu --case "$c" --steps 10 2>&1 | tail -1)"
  done
done
echo "== 3. shapes"
for c in a b; do
  for l in 8 16 32; do
    echo "lanes $l $c: $(BATCHMD_SNAP_GPU_LANES=$l timeout 60 "$bin/bench_snap" gpu --case "$c" --steps 10 2>&1 | tail -1)"
  done
  echo "group 16 $c: $(BATCHMD_SNAP_GPU_GROUP=16 timeout 60 "$bin/bench_snap" gpu --case "$c" --steps 10 2>&1 | tail -1)"
done
echo "== 4. Nsight Compute (kernel | metric | value)"
m=gpu__time_duration.sum,sm__pipe_fp64_cycles_active.avg.pct_of_peak_sustained_active
m=$m,smsp__sass_thread_inst_executed_op_dfma_pred_on.sum,smsp__sass_thread_inst_executed_op_dadd_pred_on.sum
m=$m,smsp__sass_thread_inst_executed_op_dmul_pred_on.sum
for c in a b; do
  timeout 200 ncu --kernel-name regex:snap_ --launch-count 5 --metrics "$m" --csv "$bin/bench_snap" gpu --case "$c" \
    --steps 1 >"$out/ncu_snap_$c.csv" 2>/dev/null
  echo "-- ($c), ncu exit $?"
  grep -E '^"' "$out/ncu_snap_$c.csv" | awk -F'","' '{print $5" | "$(NF-2)" | "$NF}' | sed 's/"//g; s/(batchmd::.*//'
done
