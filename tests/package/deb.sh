#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package with cpack, checks the dependencies it declares, installs it (dpkg -i
# when root, then removes it again; else extracts it into a temporary root) and runs the
# installed batchmd: a 50-step job into a store that the installed inspect then reads.
set -euo pipefail
: "${BATCHMD_BUILD_DIR:?}"
tmp=$(mktemp -d)
installed=""
cleanup() {
  if [ -n "$installed" ]; then dpkg -r batchmd >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cpack --config "$BATCHMD_BUILD_DIR/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$tmp"/out/batchmd_*.deb | head -1)
[ -f "$deb" ] || fail "no .deb produced"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for d in libzstd1 libblosc1 libcurl4 libtomlplusplus3 libgomp1 libc6 libstdc++6; do
  grep -q "$d" <<<"$depends" || fail "the package does not declare $d"
done
contents=$(dpkg-deb -c "$deb")
grep -q "usr/bin/batchmd$" <<<"$contents" || fail "usr/bin/batchmd missing from the package"
grep -q "usr/share/man/man1/batchmd.1" <<<"$contents" || fail "man page missing from the package"
grep -q "usr/include/batchmd/core/version.hpp" <<<"$contents" || fail "headers missing from the package"

if [ "$(id -u)" -eq 0 ] && ! dpkg-query -W batchmd >/dev/null 2>&1; then
  dpkg -i "$deb" >/dev/null || fail "dpkg -i"
  installed=yes
  bin=/usr/bin/batchmd
else
  dpkg -x "$deb" "$tmp/root"
  bin="$tmp/root/usr/bin/batchmd"
fi
"$bin" --version
if "$bin" --version | grep -q "python"; then
  grep -q "usr/lib/python3/dist-packages/batchmd/__init__.py" <<<"$contents" || fail "Python package missing from the .deb"
  # -s: not the user site, where scripts/build.sh points python3 at the build tree.
  if [ -n "$installed" ]; then pyroot=""; else pyroot="$tmp/root/usr/lib/python3/dist-packages"; fi
  where=$(cd / && PYTHONPATH="$pyroot" /usr/bin/python3 -s -c "import batchmd; print(batchmd.__file__)") ||
    fail "the installed Python package does not import"
  case "$where" in
    /usr/lib/python3/dist-packages/*|"$pyroot"/*) ;;
    *) fail "python3 imported batchmd from $where, not from the package" ;;
  esac
fi
cd "$tmp"
"$bin" run --steps 50 -q -o "$tmp/deb.zarr" >"$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "installed batchmd run --steps 50"; }
"$bin" inspect "$tmp/deb.zarr" | grep -q "samples" || fail "installed batchmd inspect"
echo "deb: OK ($deb)"
