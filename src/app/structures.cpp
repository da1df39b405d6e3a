// SPDX-License-Identifier: Apache-2.0
// app/structures: the starting structures of a job (fcc-derived periodic liquids, open fcc
// clusters, crystals from app/crystal_config) and the batch they make. Moved verbatim out of config.cpp: the same seed
// gives the same batch, bit for bit, as before the move.
#include "batchmd/app/structures.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "batchmd/app/config.hpp"
#include "batchmd/app/limits.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::app {

namespace {

constexpr double kAvogadro = 6.02214076e23;
const double kFcc[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};

}  // namespace

AtomicData make_liquid(const LiquidSpec& s, DType dt, std::mt19937_64& rng) {
  // number density (1/Å³) from mass density; four atoms per fcc cell
  const double rho = s.density_g_cm3 / atomic_mass(s.element) * kAvogadro * 1e-24;
  const double a = std::cbrt(4.0 / rho);
  std::uniform_real_distribution<double> jitter(-0.02 * a, 0.02 * a);
  std::vector<double> pos;
  for (std::int64_t i = 0; i < s.cells; ++i)
    for (std::int64_t j = 0; j < s.cells; ++j)
      for (std::int64_t k = 0; k < s.cells; ++k)
        for (const auto& b : kFcc) {
          pos.push_back((static_cast<double>(i) + b[0]) * a + jitter(rng));
          pos.push_back((static_cast<double>(j) + b[1]) * a + jitter(rng));
          pos.push_back((static_cast<double>(k) + b[2]) * a + jitter(rng));
        }
  const double L = a * static_cast<double>(s.cells);
  std::vector<std::int64_t> z(pos.size() / 3, s.element);
  return AtomicData::make(dt, pos, z, {L, 0, 0, 0, L, 0, 0, 0, L}, {true, true, true});
}

AtomicData make_cluster(const ClusterSpec& s, DType dt) {
  const double a = s.spacing * std::sqrt(2.0);
  const auto m = static_cast<std::int64_t>(std::ceil(std::cbrt(static_cast<double>(s.atoms)))) + 2;
  std::vector<std::array<double, 3>> sites;
  for (std::int64_t i = -m; i <= m; ++i)
    for (std::int64_t j = -m; j <= m; ++j)
      for (std::int64_t k = -m; k <= m; ++k)
        for (const auto& b : kFcc)
          sites.push_back({(static_cast<double>(i) + b[0]) * a, (static_cast<double>(j) + b[1]) * a,
                           (static_cast<double>(k) + b[2]) * a});
  std::stable_sort(sites.begin(), sites.end(), [](const auto& p, const auto& q) {
    return p[0] * p[0] + p[1] * p[1] + p[2] * p[2] < q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
  });
  std::vector<double> pos;
  for (std::int64_t n = 0; n < s.atoms; ++n)
    pos.insert(pos.end(), sites[static_cast<std::size_t>(n)].begin(), sites[static_cast<std::size_t>(n)].end());
  std::vector<std::int64_t> z(static_cast<std::size_t>(s.atoms), s.element);
  return AtomicData::make(dt, pos, z);
}

Batch build_systems(const std::vector<LiquidSpec>& liquids, const std::vector<ClusterSpec>& clusters, DType dt,
                    std::uint64_t seed, const std::vector<CrystalSpec>& crystals,
                    const std::vector<StructureFileSpec>& structures) {
  std::mt19937_64 rng(seed);
  std::vector<AtomicData> systems;
  std::vector<double> temps;
  for (const auto& s : liquids)
    for (std::int64_t n = 0; n < s.count; ++n) {
      systems.push_back(make_liquid(s, dt, rng));
      temps.push_back(s.temperature_K);
    }
  for (const auto& s : clusters)
    for (std::int64_t n = 0; n < s.count; ++n) {
      systems.push_back(make_cluster(s, dt));
      temps.push_back(s.temperature_K);
    }
  for (const auto& s : crystals)
    for (std::int64_t n = 0; n < s.count; ++n) {
      systems.push_back(make_crystal(s, dt, rng));
      temps.push_back(s.temperature_K);
    }
  std::vector<std::vector<double>> kept(systems.size());  // velocities a structure file keeps
  for (const auto& s : structures) {
    auto made = make_structure_systems(s, dt, rng, kept);
    for (auto& d : made) systems.push_back(std::move(d));
    // NaN: no draw; the file's velocities (in kept) or zero
    temps.resize(systems.size(), s.temperature_K.value_or(std::numeric_limits<double>::quiet_NaN()));
  }
  for (const auto& s : structures) release_structure_cache(s);  // tables may share a file: after all
  Batch b = Batch::from_systems(systems);
  // Velocities per system at its own temperature; one seeded stream per system.
  b.add_standard("velocities");
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    if (std::isnan(temps[static_cast<std::size_t>(s)])) {
      const auto& v = kept[static_cast<std::size_t>(s)];
      dispatch_float(dt, [&](auto zero) {
        using T = decltype(zero);
        T* out = b.get("velocities").data<T>() + 3 * b.atoms_ptr_data()[s];
        for (std::size_t k = 0; k < v.size(); ++k) out[k] = static_cast<T>(v[k]);
      });
      continue;
    }
    std::vector<std::int64_t> one{s};
    Batch sub = b.index_select(one);
    dynamics::maxwell_boltzmann(sub, temps[static_cast<std::size_t>(s)],
                                seed * 1000003ULL + static_cast<std::uint64_t>(s));
    const Tensor& v = sub.get("velocities");
    std::memcpy(b.get("velocities").bytes() + static_cast<std::size_t>(b.atoms_ptr_data()[s]) * v.row_bytes(), v.raw(),
                v.nbytes());
  }
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) id[s] = s;
  return b;
}

Batch build_systems(const RunConfig& c) {
  check_job_limits(c);  // a clear error rather than bad_alloc for a job this machine cannot hold
  return build_systems(c.liquids, c.clusters, dtype_from_name(c.dtype), c.seed, c.crystals, c.structures);
}

}  // namespace batchmd::app
