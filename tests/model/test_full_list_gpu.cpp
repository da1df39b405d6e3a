// SPDX-License-Identifier: Apache-2.0
// GPU tests of the device-built full neighbor list (src/model/full_list_device.{cpp,cu} behind
// DeviceFullList): against an independent brute-force enumeration of (atom, image) pairs in
// double, and against the host-built list (ListBuild::kHost, the earlier path) — the same pairs
// in the same canonical order (per atom sorted by (neighbor, image)), displacements to 1e-12 Å,
// every reverse pair consistent — on periodic cubic, triclinic, slab, open, a cell smaller than
// the cutoff (several images of every atom, its own included), a mixed batch with two species of
// different cutoffs, an excluded species pair and ignored atoms; then across calls: small moves
// (no rebuild), a move beyond skin/2 and a cell change (only that system rebuilt, the others'
// pairs unchanged), atoms wrapped by a lattice vector (no rebuild, same displacements); errors;
// and the models (EAM, SW, Morse, ZBL, SNAP) with the device list against the host list: bit for
// bit on the first call, to rounding after MD steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <tuple>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/eam.hpp"
#include "batchmd/model/morse.hpp"
#include "batchmd/model/snap_potential.hpp"
#include "batchmd/model/stillinger_weber.hpp"
#include "batchmd/model/zbl.hpp"
#include "full_list_cases.hpp"
#include "full_list_gpu.hpp"
#include "lammps_compare.hpp"

namespace batchmd::model {
namespace {

using namespace testing;
using detail::DeviceFullList;
using detail::DeviceNeighborView;
using detail::ListBuild;

const Device kGpu{Device::Kind::CUDA, 0};
class FullListGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda::device_count() == 0) GTEST_SKIP() << "no GPU: " << cuda::unavailable_reason();
  }
};

// A downloaded view.
struct List {
  std::vector<std::int64_t> offsets, reverse;
  std::vector<std::int32_t> pair_atom, neighbor, species;
  std::vector<double> rij;
};

template <typename T>
List download(const DeviceNeighborView<T>& v) {
  const cuda::Stream st = cuda::compute_stream(0);
  List l;
  const auto np = static_cast<std::size_t>(v.n_pairs);
  l.offsets.resize(static_cast<std::size_t>(v.n_atoms) + 1);
  l.reverse.resize(np);
  l.pair_atom.resize(np);
  l.neighbor.resize(np);
  l.species.resize(np);
  std::vector<T> r(3 * np);
  cuda::copy(l.offsets.data(), v.offsets, l.offsets.size() * sizeof(std::int64_t), st);
  if (np > 0) {
    cuda::copy(l.reverse.data(), v.reverse, np * sizeof(std::int64_t), st);
    cuda::copy(l.pair_atom.data(), v.pair_atom, np * sizeof(std::int32_t), st);
    cuda::copy(l.neighbor.data(), v.neighbor, np * sizeof(std::int32_t), st);
    cuda::copy(l.species.data(), v.species, np * sizeof(std::int32_t), st);
    cuda::copy(r.data(), v.rij, 3 * np * sizeof(T), st);
  }
  l.rij.assign(r.begin(), r.end());
  return l;
}

template <typename T = double>
List update(DeviceFullList& list, const std::vector<Sys>& systems, DType dt = DType::Float64) {
  const Batch b = batch_of(systems, dt).to(kGpu);
  return download(list.update<T>(b, species_of(systems), 2, kCut));
}

