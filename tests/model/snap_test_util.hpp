// SPDX-License-Identifier: Apache-2.0
// Test helpers for SNAP, ZBL and sums of models: crystals, batches (with any element, masses
// given), LAMMPS (`lmp`, run as a real process) for reference configurations and results, and
// finite differences.
#pragma once
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../support/lammps_process.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::model::testing {

inline const std::string kPotentials = "/usr/share/lammps/potentials/";

/// One system as plain numbers (Å, amu).
struct Sys {
  std::vector<double> x;        // [n][3]
  std::vector<std::int64_t> z;  // [n]
  std::vector<double> cell;     // 9 values (rows), zeros for open directions
  std::array<bool, 3> pbc{true, true, true};
  std::vector<double> masses;  // [n]; empty: 1 amu each (tests without dynamics)
  std::vector<double> v;       // [n][3] Å/fs, optional
  std::int64_t n() const { return static_cast<std::int64_t>(z.size()); }
};

/// nc^3 conventional cells of a cubic lattice with the given fractional basis, all of element z.
inline Sys cubic(int nx, int ny, int nz, double a, const std::vector<std::array<double, 3>>& basis, std::int64_t z) {
  Sys s;
  for (int i = 0; i < nx; ++i)
    for (int j = 0; j < ny; ++j)
      for (int k = 0; k < nz; ++k)
        for (const auto& b : basis) {
          s.x.insert(s.x.end(), {(i + b[0]) * a, (j + b[1]) * a, (k + b[2]) * a});
          s.z.push_back(z);
        }
  s.cell = {nx * a, 0, 0, 0, ny * a, 0, 0, 0, nz * a};
  return s;
}
inline Sys bcc(int n, double a, std::int64_t z) { return cubic(n, n, n, a, {{0, 0, 0}, {.5, .5, .5}}, z); }
inline Sys fcc(int n, double a, std::int64_t z) {
  return cubic(n, n, n, a, {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}}, z);
}

inline void jitter(Sys& s, double amp, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-amp, amp);
  for (double& v : s.x) v += u(rng);
}

/// s, a cubic crystal of side `side` (Å), re-placed into `cell` (rows) at the same fractional
/// coordinates: a sheared (triclinic) copy.
inline Sys sheared(Sys s, double side, const std::vector<double>& cell) {
  s.cell = cell;
  for (std::int64_t i = 0; i < s.n(); ++i) {
    const double f[3] = {s.x[3 * i] / side, s.x[3 * i + 1] / side, s.x[3 * i + 2] / side};
    for (int e = 0; e < 3; ++e) s.x[3 * i + e] = f[0] * cell[e] + f[1] * cell[3 + e] + f[2] * cell[6 + e];
  }
  return s;
}

/// A random Al/Cu alloy in a triclinic cell (fcc, 2x2x2 conventional cells of 4 Å, sheared),
/// displaced.
inline Sys alcu_triclinic(std::uint64_t seed) {
  Sys s = sheared(fcc(2, 4.0, 13), 8.0, {8.0, 0, 0, 0.7, 8.0, 0, -0.5, 0.4, 8.0});
  std::mt19937_64 rng(seed);
  for (auto& z : s.z) z = rng() % 2 ? 13 : 29;
  jitter(s, 0.15, seed + 1);
  return s;
}

/// A small W-Be crystal in a sheared cell (periodic images of every atom, its own included).
inline Sys wbe_triclinic(std::uint64_t seed) {
  Sys s = sheared(bcc(2, 3.1803, 74), 6.3606, {6.3606, 0, 0, 0.9, 6.2, 0, -0.7, 0.5, 6.5});
  s.z[1] = s.z[6] = 4;
  jitter(s, 0.25, seed);
  return s;
}

