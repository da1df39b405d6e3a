// SPDX-License-Identifier: Apache-2.0
// app/commands: the batchmd subcommands (run, bench) as functions the CLI and tests call.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace batchmd::app {

struct RunOptions {
  std::string config_path;            ///< empty: the embedded default job
  std::optional<std::int64_t> steps;  ///< overrides [run].steps
  std::optional<std::string> dtype;   ///< overrides [run].dtype
  std::optional<int> threads;         ///< overrides [run].threads
  std::optional<std::string> device;  ///< overrides [run].device: auto, cpu, cuda or cuda:N
  std::optional<std::string> output;  ///< overrides [output].path
  /// Resume from the last snapshot of every system in this trajectory store (and append to it
  /// unless `output` names another store). The job comes from the store unless config_path is set.
  std::optional<std::string> restart;
  /// Structure files to run instead of the job's systems (app/structure_job.hpp): the default
  /// protocol (FIRE, then NVT), or the job file's stages when config_path is set.
  std::vector<std::string> structures;
  /// The potential, overriding the job's: "lj", "TYPE:FILE[,FILE]" or a model TOML file.
  std::optional<std::string> model;
  bool quiet = false;  ///< no progress line
  /// Under mpirun: the stages on groups of ranks instead of the systems shared (docs/mpi.md).
  bool mpi_pipeline = false;
};

/// Runs a job and prints its summary to `out`. Returns the process exit code.
int run_command(const RunOptions& opts, std::FILE* out = stdout);

struct InspectOptions {
  std::string url;    ///< trajectory store (path, file://, memory://)
  bool json = false;  ///< machine-readable output
};
/// `batchmd inspect`: samples, systems, fields (group, level, dtype, shape), codecs, stored
/// sizes and compression ratio of a trajectory store. Returns the exit code.
int inspect_command(const InspectOptions& opts, std::FILE* out = stdout);

struct ConvertOptions {
  std::string url;                        ///< trajectory store
  std::string output;                     ///< output file; format from `format`, else its extension
  std::optional<std::int64_t> system_id;  ///< only this system's samples
  std::optional<std::int64_t> step_min;   ///< only samples with step >= step_min
  std::optional<std::int64_t> step_max;   ///< only samples with step <= step_max
  std::optional<std::string> format;      ///< extxyz, lammps-data or poscar (the last two: one sample)
};
/// `batchmd convert`: writes extended XYZ (ASE/OVITO readable), one frame per sample, or one
/// sample as a LAMMPS data file or a POSCAR.
int convert_command(const ConvertOptions& opts, std::FILE* out = stdout);

}  // namespace batchmd::app
