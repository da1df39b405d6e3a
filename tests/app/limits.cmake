# SPDX-License-Identifier: Apache-2.0
# Job limits (issue 10 §1), included from tests/app/CMakeLists.txt: the range of every key of the
# job file, the estimate of what a job implies, the neighbour list's own guard, and the command
# line's answer to absurd values: exit code 2 and a message naming the key (never bad_alloc, a
# crash or a hang).
batchmd_test(test_limits SOURCES test_limits.cpp test_config_ranges.cpp DEPS batchmd::app LABELS app)
target_compile_definitions(test_limits PRIVATE BATCHMD_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

set(_limits_dir ${CMAKE_CURRENT_BINARY_DIR}/limits)
file(MAKE_DIRECTORY ${_limits_dir})
# batchmd_limit_case(NAME TOML REGEX [EXTRA_ARGS...]): `batchmd run` of the job TOML (written to
# the build tree) must exit 2 with stderr matching REGEX.
function(batchmd_limit_case name toml regex)
  file(WRITE ${_limits_dir}/${name}.toml "${toml}")
  add_test(NAME cli_limit_${name} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/expect_exit2.sh "${regex}"
    $<TARGET_FILE:batchmd> run ${_limits_dir}/${name}.toml -q -o memory://limit_${name} ${ARGN})
  set_tests_properties(cli_limit_${name} PROPERTIES LABELS app TIMEOUT 60)
endfunction()

set(_c "[[cluster]]\natoms = 13\n")
# Out of range in the job file.
batchmd_limit_case(cells_2000 "[[liquid]]\ncells = 2000\n" "'liquid\\[0\\]\\.cells' must be an integer in \\[1, 1000\\], got 2000")
batchmd_limit_case(density_1e6 "[[liquid]]\ndensity_g_cm3 = 1e6\n" "'liquid\\[0\\]\\.density_g_cm3' must be > 0 and <= 100 g/cm³, got 1e\\+06")
batchmd_limit_case(cutoff_1e6 "[model]\ncutoff = 1e6\n${_c}" "'model\\.cutoff' must be > 0 and <= 100 Å, got 1e\\+06")
batchmd_limit_case(pair_cutoff_1e6 "[[model.pair]]\nelements = [18, 18]\ncutoff = 1e6\n${_c}" "'model\\.pair\\[0\\]\\.cutoff' must be")
batchmd_limit_case(threads_100000 "[run]\nthreads = 100000\n${_c}" "'run\\.threads' must be an integer in \\[0, 4096\\], got 100000")
batchmd_limit_case(threads_int64 "[run]\nthreads = 9223372036854775807\n${_c}" "'run\\.threads' .*got 9223372036854775807")
batchmd_limit_case(level_wraps "[output]\nlevel = 4294967297\n${_c}" "'output\\.level' must be an integer in \\[-7, 22\\]")
batchmd_limit_case(level_gzip "[output]\ncompressor = \"gzip\"\nlevel = 12\n${_c}" "'output\\.level' must be an integer in \\[0, 9\\] for gzip")
batchmd_limit_case(seed_negative "[run]\nseed = -1\n${_c}" "'run\\.seed' must be an integer in \\[0, 9223372036854775807\\], got -1")
batchmd_limit_case(steps_beyond_int64 "[run]\nsteps = 99999999999999999999\n${_c}" "steps_beyond_int64\\.toml:2:.*not representable in 64 bits")
batchmd_limit_case(chain_length "[[stage]]\ntype = \"nvt_nose_hoover\"\ntemperature_K = 10\nchain_length = 4294967296\n${_c}" "'stage\\[0\\]\\.chain_length' must be an integer in \\[1, 100\\]")
batchmd_limit_case(chunk_bytes_1tb "[output]\nchunk_bytes = 1099511627776\n${_c}" "'output\\.chunk_bytes' must be an integer in \\[1, 1073741824\\]")
batchmd_limit_case(cluster_atoms "[[cluster]]\natoms = 100000000\n" "'cluster\\[0\\]\\.atoms' must be an integer in \\[1, 10000000\\]")
batchmd_limit_case(dt_nan "[run]\ndt_fs = nan\n${_c}" "'run\\.dt_fs' must be > 0 and <= 100 fs, got nan")
# In range, but more than the machine or one batch can take (app/limits).
batchmd_limit_case(cells_1000 "[[liquid]]\ncells = 1000\n" "4e\\+09 atoms \\(most in liquid\\[0\\] \\(count = 1, cells = 1000.*at most 2147483646")
batchmd_limit_case(count_times_cells "[[liquid]]\ncount = 1000000\ncells = 1000\n" "4e\\+15 atoms")
batchmd_limit_case(cells_500 "[[liquid]]\ncells = 500\n" "needs an estimated .* GB of memory \\(5e\\+08 atoms in 1 systems.*this machine has available")
batchmd_limit_case(max_memory "[run]\nmax_memory_gb = 0.01\n[[liquid]]\ncells = 20\n" "needs an estimated .* MB of memory .*per snapshot\\), more than \\[run\\] max_memory_gb = 0\\.01 GB")
batchmd_limit_case(dense_hydrogen "[[liquid]]\ncells = 2\nelement = 1\ndensity_g_cm3 = 100\n" "liquid\\[0\\]: model cutoff \\+ skin = 9\\.5 Å .*neighbours per atom.*liquid\\[0\\]\\.density_g_cm3")
batchmd_limit_case(cutoff_100 "[model]\ncutoff = 100\n[[liquid]]\ncells = 2\n" "liquid\\[0\\]: model cutoff \\+ skin = 101 Å")
batchmd_limit_case(big_cluster_cutoff "[model]\ncutoff = 90\n[[cluster]]\natoms = 200000\n" "cluster\\[0\\]: .*neighbours per atom")
batchmd_limit_case(threads_cli "${_c}" "threads = 4096 .*more than the [0-9]+ CPUs" --threads 4096)
batchmd_limit_case(steps_cli "${_c}" "steps = 9000000000000000000 .*--steps" --steps 9000000000000000000)

# Damaged stores on the command line (issue 10 §4): tests/app/damaged_store.sh.
foreach(_mode convert restart foreign)
  add_test(NAME cli_damaged_store_${_mode} COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/damaged_store.sh
    $<TARGET_FILE:batchmd> ${CMAKE_CURRENT_BINARY_DIR}/damaged_store_${_mode} ${_mode})
  set_tests_properties(cli_damaged_store_${_mode} PROPERTIES LABELS app TIMEOUT 120)
endforeach()
