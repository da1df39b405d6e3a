// SPDX-License-Identifier: Apache-2.0
// GPU tests of GPUBuffer: contents equal to Batch::index_select/concat on the host (every dtype
// and level, edge_index rebased), masks, capacity, max_atoms, max_edges, zero (storage kept, no
// new cudaMalloc), a fixed schema, CPU batches copied in, large and oddly aligned segments, the
// write ordered before later kernels on the batch, and repeated masks (the last write's gather
// table launched again at the new rows) equal to what fresh buffers store, also after values or
// sizes changed under a repeated mask.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/gpu_buffer.hpp"
#include "gpu_gather.hpp"
#include "gpu_test_util.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using batchmd::test_support::batch_difference;
using batchmd::test_support::check_encoded;
using batchmd::test_support::encoded_batch;
using batchmd::test_support::expected;
using batchmd::test_support::kGpu;
using batchmd::test_support::random_batch;

namespace {

class GpuBufferTest : public test_support::GpuTest {};
class GpuBufferDtype : public test_support::GpuTest, public ::testing::WithParamInterface<DType> {};

}  // namespace

TEST_P(GpuBufferDtype, ReadEqualsTheWrittenSystemsForEveryFieldAndLevel) {
  const Batch host = encoded_batch(0, 9, GetParam());
  const Batch gpu = host.to(kGpu);
  GPUBuffer buf(20, 9, 8, kGpu);
  EXPECT_EQ(buf.size(), 0);
  EXPECT_EQ(buf.allocated_bytes(), 0u);  // nothing until the first write
  buf.write(gpu);
  EXPECT_EQ(buf.size(), 9);
  EXPECT_GT(buf.allocated_bytes(), 0u);
  Batch r = buf.read();
  EXPECT_TRUE(r.is_cuda());
  EXPECT_EQ(r.device(), kGpu);
  EXPECT_EQ(batch_difference(r, host), "");
  const Batch back = r.to(Device::cpu());
  EXPECT_NO_THROW(back.validate());
  for (std::int64_t s = 0; s < 9; ++s) ASSERT_EQ(check_encoded(back, s, s), "") << s;
}

TEST_P(GpuBufferDtype, MaskedWritesAppendInOrderWithEdgeIndexRebased) {
  const Batch a = encoded_batch(0, 7, GetParam()).to(kGpu);
  const Batch b = encoded_batch(20, 5, GetParam()).to(kGpu);
  GPUBuffer buf(100, 9, 8, kGpu);
  const std::vector<bool> m1{false, true, true, false, true, false, true};  // runs of 2 and singles
  const std::vector<bool> m2{true, true, true, true, true};
  const std::vector<bool> m3{true, false, false, false, false, false, true};
  const std::vector<bool> m4{false, false, false, true, false};
  buf.write(a, m1);
  buf.write(b, m2);
  buf.write(a, m3);
  buf.write(b, m4);
  buf.write(a, std::vector<bool>(7, false));  // nothing selected: nothing stored
  EXPECT_EQ(buf.size(), 4 + 5 + 2 + 1);
  const Batch want = expected({{&a, m1}, {&b, m2}, {&a, m3}, {&b, m4}});
  EXPECT_EQ(batch_difference(buf.read(), want), "");
  // edge_index is global to the read batch: every edge joins two atoms of its own sample
  const Batch r = buf.read().to(Device::cpu());
  const auto* ei = r.get(kEdgeIndex).data<std::int64_t>();
  const auto* ap = r.atoms_ptr_data();
  const auto* ep = r.edges_ptr().data<std::int64_t>();
  for (std::int64_t s = 0; s < r.n_systems(); ++s)
    for (std::int64_t e = ep[s]; e < ep[s + 1]; ++e) {
      ASSERT_GE(ei[2 * e], ap[s]);
      ASSERT_LT(ei[2 * e + 1], ap[s + 1]);
    }
  EXPECT_THROW(buf.write(a, {true, false}), InvalidArgument);  // mask length
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GpuBufferDtype, ::testing::Values(DType::Float32, DType::Float64),
                         [](const auto& p) { return std::string(dtype_name(p.param)); });

