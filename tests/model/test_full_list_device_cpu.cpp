// SPDX-License-Identifier: Apache-2.0
// The logic of the device-built GPU full list (src/model/full_list_device_hd.hpp: what each
// thread does) run serially on the CPU, in the order full_list_device.cpp launches it (check;
// for a rebuild grid, bin, bin starts, place, count, offsets, fill, reverse), against the host
// view (NeighborList + build_neighbor_view) on periodic cubic, triclinic, slab, cluster, a cell
// smaller than the cutoff and a mixed batch in both precisions — the same pairs, images, order,
// species and reverse pairs — and across calls: small moves (no rebuild), a move beyond skin/2
// (only that system rebuilt, equal to a fresh host view of it; the others kept), lattice jumps
// (no rebuild), strained cells (kept while the skin absorbs the strain, every pair inside the
// cutoff listed, rebuilt when the CPU list rebuilds; a pair the strain brings inside the cutoff),
// a NaN position and a flat cell (the status block's errors).
// Machines without a GPU test the device list's arithmetic here; test_full_list_gpu.cpp runs the
// kernels themselves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "full_list_cases.hpp"
#include "full_list_device_hd.hpp"
#include "full_list_device_strain.hpp"
#include "neighbor_view.hpp"

namespace batchmd::model {
namespace {

using namespace testing;
using namespace detail::devlist;
using detail::CellGrid;

template <typename T>
struct Geometry {
  std::vector<T> pos, cell;
  std::vector<std::uint8_t> pbc;
  std::vector<std::int64_t> ptr, sys;
};

template <typename T>
Geometry<T> geometry_of(const std::vector<Sys>& systems) {
  Geometry<T> g;
  g.ptr.push_back(0);
  for (std::size_t s = 0; s < systems.size(); ++s) {
    const Sys& y = systems[s];
    for (const double v : y.x) g.pos.push_back(static_cast<T>(v));
    for (int e = 0; e < 9; ++e) g.cell.push_back(static_cast<T>(y.cell[static_cast<std::size_t>(e)]));
    for (const bool p : y.pbc) g.pbc.push_back(p ? 1 : 0);
    g.ptr.push_back(g.ptr.back() + y.n());
    for (std::int64_t i = 0; i < y.n(); ++i) g.sys.push_back(static_cast<std::int64_t>(s));
  }
  return g;
}

// The device list's state, in host vectors, and its update run serially.
template <typename T>
struct SerialDeviceList {
  std::int64_t na = 0, ns = 0;
  std::vector<std::int32_t> species;
  std::vector<double> cut;
  std::vector<T> ref;
  std::vector<std::int32_t> jump, wimg, bin, rank, bin_atoms, bin_count, bin_start;
  std::vector<long long> bin_base;
  std::vector<CellGrid> grid;
  std::vector<std::uint8_t> flag;
  Status st{};
  struct Pairs {
    std::vector<std::int64_t> offsets, reverse;
    std::vector<std::int32_t> pair_atom, neighbor, species, image;
  } pairs[2];
  int cur = 0;
  std::int64_t builds = 0;
  std::vector<std::int64_t> counts;

  static PairArrays arrays(Pairs& p) {
    return {p.offsets.data(), p.pair_atom.data(), p.neighbor.data(),
            p.species.data(), p.image.data(),     p.reverse.data()};
  }

  SerialDeviceList(const Geometry<T>& g, const std::vector<std::int32_t>& sp, const std::vector<double>& cutoff) {
    na = static_cast<std::int64_t>(g.sys.size());
    ns = static_cast<std::int64_t>(g.ptr.size()) - 1;
    species = sp;
    double reach = 1e-3;
    for (const double c : cutoff) {
      cut.push_back(c > 0 ? c + kSkin : c);
      reach = std::max(reach, cut.back());
    }
    rc = reach * (1 + 1e-6);
    bin_base.assign(static_cast<std::size_t>(ns) + 1, 0);
    for (std::int64_t s = 0; s < ns; ++s) bin_base[s + 1] = bin_base[s] + (g.ptr[s + 1] - g.ptr[s]) + 64;
    const auto n = static_cast<std::size_t>(na);
    ref.assign(3 * n, T(0));
    jump.assign(3 * n, 0);
    wimg.assign(3 * n, 0);
    bin.assign(n, 0);
    rank.assign(n, 0);
    bin_atoms.assign(n, 0);
    bin_count.assign(static_cast<std::size_t>(bin_base[ns]), 0);
    bin_start.assign(static_cast<std::size_t>(bin_base[ns]), 0);
    grid.assign(static_cast<std::size_t>(ns), CellGrid{});
    flag.assign(static_cast<std::size_t>(ns), 1);
    counts.assign(n + 1, 0);
    for (Pairs& p : pairs) {
      p.offsets.assign(n + 1, 0);
      p.reverse.assign(1, 0);
      p.pair_atom.assign(1, 0);
      p.neighbor.assign(1, 0);
      p.species.assign(1, 0);
      p.image.assign(3, 0);
    }
    st.bad_atom = st.bad_system = kNone;
  }
  double rc = 0;
  bool first = true;

