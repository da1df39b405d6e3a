#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the CUDA release build here and copies what the GPU machine needs into .gpu_carry/: the
# GPU test executables, batchmd, the GPU benchmarks and every shared library they load beyond
# glibc (the GPU machine has no package access). Then, on the GPU machine, from the repo root:
#   scripts/gpu/check.sh [tests|sanitize|run|bench|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh release >/dev/null
[ -x build/release/tests/core/test_core_gpu ] || { echo "pack.sh: the release build has no CUDA backend (is nvcc installed?)" >&2; exit 1; }
rm -rf .gpu_carry && mkdir -p .gpu_carry/bin .gpu_carry/lib
cp build/release/batchmd .gpu_carry/bin/
find build/release/tests -maxdepth 2 -type f -name 'test_*_gpu' -perm -u+x -exec cp {} .gpu_carry/bin/ \;
for b in bench_gpu_md bench_gpu_sinks bench_lj; do
  [ -x "build/release/bench/$b" ] && cp "build/release/bench/$b" .gpu_carry/bin/
done
for b in .gpu_carry/bin/*; do ldd "$b" | awk '/=>/{print $3}'; done | sort -u |
  grep -v -E "/(libc|libm|libpthread|libdl|librt)\.so|ld-linux" | xargs -r -I{} cp -L {} .gpu_carry/lib/
strip .gpu_carry/bin/* 2>/dev/null || true
du -sh .gpu_carry
ls .gpu_carry/bin
