// SPDX-License-Identifier: Apache-2.0
// Tests for reusing a fused gather plan (src/sinks/gpu_gather*.hpp), run on the CPU: a plan made
// at destination row 0 and launched (by the kernel's own per-lane code, on host memory) at base
// rows must write what a plan made at those rows writes — bytes and rewritten edge_index values,
// for both edge modes and for a table large enough to be uploaded; and the GatherKey that decides
// reuse must change with the selection, any selected system's atom or edge offsets (values read
// from the batch, which a batch refilled in place changes under the same pointers), the fields'
// pointers and the mode.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "gather_test_util.hpp"
#include "gpu_gather_kernel.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks::detail;
using namespace batchmd::test_support;  // encoded_batch; Destination, run_on_host

namespace {

/// Gathers systems `idx` of `b` at destination rows `at` twice — a plan made there, and a plan
/// made at row 0 launched at systems_base(at) — and expects the same bytes everywhere.
void expect_same_at_offset(const Batch& b, const std::vector<std::int64_t>& idx, const std::int64_t at[3],
                           EdgeIndexMode mode) {
  const Batch want = b.index_select(idx);
  const std::int64_t rows[3] = {at[0] + want.n_atoms() + 5, at[1] + want.n_edges() + 5, at[2] + want.n_systems() + 5};
  Destination direct(b, rows), reused(b, rows);
  GatherPlan there, zero;
  plan_systems(there, b, idx, direct.fields, at[0], at[1], at[2], mode);
  plan_systems(zero, b, idx, reused.fields, 0, 0, 0, mode);
  ASSERT_EQ(there.pieces().size(), zero.pieces().size());
  run_on_host(there, GatherBase{});
  run_on_host(zero, systems_base(at[0], at[1], at[2], mode));
  for (const auto& [k, v] : direct.bytes) EXPECT_EQ(v, reused.bytes[k]) << k << " at " << at[0] << "/" << at[1];
  // Independently of plan_systems at an offset: the rows land at `at`, edge_index rebased.
  const Tensor& ei = want.get(kEdgeIndex);
  const auto* got = reinterpret_cast<const std::int64_t*>(reused.bytes[std::string(kEdgeIndex)].data()) + 2 * at[1];
  const auto* w = ei.data<std::int64_t>();
  const auto* ap = want.atoms_ptr_data();
  const auto* ep = want.edges_ptr().data<std::int64_t>();
  for (std::int64_t s = 0; s < want.n_systems(); ++s)
    for (std::int64_t e = 2 * ep[s]; e < 2 * ep[s + 1]; ++e)
      ASSERT_EQ(got[e], mode == EdgeIndexMode::Rebase ? w[e] + at[0] : w[e] - ap[s]) << "edge value " << e;
  const Tensor& pos = want.get("positions");
  EXPECT_EQ(std::memcmp(reused.bytes["positions"].data() + at[0] * pos.row_bytes(), pos.raw(), pos.nbytes()), 0);
  const Tensor& energy = want.get("energy");
  EXPECT_EQ(std::memcmp(reused.bytes["energy"].data() + at[2] * energy.row_bytes(), energy.raw(), energy.nbytes()), 0);
}

std::vector<bool> all_of(std::int64_t n) { return std::vector<bool>(static_cast<std::size_t>(n), true); }

}  // namespace

TEST(GatherReuse, APlanMadeAtRowZeroLaunchedAtBaseRowsEqualsOneMadeThere) {
  const Batch b = encoded_batch(0, 9);
  const std::vector<std::int64_t> idx{1, 2, 3, 5, 8};
  for (EdgeIndexMode mode : {EdgeIndexMode::Rebase, EdgeIndexMode::SampleLocal})
    for (const auto& at : {std::vector<std::int64_t>{0, 0, 0}, {7, 3, 2}, {0, 11, 5}, {1000, 41, 9}}) {
      SCOPED_TRACE(mode == EdgeIndexMode::Rebase ? "Rebase" : "SampleLocal");
      expect_same_at_offset(b, idx, at.data(), mode);
    }
}

