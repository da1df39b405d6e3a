# SPDX-License-Identifier: Apache-2.0
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

batchmd_cli_test(cli_inspect FIXTURES_REQUIRED batchmd_cli_store
  EXPECT --stdout "samples: +20$" --stdout "core/positions +atom +float64"
  COMMAND batchmd inspect ${_ic_store})
batchmd_cli_test(cli_inspect_json FIXTURES_REQUIRED batchmd_cli_store
  EXPECT --stdout "\"samples\": 20" COMMAND batchmd inspect ${_ic_store} --json)
batchmd_cli_test(cli_convert FIXTURES_REQUIRED batchmd_cli_store
  EXPECT --rm sys2.xyz --stdout "convert: wrote 3 frames, 12 atoms to .*sys2\\.xyz" --present sys2.xyz
  COMMAND batchmd convert ${_ic_store} sys2.xyz --system 2 --step-min 10)

# Bad input: one clear "batchmd: error: ..." line and exit code 2; nothing written.
batchmd_cli_test(cli_convert_missing_store
  EXPECT --exit 2 --stderr "batchmd: error: .*no_such_store\\.zarr" --absent no_such_store.zarr --absent never.xyz
  COMMAND batchmd convert no_such_store.zarr never.xyz)
batchmd_cli_test(cli_convert_bad_extension FIXTURES_REQUIRED batchmd_cli_store
  EXPECT --exit 2 --stderr "batchmd: error: convert: .*\\.xyz or \\.extxyz" --absent out.pdb
  COMMAND batchmd convert ${_ic_store} out.pdb)
