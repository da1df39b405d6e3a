# SPDX-License-Identifier: Apache-2.0
# Exit codes of the command line (README: 0 on success, --help and --version; 2 with one line
# "batchmd: error: ..." for every user error; 130 after Ctrl-C, tested in test_cli_process.cpp).
# Every subcommand, unknown and malformed flags and values, missing and wrong files, bad URLs.
set(_src ${CMAKE_CURRENT_SOURCE_DIR})
set(_shared ${CMAKE_CURRENT_BINARY_DIR}/cli/shared)
set(_tiny ${_shared}/tiny.zarr)
set(_see_run "see 'batchmd run --help'")

# ---- a small trajectory for the tests below that need an existing store (written by the binary)
batchmd_cli_test(cli_run_tiny FIXTURES_SETUP cli_tiny_store
  EXPECT --rm ${_tiny} --stdout "snapshots: 3 taken, 6 samples in .*tiny.zarr" --present ${_tiny}
  COMMAND batchmd run ${_src}/tiny.toml -q -o ${_tiny})

# ---- success: exit 0
batchmd_cli_test(cli_help EXPECT --stdout "^Usage: " --stdout "run +Run a job" --stdout "inspect" --stdout "convert"
  COMMAND batchmd --help)
batchmd_cli_test(cli_version EXPECT --stdout "^batchmd ${PROJECT_VERSION} " --stdout "back-ends: cpu" COMMAND batchmd --version)
batchmd_cli_test(cli_run_help EXPECT --stdout "--steps" --stdout "--restart" --absent batchmd-* COMMAND batchmd run --help)
batchmd_cli_test(cli_inspect_help EXPECT --stdout "--json" COMMAND batchmd inspect --help)
batchmd_cli_test(cli_convert_help EXPECT --stdout "--step-min" COMMAND batchmd convert --help)
batchmd_cli_test(cli_inspect_tiny FIXTURES_REQUIRED cli_tiny_store
  EXPECT --stdout "samples: +6" COMMAND batchmd inspect ${_tiny})

# ---- the top level
batchmd_cli_test(cli_no_command EXPECT --exit 2 --stderr "no command given. use one of run, inspect, convert"
  COMMAND batchmd)
batchmd_cli_test(cli_unknown_command EXPECT --exit 2 --stderr "unknown command or option 'frobnicate'"
  COMMAND batchmd frobnicate)
batchmd_cli_test(cli_unknown_top_flag EXPECT --exit 2 --stderr "unknown command or option '--bogus'" COMMAND batchmd --bogus)
batchmd_cli_test(cli_two_commands EXPECT --exit 2 --stderr "error: " COMMAND batchmd inspect x.zarr convert y.zarr z.xyz)

# ---- run: arguments
batchmd_cli_test(cli_missing_config EXPECT --exit 2 --stderr "job file '/nonexistent/job\\.toml' does not exist"
  COMMAND batchmd run /nonexistent/job.toml)
batchmd_cli_test(cli_config_is_a_directory EXPECT --exit 2 --stderr "job file '.*/tests/app' is a directory"
  COMMAND batchmd run ${_src})
batchmd_cli_test(cli_two_configs EXPECT --exit 2 --stderr "not expected: .*tiny\\.toml" COMMAND batchmd run ${_src}/tiny.toml ${_src}/tiny.toml)
batchmd_cli_test(cli_unknown_run_flag EXPECT --exit 2 --stderr "not expected: --stepz .${_see_run}"
  COMMAND batchmd run --stepz 10)
batchmd_cli_test(cli_steps_not_a_number EXPECT --exit 2 --stderr "--steps must be a whole number, got 'abc'"
  COMMAND batchmd run --steps abc)
batchmd_cli_test(cli_steps_fraction EXPECT --exit 2 --stderr "--steps must be a whole number, got '2\\.5'"
  COMMAND batchmd run --steps 2.5)
batchmd_cli_test(cli_steps_exponent EXPECT --exit 2 --stderr "--steps must be a whole number, got '1e3'"
  COMMAND batchmd run --steps 1e3)
# CLI11 alone clamps this to 2^63-1 steps and runs the default job "forever".
batchmd_cli_test(cli_steps_overflow EXPECT --exit 2 --stderr "--steps 99999999999999999999999 is too large" --absent batchmd-*
  COMMAND batchmd run --steps 99999999999999999999999)
batchmd_cli_test(cli_steps_negative EXPECT --exit 2 --stderr "--steps must be >= 0" --absent batchmd-*
  COMMAND batchmd run --steps -5 -q)
