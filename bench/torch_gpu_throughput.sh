#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GPU throughput of a MACE-like TorchScript model (tests/model/torch_models.py's "mace": two
# message-passing layers in MACE's LAMMPS export signature, elements H, O, Cu, r_max 4.5 Å) run by
# `batchmd run --device cuda`: one Cu liquid of 108 atoms, the same batched 256 times (27,648
# atoms), and one liquid of 27,436 atoms; atom-steps/s from the run summary (issue 14).
# On the GPU machine after scripts/gpu/pack.sh and scripts/gpu/torch_plugin.sh build:
#   bench/torch_gpu_throughput.sh [steps=100] [batchmd=.gpu_carry/bin/batchmd]
set -euo pipefail
steps=${1:-100}
exe=${2:-.gpu_carry/bin/batchmd}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" tests/model/torch_models.py write "$work" >/dev/null
[ -f "$work/mace.pt" ] || { echo "torch_gpu_throughput.sh: torch_models.py wrote no mace.pt" >&2; exit 1; }
job() {  # name count cells
  cat >"$work/$1.toml" <<JOB
[run]
steps = $steps
dt_fs = 1.0
dtype = "float64"
seed = 3
[model]
type = "torchscript"
file = "mace.pt"
convention = "mace-lammps"
skin = 1.0
[[liquid]]
count = $2
cells = $3
element = 29
density_g_cm3 = 8.9
temperature_K = 300.0
[output]
snapshot_every = 1000000
JOB
}
job one 1 3
job batch256 256 3
job large 1 19
printf '%-28s %8s %8s %14s\n' case systems atoms atom-steps/s
for c in one batch256 large; do
  out=$("$exe" run "$work/$c.toml" --device "${DEVICE:-cuda}" -q -o "$work/$c.zarr" 2>&1) || { echo "$out" | tail -5; exit 1; }
  rate=$(echo "$out" | awk '/atom-steps\/s/ {for (i = 1; i <= NF; i++) if ($i ~ /atom-steps\/s/) print $(i - 1)}' | head -1)
  atoms=$(echo "$out" | awk '/systems .*atoms/ {for (i = 1; i <= NF; i++) if ($i ~ /^atoms/) print $(i - 1)}' | head -1)
  sys=$(echo "$out" | awk '/systems .*atoms/ {print $1; exit}')
  printf '%-28s %8s %8s %14s\n' "$c" "$sys" "$atoms" "$rate"
done
