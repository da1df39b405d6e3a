// SPDX-License-Identifier: Apache-2.0
// EAM on several CPU threads: one large system split over the threads (eam_cpu_split) against the
// one-thread path (energy, forces, virial to 1e-12 relative in float64, 1e-5 in float32),
// reproducible bit for bit across runs with the same thread count; a batch of fewer systems than threads (each large
// system split in turn, each small one on one thread) equal bit for bit to its systems computed alone with the same
// thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "batchmd/core/parallel.hpp"
#include "batchmd/model/eam.hpp"
#include "snap_test_util.hpp"

namespace batchmd::model {
namespace {

using namespace testing;

// Sets the thread count for a scope.
class Threads {
 public:
  explicit Threads(int n) : before_(num_threads()) { set_num_threads(n); }
  ~Threads() { set_num_threads(before_); }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

 private:
  int before_;
};

// 32,000 Cu atoms (fcc 20x20x20, a = 3.615 Å) with one site empty, thermally displaced.
Sys cu_vacancy() {
  Sys s = fcc(20, 3.615, 29);
  s.x.erase(s.x.begin() + 3 * 12345, s.x.begin() + 3 * 12346);
  s.z.pop_back();
  jitter(s, 0.08, 21);
  return s;
}

// A random Al/Cu alloy (fcc n x n x n, a = 3.8 Å), displaced.
Sys alcu_alloy(int n, std::uint64_t seed) {
  Sys s = fcc(n, 3.8, 29);
  std::mt19937_64 rng(seed);
  for (auto& z : s.z) z = rng() % 2 ? 13 : 29;
  jitter(s, 0.1, seed + 1);
  return s;
}

Result run(const std::string& file, const std::vector<Sys>& systems, int threads, DType dt = DType::Float64) {
  const Threads t(threads);
  auto eam = load_eam({kPotentials + file});
  Batch b = batch_of(systems, dt);
  return evaluate(*eam, b);
}

void expect_close(const Result& a, const Result& b, double rel, const std::string& what) {
  ASSERT_EQ(a.forces.size(), b.forces.size());
  for (std::size_t s = 0; s < a.energy.size(); ++s)
    EXPECT_NEAR(a.energy[s], b.energy[s], rel * std::abs(b.energy[s])) << what << " energy " << s;
  const double fs = max_abs(b.forces), ws = max_abs(b.virial);
  std::size_t bad = 0;
  for (std::size_t k = 0; k < a.forces.size(); ++k)
    if (!(std::abs(a.forces[k] - b.forces[k]) <= rel * fs) && ++bad <= 5)
      ADD_FAILURE() << what << " force " << k << ": " << a.forces[k] << " vs " << b.forces[k];
  EXPECT_EQ(bad, 0u) << what;
  for (std::size_t k = 0; k < a.virial.size(); ++k)
    EXPECT_NEAR(a.virial[k], b.virial[k], rel * ws) << what << " virial " << k;
}

void expect_bitwise(const Result& a, const Result& b, const std::string& what) {
  EXPECT_EQ(a.energy, b.energy) << what;
  EXPECT_EQ(a.virial, b.virial) << what;
  ASSERT_EQ(a.forces.size(), b.forces.size());
  std::size_t bad = 0;
  for (std::size_t k = 0; k < a.forces.size(); ++k) bad += a.forces[k] != b.forces[k] ? 1 : 0;
  EXPECT_EQ(bad, 0u) << what << ": forces differ in " << bad << " components";
}

// The split system against one thread, and two runs with the same thread count against each other.
void check_split(const std::string& file, const Sys& s) {
  const Result one = run(file, {s}, 1);
  ASSERT_GT(max_abs(one.forces), 0.1);  // a displaced crystal: forces of order 1 eV/Å
  for (int threads : {2, 3, 16}) {
    const std::string what = file + ", " + std::to_string(threads) + " threads";
    const Result a = run(file, {s}, threads);
    const Result b = run(file, {s}, threads);
    expect_close(a, one, 1e-12, what);
    expect_bitwise(a, b, what + " (two runs)");
  }
}

TEST(EAMThreads, LargeCuCrystalWithVacancySplitMatchesOneThread) {
  const Sys s = cu_vacancy();
  ASSERT_EQ(s.n(), 31999);
  check_split("Cu_u3.eam", s);
}

// The alloy with its atoms in random order: a chunk's pairs then reach slots all over the list,
// not only a window near its own (eam_cpu_split clears and sums per-chunk windows).
TEST(EAMThreads, LargeAlloyInRandomOrderSplitMatchesOneThread) {
  const Sys s = alcu_alloy(12, 7);  // 6,912 atoms
  Sys shuffled = s;
  std::vector<std::size_t> perm(static_cast<std::size_t>(s.n()));
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(8));
  for (std::size_t i = 0; i < perm.size(); ++i) {
    for (std::size_t e = 0; e < 3; ++e) shuffled.x[3 * i + e] = s.x[3 * perm[i] + e];
    shuffled.z[i] = s.z[perm[i]];
  }
  check_split("AlCu.eam.alloy", shuffled);
}

TEST(EAMThreads, LargeAlCuAlloySplitMatchesOneThread) {
  const Sys s = alcu_alloy(16, 5);  // 16,384 atoms
  check_split("AlCu.eam.alloy", s);
}

// float32: the sums of the chunks round differently (about 1e-7 relative per sum), reproducibly.
TEST(EAMThreads, LargeAlCuAlloySplitFloat32) {
  const Sys s = alcu_alloy(16, 5);
  const Result one = run("AlCu.eam.alloy", {s}, 1, DType::Float32);
  const Result a = run("AlCu.eam.alloy", {s}, 2, DType::Float32);
  const Result b = run("AlCu.eam.alloy", {s}, 2, DType::Float32);
  expect_close(a, one, 1e-5, "float32, 2 threads");
  expect_bitwise(a, b, "float32, 2 threads (two runs)");
}

// The path for configs that leave pairs out (here Al-Al: EAM on Cu-Cu and Al-Cu pairs only).
TEST(EAMThreads, LargeAlloyWithPairRestrictionSplitMatchesOneThread) {
  const Sys s = alcu_alloy(16, 6);
  auto restricted = [&](int threads) {
    const Threads t(threads);
    EAMConfig c;
    c.tables = read_eam({kPotentials + "AlCu.eam.alloy"}, EAMFormat::Setfl);
    c.pairs = ElementPairs({{29, 29}, {13, 29}});
    EAM eam(std::move(c));
    Batch b = batch_of({s});
    return evaluate(eam, b);
  };
  const Result one = restricted(1);
  const Result full = run("AlCu.eam.alloy", {s}, 1);
  ASSERT_GT(std::abs(one.energy[0] - full.energy[0]), 1.0);  // the restriction matters
  for (int threads : {2, 3}) {
    const Result a = restricted(threads);
    expect_close(a, one, 1e-12, "Al-Al left out, " + std::to_string(threads) + " threads");
    expect_bitwise(a, restricted(threads), "Al-Al left out, two runs");
  }
}

// One model (one kept list, one cached split workspace) through a short trajectory: small moves
// keep the list, larger ones rebuild it, which changes the chunks' bounds and windows; every step
// matches a fresh one-thread evaluation.
TEST(EAMThreads, SplitSystemFollowsItsListThroughRebuilds) {
  Sys s = alcu_alloy(11, 12);  // 5,324 atoms
  auto split_eam = load_eam({kPotentials + "AlCu.eam.alloy"});
  std::int64_t rebuilt = 0;
  for (int t = 0; t < 6; ++t) {
    jitter(s, t % 3 == 2 ? 0.6 : 0.02, 40 + static_cast<std::uint64_t>(t));
    Result many;
    {
      const Threads th(3);
      Batch b = batch_of({s});
      many = evaluate(*split_eam, b);
      rebuilt = split_eam->neighbor_builds();
    }
    expect_close(many, run("AlCu.eam.alloy", {s}, 1), 1e-12, "step " + std::to_string(t));
  }
  EXPECT_GT(rebuilt, 2);  // rebuilt along the way, and kept in between
  EXPECT_LT(rebuilt, 6);
}

// Fewer systems than threads: the two large systems are split in turn and the small one runs on one
// thread; each equals the system alone with the same thread count, bit for bit.
TEST(EAMThreads, BatchOfFewSystemsEqualsSystemsAlone) {
  const std::vector<Sys> systems{alcu_alloy(11, 7), alcu_alloy(3, 8), alcu_alloy(11, 9)};  // 5,324, 108, 5,324
  const int threads = 4;
  const Result all = run("AlCu.eam.alloy", systems, threads);
  std::size_t atom = 0;
  for (std::size_t s = 0; s < systems.size(); ++s) {
    const Result one = run("AlCu.eam.alloy", {systems[s]}, threads);
    Result part;
    part.energy = {all.energy[s]};
    part.virial.assign(all.virial.begin() + 9 * static_cast<std::ptrdiff_t>(s),
                       all.virial.begin() + 9 * static_cast<std::ptrdiff_t>(s + 1));
    part.forces.assign(all.forces.begin() + 3 * static_cast<std::ptrdiff_t>(atom),
                       all.forces.begin() + 3 * static_cast<std::ptrdiff_t>(atom + systems[s].z.size()));
    expect_bitwise(part, one, "system " + std::to_string(s));
    atom += systems[s].z.size();
  }
  // And the batch on four threads against one thread.
  expect_close(all, run("AlCu.eam.alloy", systems, 1), 1e-12, "batch, 4 threads vs 1");
}

}  // namespace
}  // namespace batchmd::model
