#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages batchmd needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt.
#   scripts/setup.sh          build, test and benchmark dependencies
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config git clang-format lld
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libzstd-dev libblosc-dev zlib1g-dev
  libcurl4-openssl-dev libssl-dev
  python3 python3-dev python3-numpy python3-zarr python3-ase python3-xarray python3-pytest
  python3-setuptools pybind11-dev python3-pybind11
  gemmi-dev tao-pegtl-dev
  lammps lammps-data lammps-examples
  libtorch-dev python3-torch
  libopenmpi-dev openmpi-bin
  clang libfuzzer-14-dev libclang-rt-14-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# zarr interop tests: node + npm (Debian's nodejs npm, unless a node with npm is already installed,
# e.g. from NodeSource, whose nodejs conflicts with Debian's npm), then zarrita from the lockfile.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
npm ci --prefix "$(dirname "$0")/../tests/zarr/js" --no-audit --no-fund --loglevel=error
# S3 store tests: a local S3 server (s3rver), an independent client and signer (AWS SDK).
npm ci --prefix "$(dirname "$0")/../tests/zarr/s3" --no-audit --no-fund --loglevel=error
echo "batchmd setup: all ${#pkgs[@]} packages present"
