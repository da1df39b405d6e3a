#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copies the benchmark binaries, LAMMPS and every shared library they load into .bench_carry/,
# so bench/device_cpu_bench.sh can run them on a machine without these packages.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release >/dev/null
rm -rf .bench_carry && mkdir -p .bench_carry/bin .bench_carry/lib
cp build/release/bench/bench_lj build/release/bench/bench_zarr build/release/batchmd .bench_carry/bin/
command -v lmp >/dev/null && cp "$(command -v lmp)" .bench_carry/bin/
for b in .bench_carry/bin/*; do ldd "$b" | awk '/=>/{print $3}'; done | sort -u |
  grep -v -E "/(libc|libm|libpthread|libdl|librt)\.so|ld-linux" | xargs -r -I{} cp -L {} .bench_carry/lib/
du -sh .bench_carry
