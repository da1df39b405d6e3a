#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs on the GPU machine from the repository root, from binaries packed by scripts/gpu/pack.sh:
#   tests     every GPU test executable (the `gpu` ctest label: CPU vs GPU agreement, GPUBuffer, ...)
#   sanitize  the GPU tests under compute-sanitizer memcheck and racecheck
#   run       `batchmd run --device cuda` on the default job, then `batchmd run` (auto-picks the GPU)
#   bench     bench/gpu_md.sh (MD throughput vs CPU and PyTorch, snapshot costs) and bench_gpu_sinks
# Logs go to $OUT (or ./gpu-logs) as well as stdout. Exit status: non-zero if any step failed.
# A GPU test binary fails by itself when no GPU is usable (tests/core/gpu_test_main.cpp); this
# script also fails when nvidia-smi sees no GPU or a test binary reports a skipped test, so a run
# on a broken driver cannot look green.
set -uo pipefail
root=$(pwd)
export LD_LIBRARY_PATH="$root/.gpu_carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin="$root/.gpu_carry/bin"
logs="${OUT:-$root/gpu-logs}"
mkdir -p "$logs"
what="${1:-all}"
# The GPU machine has no Debian lammps-data: the potential files pack.sh carried stand in.
if [ ! -d /usr/share/lammps/potentials ] && [ -d "$root/.gpu_carry/potentials" ]; then
  mkdir -p /usr/share/lammps && ln -s "$root/.gpu_carry/potentials" /usr/share/lammps/potentials
fi
shift || true
status=0
if ! nvidia-smi -L; then
  echo "check.sh: nvidia-smi sees no GPU (no driver, or no device)" >&2
  status=1
fi
run_tests() {
  # test_torch_gpu loads the libtorch plugin, built against this machine's PyTorch
  # (scripts/gpu/torch_plugin.sh): build it first if it is not there, so its tests run here too.
  if [ -z "${BATCHMD_TORCH_PLUGIN:-}" ] && [ -x "$bin/test_torch_gpu" ]; then
    if [ ! -f "$bin/libbatchmd_torch.so" ] &&
      ! "$root/scripts/gpu/torch_plugin.sh" build >"$logs/torch_plugin_build.log" 2>&1; then
      echo "check.sh: building the libtorch plugin failed ($logs/torch_plugin_build.log): test_torch_gpu will fail" >&2
    fi
    export BATCHMD_TORCH_PLUGIN="$bin/libbatchmd_torch.so"
  fi
  for t in "$bin"/test_*_gpu; do
    echo "== $(basename "$t")"
    "$t" --gtest_brief=1 "$@" >"$logs/$(basename "$t").log" 2>&1
    local rc=$?
    tail -40 "$logs/$(basename "$t").log"
    echo "exit $rc"
    [ "$rc" -eq 0 ] || status=1
    if grep -q "SKIPPED" "$logs/$(basename "$t").log"; then
      echo "check.sh: $(basename "$t") skipped tests; a GPU run must run every test" >&2
      status=1
    fi
  done
}
sanitize() {
  local cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  for tool in memcheck racecheck; do
    for t in "$bin"/test_*_gpu; do
      # racecheck is slow on long runs: the app's 1,000-step jobs get memcheck only (the kernels
      # they run are the ones the other GPU tests cover)
      [ "$tool" = racecheck ] && [ "$(basename "$t")" = test_app_gpu ] && continue
      echo "== compute-sanitizer --tool $tool $(basename "$t") ${SANITIZE_FILTER:-}"
      timeout 400 "$cs" --tool "$tool" --error-exitcode 99 "$t" --gtest_brief=1 ${SANITIZE_FILTER:+--gtest_filter=$SANITIZE_FILTER} \
        >"$logs/sanitize-$tool-$(basename "$t").log" 2>&1
      local rc=$?
      tail -5 "$logs/sanitize-$tool-$(basename "$t").log"
      echo "exit $rc"
      [ "$rc" -eq 0 ] || status=1
    done
  done
}
run_app() {
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && "$bin/batchmd" run --device cuda -q -o gpu.zarr "$@") 2>&1 | tee "$logs/run-cuda.log" || status=1
  # (to a file, then head: head closing the pipe early would fail the step under pipefail)
  (cd "$tmp" && "$bin/batchmd" run -q -o auto.zarr --steps 200) >"$logs/run-auto.log" 2>&1 || status=1
  head -4 "$logs/run-auto.log"
  (cd "$tmp" && "$bin/batchmd" run --device cpu -q -o cpu.zarr "$@") 2>&1 | tail -3 || status=1
  (cd "$tmp" && "$bin/batchmd" inspect gpu.zarr | head -20) || status=1
  rm -rf "$tmp"
}
case "$what" in
  tests) run_tests "$@" ;;
  sanitize) sanitize ;;
  run) run_app "$@" ;;
  bench) bash bench/gpu_md.sh "$@" ;;
  all) run_tests; sanitize; run_app ;;
  *) echo "usage: scripts/gpu/check.sh [tests|sanitize|run|bench|all]" >&2; exit 2 ;;
esac
exit $status