// The reference: every (j, image) of every atom i with 0 < |x_j + image.cell - x_i| < cutoff
// (+ add), by brute force over all atoms of the system and enough images, in double; per atom
// sorted by (j, image). Returns, per atom, (j, r).
using Ref = std::vector<std::vector<std::pair<std::int32_t, std::array<double, 3>>>>;
Ref brute_force(const std::vector<Sys>& systems, double add) {
  Ref out;
  std::int32_t base = 0;
  const auto sp = species_of(systems);
  for (const Sys& s : systems) {
    int N[3] = {0, 0, 0};
    const double* c = s.cell.data();
    // The heights of the periodic directions: an open direction's row may be zero (a slab), so it
    // is replaced by the unit normal of the other two rows (the height does not depend on it).
    std::vector<double> g = s.cell;
    for (int d = 0; d < 3; ++d) {
      const double* u = c + 3 * ((d + 1) % 3);
      const double* w = c + 3 * ((d + 2) % 3);
      const double n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]};
      const double len = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      if (!s.pbc[static_cast<std::size_t>(d)] && len > 0)
        for (int e = 0; e < 3; ++e) g[static_cast<std::size_t>(3 * d + e)] = n[e] / len;
    }
    for (int d = 0; d < 3; ++d)
      if (s.pbc[static_cast<std::size_t>(d)]) {
        const double* h0 = g.data();
        const double* u = h0 + 3 * ((d + 1) % 3);
        const double* w = h0 + 3 * ((d + 2) % 3);
        const double n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]};
        const double vol = std::abs(h0[3 * d] * n[0] + h0[3 * d + 1] * n[1] + h0[3 * d + 2] * n[2]);
        const double h = vol / std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        EXPECT_TRUE(std::isfinite(h) && h > 0) << "brute_force: the height of periodic direction " << d;
        if (!(std::isfinite(h) && h > 0)) continue;
        N[d] = static_cast<int>(std::ceil(6.5 / h)) + 3;  // atoms may sit a cell or two outside
      }
    for (std::int64_t i = 0; i < s.n(); ++i) {
      std::vector<std::tuple<std::int32_t, std::array<int, 3>, std::array<double, 3>>> found;
      const std::int32_t a = sp[static_cast<std::size_t>(base + i)];
      for (std::int64_t j = 0; j < s.n() && a >= 0; ++j) {
        const std::int32_t b = sp[static_cast<std::size_t>(base + j)];
        if (b < 0) continue;
        const double rc = kCut[static_cast<std::size_t>(a * 2 + b)];
        if (rc <= 0) continue;
        for (int n0 = -N[0]; n0 <= N[0]; ++n0)
          for (int n1 = -N[1]; n1 <= N[1]; ++n1)
            for (int n2 = -N[2]; n2 <= N[2]; ++n2) {
              std::array<double, 3> r{};
              for (int e = 0; e < 3; ++e)
                r[static_cast<std::size_t>(e)] =
                    s.x[3 * j + e] - s.x[3 * i + e] + n0 * c[e] + n1 * c[3 + e] + n2 * c[6 + e];
              const double r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
              if (r2 < (rc + add) * (rc + add) && r2 > 1e-20)
                found.emplace_back(static_cast<std::int32_t>(base + j), std::array<int, 3>{n0, n1, n2}, r);
            }
      }
      std::sort(found.begin(), found.end(), [](const auto& p, const auto& q) {
        return std::tie(std::get<0>(p), std::get<1>(p)) < std::tie(std::get<0>(q), std::get<1>(q));
      });
      out.emplace_back();
      for (const auto& f : found) out.back().emplace_back(std::get<0>(f), std::get<2>(f));
    }
    base += static_cast<std::int32_t>(s.n());
  }
  return out;
}

// The pairs of atoms [a0, a1) equal the reference's, in order, displacements to 1e-12 Å.
void expect_matches(const List& l, const Ref& ref, std::int64_t a0, std::int64_t a1, const std::string& where) {
  for (std::int64_t i = a0; i < a1; ++i) {
    const auto& want = ref[static_cast<std::size_t>(i)];
    const std::int64_t b = l.offsets[static_cast<std::size_t>(i)], e = l.offsets[static_cast<std::size_t>(i) + 1];
    ASSERT_EQ(e - b, static_cast<std::int64_t>(want.size())) << where << ": pairs of atom " << i;
    for (std::int64_t p = b; p < e; ++p) {
      const auto& w = want[static_cast<std::size_t>(p - b)];
      EXPECT_EQ(l.neighbor[static_cast<std::size_t>(p)], w.first) << where << " atom " << i;
      EXPECT_EQ(l.pair_atom[static_cast<std::size_t>(p)], i) << where;
      for (int d = 0; d < 3; ++d)
        EXPECT_NEAR(l.rij[3 * static_cast<std::size_t>(p) + d], w.second[static_cast<std::size_t>(d)], 1e-12)
            << where << " atom " << i << " pair " << p - b;
    }
  }
}

