#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copies the benchmark binaries, LAMMPS and every shared library they load into .bench_carry/,
# so bench/device_cpu_bench.sh (and the thread, EAM, SW and MPI benchmarks) can run them on a
# machine without these packages: carry .bench_pack, then `tar xzf .bench_pack/cpu_carry.tgz` there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release >/dev/null
rm -rf .bench_carry && mkdir -p .bench_carry/bin .bench_carry/lib
for b in bench_lj bench_zarr bench_eam bench_sw bench_batch bench_npt bench_snap; do
  [ -x "build/release/bench/$b" ] && cp "build/release/bench/$b" .bench_carry/bin/
done
cp build/release/batchmd .bench_carry/bin/
command -v lmp >/dev/null && cp "$(command -v lmp)" .bench_carry/bin/
for b in .bench_carry/bin/*; do ldd "$b" | awk '/=>/{print $3}'; done | sort -u |
  grep -v -E "/(libc|libm|libpthread|libdl|librt)\.so|ld-linux" | xargs -r -I{} cp -L {} .bench_carry/lib/
strip .bench_carry/bin/* 2>/dev/null || true
# The LAMMPS potential files bench_eam, bench_sw and bench_snap read (Debian lammps-data).
mkdir -p .bench_carry/potentials
cp /usr/share/lammps/potentials/*.eam* /usr/share/lammps/potentials/*.sw /usr/share/lammps/potentials/*.snap* \
  .bench_carry/potentials/
du -sh .bench_carry
# Over the device tool's 64 MiB carry limit as files; carry the gzip and unpack it there first.
mkdir -p .bench_pack && tar czf .bench_pack/cpu_carry.tgz .bench_carry && du -sh .bench_pack/cpu_carry.tgz
