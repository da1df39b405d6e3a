// SPDX-License-Identifier: Apache-2.0
// Shared helpers of the app tests: scratch paths, running `batchmd run` in-process with its
// summary captured and parsed, independent reference physics (a brute-force Lennard-Jones sum
// over periodic images, kinetic energy from stored velocities), and running the real binary as a
// child process (for signals, the working directory and environment variables).
#pragma once
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "batchmd/app/commands.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::app_test {

namespace fs = std::filesystem;

/// A fresh scratch path (removed first), unique to this process.
inline std::string tmp_path(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_app_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

inline std::string write_file(const std::string& name, const std::string& text) {
  const std::string p = tmp_path(name);
  std::ofstream(p) << text;
  return p;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int rc = -1;
  std::string out;  ///< what run_command printed (the summary)
};

/// run_command with its output captured (quiet: no progress line).
inline RunResult run_captured(app::RunOptions o) {
  o.quiet = true;
  std::FILE* f = std::tmpfile();
  RunResult r;
  r.rc = app::run_command(o, f);
  std::rewind(f);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) r.out.append(buf, n);
  std::fclose(f);
  return r;
}

/// One row of the summary table of a run with stages (stage, E_pot, T, fmax) or of a plain NVE
/// run (E(0), E(end), drift).
struct SummaryRow {
  std::int64_t system_id = -1, atoms = 0;
  std::string kind, stage;
  double epot = 0, temperature = 0, fmax = 0;  // staged runs
  double e0 = 0, e1 = 0, drift = 0;            // NVE runs
};

inline std::vector<SummaryRow> summary_rows(const std::string& out) {
  std::vector<SummaryRow> rows;
  static const std::regex staged(R"(^\s+(\d+)\s+(periodic|cluster)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$)");
  static const std::regex nve(R"(^\s+(\d+)\s+(periodic|cluster)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$)");
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    SummaryRow r;
    if (std::regex_match(line, m, staged)) {
      r.stage = m[4];
      r.epot = std::stod(m[5]);
      r.temperature = std::stod(m[6]);
      r.fmax = std::stod(m[7]);
    } else if (std::regex_match(line, m, nve)) {
      r.e0 = std::stod(m[4]);
      r.e1 = std::stod(m[5]);
      r.drift = std::stod(m[6]);
    } else {
      continue;
    }
    r.system_id = std::stoll(m[1]);
    r.kind = m[2];
    r.atoms = std::stoll(m[3]);
    rows.push_back(r);
  }
  return rows;
}

/// Values of a floating-point field as doubles (float32 or float64 batches).
inline std::vector<double> doubles(const Batch& b, std::string_view name) {
  const Tensor& t = b.get(name);
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  if (t.dtype() == DType::Float64)
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<double>()[i];
  else
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<float>()[i];
  return v;
}

/// 1 amu·Å²/fs² in eV, from CODATA: 1.66053906660e-27 kg · 1e-20 m² / 1e-30 s² / 1.602176634e-19 J/eV.
inline constexpr double kAmuA2PerFs2InEv = 1.66053906660e-27 * 1e10 / 1.602176634e-19;
inline constexpr double kBoltzmannEvPerK = 8.617333262e-5;  // CODATA 2018

/// Kinetic energy (eV) of system s: sum of m v² / 2 over its atoms.
inline double kinetic_energy(const Batch& b, std::int64_t s) {
  const auto v = doubles(b, "velocities"), m = doubles(b, "masses");
  const auto* ap = b.atoms_ptr_data();
  double k = 0;
  for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
    for (int c = 0; c < 3; ++c) k += 0.5 * m[i] * v[3 * i + c] * v[3 * i + c];
  return k * kAmuA2PerFs2InEv;
}

struct LJ {
  double epsilon = 0.0104, sigma = 3.40, cutoff = 8.5;  // the job files' argon defaults
  bool shift = true;
};

/// Lennard-Jones energy (eV) of system s by brute force: every pair, and for periodic systems
/// every image within the cutoff (orthorhombic cells; the app's builders make cubic boxes).
/// Independent of the model's neighbor lists.
inline double lj_energy(const Batch& b, std::int64_t s, const LJ& p) {
  const auto x = doubles(b, "positions"), cell = doubles(b, "cell");
  const auto* pbc = b.get("pbc").data<bool>();
  const auto* ap = b.atoms_ptr_data();
  auto pair = [&](double r2) {
    const double sr6 = std::pow(p.sigma * p.sigma / r2, 3);
    return 4 * p.epsilon * (sr6 * sr6 - sr6);
  };
  const double shift = p.shift ? pair(p.cutoff * p.cutoff) : 0.0;
  double L[3];
  int images[3];
  for (int d = 0; d < 3; ++d) {
    L[d] = cell[9 * s + 4 * d];
    for (int e = 0; e < 3; ++e)
      if (e != d && cell[9 * s + 3 * d + e] != 0) ADD_FAILURE() << "lj_energy: orthorhombic cells only";
    images[d] = pbc[3 * s + d] ? static_cast<int>(std::ceil(p.cutoff / L[d])) : 0;
  }
  double e = 0;
  for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i)
    for (std::int64_t j = ap[s]; j < ap[s + 1]; ++j)
      for (int a = -images[0]; a <= images[0]; ++a)
        for (int bb = -images[1]; bb <= images[1]; ++bb)
          for (int c = -images[2]; c <= images[2]; ++c) {
            if (i == j && a == 0 && bb == 0 && c == 0) continue;
            const double d[3] = {x[3 * j] - x[3 * i] + a * L[0], x[3 * j + 1] - x[3 * i + 1] + bb * L[1],
                                 x[3 * j + 2] - x[3 * i + 2] + c * L[2]};
            const double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if (r2 < p.cutoff * p.cutoff) e += 0.5 * (pair(r2) - shift);  // each pair seen twice
          }
  return e;
}

// ---------------------------------------------------------------- the real binary, as a process

/// A `batchmd` child process with stdout and stderr going to files.
struct Child {
  pid_t pid = -1;
  std::string out_path, err_path;
  int status = -1;

  /// Waits up to `timeout`; returns the exit code, 256 + the signal when a signal killed it (so
  /// "died of SIGINT" is not mistaken for "exited with 130"), or -1 on timeout (then it is killed).
  int wait(std::chrono::seconds timeout = std::chrono::seconds(120)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  std::string out() const { return read_text(out_path); }
  std::string err() const { return read_text(err_path); }
};

/// Starts BATCHMD_EXE with `args` in `cwd`, with `env` (NAME=value) added to this environment.
/// posix_spawn, not fork: this test process runs threads (OpenMP, sink workers).
inline Child spawn(const std::vector<std::string>& args, const std::string& cwd = ".",
                   const std::vector<std::string>& env = {}) {
  Child c;
  static int counter = 0;
  const std::string base = tmp_path("child" + std::to_string(counter++));
  c.out_path = base + ".out";
  c.err_path = base + ".err";
  std::vector<std::string> argv_s{BATCHMD_EXE};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawn_file_actions_addopen(&fa, 1, c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = ::posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
  return c;
}

}  // namespace batchmd::app_test