TEST_F(GpuBufferTest, CapacityIsEnforcedAndOverflowWritesNothing) {
  const Batch gpu = encoded_batch(0, 3).to(kGpu);
  GPUBuffer buf(5, 9, 8, kGpu);
  buf.write(gpu);
  EXPECT_FALSE(buf.is_full());
  EXPECT_THROW(buf.write(gpu), CapacityError);
  EXPECT_EQ(buf.size(), 3);
  EXPECT_EQ(batch_difference(buf.read(), encoded_batch(0, 3)), "");
  buf.write(gpu, {false, true, true});
  EXPECT_TRUE(buf.is_full());
  EXPECT_THROW(buf.write(gpu, {true, false, false}), CapacityError);
  EXPECT_EQ(buf.size(), 5);
  EXPECT_EQ(batch_difference(buf.read(), expected({{&gpu, {true, true, true}}, {&gpu, {false, true, true}}})), "");
}

TEST_F(GpuBufferTest, MaxAtomsAndMaxEdgesAreEnforcedPerSample) {
  // atoms of ids 0..4: 1, 8, 6, 4, 2; edges: one fewer
  const Batch gpu = encoded_batch(0, 5).to(kGpu);
  GPUBuffer buf(10, 5, 8, kGpu);
  try {
    buf.write(gpu);
    FAIL() << "a system of 8 atoms fitted max_atoms = 5";
  } catch (const CapacityError& e) {
    EXPECT_NE(std::string(e.what()).find("max_atoms"), std::string::npos) << e.what();
  }
  EXPECT_EQ(buf.size(), 0);
  buf.write(gpu, {true, false, false, true, true});  // 1, 4 and 2 atoms fit
  EXPECT_EQ(buf.size(), 3);
  EXPECT_THROW(buf.write(gpu, {false, false, true, false, false}), CapacityError);  // 6 atoms
  EXPECT_EQ(buf.size(), 3);

  GPUBuffer few_edges(10, 9, 2, kGpu);
  try {
    few_edges.write(gpu, {true, false, false, true, false});  // 0 and 3 edges
    FAIL() << "a system of 3 edges fitted max_edges = 2";
  } catch (const CapacityError& e) {
    EXPECT_NE(std::string(e.what()).find("max_edges"), std::string::npos) << e.what();
  }
  EXPECT_EQ(few_edges.size(), 0);
  few_edges.write(gpu, {true, false, false, false, true});  // 0 and 1 edges
  EXPECT_EQ(batch_difference(few_edges.read(), expected({{&gpu, {true, false, false, false, true}}})), "");
  EXPECT_EQ(few_edges.n_atoms(), 3);
  EXPECT_EQ(few_edges.n_edges(), 1);
}

TEST_F(GpuBufferTest, ZeroForgetsSamplesButKeepsStorage) {
  const Batch a = encoded_batch(0, 6).to(kGpu);
  const Batch b = encoded_batch(40, 4).to(kGpu);
  GPUBuffer buf(50, 9, 8, kGpu);
  for (int i = 0; i < 5; ++i) buf.write(a);  // warm: storage, descriptor tables
  const std::size_t bytes = buf.allocated_bytes();
  buf.zero();
  EXPECT_EQ(buf.size(), 0);
  EXPECT_EQ(buf.n_atoms(), 0);
  EXPECT_THROW(buf.read(), InvalidArgument);
  EXPECT_EQ(buf.allocated_bytes(), bytes);
  const auto before = cuda::allocator_stats();
  for (int i = 0; i < 8; ++i) buf.write(b, {true, false, true, true});
  EXPECT_EQ(cuda::allocator_stats().cuda_mallocs, before.cuda_mallocs);  // writes allocate nothing once warm
  buf.zero();
  buf.write(b, {false, true, false, true});
  EXPECT_EQ(batch_difference(buf.read(), expected({{&b, {false, true, false, true}}})), "");
  Batch d = buf.drain();
  EXPECT_EQ(d.n_systems(), 2);
  EXPECT_EQ(buf.size(), 0);
}

