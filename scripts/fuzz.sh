#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (the `fuzz` CMake preset: clang-14, -fsanitize=fuzzer,address,
# undefined, CPU only) and runs each for SECONDS (default 60) over its seed corpus.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: zarr_v3_metadata zarr_v2_metadata
#        codec_decode trajectory_reader job_config io_extxyz
#        io_lammps_data io_poscar io_cif; default: all of them, one after another)
# The corpus grows in build/fuzz/corpus/<target> (the seeds in tests/fuzz/corpus are only read);
# a crash stops the script with its input in build/fuzz/artifacts/. Turn such an input into a
# regression test by copying it to tests/fuzz/regressions/<target>/ (test_fuzz_regressions runs
# every file there). FUZZ_JOBS=N runs N processes per target (default 1). FUZZ_PARALLEL=N runs N
# targets at a time (default: the number of cores), each for the full SECONDS, so CI gives every
# target its seconds on one core in 1/N of the wall time (docs/ci.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(zarr_v3_metadata zarr_v2_metadata codec_decode trajectory_reader job_config io_extxyz io_lammps_data
  io_poscar io_cif)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --parallel "$(nproc)"
mkdir -p build/fuzz/artifacts build/fuzz/logs
jobs=()
[ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
# One target: its summary is printed in one piece when it ends; its exit status goes to
# build/fuzz/logs/<target>.status.
fuzz_one() {
  local t=$1 corpus="build/fuzz/corpus/$1" log="build/fuzz/logs/$1.log" dict=() start status
  mkdir -p "$corpus"
  case "$t" in
  job_config) dict=(-dict=tests/fuzz/dict/toml.dict) ;;
  codec_decode) ;;
  io_*) dict=(-dict=tests/fuzz/dict/structures.dict) ;;
  *) dict=(-dict=tests/fuzz/dict/json.dict) ;;
  esac
  start=$(date +%s)
  set +e
  build/fuzz/fuzz/fuzz_"$t" "$corpus" "tests/fuzz/corpus/$t" "${dict[@]}" "${jobs[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="build/fuzz/artifacts/$t-" >"$log" 2>&1
  status=$?
  set -e
  echo "$status" >"build/fuzz/logs/$t.status"
  {
    grep -E "^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Test unit written)" "$log" || true
    echo "fuzz.sh: $t finished in $(($(date +%s) - start)) s (exit $status)"
  } | sed "s|^|[$t] |"
}
parallel="${FUZZ_PARALLEL:-$(nproc)}"
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each, ${parallel} at a time (logs: build/fuzz/logs/)"
for t in "${targets[@]}"; do
  rm -f "build/fuzz/logs/$t.status"
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=0
for t in "${targets[@]}"; do
  status=$(cat "build/fuzz/logs/$t.status" 2>/dev/null || echo missing)
  if [ "$status" != 0 ]; then
    tail -n 60 "build/fuzz/logs/$t.log" >&2 || true
    echo "fuzz.sh: $t failed (exit $status); crash inputs in build/fuzz/artifacts/$t-*" >&2
    failed=1
  fi
done
exit "$failed"