// Every pair's reverse is the opposite pair.
void expect_reverse_consistent(const List& l, const std::string& where) {
  for (std::size_t p = 0; p < l.neighbor.size(); ++p) {
    const auto q = static_cast<std::size_t>(l.reverse[p]);
    ASSERT_LT(q, l.neighbor.size()) << where;
    EXPECT_EQ(l.reverse[q], static_cast<std::int64_t>(p)) << where;
    EXPECT_EQ(l.neighbor[q], l.pair_atom[p]) << where;
    EXPECT_EQ(l.pair_atom[q], l.neighbor[p]) << where;
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(l.rij[3 * q + d], -l.rij[3 * p + d], 1e-12) << where;
  }
}

void expect_same(const List& a, const List& b, const std::string& where) {
  EXPECT_EQ(a.offsets, b.offsets) << where;
  EXPECT_EQ(a.neighbor, b.neighbor) << where;
  EXPECT_EQ(a.pair_atom, b.pair_atom) << where;
  EXPECT_EQ(a.species, b.species) << where;
  EXPECT_EQ(a.reverse, b.reverse) << where;
  ASSERT_EQ(a.rij.size(), b.rij.size()) << where;
  for (std::size_t k = 0; k < a.rij.size(); ++k) EXPECT_NEAR(a.rij[k], b.rij[k], 1e-12) << where << " rij " << k;
}

TEST_F(FullListGpu, EachKindOfSystemMatchesBruteForceAndTheHostList) {
  const std::vector<std::pair<std::string, Sys>> cases = {{"cubic", cubic_crystal()},
                                                          {"triclinic", triclinic()},
                                                          {"slab", slab()},
                                                          {"cluster", cluster()},
                                                          {"tiny cell", tiny()}};
  for (const auto& [name, s] : cases) {
    DeviceFullList dev(5.0, kSkin, ListBuild::kDevice), host(5.0, kSkin, ListBuild::kHost);
    const List d = update(dev, {s}), h = update(host, {s});
    expect_matches(d, brute_force({s}, kSkin), 0, s.n(), name);
    expect_same(d, h, name + ": device against host");
    expect_reverse_consistent(d, name);
    EXPECT_EQ(dev.builds(), 1) << name;
    if (name == "tiny cell") {
      EXPECT_GT(d.neighbor.size(), 100u) << "several images expected";
    }
  }
}

TEST_F(FullListGpu, MixedBatchMatchesBruteForceAndTheHostListInBothPrecisions) {
  const auto systems = mixed();
  std::int64_t na = 0;
  for (const Sys& s : systems) na += s.n();
  DeviceFullList dev(5.0, kSkin, ListBuild::kDevice), host(5.0, kSkin, ListBuild::kHost);
  const List d = update(dev, systems), h = update(host, systems);
  expect_matches(d, brute_force(systems, kSkin), 0, na, "mixed");
  expect_same(d, h, "mixed: device against host");
  expect_reverse_consistent(d, "mixed");
  // Ignored atoms have no pairs, and no pair points at them.
  const auto sp = species_of(systems);
  for (std::size_t p = 0; p < d.neighbor.size(); ++p) {
    EXPECT_GE(sp[static_cast<std::size_t>(d.neighbor[p])], 0);
    EXPECT_EQ(d.species[p], sp[static_cast<std::size_t>(d.neighbor[p])]);
  }
  // float32: the same pairs as the host list.
  DeviceFullList dev32(5.0, kSkin, ListBuild::kDevice), host32(5.0, kSkin, ListBuild::kHost);
  const List d32 = update<float>(dev32, systems, DType::Float32), h32 = update<float>(host32, systems, DType::Float32);
  EXPECT_EQ(d32.offsets, h32.offsets);
  EXPECT_EQ(d32.neighbor, h32.neighbor);
  EXPECT_EQ(d32.reverse, h32.reverse);
  for (std::size_t k = 0; k < d32.rij.size() && k < h32.rij.size(); ++k) EXPECT_EQ(d32.rij[k], h32.rij[k]) << k;
}

TEST_F(FullListGpu, AnExcludedSpeciesPairIsLeftOut) {
  const auto systems = mixed();
  const std::vector<double> cut = {4.0, 0.0, 0.0, 5.0};  // no 29-47 pairs
  DeviceFullList dev(5.0, kSkin, ListBuild::kDevice), host(5.0, kSkin, ListBuild::kHost);
  const Batch b = batch_of(systems).to(kGpu);
  const List d = download(dev.update<double>(b, species_of(systems), 2, cut));
  const List h = download(host.update<double>(b, species_of(systems), 2, cut));
  expect_same(d, h, "excluded pair");
  const auto sp = species_of(systems);
  for (std::size_t p = 0; p < d.neighbor.size(); ++p)
    EXPECT_EQ(sp[static_cast<std::size_t>(d.pair_atom[p])], sp[static_cast<std::size_t>(d.neighbor[p])]);
}

