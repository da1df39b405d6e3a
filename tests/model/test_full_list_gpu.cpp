// SPDX-License-Identifier: Apache-2.0
// GPU tests of the device-built full neighbor list (src/model/full_list_device.{cpp,cu} behind
// DeviceFullList): against an independent brute-force enumeration of (atom, image) pairs in
// double, and against the host-built list (ListBuild::kHost, the earlier path) — the same pairs
// in the same canonical order (per atom sorted by (neighbor, image)), displacements to 1e-12 Å,
// every reverse pair consistent — on periodic cubic, triclinic, slab, open, a cell smaller than
// the cutoff (several images of every atom, its own included), a mixed batch with two species of
// different cutoffs, an excluded species pair and ignored atoms; then across calls: small moves
// (no rebuild), a move beyond skin/2 (only that system rebuilt, the others' pairs unchanged),
// atoms wrapped by a lattice vector (no rebuild, same displacements), strained cells (the lists
// kept while the skin absorbs the strain, every pair inside the cutoff listed in the current
// cell; a pair the strain brings inside the cutoff; a strain beyond the skin rebuilds); errors;
// and the models (EAM, SW, Morse, ZBL, SNAP) with the device list against the host list: bit for
// bit on the first call, to rounding after MD steps; EAM under strain against a fresh model.
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

// Every pair inside its cutoff (brute force in double, in the current cells) is in l, with its
// displacement to 1e-12 Å.
void expect_inside_listed(const List& l, const std::vector<Sys>& systems, const std::string& where) {
  const Ref inside = brute_force(systems, 0.0);
  for (std::size_t i = 0; i < inside.size(); ++i)
    for (const auto& [j, r] : inside[i]) {
      bool listed = false;
      for (std::int64_t p = l.offsets[i]; p < l.offsets[i + 1] && !listed; ++p) {
        const auto q = static_cast<std::size_t>(p);
        listed = l.neighbor[q] == j && std::abs(l.rij[3 * q] - r[0]) < 1e-12 &&
                 std::abs(l.rij[3 * q + 1] - r[1]) < 1e-12 && std::abs(l.rij[3 * q + 2] - r[2]) < 1e-12;
      }
      EXPECT_TRUE(listed) << where << ": atom " << i << " neighbor " << j;
    }
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
  expect_inside_listed(small, systems, "after small moves");

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

  // 4. The triclinic cell (system 1) strained by 0.2 %, positions carried along: the skin absorbs
  //    it (an expansion leaves δ = skin), nothing is rebuilt, and every pair inside its cutoff is
  //    listed with its displacement in the new cell.
  for (double& v : systems[1].cell) v *= 1.002;
  for (double& v : systems[1].x) v *= 1.002;
  const List strained = update(dev, systems);
  EXPECT_EQ(dev.builds(), 2);
  EXPECT_EQ(strained.neighbor, wrapped.neighbor);
  expect_inside_listed(strained, systems, "triclinic strained by 0.2 %");

  //    Compressed by 20 %: beyond the skin (δ = skin - 0.2 (cutoff + skin) < 0); that system is
  //    rebuilt in its new cell, the others keep their pairs.
  for (double& v : systems[1].cell) v *= 0.8;
  for (double& v : systems[1].x) v *= 0.8;
  const List stretched = update(dev, systems);
  EXPECT_EQ(dev.builds(), 3);
  const auto [t0, t1] = range_of(systems, 1);
  expect_matches(stretched, brute_force(systems, kSkin), t0, t1, "triclinic rebuilt in its new cell");
  for (std::size_t s : {0u, 2u, 4u, 5u})
    EXPECT_EQ(neighbors_of(stretched, systems, s), neighbors_of(strained, systems, s)) << "system " << s << " kept";
  expect_reverse_consistent(stretched, "after a cell change");

  // 5. A fresh host list of the final positions agrees on every pair inside the cutoff (the
  //    lists differ only beyond it, where each was built at another time).
  DeviceFullList fresh(5.0, kSkin, ListBuild::kDevice);
  const List now = update(fresh, systems);
  expect_matches(now, brute_force(systems, kSkin), 0, na, "a fresh device list");
}

