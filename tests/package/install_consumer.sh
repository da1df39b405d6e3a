#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the build tree into a temporary prefix, then builds examples/cpp-consumer against it
# twice — with find_package(batchmd) and with pkg-config — and runs both programs. Nothing of the
# source tree is visible to the consumer builds (they see only the prefix).
set -euo pipefail
: "${BATCHMD_BUILD_DIR:?}" "${BATCHMD_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
cmake --install "$BATCHMD_BUILD_DIR" --prefix "$prefix" >/dev/null
# The consumer's sources are copied out, so no relative path can reach the source tree.
cp -r "$BATCHMD_SOURCE_DIR/examples/cpp-consumer" "$tmp/src"

fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$prefix/bin/batchmd" ] || fail "bin/batchmd not installed"
[ -f "$prefix/include/batchmd/core/version.hpp" ] || fail "headers not installed"
[ -f "$prefix/share/man/man1/batchmd.1" ] || fail "man page not installed"
[ -f "$prefix/share/doc/batchmd/examples/argon.toml" ] || fail "examples not installed"
libdir=$(dirname "$(find "$prefix" -name libbatchmd_core.a | head -1)")
[ -n "$libdir" ] || fail "libbatchmd_core.a not installed"
[ -f "$libdir/cmake/batchmd/batchmdConfig.cmake" ] || fail "CMake package not installed"
[ -f "$libdir/pkgconfig/batchmd.pc" ] || fail "pkg-config file not installed"
v=$("$prefix/bin/batchmd" --version)
grep -q "^batchmd [0-9.]* (commit \([0-9a-f]\{12\}\|unknown\)" <<<"$v" || fail "installed batchmd --version names no commit: $v"
grep -q "^back-ends: cpu" <<<"$v" || fail "installed batchmd --version names no back-ends: $v"

# 1. CMake: find_package(batchmd) from the prefix only.
cuda_args=()
if [ -x /usr/local/cuda/bin/nvcc ]; then cuda_args=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DCMAKE_CUDA_ARCHITECTURES=90); fi
cmake -S "$tmp/src" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  "${cuda_args[@]}" >"$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; fail "consumer configure"; }
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "consumer build"; }
"$tmp/build/relax_argon" "$tmp/cmake.zarr" || fail "consumer (CMake) run"
"$prefix/bin/batchmd" inspect "$tmp/cmake.zarr" >/dev/null || fail "inspect of the consumer's store"

# 2. A requested component that was not built must fail find_package.
missing=""
grep -q "set(batchmd_TORCH_FOUND OFF)" "$libdir/cmake/batchmd/batchmdConfig.cmake" && missing=TORCH
if [ -n "$missing" ]; then
  mkdir -p "$tmp/comp"
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(c LANGUAGES CXX)\nfind_package(batchmd REQUIRED COMPONENTS %s)\n' \
    "$missing" >"$tmp/comp/CMakeLists.txt"
  if cmake -S "$tmp/comp" -B "$tmp/comp/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
    fail "find_package(batchmd COMPONENTS $missing) succeeded although $missing was not built"
  fi
fi

# 3. pkg-config.
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs batchmd) || fail "pkg-config batchmd"
g++ -O1 -o "$tmp/relax_pc" "$tmp/src/relax_argon.cpp" $flags || fail "consumer (pkg-config) build"
"$tmp/relax_pc" "$tmp/pc.zarr" >/dev/null || fail "consumer (pkg-config) run"
echo "install + consumer: OK"
