#!/usr/bin/env bash
# Configures and builds batchmd. Usage: scripts/build.sh [release|asan]  (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --parallel "$(nproc)"
