// SPDX-License-Identifier: Apache-2.0
// Support for the Lennard-Jones backend tests (lj_model_cases.hpp): the systems (argon-like
// liquids, small and triclinic boxes, slabs, wires, clusters, two species), the comparison with
// its tolerances, and the independent reference — direct sums over all periodic images
// (model_test_util.hpp) — that the CPU results are checked against.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "../support/backend.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "model_test_util.hpp"

namespace batchmd::model::lj_cases {

using test_support::Backend;
using test_support::backend_name;
using test_support::device_of;

// ---------------------------------------------------------------------------------------------
// Systems (argon-like: the default LJConfig, eps 0.0104 eV, sigma 3.4 Å, cutoff 8.5 Å, skin 1 Å).

using Vec = std::vector<double>;

// fcc, nc^3 cells of side a, jittered.
inline Vec fcc(int nc, double a, double jitter, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-jitter, jitter);
  const double basis[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
  Vec x;
  for (int i = 0; i < nc; ++i)
    for (int j = 0; j < nc; ++j)
      for (int k = 0; k < nc; ++k)
        for (const auto& b : basis) {
          x.push_back((i + b[0]) * a + u(rng));
          x.push_back((j + b[1]) * a + u(rng));
          x.push_back((k + b[2]) * a + u(rng));
        }
  return x;
}

// n1^3 points of a grid in fractional coordinates of `cell`, jittered.
inline Vec grid_in_cell(int n1, const Vec& cell, double jitter, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-jitter, jitter);
  Vec x;
  for (int i = 0; i < n1; ++i)
    for (int j = 0; j < n1; ++j)
      for (int k = 0; k < n1; ++k) {
        const double f[3] = {(i + .5) / n1, (j + .5) / n1, (k + .5) / n1};
        for (int e = 0; e < 3; ++e) x.push_back(f[0] * cell[e] + f[1] * cell[3 + e] + f[2] * cell[6 + e] + u(rng));
      }
  return x;
}

inline std::vector<std::int64_t> argon(const Vec& x) { return std::vector<std::int64_t>(x.size() / 3, 18); }

// A 500-atom periodic liquid-density box (28.75 Å).
inline AtomicData liquid(DType dt, std::mt19937_64& rng) {
  const double a = 5.75;
  const Vec x = fcc(5, a, 0.3, rng);
  return AtomicData::make(dt, x, argon(x), {5 * a, 0, 0, 0, 5 * a, 0, 0, 0, 5 * a}, {true, true, true});
}
// 64 atoms in a 14.5 Å cube: smaller than 2 (cutoff + skin) = 19 Å.
inline AtomicData small_box(DType dt, std::mt19937_64& rng) {
  const Vec cell = {14.5, 0, 0, 0, 14.5, 0, 0, 0, 14.5};
  const Vec x = grid_in_cell(4, cell, 0.3, rng);
  return AtomicData::make(dt, x, argon(x), cell, {true, true, true});
}
// 2 atoms in a ~5.5 Å triclinic cell: every neighbor is a periodic image, the atom's own included.
inline AtomicData tiny_box(DType dt, std::mt19937_64&) {
  const Vec cell = {5.5, 0, 0, 1.2, 5.6, 0, 0.8, -1.1, 5.3};
  const Vec x = {3.2, 2.4, 2.65, 2.0, 3.1, 5.9};
  return AtomicData::make(dt, x, argon(x), cell, {true, true, true});
}
// 125 atoms in a strongly sheared triclinic cell.
inline AtomicData triclinic(DType dt, std::mt19937_64& rng) {
  const Vec cell = {20, 0, 0, 6, 19, 0, -4, 5, 18};
  const Vec x = grid_in_cell(5, cell, 0.4, rng);
  return AtomicData::make(dt, x, argon(x), cell, {true, true, true});
}
// A slab: periodic along a and b (sheared), open along z; 64 atoms.
inline AtomicData slab(DType dt, std::mt19937_64& rng) {
  Vec x = grid_in_cell(4, {17, 0, 0, 3, 16, 0, 0, 0, 30}, 0.3, rng);
  for (std::size_t i = 2; i < x.size(); i += 3) x[i] *= 0.5;
  return AtomicData::make(dt, x, argon(x), {17, 0, 0, 3, 16, 0, 0, 0, 0}, {true, true, false});
}
// A wire: periodic along a only (11 Å < 2 (cutoff + skin)); 27 atoms.
inline AtomicData wire(DType dt, std::mt19937_64&) {
  Vec x;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) x.insert(x.end(), {i * 3.67 + 0.1 * j, j * 3.7, k * 3.75});
  return AtomicData::make(dt, x, argon(x), {11, 0, 0, 0, 0, 0, 0, 0, 0}, {true, false, false});
}
// An open cluster of n atoms (no cell).
inline AtomicData cluster(DType dt, std::mt19937_64& rng, int n = 55) {
  Vec x = grid_in_cell(4, {14.5, 0, 0, 0, 14.5, 0, 0, 0, 14.5}, 0.3, rng);
  x.resize(3 * static_cast<std::size_t>(n));
  return AtomicData::make(dt, x, argon(x), {}, {false, false, false});
}
inline AtomicData empty_system(DType dt) {
  return AtomicData::make(dt, {}, {}, {12, 0, 0, 0, 12, 0, 0, 0, 12}, {true, true, true});
}

