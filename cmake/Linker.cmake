# SPDX-License-Identifier: Apache-2.0
# Which linker links batchmd's executables and shared libraries: lld (Debian package lld, in
# scripts/setup.sh's list) where the compiler accepts -fuse-ld=lld, else the toolchain's default
# (GNU ld). lld links the same objects and libraries into the same program, several times faster
# than GNU ld, which matters most for the sanitizer builds' test executables with debug info
# (docs/ci.md, "CI budget"). BATCHMD_LINKER=default keeps the toolchain's linker; =lld or =mold
# asks for one (configuring fails if the compiler cannot use it).
# Set with add_link_options, not on batchmd_flags: batchmd_flags is installed and exported, and a
# downstream project's choice of linker is its own.
set(BATCHMD_LINKER "auto" CACHE STRING "Linker for batchmd's programs: auto (lld if usable), lld, mold or default")
set_property(CACHE BATCHMD_LINKER PROPERTY STRINGS auto lld mold default)
set(batchmd_linker "")
if(BATCHMD_LINKER STREQUAL "auto")
  include(CheckLinkerFlag)
  check_linker_flag(CXX -fuse-ld=lld BATCHMD_HAVE_LLD)
  if(BATCHMD_HAVE_LLD)
    set(batchmd_linker lld)
  endif()
elseif(NOT BATCHMD_LINKER STREQUAL "default")
  include(CheckLinkerFlag)
  check_linker_flag(CXX -fuse-ld=${BATCHMD_LINKER} BATCHMD_HAVE_LINKER_${BATCHMD_LINKER})
  if(NOT BATCHMD_HAVE_LINKER_${BATCHMD_LINKER})
    message(FATAL_ERROR "BATCHMD_LINKER=${BATCHMD_LINKER}: the C++ compiler cannot link with -fuse-ld=${BATCHMD_LINKER}")
  endif()
  set(batchmd_linker ${BATCHMD_LINKER})
endif()
if(batchmd_linker)
  # Only where the C++ compiler drives the link: nvcc (an executable of CUDA sources alone, the
  # device-link step) does not take -fuse-ld.
  add_link_options($<$<LINK_LANGUAGE:CXX>:-fuse-ld=${batchmd_linker}>)
  message(STATUS "batchmd: linking with ${batchmd_linker}")
endif()
