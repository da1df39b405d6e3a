// SPDX-License-Identifier: Apache-2.0
// Shared helpers for the dynamics-suite tests: LJ clusters near the Cambridge Cluster Database
// global minima, argon systems from the app's builders, block statistics.
#pragma once
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "batchmd/app/config.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones.hpp"

namespace batchmd::dyn_test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSlow = 4;  // ASan: shorter runs (statistical bounds widen accordingly)
#else
inline constexpr int kSlow = 1;
#endif

/// LJ in reduced units (ε = 1 eV, σ = 1 Å), no cutoff in practice, unshifted.
inline model::LJConfig reduced_lj() {
  model::LJConfig c;
  c.epsilon = 1.0;
  c.sigma = 1.0;
  c.cutoff = 100.0;
  c.shift_energy = false;
  c.skin = 0.5;
  return c;
}

/// LJ7 pentagonal bipyramid (edges near 2^(1/6)) or LJ13 Mackay icosahedron, with every
/// coordinate displaced by uniform noise in [-noise, noise].
inline AtomicData lj_cluster(int n, double noise, std::uint64_t seed) {
  const double r0 = std::pow(2.0, 1.0 / 6.0);
  std::vector<double> x;
  const double pi = std::acos(-1.0);
  if (n == 7) {
    const double R = r0 / (2 * std::sin(pi / 5));
    const double h = std::sqrt(r0 * r0 - R * R);
    for (int k = 0; k < 5; ++k) x.insert(x.end(), {R * std::cos(2 * pi * k / 5), R * std::sin(2 * pi * k / 5), 0.0});
    x.insert(x.end(), {0, 0, h, 0, 0, -h});
  } else if (n == 13) {
    const double phi = (1 + std::sqrt(5.0)) / 2;
    const double R = 1.09 / std::sqrt(1 + phi * phi);
    x.insert(x.end(), {0, 0, 0});
    for (double a : {-1.0, 1.0})
      for (double b : {-1.0, 1.0}) {
        x.insert(x.end(), {0, a * R, b * phi * R});
        x.insert(x.end(), {a * R, b * phi * R, 0});
        x.insert(x.end(), {b * phi * R, 0, a * R});
      }
  }
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-noise, noise);
  for (auto& c : x) c += u(rng);
  return AtomicData::make(DType::Float64, x, std::vector<std::int64_t>(static_cast<std::size_t>(n), 18));
}

inline Batch argon(const std::string& toml, const std::string& dtype = "float64") {
  auto c = app::parse_config("[run]\ndtype = \"" + dtype + "\"\n" + toml, "test");
  return app::build_systems(c);
}

inline model::LJConfig argon_lj(double skin = 1.0) {
  model::LJConfig c;
  c.shift_energy = true;
  c.skin = skin;
  return c;
}

/// Mean and its standard error from `blocks` equal block averages of the series.
struct BlockStats {
  double mean = 0, err = 0;
};
inline BlockStats block_average(const std::vector<double>& xs, int blocks) {
  const std::size_t len = xs.size() / static_cast<std::size_t>(blocks);
  std::vector<double> means;
  for (int b = 0; b < blocks; ++b) {
    double s = 0;
    for (std::size_t i = 0; i < len; ++i) s += xs[static_cast<std::size_t>(b) * len + i];
    means.push_back(s / static_cast<double>(len));
  }
  BlockStats r;
  for (double m : means) r.mean += m / blocks;
  double var = 0;
  for (double m : means) var += (m - r.mean) * (m - r.mean) / (blocks - 1);
  r.err = std::sqrt(var / blocks);
  return r;
}

}  // namespace batchmd::dyn_test
