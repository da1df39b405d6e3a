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
#  - Release builds compile the test files at the release flags (-O3), as the libraries.
#    BATCHMD_TEST_OPT (e.g. -O2, -O1) compiles the test files (GoogleTest executables and the test
#    PCH) at another level, for local builds only: at -O1 and -O2, GCC 12 reports -Warray-bounds
#    false positives on inlined std::string operator+ (test_app.cpp, torch_test_support.hpp) whose
#    appearance depends on the length of the checkout's path, which -Werror turns into a failed
#    build (docs/ci.md, "Second round").
#  - Sanitizer builds (BATCHMD_SANITIZE, the asan preset) compile the test files at -O1, the
#    level of the whole asan preset (AddressSanitizer's recommended level).
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

set(BATCHMD_TEST_OPT "" CACHE STRING "Optimisation flag of the test files in Release builds (empty, the default: the build type's -O3)")
# The flag comes after the build type's on the command line, so it wins; C++ only.
function(batchmd_test_opt name)
  if(BATCHMD_SANITIZE)
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-O1>)
  elseif(BATCHMD_TEST_OPT AND CMAKE_BUILD_TYPE STREQUAL "Release")
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${BATCHMD_TEST_OPT}>)
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