  ListArgs<T> args(const Geometry<T>& g) {
    ListArgs<T> a{};
    a.pos = g.pos.data();
    a.ptr = g.ptr.data();
    a.sys = g.sys.data();
    a.cell = g.cell.data();
    a.pbc = reinterpret_cast<const bool*>(g.pbc.data());
    a.species = species.data();
    a.cut = cut.data();
    a.n_species = 2;
    a.ref = ref.data();
    a.jump = jump.data();
    a.wimg = wimg.data();
    a.grid = grid.data();
    a.bin_base = bin_base.data();
    a.bin = bin.data();
    a.rank = rank.data();
    a.bin_atoms = bin_atoms.data();
    a.bin_count = bin_count.data();
    a.bin_start = bin_start.data();
    a.flag = flag.data();
    a.st = &st;
    a.n_atoms = na;
    a.rc = rc;
    a.skin = kSkin;
    a.thr2 = 0.25 * kSkin * kSkin;
    return a;
  }

  // One update (DeviceListBuild::update's sequence); returns the status after it.
  Status update(const Geometry<T>& g) {
    const ListArgs<T> a = args(g);
    std::fill(flag.begin(), flag.end(), first ? 1 : 0);
    st.rebuild = 0;
    for (std::int64_t i = 0; i < na; ++i) check_atom(a, i);
    if (st.error != 0 || !(first || st.rebuild)) return st;
    first = false;
    // grid (the device: one block per system)
    for (std::int64_t s = 0; s < ns; ++s) {
      if (flag[s] != 1) continue;
      Frame f;
      double cell[9];
      if (!system_frame(a, s, f, cell)) continue;
      double lo[3] = {1e300, 1e300, 1e300}, hi[3] = {-1e300, -1e300, -1e300};
      for (std::int64_t i = g.ptr[s]; i < g.ptr[s + 1]; ++i) extend_extent(a, f, i, lo, hi);
      if (!system_grid(a, s, f, cell, lo, hi)) continue;
      std::fill(bin_count.begin() + bin_base[s], bin_count.begin() + bin_base[s] + grid[s].n_bins, 0);
    }
    for (std::int64_t i = 0; i < na; ++i) bin_atom(a, i);
    for (std::int64_t s = 0; s < ns; ++s) {  // bin starts (the device: a block scan)
      if (flag[s] != 1) continue;
      std::int32_t running = static_cast<std::int32_t>(g.ptr[s]);
      for (int b = 0; b < grid[s].n_bins; ++b) {
        bin_start[bin_base[s] + b] = running;
        running += bin_count[bin_base[s] + b];
      }
    }
    for (std::int64_t i = 0; i < na; ++i) place_atom(a, i);
    Pairs& old = pairs[cur];
    Pairs& out = pairs[cur ^ 1];
    for (std::int64_t i = 0; i < na; ++i) count_atom(a, arrays(old), counts.data(), i);
    std::partial_sum(counts.begin(), counts.end(), out.offsets.begin());
    if (st.error != 0) return st;
    const auto np = static_cast<std::size_t>(out.offsets[static_cast<std::size_t>(na)]);
    out.reverse.assign(std::max<std::size_t>(np, 1), -7);
    out.pair_atom.assign(std::max<std::size_t>(np, 1), -7);
    out.neighbor.assign(std::max<std::size_t>(np, 1), -7);
    out.species.assign(std::max<std::size_t>(np, 1), -7);
    out.image.assign(3 * std::max<std::size_t>(np, 1), -7);
    for (std::int64_t i = 0; i < na; ++i) fill_atom(a, arrays(old), arrays(out), i);
    for (std::size_t p = 0; p < np; ++p) reverse_pair(arrays(out), &st, static_cast<std::int64_t>(p));
    cur ^= 1;
    ++builds;
    return st;
  }
  const Pairs& list() const { return pairs[cur]; }
  std::int64_t n_pairs() const { return list().offsets[static_cast<std::size_t>(na)]; }
};

// The host view of the geometry (a fresh NeighborList).
template <typename T>
detail::NeighborView<T> host_view(const Geometry<T>& g, const std::vector<std::int32_t>& sp) {
  NeighborList nl(5.0, kSkin);
  BatchGeometry<T> bg;
  bg.n_systems = static_cast<std::int64_t>(g.ptr.size()) - 1;
  bg.n_atoms = static_cast<std::int64_t>(g.sys.size());
  bg.positions = g.pos.data();
  bg.atoms_ptr = g.ptr.data();
  bg.cell = g.cell.data();
  bg.pbc = reinterpret_cast<const bool*>(g.pbc.data());
  nl.update(bg);
  std::vector<double> cut_skin(kCut);
  for (double& c : cut_skin)
    if (c > 0) c += kSkin;
  detail::NeighborView<T> v;
  build_neighbor_view(nl, bg, detail::ViewRequest{sp.data(), 2, cut_skin.data()}, v);
  return v;
}

// The device list's pairs of atoms [a0, a1) equal the host view's (offsets relative).
template <typename T>
void expect_equal(const SerialDeviceList<T>& d, const detail::NeighborView<T>& h, std::int64_t a0, std::int64_t a1,
                  const std::string& where) {
  const auto& l = d.list();
  for (std::int64_t i = a0; i < a1; ++i) {
    const auto u = static_cast<std::size_t>(i);
    ASSERT_EQ(l.offsets[u + 1] - l.offsets[u], h.offsets[u + 1] - h.offsets[u]) << where << ": pairs of atom " << i;
    for (std::int64_t k = 0; k < l.offsets[u + 1] - l.offsets[u]; ++k) {
      const auto p = static_cast<std::size_t>(l.offsets[u] + k), q = static_cast<std::size_t>(h.offsets[u] + k);
      EXPECT_EQ(l.neighbor[p], h.neighbor[q]) << where << " atom " << i << " pair " << k;
      EXPECT_EQ(l.species[p], h.species[q]) << where;
      EXPECT_EQ(l.pair_atom[p], i) << where;
      for (int e = 0; e < 3; ++e) EXPECT_EQ(l.image[3 * p + e], h.image[3 * q + e]) << where << " atom " << i;
      // The reverse pair: the same position in j's range on both sides.
      const auto j = static_cast<std::size_t>(l.neighbor[p]);
      EXPECT_EQ(l.reverse[p] - l.offsets[j], h.reverse[q] - h.offsets[j]) << where << " atom " << i;
    }
  }
}

template <typename T>
void run_kinds(const std::string& prec) {
  for (const auto& [name, s] : std::vector<std::pair<std::string, Sys>>{{"cubic", cubic_crystal()},
                                                                        {"triclinic", triclinic()},
                                                                        {"slab", slab()},
                                                                        {"cluster", cluster()},
                                                                        {"tiny cell", tiny()}}) {
    const auto g = geometry_of<T>({s});
    SerialDeviceList<T> d(g, species_of({s}), kCut);
    EXPECT_EQ(d.update(g).error, 0);
    EXPECT_EQ(d.builds, 1);
    expect_equal(d, host_view(g, species_of({s})), 0, s.n(), name + " " + prec);
    EXPECT_GT(d.n_pairs(), 0) << name;
  }
  const auto systems = mixed();
  const auto g = geometry_of<T>(systems);
  SerialDeviceList<T> d(g, species_of(systems), kCut);
  EXPECT_EQ(d.update(g).error, 0);
  expect_equal(d, host_view(g, species_of(systems)), 0, d.na, "mixed " + prec);
}

TEST(FullListDeviceCpu, EveryKindOfSystemEqualsTheHostView) {
  run_kinds<double>("float64");
  run_kinds<float>("float32");
}

std::pair<std::int64_t, std::int64_t> atoms_of(const std::vector<Sys>& systems, std::size_t s) {
  std::int64_t a0 = 0;
  for (std::size_t k = 0; k < s; ++k) a0 += systems[k].n();
  return {a0, a0 + systems[s].n()};
}

std::vector<std::int32_t> neighbors_of(const SerialDeviceList<double>& d, const std::vector<Sys>& systems,
                                       std::size_t s) {
  const auto [a0, a1] = atoms_of(systems, s);
  const auto& l = d.list();
  return {l.neighbor.begin() + l.offsets[static_cast<std::size_t>(a0)],
          l.neighbor.begin() + l.offsets[static_cast<std::size_t>(a1)]};
}

// Every pair of a fresh host view of g inside its pair's cutoff (not only cutoff + skin), for
// atoms [a0, a1), is in the device list with the same neighbor and the same image now: the pair's
// build image plus the lattice jumps since (r = x_j - x_i + (image + jump_i - jump_j) . cell, the
// displacement kernel's arithmetic, in the current cell).
void expect_inside_listed(const SerialDeviceList<double>& d, const Geometry<double>& g,
                          const std::vector<std::int32_t>& sp, std::int64_t a0, std::int64_t a1,
                          const std::string& where) {
  const auto h = host_view(g, sp);
  const auto& l = d.list();
  int inside = 0;
  for (std::int64_t i = a0; i < a1; ++i) {
    const auto u = static_cast<std::size_t>(i);
    for (std::int64_t q = h.offsets[u]; q < h.offsets[u + 1]; ++q) {
      const auto qq = static_cast<std::size_t>(q);
      const std::int32_t j = h.neighbor[qq];
      const double c = kCut[static_cast<std::size_t>(2 * sp[u] + sp[static_cast<std::size_t>(j)])];
      const double* r = &h.rij[3 * qq];
      if (!(r[0] * r[0] + r[1] * r[1] + r[2] * r[2] < c * c)) continue;
      ++inside;
      bool listed = false;
      for (std::int64_t p = l.offsets[u]; p < l.offsets[u + 1] && !listed; ++p) {
        const auto pp = static_cast<std::size_t>(p);
        if (l.neighbor[pp] != j) continue;
        bool same = true;
        for (int e = 0; e < 3; ++e)
          same = same && l.image[3 * pp + e] + d.jump[3 * u + e] - d.jump[3 * static_cast<std::size_t>(j) + e] ==
                             h.image[3 * qq + e];
        listed = same;
      }
      EXPECT_TRUE(listed) << where << ": atom " << i << ", neighbor " << j << " at "
                          << std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) << " Å is not listed";
    }
  }
  EXPECT_GT(inside, 0) << where;
}

TEST(FullListDeviceCpu, OnlyTheSystemsThatMovedOrWhoseCellChangedAreRebuilt) {
  auto systems = mixed();
  const auto sp = species_of(systems);
  auto g = geometry_of<double>(systems);
  SerialDeviceList<double> d(g, sp, kCut);
  d.update(g);
  const std::int64_t np0 = d.n_pairs();

  // Small moves: no rebuild.
  for (Sys& s : systems) jitter(s, 0.2 * kSkin, 7);
  g = geometry_of<double>(systems);
  EXPECT_EQ(d.update(g).rebuild, 0);
  EXPECT_EQ(d.builds, 1);
  EXPECT_EQ(d.n_pairs(), np0);

  // One slab atom beyond skin/2: only the slab is rebuilt, and equals a fresh host view.
  systems[2].x[3 * 5] += 0.9 * kSkin;
  g = geometry_of<double>(systems);
  const SerialDeviceList<double> snapshot = d;
  EXPECT_EQ(d.update(g).rebuild, 1);
  EXPECT_EQ(d.builds, 2);
  EXPECT_EQ(d.flag, (std::vector<std::uint8_t>{0, 0, 1, 0, 0, 0}));
  const auto [s0, s1] = atoms_of(systems, 2);
  expect_equal(d, host_view(g, sp), s0, s1, "slab rebuilt");
  for (std::size_t s : {0u, 1u, 4u, 5u})
    EXPECT_EQ(neighbors_of(d, systems, s), neighbors_of(snapshot, systems, s)) << "system " << s;

  // Atoms wrapped by lattice vectors: no rebuild; their jumps are the lattice vectors.
  for (std::int64_t i = 0; i < systems[0].n(); i += 3)
    for (int e = 0; e < 3; ++e)
      systems[0].x[3 * i + e] += systems[0].cell[static_cast<std::size_t>(3 * ((i / 3) % 3) + e)];
  g = geometry_of<double>(systems);
  EXPECT_EQ(d.update(g).rebuild, 0);
  EXPECT_EQ(d.jump[3 * 0 + 0], 1);  // atom 0: row a
  EXPECT_EQ(d.jump[3 * 3 + 1], 1);  // atom 3: row b
  EXPECT_EQ(d.jump[3 * 6 + 2], 1);  // atom 6: row c
  EXPECT_EQ(d.jump[3 * 1 + 0], 0);

  // The triclinic cell strained by 0.2 %, positions carried along: the skin absorbs it (an
  // expansion leaves δ = skin), no system is rebuilt, and every pair inside its cutoff is listed.
  for (double& v : systems[1].cell) v *= 1.002;
  for (double& v : systems[1].x) v *= 1.002;
  g = geometry_of<double>(systems);
  EXPECT_EQ(d.update(g).rebuild, 0);
  EXPECT_EQ(d.builds, 2);
  expect_inside_listed(d, g, sp, 0, d.na, "triclinic strained by 0.2 %");

  // Compressed by 20 %: beyond what the skin absorbs (δ = skin - 0.2 rc < 0); only that system
  // is rebuilt, in its new cell.
  for (double& v : systems[1].cell) v *= 0.8;
  for (double& v : systems[1].x) v *= 0.8;
  g = geometry_of<double>(systems);
  EXPECT_EQ(d.update(g).rebuild, 1);
  EXPECT_EQ(d.flag, (std::vector<std::uint8_t>{0, 1, 0, 0, 0, 0}));
  const auto [t0, t1] = atoms_of(systems, 1);
  expect_equal(d, host_view(g, sp), t0, t1, "triclinic rebuilt");
  EXPECT_EQ(d.builds, 3);

  // The slab's cell changed (not periodic in all three directions: no strain rule): rebuilt.
  systems[2].cell[0] *= 1.001;
  g = geometry_of<double>(systems);
  EXPECT_EQ(d.update(g).rebuild, 1);
  EXPECT_EQ(d.flag, (std::vector<std::uint8_t>{0, 0, 1, 0, 0, 0}));
}

// A barostat-like run: every periodic system's cell strained a little at each of 30 steps (each
// its own deformation), positions carried along and jittered, some atoms wrapped by lattice
// vectors of the strained cell (lattice jumps: no rebuild, counted in cells of the current cell,
// which the listed images are checked in). The skin absorbs the strain for a
// while (no rebuild), every pair inside the cutoff stays listed in the current cell, and each
// system is rebuilt exactly when the CPU list (NeighborList::update, that system alone) rebuilds:
// the same rule (strained_skin: δ = skin - (1 - σ)(cutoff + skin), σ a lower bound of A's smallest
// singular value), displacements from x0 A within δ/2.
TEST(FullListDeviceCpu, StrainedCellsKeepTheirListsWhileTheSkinAllows) {
  auto systems = mixed();
  const auto sp = species_of(systems);
  auto g = geometry_of<double>(systems);
  SerialDeviceList<double> d(g, sp, kCut);
  d.update(g);
  std::vector<NeighborList> cpu;
  auto update_cpu = [&](std::size_t s) {
    const auto one = geometry_of<double>({systems[s]});
    BatchGeometry<double> bg;
    bg.n_systems = 1;
    bg.n_atoms = systems[s].n();
    bg.positions = one.pos.data();
    bg.atoms_ptr = one.ptr.data();
    bg.cell = one.cell.data();
    bg.pbc = reinterpret_cast<const bool*>(one.pbc.data());
    return cpu[s].update(bg);
  };
  for (std::size_t s = 0; s < systems.size(); ++s) {
    cpu.emplace_back(5.0 * (1 + 1e-6), kSkin);  // the device list's reach: the largest cutoff, inflated
    update_cpu(s);
  }
  const int n_steps = 30;
  const std::size_t periodic[] = {0, 1, 5};  // cubic, triclinic, tiny
  std::vector<int> rebuilt(systems.size(), 0);
  for (int k = 0; k < n_steps; ++k) {
    for (const std::size_t s : periodic) strain(systems[s], strain_step(0.006 + 0.003 * static_cast<double>(s), s, k));
    for (std::size_t s = 0; s < systems.size(); ++s) jitter(systems[s], 0.02, 100 * static_cast<std::uint64_t>(k) + s);
    if (k % 5 == 2)  // every 5th atom wrapped by a row of its CURRENT cell, as a wrap hook does
      for (const std::size_t s : periodic)
        for (std::int64_t i = 0; i < systems[s].n(); i += 5)
          for (int e = 0; e < 3; ++e)
            systems[s].x[static_cast<std::size_t>(3 * i + e)] -=
                systems[s].cell[static_cast<std::size_t>(3 * ((i + k) % 3) + e)];
    g = geometry_of<double>(systems);
    const std::string where = "step " + std::to_string(k);
    ASSERT_EQ(d.update(g).error, 0) << where;
    for (std::size_t s = 0; s < systems.size(); ++s) {
      const bool cpu_rebuilt = update_cpu(s);
      EXPECT_EQ(d.flag[s] == 1, cpu_rebuilt) << where << ", system " << s;
      rebuilt[s] += d.flag[s] == 1 ? 1 : 0;
    }
    expect_inside_listed(d, g, sp, 0, d.na, where);
    if (::testing::Test::HasFailure()) return;
  }
  for (const std::size_t s : periodic) {
    EXPECT_GE(rebuilt[s], 1) << "system " << s << ": the strain never outgrew the skin";
    EXPECT_LE(rebuilt[s], n_steps / 4) << "system " << s << ": the strained list was not kept";
  }
}

// Two atoms 6.1 Å apart (beyond cutoff + skin = 6 Å: not listed) in a 30 Å box. A strain of 6 %
// along the pair (δ = 1 - 0.06 * 6 = 0.64 Å) and moves of 0.3 Å each towards the other (< δ/2):
// kept, and the pair is at 5.13 Å, still beyond the 5 Å cutoff. 0.1 Å more each (0.4 Å: > δ/2 but
// < skin/2): the pair is inside the cutoff (4.93 Å), and the list is rebuilt and holds it. A check
// with the unstrained threshold skin/2 would keep the list and miss the pair.
TEST(FullListDeviceCpu, AStrainThatBringsAPairInsideTheCutoffRebuilds) {
  Sys s;
  s.x = {10, 15, 15, 16.1, 15, 15};
  s.z = {47, 47};
  s.cell = {30, 0, 0, 0, 30, 0, 0, 0, 30};
  const std::vector<std::int32_t> sp = species_of({s});
  SerialDeviceList<double> d(geometry_of<double>({s}), sp, kCut);
  d.update(geometry_of<double>({s}));
  EXPECT_EQ(d.n_pairs(), 0);
  strain(s, {0.94, 0, 0, 0, 1, 0, 0, 0, 1});
  s.x[0] += 0.3;
  s.x[3] -= 0.3;
  EXPECT_EQ(d.update(geometry_of<double>({s})).rebuild, 0);
  EXPECT_EQ(d.n_pairs(), 0);
  s.x[0] += 0.1;
  s.x[3] -= 0.1;
  EXPECT_EQ(d.update(geometry_of<double>({s})).rebuild, 1);
  ASSERT_EQ(d.n_pairs(), 2);
  EXPECT_EQ(d.list().neighbor[0], 1);
}

// The verdicts of cell_since_build, one rule each.
TEST(FullListDeviceCpu, CellSinceBuildVerdicts) {
  using detail::CellSinceBuild;
  const double h0[9] = {10, 0, 0, 2, 9, 0, -1, 1, 11};
  Frame f;
  const bool all[3] = {true, true, true};
  ASSERT_TRUE(make_frame(h0, all, f).ok());
  double recip0[9];
  for (int dd = 0; dd < 3; ++dd)
    for (int e = 0; e < 3; ++e) recip0[3 * dd + e] = f.recip[dd][e];
  const int per[3] = {1, 1, 1}, slab_per[3] = {1, 1, 0};
  const bool pbc[3] = {true, true, true}, slab_pbc[3] = {true, true, false};
  const double skin = 1.0, rc = 6.0;
  auto verdict = [&](const double* h, const bool* p, const int* p0) {
    return detail::cell_since_build(h, p, 0, h0, recip0, p0, skin, rc);
  };
  EXPECT_EQ(verdict(h0, pbc, per).kind, CellSinceBuild::kSame);
  EXPECT_EQ(verdict(h0, slab_pbc, per).kind, CellSinceBuild::kRebuild);  // pbc changed
  // h = h0 A with A = I + 0.01 e_xy: kept, with that A, the current rows and (δ/2)².
  double h[9];
  std::copy(h0, h0 + 9, h);
  for (int dd = 0; dd < 3; ++dd) h[3 * dd + 1] += 0.01 * h0[3 * dd];
  const CellSinceBuild c = verdict(h, pbc, per);
  ASSERT_EQ(c.kind, CellSinceBuild::kStrained);
  for (int e = 0; e < 9; ++e) EXPECT_NEAR(c.strain[e], e == 1 ? 0.01 : (e % 4 == 0 ? 1.0 : 0.0), 1e-14) << e;
  for (int e = 0; e < 9; ++e) EXPECT_EQ(c.row[e], h[e]);
  // A Aᵀ = [[1 + 1e-4, 0.01, 0], [0.01, 1, 0], [0, 0, 1]]: Gershgorin λ_min ≥ 0.99, so σ = √0.99
  // and δ = skin - (1 - √0.99) rc (the earlier ‖A - I‖_F rule: skin - 0.01 rc).
  const double delta = skin - (1 - std::sqrt(0.99)) * rc;
  EXPECT_NEAR(c.thr2, 0.25 * delta * delta, 1e-10);
  EXPECT_NEAR(detail::strained_skin(c.strain, skin, rc), delta, 1e-10);
  EXPECT_EQ(verdict(h, slab_pbc, slab_per).kind, CellSinceBuild::kRebuild);  // a slab's cell changed
  // A = I + 0.17 e_xy: kept (σ ≥ √0.83, δ = 0.47 Å; the earlier rule charged 0.17 rc = 1.02 Å).
  for (int dd = 0; dd < 3; ++dd) h[3 * dd + 1] += 0.16 * h0[3 * dd];
  EXPECT_EQ(verdict(h, pbc, per).kind, CellSinceBuild::kStrained);
  // A = I + 0.36 e_xy: σ ≥ √0.64 = 0.8, (1 - σ) rc = 1.2 Å > skin.
  for (int dd = 0; dd < 3; ++dd) h[3 * dd + 1] += 0.19 * h0[3 * dd];
  EXPECT_EQ(verdict(h, pbc, per).kind, CellSinceBuild::kRebuild);
  h[4] = std::nan("");
  EXPECT_EQ(verdict(h, pbc, per).kind, CellSinceBuild::kRebuild);
  // A flat cell: rebuilt (the build reports it).
  const double flat[9] = {10, 0, 0, 10, 0, 0, 0, 0, 11};
  EXPECT_EQ(verdict(flat, pbc, per).kind, CellSinceBuild::kRebuild);
}

TEST(FullListDeviceCpu, BadPositionsAndCellsAreRecordedInTheStatus) {
  auto systems = mixed();
  const auto sp = species_of(systems);
  auto g = geometry_of<double>(systems);
  SerialDeviceList<double> d(g, sp, kCut);
  d.update(g);
  g.pos[3 * (108 + 4) + 1] = std::nan("");
  const Status h = d.update(g);
  EXPECT_EQ(h.error & kErrNonFinite, kErrNonFinite);
  EXPECT_EQ(h.bad_atom, 108 + 4);

  SerialDeviceList<double> flat(geometry_of<double>(systems), sp, kCut);
  systems[0].cell = {10.8, 0, 0, 10.8, 0, 0, 0, 0, 10.8};
  const Status f = flat.update(geometry_of<double>(systems));
  EXPECT_EQ(f.error & kErrBadCell, kErrBadCell);
  EXPECT_EQ(f.bad_system, 0);
}

}  // namespace
}  // namespace batchmd::model
