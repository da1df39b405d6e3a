// SPDX-License-Identifier: Apache-2.0
// app/main: the batchmd command line — parses the arguments (CLI11) and maps every outcome to
// the exit codes the README promises:
//   0    success, and --help / --version
//   2    a user error: bad arguments (unknown subcommand or flag, missing or malformed value,
//        missing file) or a batchmd::Error from the command (bad job file, foreign or damaged
//        store, full sink, unusable device, I/O failure); one line "batchmd: error: ..." on stderr
//   130  `run` stopped by Ctrl-C (the command returns it; see run.cpp)
//   1    anything else: a bug in batchmd ("batchmd: internal error: ..."), never a crash
// CLI11's own exit codes (105, 106, 109, ...) never reach the shell.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <new>
#include <string>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/version.hpp"
#include "batchmd/mpi/session.hpp"

namespace {

constexpr int kUserError = 2;
constexpr int kInternalError = 1;

/// One line: CLI11 and some system messages span lines; the promise is one line per error.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int fail(const std::string& what, int code = kUserError) {
  std::fprintf(stderr, "batchmd: %s: %s%s\n", code == kUserError ? "error" : "internal error",
               batchmd::mpi::error_prefix().c_str(), one_line(what).c_str());
  return code;
}

/// A whole integer in [lo, hi], or an error naming the option: CLI11 itself clamps a value that
/// overflows (--steps 99999999999999999999 would run for 2^63 steps), and the promise is that
/// integers out of their range are errors, never clamped or wrapped.
std::int64_t parse_integer(const std::string& option, const std::string& text,
                           std::int64_t lo = std::numeric_limits<std::int64_t>::min(),
                           std::int64_t hi = std::numeric_limits<std::int64_t>::max()) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  const bool parsed = ec == std::errc() && ptr == end;
  if ((ec == std::errc::result_out_of_range && text[0] == '-') || (parsed && v < lo))
    throw batchmd::InvalidArgument(option + " " + text + " is too small (the least is " + std::to_string(lo) + ")");
  if (ec == std::errc::result_out_of_range || (parsed && v > hi))
    throw batchmd::InvalidArgument(option + " " + text + " is too large (the most is " + std::to_string(hi) + ")");
  if (!parsed) throw batchmd::InvalidArgument(option + " must be a whole number, got '" + text + "'");
  return v;
}

