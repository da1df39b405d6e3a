#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TorchScript adapter overhead on the CPU (docs/benchmarks.md): batchmd's TorchScriptModel against
# the same module called directly — from C++ libtorch and from Python — on the same inputs, for
# one ~100,000-atom system and for 100 systems of 32 atoms. The model is tests/model/torch_models.py's
# many-body model (radial features + MLP, cutoff 5 Å), written here with Debian's python3-torch.
#   bench/torch_overhead.sh [BUILD_DIR] [THREADS]      (default build/release, 1 thread; REPEATS=5)
# Times are process CPU time (all threads), so a loaded machine does not distort them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
threads=${2:-1}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/model/torch_models.py write "$tmp"
echo "threads: $threads"
"$build/bench/bench_torch" "$tmp/manybody.pt" "$tmp" "${REPEATS:-5}" | tee "$tmp/cpp.txt"
for c in one_100k many_100x32; do
  py=$(/usr/bin/python3 bench/bench_torch.py "$tmp/manybody.pt" "$tmp/$c.inputs.pt" "${REPEATS:-5}" | sed 's/direct_python_ms=//')
  ad=$(grep "^$c " "$tmp/cpp.txt" | sed 's/.*adapter_ms=\([0-9.]*\).*/\1/')
  awk -v c="$c" -v a="$ad" -v p="$py" 'BEGIN { printf "%s direct_python_ms=%.3f adapter_vs_python=%+.1f%%\n", c, p, 100 * (a / p - 1) }'
done
