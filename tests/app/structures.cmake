# SPDX-License-Identifier: Apache-2.0
# Structures from files through the command line (tests/app/structures/ holds the job and the
# malformed files): the example, run --structures with --model, the velocities of a file back in
# ASE after a run and `batchmd convert`, and bad input — every malformed file exits 2 naming the
# file and line, an element the potential lacks exits 2 before anything is stored.
set(_st ${CMAKE_CURRENT_SOURCE_DIR}/structures)
set(_gases ${PROJECT_SOURCE_DIR}/examples/noble_gases.xyz)

batchmd_cli_test(cli_example_structures LABELS "example;io"
  EXPECT --rm example_structures.zarr --rm example_structures.relaxed.zarr
         --stdout "^  10 systems \\(8 periodic, 2 open\\), 368 atoms"
         --stdout "relaxed structures: [1-9][0-9]* in example_structures\\.relaxed\\.zarr"
  COMMAND batchmd run ${PROJECT_SOURCE_DIR}/examples/structures.toml --steps 150 --quiet -o example_structures.zarr)
batchmd_cli_test(cli_run_structures_model_lj LABELS io
  EXPECT --rm lj.zarr --rm lj.relaxed.zarr --stdout "^batchmd run: 1 structure file, model lj$"
         --stdout "^  8 systems \\(6 periodic, 2 open\\), 207 atoms" --stdout "fire\\+nvt_langevin"
  COMMAND batchmd run --structures ${_gases} --model lj --steps 20 --quiet -o lj.zarr)
batchmd_cli_test(cli_run_structures_job_stages LABELS io
  EXPECT --rm job.zarr --stdout "with the stages of .*velocities\\.toml, model lj"
         --stdout "^  16 systems \\(12 periodic, 4 open\\), 414 atoms" --stdout "^  velocity_verlet, 1 steps of 1e-06 fs"
  COMMAND batchmd run ${_st}/velocities.toml --structures ${_gases} ${_gases} --model lj --quiet -o job.zarr)

# ASE writes momenta -> batchmd keeps them as velocities -> the store -> convert -> ASE reads them.
add_test(NAME cli_structures_velocities_round_trip COMMAND sh -c
  "set -e; rm -rf v.zarr v.xyz
   $<TARGET_FILE:batchmd> run ${_st}/velocities.toml --quiet -o v.zarr >/dev/null
   $<TARGET_FILE:batchmd> convert v.zarr v.xyz >/dev/null
   /usr/bin/python3 -c \"import ase.io, numpy as np; a = ase.io.read('${_gases}', index=-1); b = ase.io.read('v.xyz', index=-1); d = np.abs(a.get_velocities() - b.get_velocities()).max(); print('atoms', len(b), 'max |dv|', d, 'A/fs-ase'); assert len(a) == len(b) and np.abs(b.get_velocities()).max() > 1e-3 and d < 1e-7\"")
set_tests_properties(cli_structures_velocities_round_trip PROPERTIES LABELS "app;io"
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR} PASS_REGULAR_EXPRESSION "^atoms 16 max \\|dv\\|")

# Bad input: one "batchmd: error:" line naming the file and line, exit 2, no store left behind.
foreach(case
    "truncated.xyz|truncated\\.xyz:5: unexpected end of file: frame 0 \\(line 1\\) declares 3 atoms"
    "bad_number.xyz|bad_number\\.xyz:4: expected a number for column 'pos', found 'zero'"
    "nan.xyz|nan\\.xyz:4: column 'pos' is 'nan', not a finite number"
    "unknown_element.xyz|unknown_element\\.xyz:4: unknown element 'Xx'"
    "wrong_count.data|wrong_count\\.data:18: unexpected end of file: the Atoms section has 2 lines, expected 3"
    "truncated_masses.data|truncated_masses\\.data:14: the Masses section ends after 1 lines, expected 2"
    "POSCAR_bad_counts|POSCAR_bad_counts:7: expected an integer for an atom count, found 'x'"
    "POSCAR_truncated|POSCAR_truncated:11: unexpected end of file: expected an atom position"
    "no_cell.cif|no_cell\\.cif: data block 'nocell': _cell_length_b is missing"
    "not_a.cif|not_a\\.cif:1:1: expected block header"
    "bad_element.cif|bad_element\\.cif:8: data block 'bad': site 'Q1' is of unknown element 'Qq'")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 file)
  list(GET parts 1 message)
  string(MAKE_C_IDENTIFIER "${file}" id)
  batchmd_cli_test(cli_structures_bad_${id} LABELS io
    EXPECT --exit 2 --stderr "^batchmd: error: .*${message}" --absent "bad.zarr*"
    COMMAND batchmd run --structures ${_st}/${file} --model lj --steps 1 --quiet -o bad.zarr)
endforeach()
batchmd_cli_test(cli_structures_element_not_covered LABELS "io;snap"
  EXPECT --exit 2 --absent "snap.zarr*"
         --stderr "^batchmd: error: the model \\(zbl\\+snap\\) has no parameters for element Ar \\(Z = 18\\), found in system 0, structures\\[0\\] \\(file '.*noble_gases\\.xyz', frame 0\\), atom 0. it covers Ta"
  COMMAND batchmd run --structures ${_gases} --model snap:/usr/share/lammps/potentials/Ta06A.snap --steps 1 --quiet -o snap.zarr)
batchmd_cli_test(cli_structures_no_model LABELS io
  EXPECT --exit 2 --stderr "^batchmd: error: run --structures: no potential: give --model"
  COMMAND batchmd run --structures ${_gases} --steps 1 --quiet)
batchmd_cli_test(cli_structures_bad_model_spec LABELS io
  EXPECT --exit 2 --stderr "^batchmd: error: --model snap: expected lj, TYPE:FILE"
  COMMAND batchmd run --structures ${_gases} --model snap --steps 1 --quiet)
batchmd_cli_test(cli_structures_with_restart LABELS io
  EXPECT --exit 2 --stderr "^batchmd: error: --structures cannot be combined with --restart"
  COMMAND batchmd run --restart somewhere.zarr --structures ${_gases} --model lj)
