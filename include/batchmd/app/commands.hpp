// app/commands: the batchmd subcommands (run, bench) as functions the CLI and tests call.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace batchmd::app {

struct RunOptions {
  std::string config_path;             ///< empty: the embedded default job
  std::optional<std::int64_t> steps;   ///< overrides [run].steps
  std::optional<std::string> dtype;    ///< overrides [run].dtype
  std::optional<int> threads;          ///< overrides [run].threads
  bool quiet = false;                  ///< no progress line
};

/// Runs a job and prints its summary to `out`. Returns the process exit code.
int run_command(const RunOptions& opts, std::FILE* out = stdout);

}  // namespace batchmd::app
