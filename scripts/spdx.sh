#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file of batchmd starts with its SPDX license identifier (after a shebang line, if
# any). Usage: scripts/spdx.sh --check (exit 1 listing the files without it) | --add (adds it).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:---check}"
id="SPDX-License-Identifier: Apache-2.0"
missing=()
while IFS= read -r -d '' f; do
  case "$f" in
  *.cpp | *.hpp | *.cu | *.cuh | *.h | *.h.in | *.inc.in | *.mjs | *.js) prefix="// " ;;
  *) prefix="# " ;;
  esac
  head -n 2 "$f" | grep -q "$id" && continue
  if [ "$mode" = --add ]; then
    if head -n 1 "$f" | grep -q '^#!'; then
      sed -i "1a ${prefix}${id}" "$f"
    else
      sed -i "1i ${prefix}${id}" "$f"
    fi
  else
    missing+=("$f")
  fi
done < <(git ls-files -z -- '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h' '*.py' '*.sh' '*.cmake' '*CMakeLists.txt' \
  '*.mjs' '*.in' ':!:tests/fuzz/corpus/**' ':!:tests/fuzz/regressions/**' ':!:**/node_modules/**')
if [ ${#missing[@]} -gt 0 ]; then
  printf 'spdx.sh: no "%s" in the first lines of:\n' "$id" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