batchmd_cli_test(cli_steps_no_value EXPECT --exit 2 --stderr "--steps: 1 required INT missing" COMMAND batchmd run --steps)
batchmd_cli_test(cli_dtype_bad EXPECT --exit 2 --stderr "--dtype must be float32 or float64" --absent batchmd-*
  COMMAND batchmd run --dtype float16 -q)
batchmd_cli_test(cli_threads_zero EXPECT --exit 2 --stderr "--threads must be >= 1" COMMAND batchmd run --threads 0 -q)
batchmd_cli_test(cli_threads_not_a_number EXPECT --exit 2 --stderr "--threads must be a whole number, got 'many'"
  COMMAND batchmd run --threads many)
batchmd_cli_test(cli_threads_overflow EXPECT --exit 2 --stderr "--threads 4294967297 is too large .the most is 2147483647"
  COMMAND batchmd run --threads 4294967297)
batchmd_cli_test(cli_threads_negative EXPECT --exit 2 --stderr "--threads must be >= 1" COMMAND batchmd run --threads -2 -q)
batchmd_cli_test(cli_device_bad EXPECT --exit 2 --stderr "gpu7" COMMAND batchmd run --device gpu7 -q)
batchmd_cli_test(cli_device_missing_gpu EXPECT --exit 2 --stderr "cuda:99" --absent batchmd-*
  COMMAND batchmd run --device cuda:99 -q)
batchmd_cli_test(cli_output_no_value EXPECT --exit 2 --stderr "--output" COMMAND batchmd run -o)

# ---- run: the job file
batchmd_cli_test(cli_bad_config EXPECT --exit 2 --stderr "error: .*bad_config\\.toml: 'run\\.dt_fs' must be > 0"
  COMMAND batchmd run ${_src}/bad_config.toml)
batchmd_cli_test(cli_config_not_toml EXPECT --exit 2 --stderr "cli_expect\\.sh:[0-9]+:[0-9]+: "
  COMMAND batchmd run ${_src}/cli_expect.sh)

