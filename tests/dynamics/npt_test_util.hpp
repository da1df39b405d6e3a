// SPDX-License-Identifier: Apache-2.0
// Helpers of the pressure-control tests: argon boxes, a hook that records per-system series at
// AFTER_STEP, and LAMMPS (`lmp`, a real process) in a scratch directory.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../support/lammps_process.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "dyn_test_util.hpp"

namespace batchmd::npt_test {

/// count fcc argon crystals (3×3×3 conventional cells, 108 atoms, a = 5.30 Å) at temperature_K.
inline Batch crystal(int count, double temperature_K) {
  return dyn_test::argon(
      "seed = 3\n[[crystal]]\nlattice = \"fcc\"\na = 5.30\ncells = [3, 3, 3]\nelement = 18\n"
      "jitter = 0.01\ntemperature_K = " +
      std::to_string(temperature_K) + "\ncount = " + std::to_string(count) + "\n");
}

inline std::shared_ptr<model::LennardJones> argon_model() {
  return std::make_shared<model::LennardJones>(dyn_test::argon_lj(1.0));
}

/// Records f(batch) (one value per system) after every step.
class SeriesHook : public dynamics::Hook {
 public:
  explicit SeriesHook(std::function<std::vector<double>(const Batch&)> f) : f_(std::move(f)) {}
  std::string name() const override { return "series"; }
  dynamics::Stage stage() const override { return dynamics::Stage::AFTER_STEP; }
  void operator()(dynamics::Context& ctx) override { rows.push_back(f_(ctx.batch)); }
  /// Column s from step `from` on.
  std::vector<double> column(std::size_t s, std::size_t from = 0) const {
    std::vector<double> c;
    for (std::size_t i = from; i < rows.size(); ++i) c.push_back(rows[i][s]);
    return c;
  }
  std::vector<std::vector<double>> rows;

 private:
  std::function<std::vector<double>(const Batch&)> f_;
};

inline double mean(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}
inline double variance(const std::vector<double>& x) {
  const double m = mean(x);
  double s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size() - 1);
}

/// A scratch directory for one external run: batchmd_npt_test_<pid>_<name>.
inline std::filesystem::path scratch_dir(const std::string& name) {
  return test_support::scratch_dir("npt_test", name);
}

using test_support::run_lammps;

/// Numbers of the second column of a fix ave/time file (comment lines skipped).
inline std::vector<double> read_ave_time(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<double> v;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    double step = 0, x = 0;
    if (ls >> step >> x) v.push_back(x);
  }
  return v;
}

}  // namespace batchmd::npt_test
