#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the CUDA release build here and copies what the GPU machine needs into .gpu_carry/: the
# GPU test executables, batchmd, the GPU benchmarks and every shared library they load beyond
# glibc (the GPU machine has no package access). Then, on the GPU machine, from the repo root:
#   scripts/gpu/check.sh [tests|sanitize|run|bench|all]
# (carry .gpu_pack and unpack it there first: tar xzf .gpu_pack/carry.tgz), and
#   scripts/gpu/torch_plugin.sh, scripts/gpu/python_ext.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh release >/dev/null
[ -x build/release/tests/core/test_core_gpu ] || { echo "pack.sh: the release build has no CUDA backend (is nvcc installed?)" >&2; exit 1; }
rm -rf .gpu_carry && mkdir -p .gpu_carry/bin .gpu_carry/lib
cp build/release/batchmd .gpu_carry/bin/
find build/release/tests -maxdepth 2 -type f -name 'test_*_gpu' -perm -u+x -exec cp {} .gpu_carry/bin/ \;
for b in bench_gpu_md bench_gpu_sinks bench_lj bench_eam bench_sw bench_snap bench_npt bench_snapshot bench_batch; do
  [ -x "build/release/bench/$b" ] && cp "build/release/bench/$b" .gpu_carry/bin/
done
for b in .gpu_carry/bin/*; do ldd "$b" | awk '/=>/{print $3}'; done | sort -u |
  grep -v -E "/(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s)\.so|ld-linux" | xargs -r -I{} cp -L {} .gpu_carry/lib/
strip .gpu_carry/bin/* 2>/dev/null || true
# For scripts/gpu/python_ext.sh: the static module libraries (position-independent) and the
# headers the bindings need that the GPU machine lacks, to build the extension for its python3.
mkdir -p .gpu_carry/pyext/lib .gpu_carry/pyext/include
find build/release/src -name 'libbatchmd_*.a' -exec cp {} .gpu_carry/pyext/lib/ \;
cp -r /usr/include/nlohmann .gpu_carry/pyext/include/
# The LAMMPS potential files (Debian lammps-data) the GPU tests, benches and examples read;
# scripts/gpu/check.sh links them to /usr/share/lammps/potentials there.
mkdir -p .gpu_carry/potentials
cp /usr/share/lammps/potentials/*.eam* /usr/share/lammps/potentials/*.sw /usr/share/lammps/potentials/*.snap* \
  .gpu_carry/potentials/
du -sh .gpu_carry
ls .gpu_carry/bin
# .gpu_carry is over the device tool's 64 MiB carry limit; its gzip is not. Carry .gpu_pack and
# unpack there first:  tar xzf .gpu_pack/carry.tgz
mkdir -p .gpu_pack && tar czf .gpu_pack/carry.tgz .gpu_carry
du -sh .gpu_pack/carry.tgz
