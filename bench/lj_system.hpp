// SPDX-License-Identifier: Apache-2.0
// bench/lj_system: the LAMMPS in.lj system in batchmd units (σ = 1 Å, ε = 1 eV, m = 1 amu,
// so τ = 10.18 fs): fcc at reduced density 0.8442, cutoff 2.5σ, skin 0.3σ, T* = 1.44.
#pragma once
#include <cmath>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/dynamics/units.hpp"
#include "batchmd/model/lennard_jones.hpp"

namespace batchmd::bench {

inline Batch inlj_batch(std::int64_t cells, DType dtype) {
  const double a = std::cbrt(4.0 / 0.8442);
  std::vector<double> pos;
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  for (std::int64_t i = 0; i < cells; ++i)
    for (std::int64_t j = 0; j < cells; ++j)
      for (std::int64_t k = 0; k < cells; ++k)
        for (const auto& b : basis) {
          pos.push_back((double(i) + b[0]) * a);
          pos.push_back((double(j) + b[1]) * a);
          pos.push_back((double(k) + b[2]) * a);
        }
  const double L = a * double(cells);
  std::vector<std::int64_t> z(pos.size() / 3, 1);
  std::vector<AtomicData> sys;
  sys.push_back(AtomicData::make(dtype, pos, z, {L, 0, 0, 0, L, 0, 0, 0, L}, {true, true, true}));
  Batch batch = Batch::from_systems(sys);
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    auto m = batch.get("masses").span<T>();
    std::fill(m.begin(), m.end(), T(1));
  });
  dynamics::maxwell_boltzmann(batch, 1.44 / units::kBoltzmann, 87287);
  return batch;
}

inline model::LJConfig inlj_model() {
  model::LJConfig lj;
  lj.epsilon = 1.0;
  lj.sigma = 1.0;
  lj.cutoff = 2.5;
  lj.skin = 0.3;
  return lj;
}

/// 0.005 τ in fs.
inline double inlj_dt() { return 0.005 * std::sqrt(1.0 / units::kAccel); }

}  // namespace batchmd::bench
