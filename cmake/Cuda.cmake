# SPDX-License-Identifier: Apache-2.0
# The optional CUDA backend. BATCHMD_CUDA=AUTO (default) builds it when nvcc is found (on PATH or
# in /usr/local/cuda), ON requires it, OFF leaves it out. A CUDA build still runs everything on
# the CPU on a machine without a GPU; cudart is linked statically, so the binaries need no CUDA
# libraries at run time beyond the driver.
set(BATCHMD_CUDA "AUTO" CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE BATCHMD_CUDA PROPERTY STRINGS AUTO ON OFF)
set(BATCHMD_HAVE_CUDA OFF)
if(NOT BATCHMD_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)  # Hopper (H100/H200)
    endif()
    enable_language(CUDA)
    # CMake 3.25 does not know that nvcc 13 speaks C++20: tell it the flag.
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(BATCHMD_HAVE_CUDA ON)
    message(STATUS "batchmd: CUDA backend ON (${CMAKE_CUDA_COMPILER}, sm_${CMAKE_CUDA_ARCHITECTURES})")
  elseif(BATCHMD_CUDA STREQUAL "ON")
    message(FATAL_ERROR "BATCHMD_CUDA=ON but no CUDA compiler (nvcc) was found")
  else()
    message(STATUS "batchmd: CUDA backend OFF (no nvcc found)")
  endif()
endif()
