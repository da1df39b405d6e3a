# SPDX-License-Identifier: Apache-2.0
# batchmd_cli_test: one command line of the real batchmd binary, checked for its exact exit code
# AND its output by cli_expect.sh (CTest on its own ignores the exit code once an output regex is
# set, and WILL_FAIL accepts any non-zero code).
#
#   batchmd_cli_test(NAME
#     [LABELS label...]              # "app" is always added
#     [FIXTURES_REQUIRED f...] [FIXTURES_SETUP f...] [ENVIRONMENT VAR=value...]
#     EXPECT <cli_expect.sh options: --exit N, --stdout ERE, --stderr ERE, --absent PATH, ...>
#     COMMAND batchmd <arguments...>)   # "batchmd" stands for the binary built here
#
# Each test runs in its own folder, build/.../tests/app/cli/NAME (relative paths land there).
# Regexes are POSIX extended (grep -E) and must not hold ';' (CMake's list separator).
set(BATCHMD_CLI_EXPECT ${CMAKE_CURRENT_LIST_DIR}/cli_expect.sh)

function(batchmd_cli_test name)
  cmake_parse_arguments(C "" "" "LABELS;FIXTURES_REQUIRED;FIXTURES_SETUP;ENVIRONMENT;EXPECT;COMMAND" ${ARGN})
  if(NOT C_COMMAND)
    message(FATAL_ERROR "batchmd_cli_test(${name}): COMMAND is required")
  endif()
  list(GET C_COMMAND 0 program)
  if(program STREQUAL "batchmd")
    list(REMOVE_AT C_COMMAND 0)
    list(PREPEND C_COMMAND $<TARGET_FILE:batchmd>)
  endif()
  add_test(NAME ${name} COMMAND sh ${BATCHMD_CLI_EXPECT} -C ${CMAKE_CURRENT_BINARY_DIR}/cli/${name} ${C_EXPECT}
    -- ${C_COMMAND})
  set(labels app ${C_LABELS})
  list(REMOVE_DUPLICATES labels)
  # TIMEOUT: a command that should fail at once but runs instead fails in a minute, not CTest's default 25.
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 120)
  foreach(prop FIXTURES_REQUIRED FIXTURES_SETUP ENVIRONMENT)
    if(C_${prop})
      set_tests_properties(${name} PROPERTIES ${prop} "${C_${prop}}")
    endif()
  endforeach()
endfunction()
