# SPDX-License-Identifier: Apache-2.0
# Project-wide warning and sanitizer flags, applied through batchmd_target().
add_library(batchmd_flags INTERFACE)
target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow
  -Wconversion -Wno-sign-conversion>)
if(BATCHMD_WERROR)
  target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
if(BATCHMD_HAVE_CUDA)
  # nvcc: host/device lambdas, and the host compiler's warnings as errors too.
  target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:--extended-lambda
    --expt-relaxed-constexpr -Xcompiler=-Wall,-Wextra>)
  if(BATCHMD_WERROR)
    target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
endif()
# BATCHMD_MARCH: an optional -march for every C++ file (e.g. native, x86-64-v4, znver4). Empty by
# default, so the binary runs on any x86-64; the hot CPU kernels (pair loops, neighbor build) are
# compiled for AVX-512 and AVX2 besides the baseline anyway and picked at load time. A -march
# build also vectorises and contracts (FMA) the rest (integrators, list checks): its results
# differ in the last bits from the portable build's, and a restart is bit-for-bit only with the
# same binary.
set(BATCHMD_MARCH "" CACHE STRING "-march for the C++ code (e.g. native, x86-64-v4); empty: portable")
if(BATCHMD_MARCH)
  target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=${BATCHMD_MARCH}>)
  if(BATCHMD_HAVE_CUDA)
    target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-march=${BATCHMD_MARCH}>)
  endif()
endif()
# BATCHMD_SIMD_WIDEST: the widest clone of the hot CPU kernels (core/simd_clones.hpp): x86-64-v4
# (AVX-512, the default) or x86-64-v3 (AVX2 + FMA: for processors that lower their clock for
# AVX-512 when many cores use it).
set(BATCHMD_SIMD_WIDEST "x86-64-v4" CACHE STRING "widest clone of the CPU kernels: x86-64-v4 or x86-64-v3")
set_property(CACHE BATCHMD_SIMD_WIDEST PROPERTY STRINGS x86-64-v4 x86-64-v3)
if(BATCHMD_SIMD_WIDEST STREQUAL "x86-64-v3")
  target_compile_definitions(batchmd_flags INTERFACE BATCHMD_SIMD_WIDEST_V3=1)
elseif(NOT BATCHMD_SIMD_WIDEST STREQUAL "x86-64-v4")
  message(FATAL_ERROR "BATCHMD_SIMD_WIDEST must be x86-64-v4 or x86-64-v3, not '${BATCHMD_SIMD_WIDEST}'")
