// SPDX-License-Identifier: Apache-2.0
// app/structure_job: the job of `batchmd run --structures FILE... [--model SPEC] [JOB.toml]` —
// the given structure files as the systems, the potential from --model (or the job file), and
// the stages of the job file or, without one, the default protocol for structures: FIRE until
// every force is below 0.01 eV/Å (at most 1,000 steps), then Langevin NVT at 300 K; 2,000 steps
// of 1 fs in all. The job is composed as TOML (paths made absolute) and parsed by parse_config,
// so it is checked like any job file and recorded in the trajectory for --restart.
//
// --model SPEC:
//   lj                     Lennard-Jones with the [model] defaults (argon)
//   TYPE:FILE              one [model] table: type = TYPE, file = FILE (e.g. snap:Ta06A.snap)
//   snap:A.snapcoeff,A.snapparam   SNAP from its coefficient and parameter files
//   FILE.toml              a TOML file holding only a [model] table or [[model]] tables, with the
//                          keys of a job file (relative paths: relative to that file)
#pragma once
#include <string>

#include "batchmd/app/commands.hpp"
#include "batchmd/app/config.hpp"

namespace batchmd::app {

/// The job `opts` describes when it names structure files or a model (opts.structures non-empty
/// or opts.model set): the job file (else the default protocol for structures, or with --model
/// alone the embedded default job) with its system tables replaced by one [[structures]] table
/// per file, and its model by --model. Sets `job_name` for the
/// summary. InvalidArgument for a missing file, a bad SPEC, --restart with either option, or
/// structures without any potential (no --model and no job file).
RunConfig structure_job(const RunOptions& opts, std::string& job_name);

/// Throws InvalidArgument when --structures or --model is combined with --restart (checked by
/// structure_job too; run_command calls it before it opens any store).
void check_structure_options(const RunOptions& opts);

/// The default protocol for structures (the job text structure_job starts from without a job file).
extern const char* const kStructuresJobToml;

}  // namespace batchmd::app
