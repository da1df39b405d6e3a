#!/usr/bin/env bash
# Builds and runs the whole test suite. Usage: scripts/test.sh [release|asan]  (default: release)
# Extra arguments after the preset go to ctest (e.g. -L zarr, -R Batch).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
scripts/build.sh "$preset"
ctest --preset "$preset" --parallel "$(nproc)" "$@"