TEST(GatherReuse, AnUploadSizedTableLaunchedAtBaseRowsEqualsOneMadeThere) {
  const Batch b = encoded_batch(0, 3000);
  std::vector<std::int64_t> half;  // ~1,500 runs: a table past kGatherInlineBytes
  for (std::int64_t s = 0; s < b.n_systems(); s += 2) half.push_back(s);
  const std::int64_t at[3] = {12345, 6789, 321};
  expect_same_at_offset(b, half, at, EdgeIndexMode::Rebase);
  Destination d(b, at);
  GatherPlan plan;
  plan_systems(plan, b, half, d.fields, 0, 0, 0, EdgeIndexMode::Rebase);
  EXPECT_GT(plan.table_bytes(), kGatherInlineBytes);
}

TEST(GatherReuse, TheKeyChangesWithTheSelectionTheOffsetsTheFieldsAndTheMode) {
  // A batch refilled in place (reserved storage): the field pointers stay, the offsets change.
  const Batch first = encoded_batch(0, 9);
  std::vector<const Batch*> parts;
  const Batch head = encoded_batch(0, 4), other = encoded_batch(100, 1), tail = encoded_batch(5, 4);
  parts = {&head, &other, &tail};
  const Batch changed = Batch::concat(parts);  // system 4 has 8 atoms instead of 2
  ASSERT_EQ(changed.n_systems(), 9);
  ASSERT_NE(changed.atoms_ptr_data()[5], first.atoms_ptr_data()[5]);
  Batch b = first.empty_like();
  b.reserve(9, 200, 200);
  b.put(first, all_of(9));
  const std::int64_t rows[3] = {200, 200, 9};
  Destination d(b, rows);
  const std::vector<std::int64_t> idx{1, 2, 4, 5};
  GatherKey key;
  EXPECT_FALSE(key.matches(b, idx, d.fields, EdgeIndexMode::Rebase));  // nothing assigned yet
  key.assign(b, idx, d.fields, EdgeIndexMode::Rebase);
  EXPECT_TRUE(key.matches(b, idx, d.fields, EdgeIndexMode::Rebase));

  // Refilled with the same systems: the same key, and the same plan.
  const std::byte* positions = b.get("positions").bytes();
  b.clear();
  b.put(first, all_of(9));
  ASSERT_EQ(b.get("positions").bytes(), positions);
  EXPECT_TRUE(key.matches(b, idx, d.fields, EdgeIndexMode::Rebase));

  // Refilled with one system of another size, under the same pointers: selected (4) or not (the
  // selected systems after it move: 5), the key must change.
  b.clear();
  b.put(changed, all_of(9));
  ASSERT_EQ(b.get("positions").bytes(), positions);
  EXPECT_FALSE(key.matches(b, idx, d.fields, EdgeIndexMode::Rebase));
  const std::vector<std::int64_t> only_after{5, 6};
  key.assign(b, only_after, d.fields, EdgeIndexMode::Rebase);
  EXPECT_TRUE(key.matches(b, only_after, d.fields, EdgeIndexMode::Rebase));
  b.clear();
  b.put(first, all_of(9));
  EXPECT_FALSE(key.matches(b, only_after, d.fields, EdgeIndexMode::Rebase)) << "atoms_ptr values are ignored";
  // ... while systems before the change keep their key.
  const std::vector<std::int64_t> before{0, 1, 3};
  key.assign(b, before, d.fields, EdgeIndexMode::Rebase);
  b.clear();
  b.put(changed, all_of(9));
  EXPECT_TRUE(key.matches(b, before, d.fields, EdgeIndexMode::Rebase));

  // The selection, the mode, a source or destination pointer.
  key.assign(b, idx, d.fields, EdgeIndexMode::Rebase);
  EXPECT_FALSE(key.matches(b, std::vector<std::int64_t>{1, 2, 4}, d.fields, EdgeIndexMode::Rebase));
  EXPECT_FALSE(key.matches(b, std::vector<std::int64_t>{1, 2, 4, 6}, d.fields, EdgeIndexMode::Rebase));
  EXPECT_FALSE(key.matches(b, std::vector<std::int64_t>{0, 1, 2, 4, 5}, d.fields, EdgeIndexMode::Rebase));
  EXPECT_FALSE(key.matches(b, idx, d.fields, EdgeIndexMode::SampleLocal));
  const Tensor copy = b.get("positions").clone();
  std::vector<GatherFieldSpec> moved_src = d.fields, moved_dst = d.fields, flag = d.fields;
  for (auto& f : moved_src)
    if (f.src == &b.get("positions")) f.src = &copy;
  EXPECT_FALSE(key.matches(b, idx, moved_src, EdgeIndexMode::Rebase));
  moved_dst.back().dst += moved_dst.back().src->row_bytes();
  EXPECT_FALSE(key.matches(b, idx, moved_dst, EdgeIndexMode::Rebase));
  flag.front().edge_index = !flag.front().edge_index;
  EXPECT_FALSE(key.matches(b, idx, flag, EdgeIndexMode::Rebase));
  EXPECT_FALSE(key.matches(b, idx, std::span(d.fields).first(d.fields.size() - 1), EdgeIndexMode::Rebase));
  // Another batch with fewer systems (the key's offsets would be read out of range).
  const Batch small = encoded_batch(0, 4);
  EXPECT_FALSE(key.matches(small, std::vector<std::int64_t>{1, 2}, d.fields, EdgeIndexMode::Rebase));
  EXPECT_TRUE(key.matches(b, idx, d.fields, EdgeIndexMode::Rebase));
}

