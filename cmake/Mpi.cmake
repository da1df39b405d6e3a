# SPDX-License-Identifier: Apache-2.0
# The optional MPI back-end (module mpi: data-parallel `batchmd run` under mpirun, docs/mpi.md).
# BATCHMD_MPI=AUTO (default) builds it when an MPI C++ library is found (Debian: libopenmpi-dev),
# ON requires it, OFF leaves it out. A build without it still has the module: src/mpi swaps in
# session_stub.cpp, which runs single-process and refuses a launch by mpirun with several ranks.
set(BATCHMD_MPI "AUTO" CACHE STRING "Build the MPI back-end: AUTO, ON or OFF")
set_property(CACHE BATCHMD_MPI PROPERTY STRINGS AUTO ON OFF)
set(BATCHMD_HAVE_MPI OFF)
if(NOT BATCHMD_MPI STREQUAL "OFF")
  find_package(MPI COMPONENTS CXX QUIET)
  if(MPI_CXX_FOUND)
    set(BATCHMD_HAVE_MPI ON)
    find_program(BATCHMD_MPIEXEC NAMES mpirun mpiexec HINTS ${MPIEXEC_EXECUTABLE})
    message(STATUS "batchmd: MPI back-end ON (MPI ${MPI_CXX_VERSION}, ${BATCHMD_MPIEXEC})")
  elseif(BATCHMD_MPI STREQUAL "ON")
    message(FATAL_ERROR "BATCHMD_MPI=ON but no MPI C++ library was found (Debian: libopenmpi-dev)")
  else()
    message(STATUS "batchmd: MPI back-end OFF (no MPI found)")
  endif()
endif()