endif()
if(BATCHMD_SANITIZE)
  target_compile_options(batchmd_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(batchmd_flags INTERFACE -fsanitize=address,undefined)
endif()
# GCC's -Wmaybe-uninitialized under ASan (the asan preset, built at -O1) reports false positives in
# code it instruments (std::regex's std::function, copied std::optional<std::string>: GCC PR 105562
# family, seen in tests/app). Not an error there; the release build, which compiles the same
# sources with -Werror, keeps the warning.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND BATCHMD_SANITIZE)
  target_compile_options(batchmd_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Wno-error=maybe-uninitialized>)
endif()

# batchmd_module(name SOURCES... [CUDA_SOURCES ...] DEPS ...): one library per module, public
# headers in include/. CUDA_SOURCES (.cu) are compiled only when the CUDA backend is on.
# Static by default; shared under BATCHMD_SHARED_MODULES (the asan preset): an instrumented engine
# is ~60-90 MB of code and sanitizer data, and each of ~35 test executables held a copy of it
# (2.6 GB of the asan build; docs/ci.md, "Disk").
function(batchmd_module name)
  cmake_parse_arguments(M "" "" "SOURCES;CUDA_SOURCES;DEPS" ${ARGN})
  if(BATCHMD_HAVE_CUDA)
    list(APPEND M_SOURCES ${M_CUDA_SOURCES})
  endif()
  if(BATCHMD_SHARED_MODULES)
    add_library(batchmd_${name} SHARED ${M_SOURCES})
  else()
    add_library(batchmd_${name} STATIC ${M_SOURCES})
  endif()
  add_library(batchmd::${name} ALIAS batchmd_${name})
  target_include_directories(batchmd_${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # Installed and exported as batchmd::<name> (cmake/Install.cmake).
  set_target_properties(batchmd_${name} PROPERTIES EXPORT_NAME ${name})
  set_property(GLOBAL APPEND PROPERTY BATCHMD_MODULES batchmd_${name})
  target_link_libraries(batchmd_${name} PUBLIC ${M_DEPS} PRIVATE batchmd_flags)
endfunction()

# batchmd_test(name SOURCES... DEPS ... LABELS ...): a GoogleTest executable registered with CTest;
# every test it holds carries every label given (LABELS "dynamics;physics" or LABELS dynamics physics).
# Every test binary links tests/support/scratch_cleanup.cpp: once its tests have passed, it removes
# the scratch files and directories the process left in the temporary directory.
function(batchmd_test_cleanup_object)
  if(NOT TARGET batchmd_test_cleanup)
    add_library(batchmd_test_cleanup OBJECT ${PROJECT_SOURCE_DIR}/tests/support/scratch_cleanup.cpp)
    target_link_libraries(batchmd_test_cleanup PRIVATE GTest::gtest batchmd_flags)
  endif()
endfunction()

function(batchmd_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  batchmd_test_cleanup_object()
  add_executable(${name} ${T_SOURCES} $<TARGET_OBJECTS:batchmd_test_cleanup>)
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main batchmd_flags)
  batchmd_test_build_speed(${name})  # cmake/TestBuild.cmake: the shared precompiled header
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_LIST ${name}_TESTS)
  # Not through gtest_discover_tests(PROPERTIES LABELS "a;b"): the module re-splits that list on its
  # way into the generated test file, so only the first label survives (and "b" becomes a stray
  # property name). Instead, a file CTest reads after the discovered tests sets the whole list.
  if(T_LABELS)
    set(labels_file ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
    file(WRITE ${labels_file}
      "if(NOT \"\${${name}_TESTS}\" STREQUAL \"\")\n"
      "  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"${T_LABELS}\")\n"
      "endif()\n")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${labels_file})
  endif()
endfunction()

# batchmd_gpu_test(name SOURCES... DEPS ...): a GoogleTest executable of GPU tests (.cpp and .cu),
# built only with the CUDA backend and labelled "gpu". CI compiles them; the GPU machine runs them
# (ctest -L gpu); scripts/test.sh leaves them out where no GPU is present. Their main()
# (tests/core/gpu_test_main.cpp) fails when no GPU is usable rather than letting tests skip.
function(batchmd_gpu_test name)
  if(NOT BATCHMD_HAVE_CUDA)
    return()
  endif()
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  # The shared main() compiles once, not once per GPU test executable.
  if(NOT TARGET batchmd_gpu_test_main)
    add_library(batchmd_gpu_test_main OBJECT ${PROJECT_SOURCE_DIR}/tests/core/gpu_test_main.cpp)
    target_link_libraries(batchmd_gpu_test_main PRIVATE batchmd::core GTest::gtest batchmd_flags)
    batchmd_test_build_speed(batchmd_gpu_test_main)
  endif()
  batchmd_test_cleanup_object()
  add_executable(${name} ${T_SOURCES} $<TARGET_OBJECTS:batchmd_gpu_test_main> $<TARGET_OBJECTS:batchmd_test_cleanup>)
  target_link_libraries(${name} PRIVATE ${T_DEPS} batchmd::core GTest::gtest batchmd_flags)
  batchmd_test_build_speed(${name})  # cmake/TestBuild.cmake: the shared precompiled header
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS gpu)
endfunction()
