# inspect / convert: unit tests (tests/app/test_inspect_convert.cpp, which reads convert's output
# back with ASE through interop/read_extxyz.py) and the command line itself.
batchmd_test(test_inspect_convert SOURCES test_inspect_convert.cpp DEPS batchmd::app LABELS app)
target_compile_definitions(test_inspect_convert PRIVATE
  BATCHMD_INTEROP_DIR="${CMAKE_CURRENT_SOURCE_DIR}/interop")

# A store for the command-line tests, written by the unit-test binary.
set(_ic_store ${CMAKE_CURRENT_BINARY_DIR}/cli_inspect_convert/md.zarr)
add_test(NAME cli_inspect_convert_store COMMAND test_inspect_convert --gtest_filter=Cli.WriteStore)
set_tests_properties(cli_inspect_convert_store PROPERTIES LABELS app
  ENVIRONMENT "BATCHMD_CLI_STORE=${_ic_store}" FIXTURES_SETUP batchmd_cli_store)

add_test(NAME cli_inspect COMMAND $<TARGET_FILE:batchmd> inspect ${_ic_store})
set_tests_properties(cli_inspect PROPERTIES LABELS app FIXTURES_REQUIRED batchmd_cli_store
  PASS_REGULAR_EXPRESSION "samples: +20\n.*core/positions +atom +float64")
add_test(NAME cli_inspect_json COMMAND $<TARGET_FILE:batchmd> inspect ${_ic_store} --json)
set_tests_properties(cli_inspect_json PROPERTIES LABELS app FIXTURES_REQUIRED batchmd_cli_store
  PASS_REGULAR_EXPRESSION "\"samples\": 20")
add_test(NAME cli_convert COMMAND $<TARGET_FILE:batchmd> convert ${_ic_store}
  ${CMAKE_CURRENT_BINARY_DIR}/cli_inspect_convert/sys2.xyz --system 2 --step-min 10)
set_tests_properties(cli_convert PROPERTIES LABELS app FIXTURES_REQUIRED batchmd_cli_store
  PASS_REGULAR_EXPRESSION "convert: wrote 3 frames, 12 atoms to .*sys2.xyz")

# Bad input: a clear "batchmd: error: ..." (exit code 2).
add_test(NAME cli_convert_missing_store COMMAND $<TARGET_FILE:batchmd> convert
  ${CMAKE_CURRENT_BINARY_DIR}/no_such_store.zarr ${CMAKE_CURRENT_BINARY_DIR}/never.xyz)
set_tests_properties(cli_convert_missing_store PROPERTIES LABELS app
  PASS_REGULAR_EXPRESSION "batchmd: error: .*no_such_store.zarr")
add_test(NAME cli_convert_missing_store_exit COMMAND $<TARGET_FILE:batchmd> convert
  ${CMAKE_CURRENT_BINARY_DIR}/no_such_store.zarr ${CMAKE_CURRENT_BINARY_DIR}/never.xyz)
set_tests_properties(cli_convert_missing_store_exit PROPERTIES LABELS app WILL_FAIL TRUE)
add_test(NAME cli_convert_bad_extension COMMAND $<TARGET_FILE:batchmd> convert ${_ic_store}
  ${CMAKE_CURRENT_BINARY_DIR}/cli_inspect_convert/out.pdb)
set_tests_properties(cli_convert_bad_extension PROPERTIES LABELS app FIXTURES_REQUIRED batchmd_cli_store
  PASS_REGULAR_EXPRESSION "batchmd: error: convert: .*\\.xyz or \\.extxyz")
