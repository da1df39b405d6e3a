// SPDX-License-Identifier: Apache-2.0
// Physics tests of the whole step loop with Lennard-Jones: NVE energy conservation and
// momentum conservation for liquid argon, batched == separate, and Batch-level forces vs finite
// differences (float32 and float64, periodic and open).
#include <gtest/gtest.h>

#include <cmath>

#include "batchmd/app/config.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/lennard_jones.hpp"

using namespace batchmd;

namespace {

Batch argon(const std::string& toml, const std::string& dtype = "float64") {
  auto c = app::parse_config("[run]\ndtype = \"" + dtype + "\"\n" + toml, "test");
  return app::build_systems(c);
}

std::vector<double> total_energy(const Batch& b) {
  auto e = dynamics::kinetic_energy(b);
  for (std::size_t s = 0; s < e.size(); ++s) e[s] += b.get("energy").data<double>()[s];
  return e;
}

model::LJConfig argon_lj() {
  model::LJConfig c;
  c.shift_energy = true;
  return c;
}

}  // namespace

TEST(MDLennardJones, NVEArgonLiquidConservesEnergyAndMomentum) {
  // 108-atom liquid argon box (1.40 g/cm³, 94 K), 10,000 steps of 2 fs in double precision.
  Batch b = argon("[[liquid]]\ncount = 1\ncells = 3\ntemperature_K = 94\n");
  dynamics::DemoDynamics md(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
  md.prepare(b);
  const double e0 = total_energy(b)[0];
  double max_dev = 0;
  for (int block = 0; block < 100; ++block) {
    md.run(b, 100);
    max_dev = std::max(max_dev, std::abs(total_energy(b)[0] - e0));
  }
  EXPECT_LT(max_dev / std::abs(e0), 1e-4) << "E0 = " << e0 << " eV";
  // total momentum stays zero (Newton's third law in the force kernel)
  const double* v = b.get("velocities").data<double>();
  const double* m = b.get("masses").data<double>();
  for (int k = 0; k < 3; ++k) {
    double p = 0, scale = 0;
    for (std::int64_t i = 0; i < b.n_atoms(); ++i) {
      p += m[i] * v[3 * i + k];
      scale += m[i] * std::abs(v[3 * i + k]);
    }
    EXPECT_LT(std::abs(p), 1e-10 * scale);
  }
}

TEST(MDLennardJones, BatchedEqualsSeparate) {
  const std::string systems =
      "[[liquid]]\ncount = 1\ncells = 3\n[[cluster]]\ncount = 1\natoms = 13\n[[liquid]]\ncount = 1\ncells = 2\n"
      "[[cluster]]\ncount = 1\natoms = 55\n";
  Batch all = argon(systems);
  std::vector<Batch> alone;
  for (std::int64_t s = 0; s < all.n_systems(); ++s) {
    std::vector<std::int64_t> one{s};
    alone.push_back(all.index_select(one));
  }
  dynamics::DemoDynamics md(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
  md.run(all, 300);
  for (std::int64_t s = 0; s < all.n_systems(); ++s) {
    dynamics::DemoDynamics one(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
    Batch& b = alone[static_cast<std::size_t>(s)];
    one.run(b, 300);
    const double* x = b.get("positions").data<double>();
    const double* xa = all.get("positions").data<double>() + 3 * all.atoms_ptr_data()[s];
    const double* va = all.get("velocities").data<double>() + 3 * all.atoms_ptr_data()[s];
    const double* v = b.get("velocities").data<double>();
    for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) {
      ASSERT_NEAR(x[i], xa[i], 1e-9) << "system " << s << " coordinate " << i;
      ASSERT_NEAR(v[i], va[i], 1e-11) << "system " << s << " velocity " << i;
    }
    EXPECT_NEAR(b.get("energy").data<double>()[0], all.get("energy").data<double>()[s], 1e-9);
  }
}

template <typename T>
void check_forces_fd(const std::string& dtype, double h, double tol) {
  // A periodic liquid box and an open cluster in one batch; central differences of the
  // per-system energy against the forces of every 7th atom.
  Batch b = argon("[[liquid]]\ncount = 1\ncells = 2\n[[cluster]]\ncount = 1\natoms = 19\n", dtype);
  model::LJConfig cfg = argon_lj();
  cfg.skin = 2.0;  // no rebuild between displaced evaluations
  model::LennardJones lj(cfg);
  lj.compute(b);
  Batch ref = b.clone();
  T* x = b.get("positions").data<T>();
  const auto* si = b.system_index().data<std::int64_t>();
  for (std::int64_t i = 0; i < b.n_atoms(); i += 7)
    for (int k = 0; k < 3; ++k) {
      const T orig = x[3 * i + k];
      x[3 * i + k] = static_cast<T>(orig + h);
      lj.compute(b);
      const double ep = double(b.get("energy").data<T>()[si[i]]);
      x[3 * i + k] = static_cast<T>(orig - h);
      lj.compute(b);
      const double em = double(b.get("energy").data<T>()[si[i]]);
      x[3 * i + k] = orig;
      const double fd = -(ep - em) / (double(static_cast<T>(orig + h)) - double(static_cast<T>(orig - h)));
      EXPECT_NEAR(double(ref.get("forces").data<T>()[3 * i + k]), fd, tol) << dtype << " atom " << i << " dir " << k;
    }
}

TEST(MDLennardJones, BatchForcesAreNegativeEnergyGradientFloat64) { check_forces_fd<double>("float64", 1e-5, 1e-7); }
TEST(MDLennardJones, BatchForcesAreNegativeEnergyGradientFloat32) { check_forces_fd<float>("float32", 1e-2, 2e-3); }

TEST(MDLennardJones, NaNPositionIsANumericalErrorNamingTheAtom) {
  Batch b = argon("[[cluster]]\ncount = 2\natoms = 13\n");
  b.get("positions").data<double>()[3 * 15 + 1] = std::nan("");
  dynamics::DemoDynamics md(std::make_shared<model::LennardJones>(argon_lj()), 2.0);
  try {
    md.run(b, 10);
    FAIL() << "expected NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("system 1"), std::string::npos) << e.what();
  }
}
