#!/usr/bin/env bash
# Configures and builds batchmd. Usage: scripts/build.sh [release|asan|tsan|fuzz]  (default: release;
# tsan and fuzz build only their targets: see CMakePresets.json)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --parallel "$(nproc)"
