// SPDX-License-Identifier: Apache-2.0
// Tests for sinks: HostMemory capacity, masks, empty read, drain, zero, every field and dtype
// round-tripping, and its memory overhead.
#include <gtest/gtest.h>

#include <cstring>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/data_sink.hpp"

using namespace batchmd;
using namespace batchmd::sinks;

namespace {

AtomicData sample(std::int64_t n, double base) {
  std::vector<double> pos;
  std::vector<std::int64_t> z;
  for (std::int64_t i = 0; i < n; ++i) {
    pos.insert(pos.end(), {base + double(i), base * 2, base * 3});
    z.push_back(1 + i % 10);
  }
  auto d = AtomicData::make(DType::Float32, pos, z, {5, 0, 0, 0, 5, 0, 0, 0, 5}, {true, false, true});
  Tensor e(DType::Float32, {1});
  e.data<float>()[0] = static_cast<float>(-base);
  d.set("energy", Level::System, std::move(e));
  Tensor st(DType::Int32, {1});
  st.data<std::int32_t>()[0] = static_cast<std::int32_t>(base);
  d.set("status", Level::System, std::move(st));
  Tensor u(DType::UInt8, {n, 4});
  for (std::int64_t i = 0; i < 4 * n; ++i)
    u.data<std::uint8_t>()[i] = static_cast<std::uint8_t>(i + static_cast<std::int64_t>(base));
  d.set("user_bytes", Level::Atom, std::move(u));
  Tensor ei(DType::Int64, {n - 1, 2});
  for (std::int64_t k = 0; k + 1 < n; ++k) {
    ei.data<std::int64_t>()[2 * k] = k;
    ei.data<std::int64_t>()[2 * k + 1] = k + 1;
  }
  d.set(std::string(kEdgeIndex), Level::Edge, std::move(ei));
  return d;
}

Batch make_batch(std::vector<std::int64_t> sizes, double base) {
  std::vector<AtomicData> v;
  for (std::size_t i = 0; i < sizes.size(); ++i) v.push_back(sample(sizes[i], base + double(i)));
  return Batch::from_systems(v);
}

void expect_system_eq(const AtomicData& a, const AtomicData& b) {
  ASSERT_EQ(a.fields().size(), b.fields().size());
  for (const auto& [k, f] : a.fields()) {
    ASSERT_EQ(f.tensor.shape(), b.get(k).shape()) << k;
    EXPECT_EQ(0, std::memcmp(f.tensor.raw(), b.get(k).raw(), f.tensor.nbytes())) << k;
  }
}

}  // namespace

TEST(HostMemory, EveryFieldRoundTripsAcrossWrites) {
  HostMemory sink(100);
  Batch a = make_batch({3, 5, 2}, 1.0);
  Batch b = make_batch({4, 6}, 10.0);
  sink.write(a);
  sink.write(b);
  EXPECT_EQ(sink.size(), 5);
  Batch r = sink.read();
  ASSERT_EQ(r.n_systems(), 5);
  EXPECT_NO_THROW(r.validate());
  for (std::int64_t i = 0; i < 3; ++i) expect_system_eq(r.system(i), a.system(i));
  for (std::int64_t i = 0; i < 2; ++i) expect_system_eq(r.system(3 + i), b.system(i));
}

TEST(HostMemory, MaskSelectsSystems) {
  HostMemory sink(10);
  Batch a = make_batch({3, 5, 2, 4}, 1.0);
  sink.write(a, {false, true, false, true});
  sink.write(a, {true, false, false, false});
  Batch r = sink.read();
  ASSERT_EQ(r.n_systems(), 3);
  expect_system_eq(r.system(0), a.system(1));
  expect_system_eq(r.system(1), a.system(3));
  expect_system_eq(r.system(2), a.system(0));
  EXPECT_THROW(sink.write(a, {true, false}), InvalidArgument);
  sink.write(a, {false, false, false, false});  // nothing selected: nothing stored
  EXPECT_EQ(sink.size(), 3);
}

TEST(HostMemory, CapacityIsEnforcedAndOverflowStoresNothing) {
  HostMemory sink(4);
  Batch a = make_batch({3, 5, 2}, 1.0);
  sink.write(a);
  EXPECT_FALSE(sink.is_full());
  EXPECT_THROW(sink.write(a), CapacityError);
  EXPECT_EQ(sink.size(), 3);
  sink.write(a, {false, true, false});
  EXPECT_TRUE(sink.is_full());
  EXPECT_EQ(sink.read().n_systems(), 4);
  EXPECT_THROW(HostMemory(0), InvalidArgument);
}

TEST(HostMemory, EmptyReadDrainAndZero) {
  HostMemory sink(10);
  EXPECT_THROW(sink.read(), InvalidArgument);
  Batch a = make_batch({3, 2}, 1.0);
  sink.write(a);
  Batch d = sink.drain();
  EXPECT_EQ(d.n_systems(), 2);
  EXPECT_EQ(sink.size(), 0);
  EXPECT_THROW(sink.read(), InvalidArgument);
  sink.write(a);
  sink.zero();
  EXPECT_EQ(sink.size(), 0);
  sink.write(a, {false, true});
  expect_system_eq(sink.read().system(0), a.system(1));
}

TEST(HostMemory, RejectsBatchesWithOtherFields) {
  HostMemory sink(10);
  Batch a = make_batch({3}, 1.0);
  sink.write(a);
  Batch b = make_batch({3}, 1.0);
  b.erase("user_bytes");
  EXPECT_THROW(sink.write(b), InvalidArgument);
  EXPECT_EQ(sink.size(), 1);
}

TEST(HostMemory, HoldsSnapshotsInNearlyRawBytes) {
  HostMemory sink(100000);
  Batch a = make_batch({64, 100, 128, 32}, 1.0);
  for (int i = 0; i < 200; ++i) sink.write(a);
  EXPECT_LE(static_cast<double>(sink.allocated_bytes()), 1.05 * static_cast<double>(sink.raw_bytes()));
}

// CPU writes take blocks that another thread allocated and faulted in ahead, sized by the last
// write: a run of same-size writes, a size change (mask) in the middle, the sink filled to the
// last sample, emptied and filled again — each sample must hold its batch as it was when written.
TEST(HostMemory, EverySampleHoldsItsBatchAsWrittenThroughReusedBlockSizes) {
  HostMemory sink(21);
  std::vector<AtomicData> expected;
  auto write = [&](const Batch& b, const std::vector<bool>& mask) {
    sink.write(b, mask);
    for (std::size_t s = 0; s < mask.size(); ++s)
      if (mask[s]) expected.push_back(b.system(static_cast<std::int64_t>(s)));
  };
  for (int round = 0; round < 2; ++round) {
    expected.clear();
    for (int i = 0; i < 5; ++i) write(make_batch({40, 7, 300}, 100.0 * round + i), {true, true, true});
    for (int i = 0; i < 2; ++i) write(make_batch({40, 7, 300}, 50.0 + i), {false, true, true});
    write(make_batch({40, 7, 300}, 60.0), {true, true, false});
    EXPECT_TRUE(sink.is_full());
    Batch r = sink.read();
    ASSERT_EQ(r.n_systems(), static_cast<std::int64_t>(expected.size()));
    for (std::int64_t i = 0; i < r.n_systems(); ++i)
      expect_system_eq(r.system(i), expected[static_cast<std::size_t>(i)]);
    sink.zero();
  }
  EXPECT_EQ(sink.size(), 0);
}
