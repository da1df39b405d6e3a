#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds batchmd. Usage: scripts/build.sh [release|asan|tsan|fuzz]  (default: release;
# tsan and fuzz build only their targets: see CMakePresets.json)
# The release build also makes the Python package importable: `python3 -c "import batchmd"` works
# afterwards with no environment variables (see "Python" in README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --parallel "$(nproc)"
# The Python package lives in build/release/python (extension + modules); a .pth file in the user
# site-packages of the python3 it was built for puts that directory on sys.path. Idempotent; the
# package then follows rebuilds. Skipped when the build has no Python package (BATCHMD_PYTHON=OFF).
pkg="$PWD/build/$preset/python"
if [ "$preset" = release ] && [ -f "$pkg/interpreter.txt" ] && [ -d "$pkg/batchmd" ]; then
  py=$(cat "$pkg/interpreter.txt")
  if "$py" -c 'import site, sys; sys.exit(0 if site.ENABLE_USER_SITE else 1)' 2>/dev/null; then
    site=$("$py" -m site --user-site)
    mkdir -p "$site"
    printf '%s\n' "$pkg" >"$site/batchmd.pth"
    echo "build.sh: Python package ready: $py -c 'import batchmd' (via $site/batchmd.pth)"
  else
    echo "build.sh: $py has no user site-packages (a virtualenv?); use PYTHONPATH=$pkg"
  fi
fi