// Offsets of the pairs of the atoms of system s in l.
std::pair<std::int64_t, std::int64_t> range_of(const std::vector<Sys>& systems, std::size_t s) {
  std::int64_t a0 = 0;
  for (std::size_t k = 0; k < s; ++k) a0 += systems[k].n();
  return {a0, a0 + systems[s].n()};
}

// The neighbor arrays of system s's atoms (offsets made relative).
std::vector<std::int32_t> neighbors_of(const List& l, const std::vector<Sys>& systems, std::size_t s) {
  const auto [a0, a1] = range_of(systems, s);
  return {l.neighbor.begin() + l.offsets[static_cast<std::size_t>(a0)],
          l.neighbor.begin() + l.offsets[static_cast<std::size_t>(a1)]};
}

TEST_F(FullListGpu, RebuildsOnlyTheSystemsThatMovedOrWhoseCellChanged) {
  auto systems = mixed();
  DeviceFullList dev(5.0, kSkin, ListBuild::kDevice), host(5.0, kSkin, ListBuild::kHost);
  const List first = update(dev, systems);
  update(host, systems);
  ASSERT_EQ(dev.builds(), 1);

  // 1. Every atom moves less than skin/2: no rebuild; both lists keep their pairs, new rij.
  for (Sys& s : systems) jitter(s, 0.2 * kSkin, 7);
  const List small = update(dev, systems), small_h = update(host, systems);
  EXPECT_EQ(dev.builds(), 1);
  EXPECT_EQ(small.neighbor, first.neighbor);
  expect_same(small, small_h, "after small moves");
  std::int64_t na = 0;
  for (const Sys& s : systems) na += s.n();
  const Ref inside = brute_force(systems, 0.0);  // every pair inside its cutoff is listed
  for (std::int64_t i = 0; i < na; ++i)
    for (const auto& [j, r] : inside[static_cast<std::size_t>(i)]) {
      bool listed = false;
      for (std::int64_t p = small.offsets[static_cast<std::size_t>(i)];
           p < small.offsets[static_cast<std::size_t>(i) + 1]; ++p)
        listed = listed || (small.neighbor[static_cast<std::size_t>(p)] == j &&
                            std::abs(small.rij[3 * static_cast<std::size_t>(p)] - r[0]) < 1e-12 &&
                            std::abs(small.rij[3 * static_cast<std::size_t>(p) + 1] - r[1]) < 1e-12 &&
                            std::abs(small.rij[3 * static_cast<std::size_t>(p) + 2] - r[2]) < 1e-12);
      EXPECT_TRUE(listed) << "atom " << i << " neighbor " << j;
    }

  // 2. One atom of the slab (system 2) moves by 0.7 skin: only the slab is rebuilt, from the
  //    current positions; the other systems keep their pairs.
  systems[2].x[3 * 5] += 0.9 * kSkin;
  const List moved = update(dev, systems);
  EXPECT_EQ(dev.builds(), 2);
  const auto [s0, s1] = range_of(systems, 2);
  expect_matches(moved, brute_force(systems, kSkin), s0, s1, "slab rebuilt");
  for (std::size_t s : {0u, 1u, 4u, 5u})
    EXPECT_EQ(neighbors_of(moved, systems, s), neighbors_of(small, systems, s)) << "system " << s << " kept";
  expect_reverse_consistent(moved, "after a partial rebuild");

  // 3. Atoms of the cubic crystal wrapped by lattice vectors: no rebuild, same displacements.
  for (std::int64_t i = 0; i < systems[0].n(); i += 3)
    for (int e = 0; e < 3; ++e)
      systems[0].x[3 * i + e] += systems[0].cell[static_cast<std::size_t>(3 * ((i / 3) % 3) + e)];
  const List wrapped = update(dev, systems);
  EXPECT_EQ(dev.builds(), 2);
  EXPECT_EQ(wrapped.neighbor, moved.neighbor);
  for (std::size_t k = 0; k < moved.rij.size(); ++k) EXPECT_NEAR(wrapped.rij[k], moved.rij[k], 1e-12) << k;

  // 4. The triclinic cell (system 1) strained by 0.2 %, positions carried along: that system is
  //    rebuilt in its new cell, the others keep their pairs.
  for (double& v : systems[1].cell) v *= 1.002;
  for (double& v : systems[1].x) v *= 1.002;
  const List strained = update(dev, systems);
  EXPECT_EQ(dev.builds(), 3);
  const auto [t0, t1] = range_of(systems, 1);
  expect_matches(strained, brute_force(systems, kSkin), t0, t1, "triclinic rebuilt in its new cell");
  for (std::size_t s : {0u, 2u, 4u, 5u})
    EXPECT_EQ(neighbors_of(strained, systems, s), neighbors_of(wrapped, systems, s)) << "system " << s << " kept";
  expect_reverse_consistent(strained, "after a cell change");

  // 5. A fresh host list of the final positions agrees on every pair inside the cutoff (the
  //    lists differ only beyond it, where each was built at another time).
  DeviceFullList fresh(5.0, kSkin, ListBuild::kDevice);
  const List now = update(fresh, systems);
  expect_matches(now, brute_force(systems, kSkin), 0, na, "a fresh device list");
}

