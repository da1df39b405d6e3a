// SPDX-License-Identifier: Apache-2.0
// Tests for data: AtomicData/Batch construction, split, index_select, concat, masked put,
// edge_index offsets and the pointer-array invariants.
#include <gtest/gtest.h>

#include <cstring>

#include "batchmd/core/error.hpp"
#include "batchmd/data/batch.hpp"

using namespace batchmd;

namespace {

AtomicData make_system(std::int64_t n, double base, std::int64_t n_edges = 0) {
  std::vector<double> pos;
  std::vector<std::int64_t> z;
  for (std::int64_t i = 0; i < n; ++i) {
    pos.insert(pos.end(), {base + static_cast<double>(i), base, -base});
    z.push_back(18);
  }
  auto d = AtomicData::make(DType::Float64, pos, z, {10, 0, 0, 0, 10, 0, 0, 0, 10}, {true, true, true});
  Tensor e(DType::Float64, {1});
  e.data<double>()[0] = base;
  d.set("energy", Level::System, std::move(e));
  // a user atom field with trailing shape [2, 2] and a user int field
  Tensor u(DType::Float32, {n, 2, 2});
  for (std::int64_t i = 0; i < 4 * n; ++i) u.data<float>()[i] = static_cast<float>(base * 100 + static_cast<double>(i));
  d.set("my_tensor", Level::Atom, std::move(u));
  Tensor ei(DType::Int64, {n_edges, 2});
  Tensor ew(DType::Float64, {n_edges});
  for (std::int64_t k = 0; k < n_edges; ++k) {
    ei.data<std::int64_t>()[2 * k] = k % n;
    ei.data<std::int64_t>()[2 * k + 1] = (k + 1) % n;
    ew.data<double>()[k] = base + 0.5 * static_cast<double>(k);
  }
  d.set(std::string(kEdgeIndex), Level::Edge, std::move(ei));
  d.set("edge_weight", Level::Edge, std::move(ew));
  return d;
}

void expect_same(const AtomicData& a, const AtomicData& b) {
  ASSERT_EQ(a.n_atoms(), b.n_atoms());
  ASSERT_EQ(a.n_edges(), b.n_edges());
  ASSERT_EQ(a.fields().size(), b.fields().size());
  for (const auto& [k, f] : a.fields()) {
    const Tensor& t = b.get(k);
    ASSERT_EQ(f.tensor.shape(), t.shape()) << k;
    ASSERT_EQ(f.tensor.dtype(), t.dtype()) << k;
    EXPECT_EQ(0, std::memcmp(f.tensor.raw(), t.raw(), t.nbytes())) << k;
  }
}

std::vector<AtomicData> three_systems() {
  std::vector<AtomicData> v;
  v.push_back(make_system(3, 1.0, 2));
  v.push_back(make_system(5, 2.0, 4));
  v.push_back(make_system(2, 3.0, 1));
  return v;
}

}  // namespace

TEST(Batch, FromSystemsBuildsPointersAndSystemIndex) {
  auto sys = three_systems();
  Batch b = Batch::from_systems(sys);
  EXPECT_EQ(b.n_systems(), 3);
  EXPECT_EQ(b.n_atoms(), 10);
  EXPECT_EQ(b.n_edges(), 7);
  const auto* ap = b.atoms_ptr().data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(ap, ap + 4), (std::vector<std::int64_t>{0, 3, 8, 10}));
  const auto* si = b.system_index().data<std::int64_t>();
  EXPECT_EQ(std::vector<std::int64_t>(si, si + 10), (std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 1, 1, 2, 2}));
  // edge_index is global in the batch: system 1's first edge (0,1) becomes (3,4)
  const auto* ei = b.get(kEdgeIndex).data<std::int64_t>();
  EXPECT_EQ(ei[2 * 2], 3);
  EXPECT_EQ(ei[2 * 2 + 1], 4);
  EXPECT_EQ(b.get("my_tensor").shape(), (Shape{10, 2, 2}));
  EXPECT_NO_THROW(b.validate());
}

TEST(Batch, SplitRoundTripsEveryField) {
  auto sys = three_systems();
  Batch b = Batch::from_systems(sys);
  auto back = b.split();
  ASSERT_EQ(back.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) expect_same(sys[i], back[i]);
}