// A barostat-like run: the periodic systems' cells strained a little at each of 30 steps (each
// its own deformation), positions carried along and jittered, some atoms wrapped by rows of the
// strained cell. The skin absorbs the strain for a while, so the list is rebuilt far less often
// than every step, yet every pair inside its cutoff is listed at every step with its displacement
// in the current cell; a strain beyond the skin rebuilds.
TEST_F(FullListGpu, StrainedCellsKeepTheirListsAndEveryPairInsideTheCutoff) {
  auto systems = mixed();
  DeviceFullList dev(5.0, kSkin, ListBuild::kDevice);
  update(dev, systems);
  const int n_steps = 30;
  const std::size_t periodic[] = {0, 1, 5};  // cubic, triclinic, tiny
  for (int k = 0; k < n_steps; ++k) {
    for (const std::size_t s : periodic) strain(systems[s], strain_step(0.006 + 0.003 * static_cast<double>(s), s, k));
    for (std::size_t s = 0; s < systems.size(); ++s) jitter(systems[s], 0.02, 100 * static_cast<std::uint64_t>(k) + s);
    if (k % 5 == 2)
      for (const std::size_t s : periodic)
        for (std::int64_t i = 0; i < systems[s].n(); i += 5)
          for (int e = 0; e < 3; ++e)
            systems[s].x[static_cast<std::size_t>(3 * i + e)] -=
                systems[s].cell[static_cast<std::size_t>(3 * ((i + k) % 3) + e)];
    const List l = update(dev, systems);
    expect_inside_listed(l, systems, "step " + std::to_string(k));
    expect_reverse_consistent(l, "step " + std::to_string(k));
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GE(dev.builds(), 3) << "the strain never outgrew the skin";
  EXPECT_LE(dev.builds(), 1 + n_steps / 4) << "the strained lists were not kept";
  const std::int64_t before = dev.builds();
  strain(systems[0], {0.8, 0, 0, 0, 1, 0, 0, 0, 1});  // 0.2 (cutoff + skin) = 1.2 Å > skin
  const List l = update(dev, systems);
  EXPECT_EQ(dev.builds(), before + 1);
  const auto [a0, a1] = range_of(systems, 0);
  expect_matches(l, brute_force(systems, kSkin), a0, a1, "cubic crystal rebuilt after a 20 % compression");
}

// Two atoms 6.1 Å apart (beyond cutoff + skin = 6 Å: not listed) in a 30 Å box. A strain of 6 %
// along the pair (δ = 1 - 0.06 * 6 = 0.64 Å) and moves of 0.3 Å each towards the other (< δ/2):
// kept, the pair at 5.13 Å is still beyond the 5 Å cutoff. 0.1 Å more each (0.4 Å: > δ/2 but
// < skin/2): the pair is inside the cutoff (4.93 Å) and listed (a check with the unstrained
// threshold skin/2 would keep the list and miss it).
TEST_F(FullListGpu, AStrainThatBringsAPairInsideTheCutoffIsSeen) {
  Sys s;
  s.x = {10, 15, 15, 16.1, 15, 15};
  s.z = {47, 47};
  s.cell = {30, 0, 0, 0, 30, 0, 0, 0, 30};
  std::vector<Sys> systems = {cubic_crystal(), s};
  DeviceFullList dev(5.0, kSkin, ListBuild::kDevice);
  const List first = update(dev, systems);
  const std::int64_t a0 = systems[0].n();
  EXPECT_EQ(first.offsets[static_cast<std::size_t>(a0) + 2], first.offsets[static_cast<std::size_t>(a0)]);
  strain(systems[1], {0.94, 0, 0, 0, 1, 0, 0, 0, 1});
  systems[1].x[0] += 0.3;
  systems[1].x[3] -= 0.3;
  const List kept = update(dev, systems);
  EXPECT_EQ(dev.builds(), 1);
  expect_inside_listed(kept, systems, "strained, pair beyond the cutoff");
  systems[1].x[0] += 0.1;
  systems[1].x[3] -= 0.1;
  const List rebuilt = update(dev, systems);
  EXPECT_EQ(dev.builds(), 2);
  ASSERT_EQ(rebuilt.offsets[static_cast<std::size_t>(a0) + 2] - rebuilt.offsets[static_cast<std::size_t>(a0)], 2);
  expect_inside_listed(rebuilt, systems, "strained, pair inside the cutoff");
  EXPECT_NEAR(rebuilt.rij[3 * static_cast<std::size_t>(rebuilt.offsets[static_cast<std::size_t>(a0)])],
              6.1 * 0.94 - 0.8, 1e-12);
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

// A barostat-like run of EAM on the GPU: the periodic systems' cells (a crystal, a triclinic
// cell) strained a little at each of 30 steps, positions carried along and jittered, the slab and
// the cluster jittered only. One model kept across the steps (its strained lists kept) against a
// model made afresh at each step (lists built from scratch) and the CPU model, to 1e-10.
TEST_F(FullListGpu, EAMUnderStrainMatchesAFreshModelAndTheCpu) {
  auto make = [] { return load_eam({kPotentials + "AlCu.eam.alloy"}); };
  std::vector<Sys> systems = lattice_mix(3.9, {13, 29}, false);
  std::shared_ptr<Model> kept = make(), cpu = make();
  const int n_steps = 30;
  auto agree = [](const Out& want, const Out& got, const std::string& where) {
    const double fs = std::max(max_abs(want.forces), 1.0);
    for (std::size_t k = 0; k < want.forces.size(); ++k)
      ASSERT_NEAR(got.forces[k], want.forces[k], 1e-10 * fs) << where << ": force component " << k;
    for (std::size_t s = 0; s < want.energy.size(); ++s)
      EXPECT_NEAR(got.energy[s], want.energy[s], 1e-10 * (std::abs(want.energy[s]) + 1)) << where << " system " << s;
    const double ws = std::max(max_abs(want.virial), 1.0);
    for (std::size_t k = 0; k < want.virial.size(); ++k)
      EXPECT_NEAR(got.virial[k], want.virial[k], 1e-10 * ws) << where << ": virial " << k;
  };
  for (int k = 0; k <= n_steps; ++k) {
    const std::string where = "step " + std::to_string(k);
    Batch b = batch_of(systems).to(kGpu), bf = batch_of(systems).to(kGpu), bc = batch_of(systems);
    kept->compute(b, true);
    make()->compute(bf, true);
    cpu->compute(bc, true);
    agree(outputs(bf), outputs(b), where + " (kept against fresh)");
    agree(outputs(bc), outputs(b), where + " (GPU against CPU)");
    if (::testing::Test::HasFailure()) return;
    for (std::size_t s : {0u, 1u}) strain(systems[s], strain_step(0.004 + 0.003 * static_cast<double>(s), 40 + s, k));
    for (std::size_t s = 0; s < systems.size(); ++s)
      jitter(systems[s], 0.01, 1000 + 10 * static_cast<std::uint64_t>(k) + s);
  }
  EXPECT_LE(kept->neighbor_builds(), n_steps / 3) << "the strained lists were not kept";
}

}  // namespace
}  // namespace batchmd::model