TEST_F(GpuBufferTest, TheFirstWriteFixesTheSchema) {
  const Batch host = encoded_batch(0, 3);
  GPUBuffer buf(20, 9, 8, kGpu);
  buf.write(host.to(kGpu));
  auto rejects = [&](const Batch& b, const std::string& field) {
    try {
      buf.write(b.to(kGpu));
      ADD_FAILURE() << "accepted a batch whose field '" << field << "' differs";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("'" + field + "'"), std::string::npos) << e.what();
    }
  };
  Batch extra = encoded_batch(0, 3);
  extra.add_field("charges", Level::Atom, DType::Float64, {});
  rejects(extra, "charges");
  Batch missing = encoded_batch(0, 3);
  missing.erase("tag");
  rejects(missing, "tag");
  Batch other_dtype = encoded_batch(0, 3);
  other_dtype.erase("tag");
  other_dtype.add_field("tag", Level::Atom, DType::Int32, {});
  rejects(other_dtype, "tag");
  Batch other_shape = encoded_batch(0, 3);
  other_shape.erase("energy");
  other_shape.add_field("energy", Level::System, DType::Float64, {2});
  rejects(other_shape, "energy");
  EXPECT_EQ(buf.size(), 3);
  buf.zero();  // the schema stays fixed after zero()
  rejects(extra, "charges");
  EXPECT_EQ(buf.size(), 0);
}

TEST_F(GpuBufferTest, CpuBatchesAreCopiedIn) {
  const Batch host = encoded_batch(0, 8);
  const Batch gpu = encoded_batch(30, 4).to(kGpu);
  GPUBuffer buf(30, 9, 8, kGpu);
  const std::vector<bool> m1{true, false, true, true, false, false, true, true};
  buf.write(host, m1);
  buf.write(gpu);
  buf.write(host);
  const std::vector<bool> all4(4, true), all8(8, true);
  EXPECT_EQ(batch_difference(buf.read(), expected({{&host, m1}, {&gpu, all4}, {&host, all8}})), "");
}

TEST_F(GpuBufferTest, LargeSystemsAndEveryAlignment) {
  for (DType fdt : {DType::Float32, DType::Float64}) {
    const Batch host = random_batch(60, 3000, 7, fdt);  // segments of many 8 KiB chunks
    const Batch gpu = host.to(kGpu);
    GPUBuffer buf(200, 3000, 0, kGpu);
    std::mt19937_64 rng(11);
    std::vector<std::pair<const Batch*, std::vector<bool>>> parts;
    for (int w = 0; w < 3; ++w) {
      std::vector<bool> mask(60);
      for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = rng() % 3 != 0;
      buf.write(w == 1 ? host : gpu, mask);
      parts.emplace_back(&host, mask);
    }
    EXPECT_EQ(batch_difference(buf.read(), expected(parts)), "") << dtype_name(fdt);
  }
}

TEST_F(GpuBufferTest, AWriteIsOrderedBeforeLaterKernelsOnTheBatch) {
  const Batch host = random_batch(64, 2000, 3, DType::Float64);
  Batch gpu = host.to(kGpu);
  GPUBuffer buf(64 * 20, 2000, 0, kGpu);
  for (int step = 0; step < 20; ++step) {  // no host synchronisation between the steps
    buf.write(gpu);
    test_support::gpu_add(gpu.get("positions"), 1.0);
  }
  const Batch r = buf.read().to(Device::cpu());
  const std::int64_t n = host.n_atoms() * 3;
  std::vector<double> want(host.get("positions").data<double>(), host.get("positions").data<double>() + n);
  const double* got = r.get("positions").data<double>();
  for (int step = 0; step < 20; ++step) {
    for (std::int64_t i = 0; i < n; ++i)
      ASSERT_EQ(got[step * n + i], want[static_cast<std::size_t>(i)]) << "write " << step << " element " << i;
    for (auto& x : want) x += 1.0;  // the same additions as the kernel, in the same order
  }
}