# ---- run: stores and URLs
batchmd_cli_test(cli_output_exists FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "tiny\\.zarr" COMMAND batchmd run ${_src}/tiny.toml -q -o ${_tiny})
batchmd_cli_test(cli_output_bad_scheme EXPECT --exit 2 --stderr "unknown URL scheme 'ftp'"
  COMMAND batchmd run ${_src}/tiny.toml -q -o ftp://example.org/traj.zarr)
batchmd_cli_test(cli_output_empty_memory_url EXPECT --exit 2 --stderr "memory://" COMMAND batchmd run ${_src}/tiny.toml -q -o memory://)
batchmd_cli_test(cli_restart_missing EXPECT --exit 2 --stderr "no_such\\.zarr: no Zarr store here"
  COMMAND batchmd run --restart no_such.zarr -q)
batchmd_cli_test(cli_restart_not_a_store EXPECT --exit 2 --stderr "no Zarr store here" COMMAND batchmd run --restart ${_src} -q)
batchmd_cli_test(cli_restart_bad_scheme EXPECT --exit 2 --stderr "unknown URL scheme 'http'"
  COMMAND batchmd run --restart http://example.org/traj.zarr -q)
batchmd_cli_test(cli_restart_dtype_mismatch FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "the trajectory is float64 but the job asks for float32"
  COMMAND batchmd run --restart ${_tiny} --dtype float32 -q --steps 1)

batchmd_cli_test(cli_output_unwritable EXPECT --exit 2 --stderr "/proc/batchmd-cli-test\\.zarr"
  COMMAND batchmd run ${_src}/tiny.toml -q -o /proc/batchmd-cli-test.zarr)
batchmd_cli_test(cli_sink_full EXPECT --rm full.zarr --exit 2 --stderr "ZarrData\\(full\\.zarr\\) is full" --present full.zarr
  COMMAND batchmd run ${_src}/full_sink.toml -q -o full.zarr)
batchmd_cli_test(cli_sink_full_keeps_samples FIXTURES_REQUIRED cli_sink_full_store
  EXPECT --stdout "samples: +2$" COMMAND batchmd inspect ${CMAKE_CURRENT_BINARY_DIR}/cli/cli_sink_full/full.zarr)
set_tests_properties(cli_sink_full PROPERTIES FIXTURES_SETUP cli_sink_full_store)

# a dead S3 server (nothing listens on port 1): retries are logged, then one error line, exit 2
set(_dead_s3 AWS_ENDPOINT_URL=http://127.0.0.1:1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  AWS_REGION=us-east-1)
batchmd_cli_test(cli_inspect_dead_server ENVIRONMENT ${_dead_s3} BATCHMD_S3_WHEN_DOWN=fail BATCHMD_S3_MAX_ATTEMPTS=2
  EXPECT --exit 2 --allow-log --stderr "error: s3://bucket/x\\.zarr/zarr\\.json: GET failed: cannot reach http://127\\.0\\.0\\.1:1"
  COMMAND batchmd inspect s3://bucket/x.zarr)
batchmd_cli_test(cli_run_dead_server ENVIRONMENT ${_dead_s3} BATCHMD_S3_RETRY_DEADLINE_S=1
  EXPECT --exit 2 --allow-log --stderr "error: s3://bucket/x\\.zarr/.*cannot reach"
  COMMAND batchmd run ${_src}/tiny.toml -q -o s3://bucket/x.zarr)
batchmd_cli_test(cli_restart_s3_no_bucket EXPECT --exit 2 --stderr "'s3://' names no bucket" COMMAND batchmd run --restart s3:// -q)

# ---- inspect
batchmd_cli_test(cli_inspect_no_store EXPECT --exit 2 --stderr "store is required" --stderr "see 'batchmd inspect --help'"
  COMMAND batchmd inspect)
batchmd_cli_test(cli_inspect_missing EXPECT --exit 2 --stderr "no_such\\.zarr: no Zarr store here" --absent no_such.zarr
  COMMAND batchmd inspect no_such.zarr)
batchmd_cli_test(cli_inspect_plain_file EXPECT --exit 2 --stderr "tiny\\.toml" COMMAND batchmd inspect ${_src}/tiny.toml)
batchmd_cli_test(cli_inspect_not_a_store EXPECT --exit 2 --stderr "no Zarr store here" COMMAND batchmd inspect ${_src})
batchmd_cli_test(cli_inspect_bad_scheme EXPECT --exit 2 --stderr "unknown URL scheme 'ftp'" COMMAND batchmd inspect ftp://x/y.zarr)
batchmd_cli_test(cli_inspect_unknown_flag EXPECT --exit 2 --stderr "--yaml" COMMAND batchmd inspect x.zarr --yaml)
batchmd_cli_test(cli_inspect_extra_argument EXPECT --exit 2 --stderr "extra\\.zarr" COMMAND batchmd inspect a.zarr extra.zarr)

# ---- convert
batchmd_cli_test(cli_convert_no_arguments EXPECT --exit 2 --stderr "see 'batchmd convert --help'" COMMAND batchmd convert)
batchmd_cli_test(cli_convert_no_output FIXTURES_REQUIRED cli_tiny_store EXPECT --exit 2 --stderr "output is required"
  COMMAND batchmd convert ${_tiny})
batchmd_cli_test(cli_convert_system_not_a_number FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "--system must be a whole number, got 'first'" --absent out.xyz
  COMMAND batchmd convert ${_tiny} out.xyz --system first)
batchmd_cli_test(cli_convert_step_overflow FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "--step-min -99999999999999999999 is too small" --absent out.xyz
  COMMAND batchmd convert ${_tiny} out.xyz --step-min -99999999999999999999)
batchmd_cli_test(cli_convert_unknown_system FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "nothing matched" --absent out.xyz COMMAND batchmd convert ${_tiny} out.xyz --system 99)
batchmd_cli_test(cli_convert_steps_reversed FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "--step-min \\(10\\) is greater than --step-max \\(5\\)" --absent out.xyz
  COMMAND batchmd convert ${_tiny} out.xyz --step-min 10 --step-max 5)
batchmd_cli_test(cli_convert_unwritable FIXTURES_REQUIRED cli_tiny_store
  EXPECT --exit 2 --stderr "/nonexistent/dir" COMMAND batchmd convert ${_tiny} /nonexistent/dir/out.xyz)
batchmd_cli_test(cli_convert_bad_scheme EXPECT --exit 2 --stderr "ftp" COMMAND batchmd convert ftp://x/y.zarr out.xyz)
batchmd_cli_test(cli_convert_tiny FIXTURES_REQUIRED cli_tiny_store
  EXPECT --rm sys1.xyz --stdout "convert: wrote 3 frames, 39 atoms to sys1\\.xyz" --present sys1.xyz
  COMMAND batchmd convert ${_tiny} sys1.xyz --system 1)
