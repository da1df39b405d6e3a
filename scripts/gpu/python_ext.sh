#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# On the GPU machine (after scripts/gpu/pack.sh here and carrying the tree): builds the batchmd
# Python extension for that machine's python3 (its version differs from Debian 12's 3.11, so the
# extension built here cannot load there) from python/src and the static module libraries packed
# in .gpu_carry/pyext, then runs tests/python/test_gpu.py (DLPack views of GPU batches, GPU runs
# from Python, Python hooks on GPU batches) with BATCHMD_REQUIRE_GPU=1, so no test can skip.
#   scripts/gpu/python_ext.sh [build|test|all]     (default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
shift || true
py=${PYTHON:-python3}
carry=.gpu_carry
pkg=$carry/python/batchmd
if [ "$what" = build ] || [ "$what" = all ]; then
  [ -d $carry/pyext/lib ] || { echo "python_ext.sh: no $carry/pyext (run scripts/gpu/pack.sh here first)" >&2; exit 1; }
  inc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  [ -f "$inc/Python.h" ] || { echo "python_ext.sh: $py has no headers ($inc/Python.h)" >&2; exit 1; }
  pyb=$("$py" -c 'import pybind11; print(pybind11.get_include())')
  suffix=$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
  cuda=${CUDA_HOME:-/usr/local/cuda}
  mkdir -p "$pkg" $carry/pyext/obj
  cp -r python/batchmd/. "$pkg/"
  flags=(-std=c++20 -O2 -DNDEBUG -fPIC -fvisibility=hidden -fopenmp -DBATCHMD_WITH_CUDA=1 -DTOML_HEADER_ONLY=0
    -DTOML_SHARED_LIB=1 -Iinclude -isystem "$pyb" -isystem "$inc" -isystem "$cuda/include" -isystem $carry/pyext/include)
  ls python/src/*.cpp | xargs -P "$(nproc)" -I{} sh -c \
    'g++ "$@" -c {} -o '"$carry"'/pyext/obj/$(basename {} .cpp).o' _ "${flags[@]}"
  l=$carry/pyext/lib
  libs=()
  for m in app hooks sinks dynamics model io mpi hooks dynamics sinks data zarr core; do libs+=("$l/libbatchmd_$m.a"); done
  g++ -shared -fopenmp -o "$pkg/_batchmd$suffix" $carry/pyext/obj/*.o "${libs[@]}" \
    -L$carry/lib -L"$cuda/lib64" -L"$cuda/targets/x86_64-linux/lib" \
    $(cd $carry/lib && ls libzstd.so* libblosc.so* libz.so* libcurl.so* libcrypto.so* libmpi_cxx.so* libmpi.so* \
      libtomlplusplus.so* 2>/dev/null | sed 's/^/-l:/') \
    -lcudadevrt -lcudart_static -lrt -lpthread -ldl -Wl,-rpath,"$PWD/$carry/lib"
  echo "built $pkg/_batchmd$suffix"
fi
if [ "$what" = test ] || [ "$what" = all ]; then
  export LD_LIBRARY_PATH="$PWD/$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  PYTHONPATH="$PWD/$carry/python" BATCHMD_REQUIRE_GPU=1 PYTHONDONTWRITEBYTECODE=1 BATCHMD_BUILD_DIR="$PWD/build/release" \
    "$py" -m pytest -q -p no:cacheprovider -rs tests/python/test_gpu.py "$@"
fi
