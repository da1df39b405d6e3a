#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Usage: damaged_store.sh BATCHMD WORKDIR convert|restart|foreign
# Writes a small trajectory with `batchmd run`, removes one chunk inside its committed samples,
# and checks the command line's answer (issue 10 §4): `convert` and `--restart` exit 2 naming the
# missing key (they used to exit 0 with atoms at the origin, or run empty systems); a store of
# another writer (no batchmd "chunks": "complete" promise) still converts, missing chunk as fill.
set -u
batchmd=$1
dir=$2
mode=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
printf '[run]\nsteps = 200\n[[liquid]]\ncount = 2\ncells = 2\n[output]\nsnapshot_every = 20\nchunk_bytes = 2048\n' >job.toml
"$batchmd" run job.toml -q -o s.zarr >/dev/null || exit 1
chunks=$(ls s.zarr/core/positions/c | sort -n)
last=$(printf '%s\n' $chunks | tail -1)
[ "$last" -ge 4 ] || { echo "expected several positions chunks, got: $chunks"; exit 1; }
case "$mode" in
convert)
  rm s.zarr/core/positions/c/3/0
  sh "$here/expect_exit2.sh" "s\.zarr/core/positions/c/3/0: chunk 3 \(rows [0-9]+\.\.[0-9]+\) is missing inside the committed rows" \
    "$batchmd" convert s.zarr out.xyz || exit 1
  [ ! -e out.xyz ] || { echo "a failed convert left out.xyz behind"; exit 1; }
  ;;
restart)
  rm "s.zarr/core/positions/c/$last/0"
  sh "$here/expect_exit2.sh" "s\.zarr/core/positions/c/$last/0: chunk $last .*missing" \
    "$batchmd" run --restart s.zarr --steps 10 -q || exit 1
  ;;
foreign)
  # Drop the promise from the root attributes, as a store of another writer would lack it.
  /usr/bin/python3 - <<'PY' || exit 1
import json
d = json.load(open("s.zarr/zarr.json"))
del d["attributes"]["batchmd"]["chunks"]
json.dump(d, open("s.zarr/zarr.json", "w"))
PY
  rm s.zarr/core/positions/c/3/0
  "$batchmd" convert s.zarr out.xyz || { echo "convert of a foreign store failed"; exit 1; }
  grep -q "^Ar 0.0 0.0 0.0 " out.xyz || { echo "expected fill values (0, 0, 0) in out.xyz"; exit 1; }
  ;;
esac