TEST_F(FullListGpu, ASystemsListDoesNotDependOnItsBatch) {
  auto systems = mixed();
  DeviceFullList batched(5.0, kSkin, ListBuild::kDevice), alone(5.0, kSkin, ListBuild::kDevice);
  update(batched, systems);
  update(alone, {systems[0]});
  // The other systems move far (rebuilds), system 0 a little (none): its list stays its own.
  for (int step = 0; step < 3; ++step) {
    for (std::size_t s = 1; s < systems.size(); ++s) jitter(systems[s], 0.8 * kSkin, 20 + step);
    jitter(systems[0], 0.05 * kSkin, 30 + step);
    const List b = update(batched, systems), a = update(alone, {systems[0]});
    EXPECT_EQ(neighbors_of(b, systems, 0), a.neighbor) << step;
    const auto [a0, a1] = range_of(systems, 0);
    for (std::int64_t k = 0;
         k < 3 * (b.offsets[static_cast<std::size_t>(a1)] - b.offsets[static_cast<std::size_t>(a0)]); ++k)
      EXPECT_EQ(b.rij[static_cast<std::size_t>(3 * b.offsets[static_cast<std::size_t>(a0)] + k)],
                a.rij[static_cast<std::size_t>(k)]);
  }
  EXPECT_EQ(alone.builds(), 1);
  EXPECT_GT(batched.builds(), 1);
}

TEST_F(FullListGpu, BadPositionsAndCellsAreClearErrors) {
  auto systems = mixed();
  DeviceFullList dev(5.0, kSkin, ListBuild::kDevice);
  update(dev, systems);
  auto bad = systems;
  bad[1].x[3 * 4 + 1] = std::nan("");
  try {
    update(dev, bad);
    ADD_FAILURE() << "no error for a NaN position";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("system 1, atom 4"), std::string::npos) << e.what();
  }
  auto flat = systems;
  flat[0].cell = {10.8, 0, 0, 10.8, 0, 0, 0, 0, 10.8};  // two parallel rows
  EXPECT_THROW(update(dev, flat), InvalidArgument);
  // After an error the list recovers from the next good call.
  const List d = update(dev, systems);
  std::int64_t na = 0;
  for (const Sys& s : systems) na += s.n();
  expect_matches(d, brute_force(systems, kSkin), 0, na, "after errors");
}

// ---- the models: the device list against the host list

struct Out {
  std::vector<double> energy, forces, virial;
};
Out outputs(const Batch& b) { return {doubles(b.get("energy")), doubles(b.get("forces")), doubles(b.get("virial"))}; }

// RAII: BATCHMD_GPU_HOST_LIST set while alive (the models read it when they make their list, at
// their first GPU compute).
struct HostListEnv {
  HostListEnv() { setenv("BATCHMD_GPU_HOST_LIST", "1", 1); }
  ~HostListEnv() { unsetenv("BATCHMD_GPU_HOST_LIST"); }
};