TEST_F(GpuBufferTest, ArgumentsAndDevicesAreChecked) {
  EXPECT_THROW(GPUBuffer(10, 10, 0, Device::cpu()), InvalidArgument);
  EXPECT_THROW(GPUBuffer(10, 10, 0, Device{Device::Kind::CUDA, cuda::device_count()}), InvalidArgument);
  EXPECT_THROW(GPUBuffer(0, 10, 0, kGpu), InvalidArgument);
  EXPECT_THROW(GPUBuffer(10, 0, 0, kGpu), InvalidArgument);
  EXPECT_THROW(GPUBuffer(10, 10, -1, kGpu), InvalidArgument);
  EXPECT_THROW(GPUBuffer(1'000'000'000'000, 1'000'000'000'000, 0, kGpu), InvalidArgument);
  GPUBuffer buf(10, 10, 0, kGpu);
  EXPECT_EQ(buf.capacity(), 10);
  EXPECT_EQ(buf.max_atoms(), 10);
  EXPECT_EQ(buf.device(), kGpu);
  EXPECT_NO_THROW(buf.flush());
}

TEST_F(GpuBufferTest, SparseMasksOverManySystemsUseTheUploadedTable) {
  // 3,000 small systems, every other (or every third) one selected: ~1,000-1,500 runs, a table
  // too large to pass inline, so it is uploaded; 9 writes cycle the ring of upload slots twice.
  const Batch host = random_batch(3000, 6, 13, DType::Float32);
  const Batch gpu = host.to(kGpu);
  GPUBuffer buf(3000 * 9, 6, 0, kGpu);
  std::vector<std::pair<const Batch*, std::vector<bool>>> parts;
  for (int w = 0; w < 9; ++w) {
    std::vector<bool> mask(3000);
    for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = i % static_cast<std::size_t>(2 + w % 2) == 0;
    buf.write(gpu, mask);
    parts.emplace_back(&host, mask);
  }
  EXPECT_EQ(batch_difference(buf.read(), expected(parts)), "");
}

TEST_F(GpuBufferTest, RepeatedMasksAtAdvancingRowsEqualFreshBuffers) {
  // Repeated masks reuse the last write's gather table at the new rows: inline tables (the
  // encoded batch, with edges to rebase) and uploaded ones (3,000 systems, sparse masks). Each
  // write's samples must equal a fresh buffer's (no table to reuse), and the whole the host's.
  const Batch encoded = encoded_batch(0, 9);
  const Batch many = random_batch(3000, 6, 13, DType::Float32);
  for (const Batch* host : {&encoded, &many}) {
    const Batch gpu = host->to(kGpu);
    const auto n = static_cast<std::size_t>(host->n_systems());
    std::vector<bool> every_other(n), every_third(n), all(n, true);
    for (std::size_t i = 0; i < n; ++i) {
      every_other[i] = i % 2 == 0;
      every_third[i] = i % 3 == 1;
    }
    const std::vector<const std::vector<bool>*> masks{&every_other, &every_other, &every_other, &all,
                                                      &all,         &every_other, &every_third, &every_third};
    const std::int64_t max_atoms = host == &encoded ? 9 : 6, max_edges = host == &encoded ? 8 : 0;
    GPUBuffer buf(static_cast<std::int64_t>(n * masks.size()), max_atoms, max_edges, kGpu);
    std::vector<std::pair<const Batch*, std::vector<bool>>> parts;
    std::vector<Batch> fresh_reads;
    for (const auto* m : masks) {
      buf.write(gpu, *m);
      parts.emplace_back(host, *m);
      GPUBuffer fresh(static_cast<std::int64_t>(n), max_atoms, max_edges, kGpu);
      fresh.write(gpu, *m);
      fresh_reads.push_back(fresh.read().to(Device::cpu()));
    }
    const Batch r = buf.read().to(Device::cpu());
    EXPECT_EQ(batch_difference(r, expected(parts)), "");
    std::int64_t at = 0;
    for (std::size_t w = 0; w < masks.size(); ++w) {
      std::vector<std::int64_t> rows(static_cast<std::size_t>(fresh_reads[w].n_systems()));
      std::iota(rows.begin(), rows.end(), at);
      EXPECT_EQ(batch_difference(r.index_select(rows), fresh_reads[w]), "") << "write " << w;
      at += static_cast<std::int64_t>(rows.size());
    }
  }
}

