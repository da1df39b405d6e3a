# SPDX-License-Identifier: Apache-2.0
# How the test executables compile fast (docs/ci.md, "CI budget"): most of a build's CPU time is
# the tests' translation units, and most of theirs is parsing the same headers again.
#  - BATCHMD_TEST_PCH: one precompiled header (GoogleTest, nlohmann/json and the standard headers
#    the tests use) made once per build by batchmd_test_pch and reused by every test executable
#    (about a fifth of a test file's CPU time at -O3). Only third-party and standard headers go
#    in, so an edit to a batchmd header rebuilds no PCH; and no header in it reads a macro that
#    differs between test targets (their path macros, toml++'s TOML_*), which GCC requires of a
#    shared PCH (-Winvalid-pch, an error under -Werror, says so if it ever stops holding). ON by
#    default where no ccache is used (CI); OFF under ccache, which cannot cache a file compiled
#    with a PCH and serves repeated builds in several worktrees better.
#  - Release builds compile the test files (GoogleTest executables and the test PCH) at -O1
#    (BATCHMD_TEST_OPT; the libraries they test keep the release flags, -O3): a test file's CPU
#    time is mostly code generation for its test bodies, and -O1 takes 30-50 % off it (docs/ci.md,
#    "Fifth round"). GCC 12 reports -Warray-bounds / -Wstringop-overflow / -Wrestrict false
#    positives on inlined std::string operator+ at -O1 and -O2 (test_app.cpp,
#    torch_test_support.hpp) whose appearance depends on the length of the checkout's path, so
#    those three warnings are off in test files (only there: the libraries keep them as errors).
#    BATCHMD_TEST_OPT=-O3 compiles the tests as the libraries.
#  - Sanitizer builds (BATCHMD_SANITIZE, the asan preset) compile the test files at -O0 and the
#    libraries at -O1 (the preset's level, AddressSanitizer's recommended one). An instrumented test
#    file takes half the CPU time at -O0 (test_extxyz.cpp 13.5 → 6.2 s), and nothing is optimised
#    away from the checks; the few files whose bodies are heavy loops keep -O1
#    (batchmd_test_sources_at_o1 below).
#  - No unity build: the test files of one executable hold file-local helpers of the same name
#    (parse() in tests/io, kSkin in tests/model, ...). Put into one unit, some fail to compile and,
#    worse, a call could bind to another file's overload without an error and change what the
#    test checks.
# The PCH changes no test: the same sources, flags and libraries, and no test defines a macro
# before its includes.
set(batchmd_pch_default ON)
if(CMAKE_CXX_COMPILER_LAUNCHER MATCHES "ccache")
  set(batchmd_pch_default OFF)
endif()
option(BATCHMD_TEST_PCH "Precompile the test executables' common headers once per build" ${batchmd_pch_default})

set(BATCHMD_TEST_OPT "-O1" CACHE STRING "Optimisation flag of the test files in Release builds (empty: the build type's -O3)")
# The flag comes after the build type's on the command line, so it wins; C++ only.
function(batchmd_test_opt name)
  if(BATCHMD_SANITIZE)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-O0>)
  elseif(BATCHMD_TEST_OPT AND CMAKE_BUILD_TYPE STREQUAL "Release")
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${BATCHMD_TEST_OPT}>)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wno-array-bounds -Wno-stringop-overflow -Wno-restrict>)
  endif()
endfunction()

if(BATCHMD_TEST_PCH AND BATCHMD_TESTS)
  file(WRITE ${PROJECT_BINARY_DIR}/batchmd_test_pch.cpp "// The host of the tests' shared precompiled header (cmake/TestBuild.cmake).\n")
  add_library(batchmd_test_pch OBJECT ${PROJECT_BINARY_DIR}/batchmd_test_pch.cpp)
  # The same compile flags and definitions as a test: batchmd::core brings OpenMP and the backend's
  # definition, GTest::gtest its GTEST_* definitions.
  target_link_libraries(batchmd_test_pch PRIVATE batchmd::core GTest::gtest nlohmann_json::nlohmann_json batchmd_flags)
  target_precompile_headers(batchmd_test_pch PRIVATE <gtest/gtest.h> <nlohmann/json.hpp>
    <algorithm> <array> <atomic> <chrono> <cmath> <cstdint> <cstdio> <cstdlib> <cstring> <filesystem>
    <fstream> <functional> <map> <memory> <mutex> <numeric> <optional> <random> <set> <sstream>
    <stdexcept> <string> <string_view> <thread> <unordered_map> <utility> <vector>)
  batchmd_test_opt(batchmd_test_pch)  # as the tests that use it (below)
endif()

# Called by batchmd_test and batchmd_gpu_test (cmake/Warnings.cmake) for every test executable;
# CUDA sources (.cu) keep no PCH (nvcc compiles them; the PCH is the host compiler's) and keep
# nvcc's optimisation level.
function(batchmd_test_build_speed name)
  batchmd_test_opt(${name})
  if(TARGET batchmd_test_pch)
    target_precompile_headers(${name} REUSE_FROM batchmd_test_pch)
    get_target_property(sources ${name} SOURCES)
    foreach(src IN LISTS sources)
      if(src MATCHES "\\.cu$")
        set_source_files_properties(${src} TARGET_DIRECTORY ${name} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
      endif()
    endforeach()
  endif()
endfunction()

# batchmd_test_sources_at_o1(target files...): in the asan build, test files whose bodies run
# brute-force references (O(N²) neighbor searches, reference force loops) keep -O1: at -O0 under
# ASan those loops take 3-5 times as long (StrainedNeighborList 2.5 → 12 s), more than the compile
# time that -O0 saves on them. They compile without the shared PCH, made at -O0 (GCC refuses a
# PCH made at another -O level).
function(batchmd_test_sources_at_o1 target)
  if(BATCHMD_SANITIZE)
    foreach(src IN LISTS ARGN)
      set_source_files_properties(${src} TARGET_DIRECTORY ${target} PROPERTIES
        COMPILE_OPTIONS -O1 SKIP_PRECOMPILE_HEADERS ON)
    endforeach()
  endif()
endfunction()
