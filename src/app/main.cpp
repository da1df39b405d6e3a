// app/main: the batchmd command line.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/version.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"batchmd: batched atomistic dynamics"};
  cli.set_version_flag("--version", batchmd::version_text());
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
  std::string device;
  run_cmd->add_option("--device", device,
                      "auto (a GPU if usable, else cpu), cpu, cuda or cuda:N (overrides the config)");
  run_cmd->add_flag("-q,--quiet", run.quiet, "No progress line");
  std::string output, restart;
  run_cmd->add_option("-o,--output", output, "Trajectory store: path, file://path or memory://name");
  run_cmd->add_option("--restart", restart, "Continue from the last snapshot of every system in this store");
  run_cmd->callback([&] {
    if (run_cmd->count("--steps")) run.steps = steps;
    if (run_cmd->count("--dtype")) run.dtype = dtype;
    if (run_cmd->count("--threads")) run.threads = threads;
    if (run_cmd->count("--device")) run.device = device;
    if (run_cmd->count("--output")) run.output = output;
    if (run_cmd->count("--restart")) run.restart = restart;
  });

  batchmd::app::InspectOptions inspect;
  auto* inspect_cmd = cli.add_subcommand("inspect", "Describe a trajectory store");
  inspect_cmd->add_option("store", inspect.url, "Trajectory store (path or URL)")->required();
  inspect_cmd->add_flag("--json", inspect.json, "Print JSON");

  batchmd::app::ConvertOptions convert;
  auto* convert_cmd = cli.add_subcommand("convert", "Convert a trajectory store to extended XYZ");
  convert_cmd->add_option("store", convert.url, "Trajectory store (path or URL)")->required();
  convert_cmd->add_option("output", convert.output, "Output file (.xyz / .extxyz)")->required();
  std::int64_t system_id = 0, step_min = 0, step_max = 0;
  convert_cmd->add_option("--system", system_id, "Only this system_id");
  convert_cmd->add_option("--step-min", step_min, "Only samples with step >= this");
  convert_cmd->add_option("--step-max", step_max, "Only samples with step <= this");
  convert_cmd->add_option("--format", convert.format, "extxyz, lammps-data or poscar (default: from the extension)");
  convert_cmd->callback([&] {
    if (convert_cmd->count("--system")) convert.system_id = system_id;
    if (convert_cmd->count("--step-min")) convert.step_min = step_min;
    if (convert_cmd->count("--step-max")) convert.step_max = step_max;
  });

  CLI11_PARSE(cli, argc, argv);
  try {
    if (run_cmd->parsed()) return batchmd::app::run_command(run);
    if (inspect_cmd->parsed()) return batchmd::app::inspect_command(inspect);
    if (convert_cmd->parsed()) return batchmd::app::convert_command(convert);
  } catch (const batchmd::Error& e) {
    std::fprintf(stderr, "batchmd: error: %s\n", e.what());
    return 2;
  }
  return 0;
}