TEST(GatherReuse, EqualKeysMakeEqualPlans) {
  // What the cache relies on: a matching key after a refill in place, the same table bytes; a
  // change the plan does not see may keep the key, one it sees may not.
  const Batch first = encoded_batch(0, 9);
  Batch b = first.empty_like();
  b.reserve(9, 200, 200);
  b.put(first, all_of(9));
  const std::int64_t rows[3] = {200, 200, 9};
  Destination d(b, rows);
  const std::vector<std::int64_t> idx{0, 2, 3, 4, 7};
  auto table = [&](EdgeIndexMode mode) {
    GatherPlan plan;
    plan_systems(plan, b, idx, d.fields, 0, 0, 0, mode);
    std::vector<std::byte> t(plan.table_bytes());
    plan.write_table(t.data());
    return t;
  };
  // Systems 3 and 4 swapped (3 and 2 atoms): inside the run 2-4 only atoms_ptr[4] moves, which
  // the Rebase plan does not read (one copy for the run); split into one run per system (the
  // sample-local edge mode) it does, and the key changes.
  const Batch head = encoded_batch(0, 3), four = encoded_batch(4, 1), three = encoded_batch(3, 1),
              tail = encoded_batch(5, 4);
  const std::vector<const Batch*> parts{&head, &four, &three, &tail};
  const Batch swapped = Batch::concat(parts);
  ASSERT_NE(swapped.atoms_ptr_data()[4], first.atoms_ptr_data()[4]);
  ASSERT_EQ(swapped.atoms_ptr_data()[5], first.atoms_ptr_data()[5]);
  // A key assigned on `first`, then the batch refilled in place with `with`: whether the key
  // still matches and whether the plan's table is the same must agree with `keeps`.
  struct Refill {
    const char* what;
    const Batch* with;
    bool keeps_rebase, keeps_sample_local;
  };
  for (const Refill& r :
       {Refill{"the same systems", &first, true, true}, Refill{"systems 3 and 4 swapped", &swapped, true, false}})
    for (EdgeIndexMode mode : {EdgeIndexMode::Rebase, EdgeIndexMode::SampleLocal}) {
      const bool keeps = mode == EdgeIndexMode::Rebase ? r.keeps_rebase : r.keeps_sample_local;
      SCOPED_TRACE(std::string(r.what) + (mode == EdgeIndexMode::Rebase ? ", Rebase" : ", SampleLocal"));
      GatherKey key;
      key.assign(b, idx, d.fields, mode);
      const auto before = table(mode);
      b.clear();
      b.put(*r.with, all_of(9));
      EXPECT_EQ(key.matches(b, idx, d.fields, mode), keeps);
      EXPECT_EQ(table(mode) == before, keeps);
      b.clear();
      b.put(first, all_of(9));
    }
}
