#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# On the GPU machine (after scripts/gpu/pack.sh here and carrying the tree): builds batchmd's
# libtorch plugin (src/model/torch/torch_plugin.cpp, one file, no other batchmd code) against the
# PyTorch of that machine's python3 and puts it beside the carried batchmd, where batchmd and
# the test binaries find it; then runs the TorchScript GPU tests and a short example on the GPU.
# With the CUDA runtime's headers at hand the plugin is built with BATCHMD_TORCH_CUDA (libtorch on
# batchmd's compute stream; docs/torchscript.md, "GPU").
#   scripts/gpu/torch_plugin.sh [build|test|all]     (default all)
# docs/torchscript.md ("GPU") explains the plugin and what the tests check.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
py=${PYTHON:-python3}
out=.gpu_carry/bin/libbatchmd_torch.so
if [ "$what" = build ] || [ "$what" = all ]; then
  tp=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())'
  abi=$("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  [ "$abi" = 1 ] || { echo "torch_plugin.sh: this PyTorch uses the old C++ ABI; batchmd needs _GLIBCXX_USE_CXX11_ABI=1" >&2; exit 1; }
  mkdir -p .gpu_carry/bin
  # BATCHMD_TORCH_CUDA: libtorch runs on batchmd's compute stream (c10/cuda's CUDAStreamGuard), which
  # needs the CUDA runtime's headers: the toolkit's, else those of the nvidia-cuda-runtime wheel that
  # PyTorch depends on. Without them the plugin still works, synchronising around each call.
  cuda_inc=""
  for d in "${CUDA_HOME:-/usr/local/cuda}/include" \
    "$("$py" -c 'import nvidia.cuda_runtime, os; print(os.path.join(list(nvidia.cuda_runtime.__path__)[0], "include"))' 2>/dev/null || true)"; do
    if [ -n "$d" ] && [ -f "$d/cuda_runtime_api.h" ]; then cuda_inc=$d; break; fi
  done
  stream_flags=()
  if [ -n "$cuda_inc" ]; then
    stream_flags=(-DBATCHMD_TORCH_CUDA=1 -isystem "$cuda_inc")
    echo "torch_plugin.sh: libtorch on batchmd's CUDA stream (CUDA headers: $cuda_inc)"
  else
    echo "torch_plugin.sh: no cuda_runtime_api.h found (set CUDA_HOME): the plugin synchronises around each call instead of sharing batchmd's stream" >&2
  fi
  ${CXX:-g++} -O2 -std=c++17 -shared -fPIC -fvisibility=hidden -D_GLIBCXX_USE_CXX11_ABI=1 ${stream_flags[@]+"${stream_flags[@]}"} \
    -isystem "$tp/include" -isystem "$tp/include/torch/csrc/api/include" src/model/torch/torch_plugin.cpp \
    -L"$tp/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -ltorch_cuda -lc10 -lc10_cuda -Wl,--as-needed \
    -Wl,-rpath,"$tp/lib" -o "$out"
  echo "built $out"
fi
if [ "$what" = test ] || [ "$what" = all ]; then
  export BATCHMD_TORCH_PLUGIN=$PWD/$out LD_LIBRARY_PATH="$PWD/.gpu_carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  .gpu_carry/bin/test_torch_gpu
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp examples/torch_argon.toml "$tmp/"
  "$py" examples/torch_models.py "$tmp"
  .gpu_carry/bin/batchmd run "$tmp/torch_argon.toml" --device cuda --steps 200 --quiet -o "$tmp/t.zarr"
fi
