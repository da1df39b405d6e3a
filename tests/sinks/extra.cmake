# SPDX-License-Identifier: Apache-2.0
# Extra trajectory-sink tests, included from tests/sinks/CMakeLists.txt:
#   test_kill                - crash safety: kill_writer is SIGKILLed mid-run, the store must hold a
#                              consistent prefix of whole samples and accept appends (labels sinks, crash)
#   test_trajectory_interop  - zarr-python, xarray (v2) and zarrita (v3, node) read our trajectories,
#                              and zarr-python writes one we read (labels sinks, interop). Missing
#                              tools are failures, not skips.

# The victim process of test_kill: appends samples to a ZarrData store until it is killed.
add_executable(kill_writer ${CMAKE_CURRENT_SOURCE_DIR}/kill_writer.cpp)
target_link_libraries(kill_writer PRIVATE batchmd::sinks batchmd_flags)

batchmd_test(test_kill SOURCES test_kill.cpp DEPS batchmd::sinks batchmd::app LABELS "sinks;crash")
add_dependencies(test_kill kill_writer)
target_compile_definitions(test_kill PRIVATE BATCHMD_KILL_WRITER="$<TARGET_FILE:kill_writer>")

if(BATCHMD_INTEROP_TESTS)  # not in the sanitizer presets, which run no interop test
  batchmd_test(test_trajectory_interop SOURCES test_trajectory_interop.cpp DEPS batchmd::sinks LABELS "sinks;interop")
  target_compile_definitions(test_trajectory_interop PRIVATE
    BATCHMD_SINKS_INTEROP_DIR="${CMAKE_CURRENT_SOURCE_DIR}/interop"
    BATCHMD_ZARRITA_NODE_MODULES="${PROJECT_SOURCE_DIR}/tests/zarr/js/node_modules")
endif()

# One writer per store (labels sinks, lock): kill_writer processes race to create a store, a
# second appender meets a running writer, a killed writer's lock is taken over.
batchmd_test(test_writer_lock SOURCES test_writer_lock.cpp DEPS batchmd::sinks LABELS "sinks;lock")
add_dependencies(test_writer_lock kill_writer)
target_compile_definitions(test_writer_lock PRIVATE BATCHMD_KILL_WRITER="$<TARGET_FILE:kill_writer>")

# batchmd_test hands a label list to gtest_discover_tests unquoted ("LABELS sinks crash"), which
# does not set both labels: set them once CTest has read the test names (as tests/zarr does).
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/extra_labels.cmake
  "set_tests_properties(\${test_kill_TESTS} PROPERTIES LABELS \"sinks;crash\")\n"
  "set_tests_properties(\${test_writer_lock_TESTS} PROPERTIES LABELS \"sinks;lock\")\n")
if(TARGET test_trajectory_interop)
  file(APPEND ${CMAKE_CURRENT_BINARY_DIR}/extra_labels.cmake
    "set_tests_properties(\${test_trajectory_interop_TESTS} PROPERTIES LABELS \"sinks;interop\")\n")
endif()
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/extra_labels.cmake)