TEST_F(GpuBufferTest, ARepeatedMaskGathersNewValuesAndNoticesNewSizes) {
  // A write repeating the last mask over the same offsets skips the per-system work (the last
  // write's counts, its gather table): values changed in place since must still be gathered; a
  // batch with as many systems but other sizes must be planned afresh; a full buffer still
  // refuses the repeated write and keeps what it holds.
  const Batch a = random_batch(300, 6, 13, DType::Float64);
  Batch a2 = a.clone();
  for (std::int64_t i = 0; i < 3 * a2.n_atoms(); ++i) a2.get("positions").data<double>()[i] += 1.5;
  const Batch b = random_batch(300, 6, 14, DType::Float64);
  bool sizes_differ = false;
  for (std::int64_t s = 0; s < 300; ++s)
    sizes_differ |=
        a.atoms_ptr_data()[s + 1] - a.atoms_ptr_data()[s] != b.atoms_ptr_data()[s + 1] - b.atoms_ptr_data()[s];
  ASSERT_TRUE(sizes_differ);
  std::vector<bool> m(300);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = i % 3 != 1 && i != 70;  // runs and gaps across words
  const std::vector<std::pair<const Batch*, std::vector<bool>>> parts{{&a, m}, {&a, m}, {&a2, m}, {&b, m}, {&b, m}};
  std::int64_t cap = 0;
  for (const auto& p : parts) cap += static_cast<std::int64_t>(std::count(p.second.begin(), p.second.end(), true));
  GPUBuffer buf(cap, 6, 0, kGpu);
  Batch ga = a.to(kGpu);
  const Batch gb = b.to(kGpu);
  buf.write(ga, m);
  buf.write(ga, m);
  ga.get("positions").copy_from(a2.get("positions"));  // in place: same pointers, same offsets
  buf.write(ga, m);
  buf.write(gb, m);
  buf.write(gb, m);
  EXPECT_EQ(buf.size(), cap);
  EXPECT_THROW(buf.write(gb, m), CapacityError);
  EXPECT_EQ(buf.size(), cap);
  EXPECT_EQ(batch_difference(buf.read().to(Device::cpu()), expected(parts)), "");
}

TEST_F(GpuBufferTest, FusedGatherLaunchesARepeatedSelectionsTableAtNewRows) {
  // The cache itself: the second and third launches of one selection reuse the first's table
  // (inline, then uploaded), at new rows, edge_index rebased onto each copy.
  const Batch encoded = encoded_batch(0, 9);
  const Batch many = random_batch(3000, 6, 13, DType::Float32);
  for (const Batch* host : {&encoded, &many}) {
    const Batch gpu = host->to(kGpu);
    std::vector<std::int64_t> idx;
    for (std::int64_t s = 0; s < host->n_systems(); s += 2) idx.push_back(s);
    const Batch sel = host->index_select(idx);
    const std::vector<const Batch*> three{&sel, &sel, &sel};
    const Batch want = Batch::concat(three);
    std::map<std::string, Field, std::less<>> out;
    std::vector<sinks::detail::GatherFieldSpec> specs;
    for (const auto& [k, f] : want.fields()) {
      Field& o = out.emplace(k, Field{f.level, Tensor(f.tensor.dtype(), f.tensor.shape(), kGpu)}).first->second;
      specs.push_back(sinks::detail::GatherFieldSpec{&gpu.get(k), o.tensor.bytes(), f.level, k == kEdgeIndex});
    }
    sinks::detail::FusedGather gather(kGpu.index);
    for (std::int64_t w = 0; w < 3; ++w) {
      gather.launch_systems(gpu, idx, specs, w * sel.n_atoms(), w * sel.n_edges(), w * sel.n_systems(),
                            sinks::detail::EdgeIndexMode::Rebase);
      EXPECT_EQ(gather.last_was_cached(), w > 0) << "launch " << w;
    }
    std::vector<std::int64_t> atoms, edges;
    for (std::int64_t s = 0; s < want.n_systems(); ++s) {
      atoms.push_back(want.atoms_ptr_data()[s + 1] - want.atoms_ptr_data()[s]);
      edges.push_back(want.edges_ptr().data<std::int64_t>()[s + 1] - want.edges_ptr().data<std::int64_t>()[s]);
    }
    EXPECT_EQ(batch_difference(Batch::from_parts(atoms, edges, std::move(out)), want), "");
  }
}