/// AtomicData of s (masses set explicitly, so any element works).
inline AtomicData data_of(const Sys& s, DType dt = DType::Float64) {
  std::vector<std::int64_t> hydrogen(s.z.size(), 1);  // make() looks up masses of the atomic numbers
  AtomicData d = AtomicData::make(dt, s.x, hydrogen, s.cell, s.pbc);
  d.set("atomic_numbers", Level::Atom, Tensor::from(s.z, {s.n()}));
  std::vector<double> m = s.masses.empty() ? std::vector<double>(s.z.size(), 1.0) : s.masses;
  Tensor mt(dt, {s.n()});
  dispatch_float(dt, [&](auto zero) {
    using T = decltype(zero);
    for (std::int64_t i = 0; i < s.n(); ++i) mt.data<T>()[i] = static_cast<T>(m[static_cast<std::size_t>(i)]);
  });
  d.set("masses", Level::Atom, std::move(mt));
  if (!s.v.empty()) {
    Tensor vt(dt, {s.n(), 3});
    dispatch_float(dt, [&](auto zero) {
      using T = decltype(zero);
      for (std::size_t i = 0; i < s.v.size(); ++i) vt.data<T>()[i] = static_cast<T>(s.v[i]);
    });
    d.set("velocities", Level::Atom, std::move(vt));
  }
  return d;
}

inline Batch batch_of(const std::vector<Sys>& systems, DType dt = DType::Float64) {
  std::vector<AtomicData> d;
  for (const auto& s : systems) d.push_back(data_of(s, dt));
  return Batch::from_systems(d);
}

inline std::vector<double> doubles(const Tensor& t) {
  const Tensor h = t.is_cuda() ? t.to(Device::cpu()) : t.clone();
  if (h.dtype() == DType::Float32) return {h.data<float>(), h.data<float>() + h.numel()};
  if (h.dtype() == DType::Float64) return {h.data<double>(), h.data<double>() + h.numel()};
  ADD_FAILURE() << "not a float tensor";
  return {};
}

struct Result {
  std::vector<double> energy, forces, virial;
};
inline Result evaluate(Model& m, Batch& b) {
  m.compute(b, true);
  return {doubles(b.get("energy")), doubles(b.get("forces")), doubles(b.get("virial"))};
}
inline Result evaluate(Model& m, const Sys& s, DType dt = DType::Float64) {
  Batch b = batch_of({s}, dt);
  return evaluate(m, b);
}
inline double energy_of(Model& m, const Sys& s) {
  Batch b = batch_of({s});
  m.compute(b, false);
  return b.get("energy").data<double>()[0];
}

inline double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

/// Central differences of the energy: forces -dE/dx (every atom, every direction).
inline std::vector<double> fd_forces(Model& m, const Sys& s, double h) {
  std::vector<double> f(s.x.size());
  for (std::size_t k = 0; k < s.x.size(); ++k) {
    Sys p = s, q = s;
    p.x[k] += h;
    q.x[k] -= h;
    f[k] = -(energy_of(m, p) - energy_of(m, q)) / (2 * h);
  }
  return f;
}

/// Virial by strain derivatives: W_ab = -dE/d(eps_ab) with x -> (1 + eps) x and cell rows
/// c -> (1 + eps) c (periodic directions; the positions of open systems are strained too).
inline std::array<double, 9> fd_virial(Model& m, const Sys& s, double h) {
  std::array<double, 9> w{};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      auto strained = [&](double e) {
        Sys t = s;
        for (std::int64_t i = 0; i < s.n(); ++i) t.x[3 * i + a] += e * s.x[3 * i + b];
        for (int r = 0; r < 3; ++r) t.cell[3 * r + a] += e * s.cell[3 * r + b];
        return energy_of(m, t);
      };
      w[3 * a + b] = -(strained(h) - strained(-h)) / (2 * h);
    }
  return w;
}

// ----------------------------------------------------------------------------- LAMMPS

/// LAMMPS metal-unit constants (as LAMMPS 2022 defines them).
inline constexpr double kLmpBoltz = 8.617343e-5;   // eV/K
inline constexpr double kLmpNktv2p = 1.6021765e6;  // bar per eV/Å^3
inline constexpr double kLmpMvv2e = 1.0364269e-4;  // eV per amu Å^2/ps^2

/// A scratch directory for one external run: batchmd_snap_test_<pid>_<name>.
inline std::filesystem::path scratch_dir(const std::string& name) {
  return test_support::scratch_dir("snap_test", name);
}

using test_support::run_lammps;