// Every third atom krypton, atom 4 hydrogen (no override: default parameters).
inline AtomicData with_species(AtomicData d) {
  auto* z = d.get("atomic_numbers").data<std::int64_t>();
  const std::int64_t n = d.n_atoms();
  for (std::int64_t i = 0; i < n; i += 3) z[i] = 36;
  if (n > 4) z[4] = 1;
  return d;
}
inline LJConfig two_species(bool shift) {
  LJConfig c;
  c.shift_energy = shift;
  c.pairs.push_back({18, 36, 0.014, 3.6, 9.0});
  c.pairs.push_back({36, 36, 0.017, 3.9, 9.5});
  return c;
}

template <typename... A>
std::vector<AtomicData> systems(A&&... a) {
  std::vector<AtomicData> v;
  (v.push_back(std::move(a)), ...);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Comparison.

inline std::vector<double> to_doubles(const Tensor& t) {
  const Tensor h = t.is_cuda() ? t.to(Device::cpu()) : t.clone();
  if (h.dtype() == DType::Float32) return {h.data<float>(), h.data<float>() + h.numel()};
  return {h.data<double>(), h.data<double>() + h.numel()};
}

struct Result {
  std::vector<double> energy, forces, virial, stress;
};
inline Result result_of(const Batch& b, bool stress) {
  Result r;
  r.energy = to_doubles(b.get("energy"));
  r.forces = to_doubles(b.get("forces"));
  if (stress) {
    r.virial = to_doubles(b.get("virial"));
    r.stress = to_doubles(b.get("stress"));
  }
  return r;
}

inline double det3(const double* c) {
  return c[0] * (c[4] * c[8] - c[5] * c[7]) - c[1] * (c[3] * c[8] - c[5] * c[6]) + c[2] * (c[3] * c[7] - c[4] * c[6]);
}

// Result g against the reference result c of the host batch b, where the two sum the same pairs
// in different orders (a GPU against the CPU, a reused list against a fresh one; tolerances in the
// file comment).
inline void expect_agree(const Result& c, const Result& g, const Batch& b, bool f32, const LJConfig& cfg,
                         const std::string& where) {
  const double tol_f = f32 ? 2e-5 : 1e-10;
  const double tol_e = f32 ? 3e-5 : 1e-10;
  double eps = cfg.epsilon, sigma = cfg.sigma;
  for (const auto& p : cfg.pairs) {
    eps = std::max(eps, p.epsilon);
    sigma = std::min(sigma, p.sigma);
  }
  ASSERT_EQ(c.forces.size(), g.forces.size()) << where;
  ASSERT_EQ(c.energy.size(), g.energy.size()) << where;
  double fmax = 0;
  for (double f : c.forces) fmax = std::max(fmax, std::abs(f));
  const double fscale = fmax + 100 * eps / sigma;
  int bad = 0;
  for (std::size_t k = 0; k < c.forces.size() && bad < 10; ++k)
    if (!(std::abs(c.forces[k] - g.forces[k]) <= tol_f * fscale)) {
      ++bad;
      ADD_FAILURE() << where << ": force component " << k << " (atom " << k / 3 << "): want " << c.forces[k] << " got "
                    << g.forces[k] << " (scale " << fscale << ")";
    }
  const std::int64_t* ptr = b.atoms_ptr_data();
  const Tensor* cell = b.has("cell") ? &b.get("cell") : nullptr;
  const std::vector<double> cells = cell ? to_doubles(*cell) : std::vector<double>();
  for (std::size_t s = 0; s < c.energy.size(); ++s) {
    const double n = static_cast<double>(ptr[s + 1] - ptr[s]);
    const double escale = 10 * n * eps;
    EXPECT_LE(std::abs(c.energy[s] - g.energy[s]), tol_e * (std::abs(c.energy[s]) + escale))
        << where << ": energy of system " << s << ": want " << c.energy[s] << " got " << g.energy[s];
    if (c.virial.empty()) continue;
    ASSERT_EQ(c.virial.size(), g.virial.size()) << where;
    const double vol = cells.empty() ? 0.0 : std::abs(det3(&cells[9 * s]));
    for (std::size_t e = 0; e < 9; ++e) {
      const double cw = c.virial[9 * s + e], gw = g.virial[9 * s + e];
      const double wtol = tol_e * (std::abs(cw) + escale);
      EXPECT_LE(std::abs(cw - gw), wtol) << where << ": virial[" << e << "] of system " << s << ": want " << cw
                                         << " got " << gw;
      const double cs = c.stress[9 * s + e], gs = g.stress[9 * s + e];
      if (cs == 0.0) {
        EXPECT_EQ(gs, 0.0) << where << ": stress[" << e << "] of system " << s;
      } else {
        EXPECT_LE(std::abs(cs - gs), wtol / vol + 1e-12) << where << ": stress[" << e << "] of system " << s;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The independent reference: direct sums over all periodic images (model_test_util.hpp).

inline testing::RefLJ pair_params(const LJConfig& c, std::int64_t za, std::int64_t zb) {
  for (const auto& p : c.pairs)
    if ((p.z_a == za && p.z_b == zb) || (p.z_a == zb && p.z_b == za))
      return {p.epsilon, p.sigma, p.cutoff, c.shift_energy};
  return {c.epsilon, c.sigma, c.cutoff, c.shift_energy};
}

inline double max_cutoff(const LJConfig& c) {
  double rc = c.cutoff;
  for (const auto& p : c.pairs) rc = std::max(rc, p.cutoff);
  return rc;
}

// System s of a host batch as the reference takes it. Rows of open directions are replaced by
// unit vectors orthogonal to the periodic rows (the reference's image search inverts the cell;
// open directions get no images either way).
inline testing::TestSystem test_system(const Batch& b, std::int64_t s) {
  testing::TestSystem t;
  const std::int64_t a0 = b.atoms_ptr_data()[s], a1 = b.atoms_ptr_data()[s + 1];
  const std::vector<double> x = to_doubles(b.get("positions"));
  t.x.assign(x.begin() + 3 * a0, x.begin() + 3 * a1);
  const std::int64_t* z = b.get("atomic_numbers").data<std::int64_t>();
  t.z.assign(z + a0, z + a1);
  if (b.has("pbc"))
    for (int d = 0; d < 3; ++d) t.pbc[d] = b.get("pbc").data<bool>()[3 * s + d];
  if (b.has("cell")) {
    const std::vector<double> c = to_doubles(b.get("cell"));
    for (int k = 0; k < 9; ++k) t.cell[static_cast<std::size_t>(k)] = c[static_cast<std::size_t>(9 * s + k)];
  }
  const int np = int(t.pbc[0]) + int(t.pbc[1]) + int(t.pbc[2]);
  auto row = [&](int d) { return std::array<double, 3>{t.cell[3 * d], t.cell[3 * d + 1], t.cell[3 * d + 2]}; };
  auto set_row = [&](int d, std::array<double, 3> v) {
    const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    for (int e = 0; e < 3; ++e) t.cell[static_cast<std::size_t>(3 * d + e)] = v[static_cast<std::size_t>(e)] / n;
  };
  auto cross = [](std::array<double, 3> a, std::array<double, 3> c) {
    return std::array<double, 3>{a[1] * c[2] - a[2] * c[1], a[2] * c[0] - a[0] * c[2], a[0] * c[1] - a[1] * c[0]};
  };
  if (np == 2) {
    const int o = !t.pbc[0] ? 0 : (!t.pbc[1] ? 1 : 2);
    set_row(o, cross(row((o + 1) % 3), row((o + 2) % 3)));
  } else if (np == 1) {
    const int p = t.pbc[0] ? 0 : (t.pbc[1] ? 1 : 2);
    const std::array<double, 3> a = row(p);
    const std::array<double, 3> trial =
        std::abs(a[0]) < std::abs(a[1]) ? std::array<double, 3>{1, 0, 0} : std::array<double, 3>{0, 1, 0};
    const std::array<double, 3> u = cross(a, trial);
    set_row((p + 1) % 3, u);
    set_row((p + 2) % 3, cross(a, u));
  }
  return t;
}

// The reference result of every system of a host batch (stress -W/V where fully periodic).
inline Result brute_force(const Batch& b, const LJConfig& cfg, bool stress) {
  Result r;
  r.forces.assign(static_cast<std::size_t>(3 * b.n_atoms()), 0.0);
  const double rc = max_cutoff(cfg);
  for (std::int64_t s = 0; s < b.n_systems(); ++s) {
    const testing::TestSystem t = test_system(b, s);
    const testing::RefResult ref = testing::brute_force_lj(
        t, [&](std::int64_t za, std::int64_t zb) { return pair_params(cfg, za, zb); }, rc);
    r.energy.push_back(ref.energy);
    const std::int64_t a0 = b.atoms_ptr_data()[s];
    std::copy(ref.forces.begin(), ref.forces.end(), r.forces.begin() + 3 * a0);
    if (!stress) continue;
    const bool periodic = t.pbc[0] && t.pbc[1] && t.pbc[2];
    const double vol = periodic ? std::abs(det3(t.cell.data())) : 0.0;
    for (int k = 0; k < 9; ++k) {
      r.virial.push_back(ref.virial[static_cast<std::size_t>(k)]);
      r.stress.push_back(periodic ? -ref.virial[static_cast<std::size_t>(k)] / vol : 0.0);
    }
  }
  return r;
}

// The reference for the host batch `host` (the input the backend computes from): on the CPU the
// direct sum, on a GPU the CPU model.
inline Result reference(Backend be, const Batch& host, const LJConfig& cfg, bool stress) {
  if (be == Backend::Cpu) return brute_force(host, cfg, stress);
  Batch ref = host.clone();
  LennardJones cpu(cfg);
  cpu.compute(ref, stress);
  return result_of(ref, stress);
}

inline void expect_correct(Backend be, const Batch& host, const Result& got, const LJConfig& cfg,
                           const std::string& where) {
  const bool stress = !got.virial.empty();
  expect_agree(reference(be, host, cfg, stress), got, host, host.float_dtype() == DType::Float32, cfg,
               where + (be == Backend::Cpu ? " (vs the direct sum)" : " (vs the CPU model)"));
}

// A model on the backend computes the systems twice, with and without stress (the list is kept,
// energies and forces are rewritten), each result checked.
inline void agree_once(Backend be, std::vector<AtomicData> sys, const LJConfig& cfg, const std::string& where) {
  const Batch host = Batch::from_systems(sys);
  Batch dev = host.to(device_of(be));
  LennardJones m(cfg);
  const bool f32 = host.float_dtype() == DType::Float32;
  Result want = reference(be, host, cfg, true);
  m.compute(dev, true);
  expect_agree(want, result_of(dev, true), host, f32, cfg, where + " (stress)");
  m.compute(dev, false);
  want.virial.clear();
  want.stress.clear();
  expect_agree(want, result_of(dev, false), host, f32, cfg, where + " (no stress)");
  EXPECT_EQ(m.neighbor_builds(), 1);
}

}  // namespace batchmd::model::lj_cases