/// The subcommand the user was typing when parsing failed ("" for the top level).
std::string command_of(const CLI::App& cli) {
  for (const auto* sub : cli.get_subcommands()) return " " + sub->get_name();
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"batchmd: batched atomistic dynamics"};
  cli.set_version_flag("--version", batchmd::version_text());
  cli.require_subcommand(1);

  batchmd::app::RunOptions run;
  auto* run_cmd = cli.add_subcommand("run", "Run a job (the embedded default when no config is given)");
  // Integers are taken as text and converted strictly (parse_integer); the job file is checked
  // after parsing, so an unknown flag is reported as such and not as a missing file.
  run_cmd->add_option("config", run.config_path, "TOML job file (see examples/)");
  std::string steps;
  run_cmd->add_option("--steps", steps, "Number of steps (overrides the config)")->type_name("INT");
  std::string dtype;
  run_cmd->add_option("--dtype", dtype, "float32 or float64 (overrides the config)");
  std::string threads;
  run_cmd->add_option("--threads", threads, "CPU threads (overrides the config)")->type_name("INT");
  std::string device;
  run_cmd->add_option("--device", device,
                      "auto (a GPU if usable, else cpu), cpu, cuda or cuda:N (overrides the config)");
  run_cmd->add_flag("-q,--quiet", run.quiet, "No progress line");
  run_cmd->add_flag("--mpi-pipeline", run.mpi_pipeline,
                    "Under mpirun: run the job's stages on groups of ranks, systems moving on as they finish a "
                    "stage (default: every rank runs a share of the systems; docs/mpi.md)");
  std::string output, restart;
  run_cmd->add_option("-o,--output", output, "Trajectory store: path, file://path or memory://name");
  run_cmd->add_option("--restart", restart, "Continue from the last snapshot of every system in this store");
  run_cmd
      ->add_option("--structures", run.structures,
                   "Structure files (extxyz, LAMMPS data, POSCAR, CIF) to run instead of the job's systems: "
                   "FIRE, then NVT at 300 K, or the job file's stages (give the job file first)")
      ->expected(1, -1)
      ->type_name("FILE...");
  std::string model;
  run_cmd
      ->add_option("--model", model,
                   "Potential (overrides the job's): lj, TYPE:FILE (e.g. snap:Ta06A.snap), snap:COEFF,PARAM "
                   "or a model TOML file")
      ->type_name("SPEC");
  run_cmd->callback([&] {
    if (run_cmd->count("--steps")) run.steps = parse_integer("--steps", steps);
    if (run_cmd->count("--dtype")) run.dtype = dtype;
    if (run_cmd->count("--threads"))
      run.threads = static_cast<int>(
          parse_integer("--threads", threads, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
    if (run_cmd->count("--device")) run.device = device;
    if (run_cmd->count("--output")) run.output = output;
    if (run_cmd->count("--restart")) run.restart = restart;
    if (run_cmd->count("--model")) run.model = model;
  });

  batchmd::app::InspectOptions inspect;
  auto* inspect_cmd = cli.add_subcommand("inspect", "Describe a trajectory store");
  inspect_cmd->add_option("store", inspect.url, "Trajectory store (path or URL)")->required();
  inspect_cmd->add_flag("--json", inspect.json, "Print JSON");

  batchmd::app::ConvertOptions convert;
  auto* convert_cmd = cli.add_subcommand("convert", "Convert a trajectory store to extended XYZ");
  convert_cmd->add_option("store", convert.url, "Trajectory store (path or URL)")->required();
  convert_cmd->add_option("output", convert.output, "Output file (.xyz / .extxyz)")->required();
  std::string system_id, step_min, step_max;
  convert_cmd->add_option("--system", system_id, "Only this system_id")->type_name("INT");
  convert_cmd->add_option("--step-min", step_min, "Only samples with step >= this")->type_name("INT");
  convert_cmd->add_option("--step-max", step_max, "Only samples with step <= this")->type_name("INT");
  convert_cmd->add_option("--format", convert.format, "extxyz, lammps-data or poscar (default: from the extension)");
  convert_cmd->callback([&] {
    if (convert_cmd->count("--system")) convert.system_id = parse_integer("--system", system_id);
    if (convert_cmd->count("--step-min")) convert.step_min = parse_integer("--step-min", step_min);
    if (convert_cmd->count("--step-max")) convert.step_max = parse_integer("--step-max", step_max);
  });

  try {
    cli.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version: printed on stdout
    return cli.exit(e) == 0 ? 0 : kUserError;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (cli.get_subcommands().empty() && e.get_name() == "RequiredError")  // CLI11 checks this before extras
      what = argc > 1 ? std::string("unknown command or option '") + argv[1] + "'; use one of run, inspect, convert"
                      : "no command given; use one of run, inspect, convert";
    return fail(what + " (see 'batchmd" + command_of(cli) + " --help')");
  } catch (const batchmd::Error& e) {  // a malformed integer (parse_integer, from a callback)
    return fail(e.what() + std::string(" (see 'batchmd") + command_of(cli) + " --help')");
  }
  if (run_cmd->parsed() && !run.config_path.empty()) {
    std::error_code ec;
    const auto status = std::filesystem::status(run.config_path, ec);
    if (!std::filesystem::exists(status))
      return fail("run: job file '" + run.config_path + "' does not exist (see 'batchmd run --help')");
    if (std::filesystem::is_directory(status))
      return fail("run: job file '" + run.config_path + "' is a directory, not a TOML file");
  }

  const int code = [&] {
    try {
      if (run_cmd->parsed()) return batchmd::app::run_command(run);
      if (inspect_cmd->parsed()) return batchmd::app::inspect_command(inspect);
      if (convert_cmd->parsed()) return batchmd::app::convert_command(convert);
    } catch (const batchmd::Error& e) {
      return fail(e.what());
    } catch (const std::filesystem::filesystem_error& e) {  // a path the user named (permissions, a file in the way)
      return fail(e.what());
    } catch (const std::bad_alloc&) {
      return fail("out of memory: the job or the store asks for more memory than this machine can give");
    } catch (const std::exception& e) {
      return fail(e.what(), kInternalError);
    }
    return 0;
  }();
  // A rank of an MPI run that failed aborts the whole job, so that no other rank waits for it.
  return batchmd::mpi::finish(code);
}
