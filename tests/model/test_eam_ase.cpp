// SPDX-License-Identifier: Apache-2.0
// EAM against a second, independent reference: ASE's EAM calculator (python3-ase, run as a real
// /usr/bin/python3 process by test_eam_ase.py). ASE reads the same LAMMPS files but splines the
// tables its own way (scipy cubic splines), so agreement is to the interpolation error of the
// 10,000-point tables of Cu_mishin1.eam.alloy — measured here and asserted with margin.
#include <gtest/gtest.h>

#include <cstdlib>

#include "batchmd/model/eam.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

struct AseResult {
  double energy = 0;
  std::vector<double> forces;
};

AseResult ase_eam(const std::string& potential, const Sys& s, const std::string& name) {
  const auto dir = scratch_dir("eam_ase_" + name);
  {
    std::ofstream in(dir / "in.txt");
    in.precision(17);
    in << s.n() << "\n";
    for (double c : s.cell) in << c << " ";
    in << "\n" << s.pbc[0] << " " << s.pbc[1] << " " << s.pbc[2] << "\n";
    for (std::int64_t i = 0; i < s.n(); ++i)
      in << s.z[static_cast<std::size_t>(i)] << " " << s.x[3 * i] << " " << s.x[3 * i + 1] << " " << s.x[3 * i + 2]
         << "\n";
  }
  const std::string cmd = "/usr/bin/python3 '" + std::string(BATCHMD_EAM_ASE_SCRIPT) + "' '" + potential + "' '" +
                          (dir / "in.txt").string() + "' '" + (dir / "out.txt").string() + "' > '" +
                          (dir / "py.out").string() + "' 2>&1";
  AseResult r;
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream err(dir / "py.out");
    std::stringstream ss;
    ss << err.rdbuf();
    ADD_FAILURE() << "ASE failed: " << ss.str();
    return r;
  }
  std::ifstream out(dir / "out.txt");
  out >> r.energy;
  for (double v; out >> v;) r.forces.push_back(v);
  std::filesystem::remove_all(dir);
  return r;
}

void expect_close_to_ase(const std::string& file, const Sys& s, const std::string& name, double etol, double ftol) {
  auto eam = load_eam({kPotentials + file});
  const Result r = evaluate(*eam, s);
  const AseResult a = ase_eam(kPotentials + file, s, name);
  ASSERT_EQ(a.forces.size(), r.forces.size()) << name;
  const double de = std::abs(r.energy[0] - a.energy) / std::abs(a.energy);
  double df = 0;
  for (std::size_t k = 0; k < r.forces.size(); ++k) df = std::max(df, std::abs(r.forces[k] - a.forces[k]));
  const double fs = max_abs(a.forces);
  std::printf("%s %s vs ASE: energy %.2e relative, forces %.2e of max |F| = %.3f eV/A\n", file.c_str(), name.c_str(),
              de, df / fs, fs);
  EXPECT_LT(de, etol) << name;
  EXPECT_LT(df, ftol * fs) << name;
}

TEST(EAMAse, CuMishinDisplacedCrystalAndCluster) {
  Sys s = fcc(3, 3.615, 29);
  jitter(s, 0.1, 1);
  expect_close_to_ase("Cu_mishin1.eam.alloy", s, "crystal", 1e-8, 1e-6);
  Sys c = fcc(2, 3.615, 29);
  c.pbc = {false, false, false};
  c.cell.assign(9, 0.0);
  jitter(c, 0.1, 2);
  expect_close_to_ase("Cu_mishin1.eam.alloy", c, "cluster", 1e-8, 1e-6);
}

}  // namespace
}  // namespace batchmd::model
