// SPDX-License-Identifier: Apache-2.0
// Tests of app/limits (what a job implies, and the refusal of jobs this machine cannot run) and
// of the neighbour list's own guard against a cutoff far beyond its system. The estimates are
// checked against what the code really builds: the neighbour list's pair count, the batch's
// field bytes, and the heap the structures and the list take (mallinfo2).
#include <gtest/gtest.h>
#include <malloc.h>
#if defined(__SANITIZE_ADDRESS__)
// The sanitizer runtime's own count of heap in use (GCC ships no header declaring it).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

#include <fstream>
#include <string>

#include "batchmd/app/config.hpp"
#include "batchmd/app/limits.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/model/lennard_jones.hpp"
#include "batchmd/model/neighbor_list.hpp"

using namespace batchmd;
using namespace batchmd::app;

namespace {

RunConfig job(const std::string& toml) { return parse_config(toml, "test.toml"); }

std::string error_of(const RunConfig& c) {
  try {
    check_job_limits(c);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

model::BatchGeometry<double> geometry(const Batch& b) {
  return {b.n_systems(),
          b.n_atoms(),
          b.get("positions").data<double>(),
          b.atoms_ptr_data(),
          b.get("cell").data<double>(),
          b.get("pbc").data<bool>()};
}

// Bytes the heap holds now (the sanitizer's allocator keeps its own count).
double heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return static_cast<double>(__sanitizer_get_current_allocated_bytes());
#else
  const auto m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
#endif
}

// One periodic box (or open cluster) of n atoms on a simple cubic grid of spacing a (Å).
struct Grid {
  std::vector<double> pos, cell;
  std::vector<bool> pbc;
  std::vector<std::int64_t> ptr;
};
Grid grid(int per_edge, double a, std::array<bool, 3> pbc) {
  Grid g;
  for (int i = 0; i < per_edge; ++i)
    for (int j = 0; j < per_edge; ++j)
      for (int k = 0; k < per_edge; ++k) g.pos.insert(g.pos.end(), {i * a, j * a, k * a});
  const double L = per_edge * a;
  g.cell = {L, 0, 0, 0, L, 0, 0, 0, L};
  g.pbc = {pbc[0], pbc[1], pbc[2]};
  g.ptr = {0, static_cast<std::int64_t>(g.pos.size() / 3)};
  return g;
}

std::string nl_error(const Grid& g, double cutoff, double skin = 0.5) {
  bool pbc[3] = {g.pbc[0], g.pbc[1], g.pbc[2]};
  model::BatchGeometry<double> geo{1, g.ptr[1], g.pos.data(), g.ptr.data(), g.cell.data(), pbc};
  model::NeighborList nl(cutoff, skin);
  try {
    nl.update(geo);
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(nl.n_builds(), 0);  // a refused build leaves the list as it was
    return e.what();
  }
  return "";
}

}  // namespace

TEST(JobEstimate, CountsAtomsAndSystemsExactly) {
  const auto e = estimate_job(job("[[liquid]]\ncount = 3\ncells = 5\n[[cluster]]\ncount = 2\natoms = 55\n"));
  EXPECT_EQ(e.atoms, 3 * 4 * 125 + 2 * 55);
  EXPECT_EQ(e.systems, 5);
  EXPECT_EQ(e.largest_system_atoms, 500);
  EXPECT_NE(e.largest.find("liquid[0]"), std::string::npos) << e.largest;
  // Counts that overflow int64 in 4·cells³·count are still counted (as doubles) and refused.
  const auto big = estimate_job(job("[[liquid]]\ncount = 1000000\ncells = 1000\n"));
  EXPECT_EQ(big.atoms, 4e15);
}

TEST(JobEstimate, NeighbourPairsMatchTheRealListWithinAFactorTwo) {
  for (const char* toml : {"[[liquid]]\ncount = 2\ncells = 5\n",                     // argon liquid, 1.40 g/cm³
                           "[[liquid]]\ncells = 4\ndensity_g_cm3 = 0.7\n",           // half the density
                           "[model]\ncutoff = 14.0\n[[liquid]]\ncells = 3\n",        // box smaller than 2 rc
                           "[[cluster]]\natoms = 147\n[[cluster]]\natoms = 13\n",    // open clusters
                           "[model]\ncutoff = 30.0\n[[cluster]]\natoms = 300\n"}) {  // every pair of a cluster
    const RunConfig c = job(toml);
    const auto e = estimate_job(c);
    const Batch b = build_systems(c);
    model::NeighborList nl(c.lj.cutoff, c.lj.skin);
    nl.update(geometry(b));
    const double real = static_cast<double>(nl.n_pairs());
    EXPECT_GT(e.neighbor_pairs, 0.5 * real) << toml;
    EXPECT_LT(e.neighbor_pairs, 2.0 * real) << toml;
  }
}

TEST(JobEstimate, SnapshotBytesBoundTheFieldsOfARunningBatch) {
  for (const char* dtype : {"float64", "float32"}) {
    RunConfig c = job("[[liquid]]\ncount = 2\ncells = 3\n[[cluster]]\ncount = 3\natoms = 38\n");
    c.dtype = dtype;
    Batch b = build_systems(c);
    model::LennardJones(c.lj).compute(b, /*compute_stress=*/true);
    double fields = 0;
    for (const auto& [name, f] : b.fields()) fields += static_cast<double>(f.tensor.nbytes());
    const auto e = estimate_job(c);
    EXPECT_GE(e.snapshot_bytes, fields) << dtype;
    EXPECT_LE(e.snapshot_bytes, 2 * fields) << dtype;
  }
}

TEST(JobEstimate, MemoryBoundsWhatStructuresAndTheListHold) {
  // Heap in use after building the batch and its neighbour list (what stays for the whole run)
  // must lie below the estimate, and the estimate within a few times of it.
  const RunConfig c = job("[[liquid]]\ncount = 4\ncells = 12\n[[cluster]]\ncount = 4\natoms = 2000\n");
  const double before = heap_in_use();
  Batch b = build_systems(c);
  model::LennardJones lj(c.lj);
  lj.compute(b);
  const double used = heap_in_use() - before;
  const auto e = estimate_job(c);
  const double base = 64.0 * (1 << 20);
  EXPECT_GT(e.memory_bytes - base, used);
  EXPECT_LT(e.memory_bytes - base, 4 * used);
}

TEST(JobLimits, ThreadsBeyondTheMachineAreRefused) {
  RunConfig c = job("[[cluster]]\natoms = 13\n");
  c.threads = available_cpus();
  EXPECT_EQ(error_of(c), "");
  c.threads = 0;
  EXPECT_EQ(error_of(c), "");
  for (int t : {available_cpus() + 1, 4096}) {
    c.threads = t;
    const std::string e = error_of(c);
    EXPECT_NE(e.find("threads = " + std::to_string(t)), std::string::npos) << e;
    EXPECT_NE(e.find(std::to_string(available_cpus()) + " CPUs"), std::string::npos) << e;
  }
}

TEST(JobLimits, CommandLineOverridesMeetTheSameRanges) {
  RunConfig c = job("[[cluster]]\natoms = 13\n");
  c.steps = 1'000'000'000'001;  // as --steps would set it, past the parser
  EXPECT_NE(error_of(c).find("steps = 1000000000001"), std::string::npos);
  c.steps = -1;
  EXPECT_NE(error_of(c).find("--steps"), std::string::npos);
  c.steps = 1'000'000'000'000;
  EXPECT_EQ(error_of(c), "");
}

TEST(JobLimits, MoreAtomsThanABatchIndexesAreRefused) {
  for (const char* toml : {"[[liquid]]\ncells = 1000\n",                     // 4e9 atoms in one system
                           "[[liquid]]\ncount = 1000000\ncells = 1000\n",    // 4e15, beyond int64 of 4·cells³·count
                           "[[cluster]]\ncount = 1000\natoms = 10000000\n",  // 1e10 in many systems
                           "[[liquid]]\ncount = 300\ncells = 200\n[[cluster]]\natoms = 13\n"}) {
    const std::string e = error_of(job(toml));
    EXPECT_NE(e.find("atoms"), std::string::npos) << toml << e;
    EXPECT_NE(e.find("at most 2147483646"), std::string::npos) << toml << e;
  }
}

TEST(JobLimits, DenseNeighbourListsAreRefusedNamingTheStructure) {
  struct Case {
    const char* toml;
    const char* names;
  };
  for (const Case& k :
       {Case{"[model]\ncutoff = 100\n[[liquid]]\ncells = 2\n", "liquid[0]"},
        Case{"[[liquid]]\ncells = 2\nelement = 1\ndensity_g_cm3 = 100\n", "liquid[0].density_g_cm3"},
        Case{"[model]\ncutoff = 90\n[[cluster]]\natoms = 200000\n", "cluster[0]"},
        Case{"[[liquid]]\ncells = 2\n[[model.pair]]\nelements = [18, 18]\ncutoff = 100\n", "liquid[0]"}}) {
    const std::string e = error_of(job(k.toml));
    EXPECT_NE(e.find(k.names), std::string::npos) << k.toml << e;
    EXPECT_NE(e.find("neighbours per atom"), std::string::npos) << e;
  }
  // A cutoff larger than the box is fine when the density is sane (images of a small box).
  EXPECT_EQ(error_of(job("[model]\ncutoff = 20\n[[liquid]]\ncells = 1\n")), "");
}

TEST(JobLimits, MemoryBeyondTheBoundIsRefusedWithTheEstimate) {
  RunConfig c = job("[run]\nmax_memory_gb = 0.05\n[[liquid]]\ncount = 10\ncells = 20\n");
  std::string e = error_of(c);
  EXPECT_NE(e.find("max_memory_gb = 0.05 GB"), std::string::npos) << e;
  EXPECT_NE(e.find("320000 atoms in 10 systems"), std::string::npos) << e;
  EXPECT_NE(e.find("per snapshot"), std::string::npos) << e;
  EXPECT_NE(e.find("liquid[0] (count = 10, cells = 20"), std::string::npos) << e;
  c.max_memory_gb = 100;  // a bound above the estimate lets it run
  EXPECT_EQ(error_of(c), "");
  // The default bound is what the machine has available now.
  const auto avail = available_memory_bytes();
  ASSERT_TRUE(avail.has_value());
  c = job("[[liquid]]\ncells = 500\n");  // 5e8 atoms: hundreds of GB
  ASSERT_GT(estimate_job(c).memory_bytes, *avail);
  e = error_of(c);
  EXPECT_NE(e.find("this machine has available"), std::string::npos) << e;
  // Chunk buffers and the snapshot queue count too: a huge chunk over a long run.
  c =
      job("[run]\nsteps = 100000\nmax_memory_gb = 1\n[output]\nchunk_bytes = 1073741824\nsnapshot_every = 1\n"
          "[[liquid]]\ncells = 10\n");
  EXPECT_GT(estimate_job(c).memory_bytes, 16e9);
  EXPECT_NE(error_of(c).find("max_memory_gb"), std::string::npos);
}

TEST(JobLimits, AvailableMemoryIsReadFromTheSystem) {
  const auto avail = available_memory_bytes();
  ASSERT_TRUE(avail.has_value());
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0, total = 0;
  std::string rest;
  while (in >> key >> kb) {
    std::getline(in, rest);
    if (key == "MemTotal:") total = kb * 1024;
  }
  EXPECT_GT(*avail, 0);
  EXPECT_LE(*avail, total);
  EXPECT_GE(available_cpus(), 1);
}

TEST(JobLimits, BuildSystemsRefusesBeforeAllocating) {
  // (Cheap cases only: without the check these would build, not exhaust the machine.)
  RunConfig c = job("[run]\nmax_memory_gb = 0.001\n[[liquid]]\ncells = 30\n");
  EXPECT_THROW(build_systems(c), InvalidArgument);
  c.max_memory_gb = 0;
  c.threads = available_cpus() + 1;
  EXPECT_THROW(build_systems(c), InvalidArgument);
  c.threads = 0;
  EXPECT_EQ(build_systems(c).n_atoms(), 108000);
}

// ---- the neighbour list refuses a cutoff far beyond its system (model/neighbor_list.cpp)

TEST(NeighborListGuard, HugeCutoffInATinyBoxIsRefusedNotAllocated) {
  const Grid box = grid(2, 2.0, {true, true, true});  // 8 atoms in a 4 Å box
  for (double cutoff : {1e6, 1e4, 200.0}) {
    const std::string e = nl_error(box, cutoff);
    EXPECT_NE(e.find("neighbours per atom"), std::string::npos) << cutoff << ": " << e;
    EXPECT_NE(e.find("system 0"), std::string::npos) << e;
  }
  EXPECT_EQ(nl_error(box, 8.0), "");  // a cutoff of two boxes: several images, still fine
}

TEST(NeighborListGuard, PartlyPeriodicAndOpenSystems) {
  // A slab and a wire: images along the periodic directions only.
  EXPECT_NE(nl_error(grid(3, 2.0, {true, true, false}), 1e5).find("neighbours per atom"), std::string::npos);
  EXPECT_NE(nl_error(grid(3, 2.0, {false, false, true}), 1e7).find("neighbours per atom"), std::string::npos);
  EXPECT_EQ(nl_error(grid(3, 2.0, {false, false, true}), 20.0), "");
  // An open cluster holds at most all its pairs: a huge cutoff is fine for a small one ...
  EXPECT_EQ(nl_error(grid(6, 2.0, {false, false, false}), 1e6), "");
  // ... but not for one whose all-pairs list is beyond any use.
  EXPECT_NE(nl_error(grid(40, 1.0, {false, false, false}), 1e6).find("neighbours per atom"), std::string::npos);
}

TEST(NeighborListGuard, LennardJonesWithAHugeCutoffThrowsInvalidArgument) {
  RunConfig c = job("[[liquid]]\ncells = 2\n");
  Batch b = build_systems(c);
  model::LJConfig lj;
  lj.cutoff = 1e6;  // beyond the job file's range: only the library guard stands here
  model::LennardJones m(lj);
  EXPECT_THROW(m.compute(b), InvalidArgument);
}