TEST(Batch, IndexSelectReordersAndKeepsConsistency) {
  auto sys = three_systems();
  Batch b = Batch::from_systems(sys);
  std::vector<std::int64_t> idx{2, 0};
  Batch s = b.index_select(idx);
  EXPECT_EQ(s.n_systems(), 2);
  EXPECT_EQ(s.n_atoms(), 5);
  EXPECT_NO_THROW(s.validate());
  expect_same(s.system(0), sys[2]);
  expect_same(s.system(1), sys[0]);
  std::vector<std::int64_t> bad{3};
  EXPECT_THROW(b.index_select(bad), InvalidArgument);
}

TEST(Batch, ConcatEqualsBuildingFromAllSystems) {
  auto sys = three_systems();
  Batch a = Batch::from_systems(std::span(sys).subspan(0, 2));
  Batch c = Batch::from_systems(std::span(sys).subspan(2, 1));
  const Batch* parts[] = {&a, &c};
  Batch all = Batch::concat(parts);
  Batch ref = Batch::from_systems(sys);
  ASSERT_EQ(all.n_systems(), 3);
  for (std::int64_t i = 0; i < 3; ++i) expect_same(all.system(i), ref.system(i));
  for (const auto& [k, f] : ref.fields())
    EXPECT_EQ(0, std::memcmp(f.tensor.raw(), all.get(k).raw(), f.tensor.nbytes())) << k;
}

TEST(Batch, MaskedPutIntoReservedBatch) {
  auto sys = three_systems();
  Batch src = Batch::from_systems(sys);
  Batch dst = src.empty_like();
  dst.reserve(3, 8, 6);
  const void* pos_storage = dst.get("positions").raw();
  dst.put(src, {true, false, true});
  EXPECT_EQ(dst.n_systems(), 2);
  EXPECT_EQ(dst.n_atoms(), 5);
  EXPECT_EQ(dst.get("positions").raw(), pos_storage);  // no reallocation
  expect_same(dst.system(0), sys[0]);
  expect_same(dst.system(1), sys[2]);
  EXPECT_NO_THROW(dst.validate());
  // system 1 has 5 atoms: 5 + 5 > 8 atoms of capacity → CapacityError, nothing changes
  EXPECT_THROW(dst.put(src, {false, true, false}), CapacityError);
  EXPECT_EQ(dst.n_systems(), 2);
  EXPECT_EQ(dst.n_atoms(), 5);
  EXPECT_THROW(dst.put(src, {true, true}), InvalidArgument);  // wrong mask length
  dst.clear();
  EXPECT_EQ(dst.n_systems(), 0);
  dst.put(src, {false, true, false});
  expect_same(dst.system(0), sys[1]);
}

TEST(Batch, SchemaMismatchesAreRejected) {
  auto sys = three_systems();
  sys[1].erase("my_tensor");
  EXPECT_THROW(Batch::from_systems(sys), InvalidArgument);
  auto ok = three_systems();
  Batch a = Batch::from_systems(ok);
  Batch b = Batch::from_systems(std::span(ok).subspan(0, 1));
  b.erase("edge_weight");
  const Batch* parts[] = {&a, &b};
  EXPECT_THROW(Batch::concat(parts), InvalidArgument);
}

TEST(Batch, AddFieldAndSetCheckLeadingDimension) {
  auto sys = three_systems();
  Batch b = Batch::from_systems(sys);
  Tensor& v = b.add_standard("velocities");
  EXPECT_EQ(v.shape(), (Shape{10, 3}));
  EXPECT_EQ(b.add_standard("stress").shape(), (Shape{3, 3, 3}));
  EXPECT_THROW(b.add_field("velocities", Level::Atom, DType::Float32, {3}), InvalidArgument);
  EXPECT_THROW(b.set("bad", Level::Atom, Tensor(DType::Float64, {9})), InvalidArgument);
  EXPECT_THROW(b.add_standard("not_a_field"), InvalidArgument);
}

TEST(AtomicData, MakeValidatesInput) {
  EXPECT_THROW(AtomicData::make(DType::Float64, {0, 0}, {1}), InvalidArgument);
  EXPECT_THROW(AtomicData::make(DType::Float64, {0, 0, 0}, {1}, {1, 2}), InvalidArgument);
  EXPECT_THROW(AtomicData::make(DType::Float64, {0, 0, 0}, {200}), InvalidArgument);  // no mass for Z=200
  EXPECT_THROW(AtomicData::make(DType::Int32, {0, 0, 0}, {1}), InvalidArgument);
  auto d = AtomicData::make(DType::Float32, {0, 0, 0}, {18});
  EXPECT_FLOAT_EQ(d.get("masses").data<float>()[0], 39.948f);
  EXPECT_THROW(d.set("x", Level::Atom, Tensor(DType::Float32, {2})), InvalidArgument);
}
