# SPDX-License-Identifier: Apache-2.0
# The optional libtorch plugin (TorchScript models; src/model/torch, docs/torchscript.md).
# BATCHMD_TORCH=AUTO (default) builds it when find_package(Torch) succeeds — Debian's libtorch-dev
# here, a PyTorch installation's libtorch with
#   -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
# — ON requires it, OFF leaves it out. batchmd itself never links libtorch: the plugin
# (libbatchmd_torch.so) is loaded at run time, so the same binaries run with or without it.
set(BATCHMD_TORCH "AUTO" CACHE STRING "Build the libtorch plugin for TorchScript models: AUTO, ON or OFF")
set_property(CACHE BATCHMD_TORCH PROPERTY STRINGS AUTO ON OFF)
set(BATCHMD_HAVE_TORCH OFF)
if(NOT BATCHMD_TORCH STREQUAL "OFF")
  find_package(Torch QUIET)
  if(TORCH_FOUND)
    set(BATCHMD_HAVE_TORCH ON)
    message(STATUS "batchmd: libtorch plugin ON (Torch ${Torch_VERSION}, ${TORCH_LIBRARY})")
  elseif(BATCHMD_TORCH STREQUAL "ON")
    message(FATAL_ERROR "BATCHMD_TORCH=ON but find_package(Torch) failed (install libtorch-dev, or set CMAKE_PREFIX_PATH to a libtorch)")
  else()
    message(STATUS "batchmd: libtorch plugin OFF (no libtorch found)")
  endif()
endif()