/// A LAMMPS data file (atomic style) for s; type t is element types[t-1]. The cell must be lower
/// triangular (a along x, b in the xy plane), as LAMMPS boxes are; open directions get a box
/// that encloses the atoms with a margin.
inline std::string lammps_data(const Sys& s, const std::vector<std::int64_t>& types) {
  std::ostringstream o;
  o.precision(17);
  double lo[3], hi[3];
  for (int d = 0; d < 3; ++d) {
    if (s.pbc[d]) {
      lo[d] = 0;
      hi[d] = s.cell[4 * d];
    } else {
      lo[d] = 1e300;
      hi[d] = -1e300;
      for (std::int64_t i = 0; i < s.n(); ++i) {
        lo[d] = std::min(lo[d], s.x[3 * i + d] - 10);
        hi[d] = std::max(hi[d], s.x[3 * i + d] + 10);
      }
    }
  }
  o << "batchmd test\n\n" << s.n() << " atoms\n" << types.size() << " atom types\n";
  o << lo[0] << " " << hi[0] << " xlo xhi\n"
    << lo[1] << " " << hi[1] << " ylo yhi\n"
    << lo[2] << " " << hi[2] << " zlo zhi\n";
  if (s.cell[3] != 0 || s.cell[6] != 0 || s.cell[7] != 0)
    o << s.cell[3] << " " << s.cell[6] << " " << s.cell[7] << " xy xz yz\n";
  o << "\nMasses\n\n";
  for (std::size_t t = 0; t < types.size(); ++t) o << t + 1 << " 1.0\n";
  o << "\nAtoms # atomic\n\n";
  for (std::int64_t i = 0; i < s.n(); ++i) {
    std::size_t t = 0;
    while (types[t] != s.z[static_cast<std::size_t>(i)]) ++t;
    o << i + 1 << " " << t + 1 << " " << s.x[3 * i] << " " << s.x[3 * i + 1] << " " << s.x[3 * i + 2] << "\n";
  }
  return o.str();
}

/// Rows of a LAMMPS custom dump ("ITEM: ATOMS ..."), columns by name; sorted by id if present.
struct Dump {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;
  std::array<double, 9> box{};  // lo/hi per direction, then xy xz yz
  std::vector<double> column(const std::string& name) const {
    std::size_t c = 0;
    while (c < columns.size() && columns[c] != name) ++c;
    EXPECT_LT(c, columns.size()) << "no column " << name;
    std::vector<double> out;
    for (const auto& r : rows) out.push_back(c < r.size() ? r[c] : 0);
    return out;
  }
};
inline Dump read_dump(const std::filesystem::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << "cannot read " << file;
  Dump d;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ITEM: BOX BOUNDS", 0) == 0) {
      const bool tilt = line.find("xy") != std::string::npos;
      for (int k = 0; k < 3; ++k) {
        std::getline(in, line);
        std::istringstream ss(line);
        ss >> d.box[2 * k] >> d.box[2 * k + 1];
        if (tilt) ss >> d.box[6 + k];
      }
    } else if (line.rfind("ITEM: ATOMS", 0) == 0) {
      std::istringstream ss(line.substr(11));
      for (std::string c; ss >> c;) d.columns.push_back(c);
      while (std::getline(in, line)) {
        std::istringstream rs(line);
        std::vector<double> r;
        for (double v; rs >> v;) r.push_back(v);
        if (!r.empty()) d.rows.push_back(r);
      }
    }
  }
  return d;
}

/// The values of the thermo line of `step` (columns by header name) from a LAMMPS log.
inline std::map<std::string, double> thermo_at(const std::filesystem::path& log, long step) {
  std::ifstream in(log);
  std::string line;
  std::vector<std::string> header;
  std::map<std::string, double> out;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<std::string> w;
    for (std::string t; ss >> t;) w.push_back(t);
    if (!w.empty() && (w[0] == "Step" || w[0] == "PotEng")) {
      header = w;
      continue;
    }
    if (header.empty() || w.size() != header.size()) continue;
    try {
      if (header[0] == "Step" && std::stol(w[0]) != step) continue;
      for (std::size_t k = 0; k < w.size(); ++k) out[header[k]] = std::stod(w[k]);
      return out;
    } catch (const std::exception&) {
      header.clear();
    }
  }
  ADD_FAILURE() << "no thermo output for step " << step << " in " << log;
  return out;
}

}  // namespace batchmd::model::testing