void device_equals_host(const std::function<std::shared_ptr<Model>()>& make, std::vector<Sys> systems,
                        const std::string& what) {
  for (Sys& s : systems) s.masses.assign(static_cast<std::size_t>(s.n()), 30.0);
  Batch start = batch_of(systems);
  dynamics::maxwell_boltzmann(start, 2000.0, 3);
  Batch bh = start.to(kGpu), bd = start.to(kGpu);
  std::shared_ptr<Model> mh;
  {
    const HostListEnv env;
    mh = make();
    mh->compute(bh, true);
  }
  unsetenv("BATCHMD_GPU_HOST_LIST");  // the device list, whatever the environment of the run
  std::shared_ptr<Model> md = make();
  md->compute(bd, true);
  // Built from the same positions: the same list, the same sums, bit for bit.
  const Out h = outputs(bh), d = outputs(bd);
  EXPECT_EQ(d.energy, h.energy) << what;
  EXPECT_EQ(d.forces, h.forces) << what;
  EXPECT_EQ(d.virial, h.virial) << what;
  // MD: the lists rebuild at different steps (per system on the device), so they may differ by
  // pairs beyond the cutoff; results agree to rounding.
  dynamics::DemoDynamics dh(mh, 1.0), dd(md, 1.0);
  dh.run(bh, 30);
  dd.run(bd, 30);
  const Out h2 = outputs(bh), d2 = outputs(bd);
  const double fs = std::max(max_abs(h2.forces), 1.0);
  for (std::size_t k = 0; k < h2.forces.size(); ++k) EXPECT_NEAR(d2.forces[k], h2.forces[k], 1e-9 * fs) << what << k;
  for (std::size_t s = 0; s < h2.energy.size(); ++s)
    EXPECT_NEAR(d2.energy[s], h2.energy[s], 1e-9 * (std::abs(h2.energy[s]) + 1)) << what << " system " << s;
}

// Systems of a lattice of constant a and elements zs: a crystal, a triclinic cell, a slab and a
// cluster.
std::vector<Sys> lattice_mix(double a, const std::vector<std::int64_t>& zs, bool diamond) {
  auto make = [&](int n) { return diamond ? zincblende(n, n, n, a, zs[0], zs[0]) : fcc(n, a, zs[0]); };
  Sys crystal = make(3);
  jitter(crystal, 0.08, 1);
  Sys tri = make(2);
  to_cell(tri, 2 * a, {2 * a, 0, 0, 0.3 * a, 2 * a, 0, -0.2 * a, 0.1 * a, 2 * a});
  jitter(tri, 0.08, 2);
  Sys sl = make(2);
  sl.pbc = {true, true, false};
  sl.cell[8] = 0;
  jitter(sl, 0.08, 3);
  Sys cl = make(2);
  cl.pbc = {false, false, false};
  cl.cell.assign(9, 0.0);
  jitter(cl, 0.08, 4);
  std::vector<Sys> all = {crystal, tri, sl, cl};
  for (Sys& s : all)
    for (std::size_t i = 0; i < s.z.size(); ++i) s.z[i] = zs[i % zs.size()];
  return all;
}

TEST_F(FullListGpu, ModelsGiveTheSameResultsWithTheDeviceAndTheHostList) {
  device_equals_host([] { return load_eam({kPotentials + "AlCu.eam.alloy"}); }, lattice_mix(3.9, {13, 29}, false),
                     "EAM");
  device_equals_host(
      [] {
        SWConfig c;
        c.params = read_sw_file(kPotentials + "Si.sw");
        return std::make_shared<StillingerWeber>(std::move(c));
      },
      lattice_mix(5.431, {14}, true), "SW");
  device_equals_host(
      [] {
        MorseConfig c;
        c.pairs = {
            {29, 29, 0.3429, 1.3588, 2.866, 5.5}, {47, 47, 0.3323, 1.369, 3.115, 6.0}, {29, 47, 0.33, 1.36, 2.99, 5.8}};
        c.shift_energy = true;
        return std::make_shared<Morse>(c);
      },
      lattice_mix(3.8, {29, 47}, false), "Morse");
  device_equals_host(
      [] {
        ZBLConfig c;
        c.inner = 2.0;
        c.outer = 3.5;
        return std::make_shared<ZBL>(c);
      },
      lattice_mix(3.0, {29, 47}, false), "ZBL");
  device_equals_host([] { return load_snap_potential(kPotentials + "Ta06A.snap"); }, lattice_mix(3.316, {73}, false),
                     "SNAP Ta06A + ZBL");
}

}  // namespace
}  // namespace batchmd::model
