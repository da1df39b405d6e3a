// app/main: the batchmd command line.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"batchmd: batched atomistic dynamics"};
  cli.set_version_flag("--version", "batchmd 0.1.0");
  cli.require_subcommand(1);

  batchmd::app::RunOptions run;
  auto* run_cmd = cli.add_subcommand("run", "Run a job (the embedded default when no config is given)");
  run_cmd->add_option("config", run.config_path, "TOML job file (see examples/)")->check(CLI::ExistingFile);
  std::int64_t steps = -1;
  run_cmd->add_option("--steps", steps, "Number of steps (overrides the config)");
  std::string dtype;
  run_cmd->add_option("--dtype", dtype, "float32 or float64 (overrides the config)");
  int threads = 0;
  run_cmd->add_option("--threads", threads, "CPU threads (overrides the config)");
  run_cmd->add_flag("-q,--quiet", run.quiet, "No progress line");
  run_cmd->callback([&] {
    if (run_cmd->count("--steps")) run.steps = steps;
    if (run_cmd->count("--dtype")) run.dtype = dtype;
    if (run_cmd->count("--threads")) run.threads = threads;
  });

  CLI11_PARSE(cli, argc, argv);
  try {
    if (run_cmd->parsed()) return batchmd::app::run_command(run);
  } catch (const batchmd::Error& e) {
    std::fprintf(stderr, "batchmd: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
