#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TorchScript adapter overhead (docs/benchmarks.md): batchmd's TorchScriptModel against the same
# module called directly — from C++ libtorch and from Python — on the same inputs, for one
# ~100,000-atom system and for 100 systems of 32 atoms. The model is tests/model/torch_models.py's
# many-body model (radial features + MLP, cutoff 5 Å), written here with the python3's torch.
#
# CPU (default), here:
#   bench/torch_overhead.sh [BUILD_DIR] [THREADS]      (default build/release, 1 thread; REPEATS=5)
# Times are process CPU time (all threads), so a loaded machine does not distort them.
#
# GPU (DEVICE=cuda), on the GPU machine after scripts/gpu/pack.sh here, carrying and unpacking
# .gpu_pack there (tar xzf .gpu_pack/carry.tgz) and scripts/gpu/torch_plugin.sh build:
#   DEVICE=cuda bench/torch_overhead.sh                (REPEATS=20 by default)
# compiles bench/bench_torch.cpp there against that python3's libtorch and the batchmd static
# libraries packed in .gpu_carry/pyext/lib (as scripts/gpu/python_ext.sh does), then times the
# adapter on a GPU batch (edges built on the device, the plugin on batchmd's device arrays)
# against the module called directly on CUDA tensors, from C++ and from Python. Times are wall
# time per call up to a device synchronisation.
set -euo pipefail
cd "$(dirname "$0")/.."
device=${DEVICE:-cpu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$device" = cuda ]; then
  py=${PYTHON:-python3}
  carry=.gpu_carry
  repeats=${REPEATS:-20}
  [ -d $carry/pyext/lib ] || { echo "torch_overhead.sh: no $carry/pyext (run scripts/gpu/pack.sh here first)" >&2; exit 1; }
  [ -f $carry/bin/libbatchmd_torch.so ] || { echo "torch_overhead.sh: no plugin (run scripts/gpu/torch_plugin.sh build first)" >&2; exit 1; }
  tp=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
  cuda=${CUDA_HOME:-/usr/local/cuda}
  exe=$carry/bin/bench_torch_cuda
  l=$carry/pyext/lib
  ${CXX:-g++} -std=c++20 -O2 -DNDEBUG -fopenmp -D_GLIBCXX_USE_CXX11_ABI=1 -Iinclude -Isrc/model \
    -isystem "$tp/include" -isystem "$tp/include/torch/csrc/api/include" -isystem "$cuda/include" \
    bench/bench_torch.cpp "$l/libbatchmd_model.a" "$l/libbatchmd_data.a" "$l/libbatchmd_core.a" \
    -L"$tp/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -ltorch_cuda -lc10 -lc10_cuda -Wl,--as-needed \
    -L"$cuda/lib64" -L"$cuda/lib" -L"$cuda/targets/x86_64-linux/lib" -lcudadevrt -lcudart_static -lrt -lpthread -ldl \
    -Wl,-rpath,"$tp/lib" -Wl,-rpath,"$PWD/$carry/lib" -o "$exe"
  export BATCHMD_TORCH_PLUGIN=$PWD/$carry/bin/libbatchmd_torch.so LD_LIBRARY_PATH="$PWD/$carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  "$py" tests/model/torch_models.py write "$tmp"
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
  "$exe" "$tmp/manybody.pt" "$tmp" "$repeats" all cuda | tee "$tmp/cpp.txt"
  for c in one_100k many_100x32; do
    pyt=$("$py" bench/bench_torch.py "$tmp/manybody.pt" "$tmp/$c.inputs.pt" "$repeats" cuda | sed 's/direct_python_ms=//')
    ad=$(grep "^$c " "$tmp/cpp.txt" | sed 's/.*adapter_ms=\([0-9.]*\).*/\1/')
    awk -v c="$c" -v a="$ad" -v p="$pyt" 'BEGIN { printf "%s device=cuda direct_python_ms=%.3f adapter_vs_python=%+.1f%%\n", c, p, 100 * (a / p - 1) }'
  done
  exit 0
fi
[ "$device" = cpu ] || { echo "torch_overhead.sh: DEVICE must be cpu or cuda, got $device" >&2; exit 2; }
build=${1:-build/release}
threads=${2:-1}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
/usr/bin/python3 tests/model/torch_models.py write "$tmp"
echo "threads: $threads"
"$build/bench/bench_torch" "$tmp/manybody.pt" "$tmp" "${REPEATS:-5}" | tee "$tmp/cpp.txt"
for c in one_100k many_100x32; do
  py=$(/usr/bin/python3 bench/bench_torch.py "$tmp/manybody.pt" "$tmp/$c.inputs.pt" "${REPEATS:-5}" | sed 's/direct_python_ms=//')
  ad=$(grep "^$c " "$tmp/cpp.txt" | sed 's/.*adapter_ms=\([0-9.]*\).*/\1/')
  awk -v c="$c" -v a="$ad" -v p="$py" 'BEGIN { printf "%s direct_python_ms=%.3f adapter_vs_python=%+.1f%%\n", c, p, 100 * (a / p - 1) }'
done
