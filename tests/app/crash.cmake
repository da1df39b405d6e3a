# SPDX-License-Identifier: Apache-2.0
# `batchmd run` as a process (test_run_kill.cpp): SIGKILLed at random moments and then inspected,
# converted, restarted and appended to; SIGTERM/SIGINT; two runs to one path; mistyped paths.
# Labels app and crash (set once CTest has read the test names: batchmd_test takes one label).
batchmd_test(test_run_kill SOURCES test_run_kill.cpp DEPS batchmd::sinks LABELS app)
target_compile_definitions(test_run_kill PRIVATE BATCHMD_CLI="$<TARGET_FILE:batchmd>")
add_dependencies(test_run_kill batchmd)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/crash_labels.cmake
  "set_tests_properties(\${test_run_kill_TESTS} PROPERTIES LABELS \"app;crash\")\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${CMAKE_CURRENT_BINARY_DIR}/crash_labels.cmake)
