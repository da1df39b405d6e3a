#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and runs the whole test suite. Usage: scripts/test.sh [release|asan|tsan]  (default: release)
# tsan builds and runs only the sinks and zarr tests under ThreadSanitizer (the writers' background
# threads), without the interop and S3 ones. Extra arguments after the preset go to ctest (e.g.
# -L zarr, -R Batch).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
scripts/build.sh "$preset"
# GPU tests (label gpu; built with the CUDA backend) need a GPU: leave them out where none is
# usable. They run on the GPU machine through scripts/gpu/check.sh.
gpu_filter=()
if [ "$preset" = release ] && ! nvidia-smi -L >/dev/null 2>&1; then
  gpu_filter=(-LE gpu)
  echo "test.sh: no GPU here; GPU tests (label gpu) are built but not run (scripts/gpu/check.sh runs them)"
fi
# Tests at a time: one per core; BATCHMD_TEST_JOBS=N overrides. Two per core would overlap the
# release S3 tests' real-time waits (4 min instead of 5.5 on 2 cores), but the timing-bound tests
# (S3 leases, kills at random moments) have been run so only once (docs/ci.md, "Second round").
jobs=${BATCHMD_TEST_JOBS:-$(nproc)}
# OpenMP threads that wait sleep at once instead of spinning (libgomp spins ~300,000 times before
# sleeping). Tests run one per core and many use every core's OpenMP thread, so a spinning waiter
# holds a core another test needs: passive waiting took the release run from 204 to 169 s and the
# asan run from 326 to 239 s on 2 cores (docs/ci.md, "Fifth round"). Results do not depend on it.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
ctest --preset "$preset" --parallel "$jobs" "${gpu_filter[@]}" "$@"
