// SPDX-License-Identifier: Apache-2.0
// GPU tests of the asynchronous snapshot path: HostMemory and ZarrData fed from a GPU batch
// store exactly what they store when fed the same batch on the CPU (every dtype and level,
// masks, edge_index); snapshots written quickly while a kernel changes the batch between them
// each keep their own step's values (the copy of step k is never overwritten by step k+1, also
// under back-pressure); flush/read/drain/size see every async write; a full sink or a batch
// with other fields stores nothing; sinks destroyed right after async writes keep them all.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
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
namespace fs = std::filesystem;

namespace {

class GpuStagingTest : public test_support::GpuTest {};

std::string temp_store(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_gpu_" + name + "_" + std::to_string(::getpid()) + ".zarr");
  fs::remove_all(p);
  return p.string();
}

std::vector<bool> alternate(std::size_t n, bool first) {
  std::vector<bool> m(n);
  for (std::size_t i = 0; i < n; ++i) m[i] = (i % 2 == 0) == first;
  return m;
}

/// A sequence of masked writes of two batches (one with edges), mixing whole and sparse masks.
struct Writes {
  Batch host_a, host_b, gpu_a, gpu_b;
  std::vector<std::pair<bool, std::vector<bool>>> steps;  // (batch a?, mask)
  explicit Writes(DType fdt)
      : host_a(encoded_batch(0, 12, fdt)),
        host_b(encoded_batch(50, 7, fdt)),
        gpu_a(host_a.to(kGpu)),
        gpu_b(host_b.to(kGpu)) {
    steps.emplace_back(true, std::vector<bool>(12, true));
    steps.emplace_back(false, alternate(7, false));
    steps.emplace_back(
        true, std::vector<bool>{true, false, false, false, false, false, false, false, false, false, false, false});
    steps.emplace_back(false, std::vector<bool>(7, true));
    steps.emplace_back(true, alternate(12, true));
    steps.emplace_back(true, std::vector<bool>(12, false));  // nothing
  }
  void to(DataSink& sink, bool from_gpu) const {
    for (const auto& [a, mask] : steps) sink.write(from_gpu ? (a ? gpu_a : gpu_b) : (a ? host_a : host_b), mask);
  }
};

/// Runs `steps` snapshots of `gpu` into `sink`, changing positions (float64) and forces (float32)
/// with a kernel after each, never synchronising; returns what the sink must then hold.
Batch snapshots_of_a_changing_batch(DataSink& sink, const Batch& host, int steps) {
  Batch gpu = host.to(kGpu);
  Batch ref = host.clone();  // the same changes on the host, with the same float operations
  std::vector<Batch> parts;
  std::vector<bool> all(static_cast<std::size_t>(host.n_systems()), true);
  for (int step = 0; step < steps; ++step) {
    const std::vector<bool> mask = step % 3 == 2 ? alternate(all.size(), step % 2 == 0) : all;
    sink.write(gpu, mask);
    parts.push_back(ref.index_select(test_support::where(mask)));
    test_support::gpu_add(gpu.get("positions"), 1.0);
    test_support::gpu_add(gpu.get("forces"), 0.5);
    for (auto& x : ref.get("positions").span<double>()) x += 1.0;
    for (auto& x : ref.get("forces").span<float>()) x += 0.5f;
  }
  std::vector<const Batch*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  return Batch::concat(ptrs);
}

}  // namespace

TEST_F(GpuStagingTest, HostMemoryFromTheGpuStoresWhatItStoresFromTheCpu) {
  for (DType fdt : {DType::Float32, DType::Float64}) {
    const Writes w(fdt);
    HostMemory from_gpu(1000), from_cpu(1000);
    w.to(from_gpu, true);
    w.to(from_cpu, false);
    EXPECT_EQ(from_gpu.size(), from_cpu.size());  // counted at once, before the copies land
    EXPECT_EQ(batch_difference(from_gpu.read(), from_cpu.read()), "") << dtype_name(fdt);
    EXPECT_EQ(batch_difference(from_gpu.read(), from_cpu.read()), "") << "second read";
    EXPECT_EQ(from_gpu.raw_bytes(), from_cpu.raw_bytes());
    EXPECT_NO_THROW(from_gpu.read().validate());
  }
}

TEST_F(GpuStagingTest, HostMemorySnapshotsKeepTheirOwnStepsValues) {
  const Batch host = random_batch(48, 3000, 5, DType::Float64);  // ~3.5 MB per snapshot
  HostMemory sink(48 * 60);
  const Batch want = snapshots_of_a_changing_batch(sink, host, 60);
  EXPECT_EQ(batch_difference(sink.read(), want), "");
}

TEST_F(GpuStagingTest, ZarrDataFromTheGpuStoresWhatItStoresFromTheCpu) {
  struct Variant {
    std::string label;
    zarr::ZarrFormat format;
    zarr::CompressorConfig comp;
  };
  for (const Variant& v : {Variant{"v3_raw", zarr::ZarrFormat::V3, {"none", 0, false, false}},
                           Variant{"v2_zstd", zarr::ZarrFormat::V2, {"zstd", 3, true, false}}}) {
    const Writes w(DType::Float64);
    const std::string url_gpu = temp_store(v.label + "_gpu"), url_cpu = temp_store(v.label + "_cpu");
    ZarrWriteConfig cfg;
    cfg.format = v.format;
    cfg.compressor = v.comp;
    cfg.chunk_samples = 4;  // many chunk boundaries
    {
      ZarrData from_gpu(url_gpu, 1000, cfg), from_cpu(url_cpu, 1000, cfg);
      w.to(from_gpu, true);
      w.to(from_cpu, false);
      EXPECT_EQ(from_gpu.size(), from_cpu.size());
    }
    TrajectoryReader rg(url_gpu), rc(url_cpu);
    ASSERT_EQ(rg.num_samples(), rc.num_samples()) << v.label;
    const Batch g = rg.read_range(0, rg.num_samples());
    EXPECT_EQ(batch_difference(g, rc.read_range(0, rc.num_samples())), "") << v.label;
    // and it is the right data: sample ids as written (edge_index local per sample on disk)
    std::vector<std::int64_t> ids;
    for (const auto& [a, mask] : w.steps)
      for (auto s : test_support::where(mask)) ids.push_back((a ? 0 : 50) + s);
    ASSERT_EQ(static_cast<std::int64_t>(ids.size()), g.n_systems());
    for (std::size_t s = 0; s < ids.size(); ++s)
      ASSERT_EQ(check_encoded(g, static_cast<std::int64_t>(s), ids[s]), "") << v.label << " sample " << s;
    fs::remove_all(url_gpu);
    fs::remove_all(url_cpu);
  }
}

TEST_F(GpuStagingTest, ZarrDataSnapshotsKeepTheirOwnStepsValuesUnderBackPressure) {
  const Batch host = random_batch(32, 3000, 9, DType::Float64);
  const std::string url = temp_store("steps");
  ZarrWriteConfig cfg;
  cfg.compressor = {"zstd", 5, true, false};  // a slow writer: staging slots and the queue fill up
  cfg.queue_depth = 1;
  cfg.workers = 1;
  Batch want;
  {
    ZarrData sink(url, 100000, cfg);
    want = snapshots_of_a_changing_batch(sink, host, 40);
    EXPECT_EQ(batch_difference(sink.read(), want), "");
  }
  TrajectoryReader r(url);
  EXPECT_EQ(batch_difference(r.read_range(0, r.num_samples()), want), "");
  fs::remove_all(url);
}

TEST_F(GpuStagingTest, FlushReadDrainAndSizeSeeEveryAsyncWrite) {
  const Batch host = encoded_batch(0, 9);
  const Batch gpu = host.to(kGpu);
  HostMemory sink(10000);
  for (int i = 0; i < 30; ++i) {
    sink.write(gpu);
    ASSERT_EQ(sink.size(), 9 * (i + 1));
  }
  sink.flush();
  HostMemory one(10);
  one.write(host);
  EXPECT_EQ(sink.raw_bytes(), 30 * one.raw_bytes());
  for (int i = 0; i < 5; ++i) sink.write(gpu);
  Batch d = sink.drain();  // no flush first: drain must see them
  ASSERT_EQ(d.n_systems(), 35 * 9);
  for (std::int64_t s = 0; s < d.n_systems(); ++s) ASSERT_EQ(check_encoded(d, s, s % 9), "") << s;
  EXPECT_EQ(sink.size(), 0);
  EXPECT_THROW(sink.read(), InvalidArgument);
  for (int i = 0; i < 5; ++i) sink.write(gpu);
  sink.zero();  // forgets writes still in flight too
  EXPECT_EQ(sink.size(), 0);
  EXPECT_THROW(sink.read(), InvalidArgument);
  sink.write(gpu, alternate(9, false));
  EXPECT_EQ(batch_difference(sink.read(), expected({{&host, alternate(9, false)}})), "");

  const std::string url = temp_store("drain");
  ZarrData z(url, 10000);
  for (int i = 0; i < 10; ++i) z.write(gpu);
  EXPECT_EQ(z.size(), 90);
  Batch all = z.drain();
  ASSERT_EQ(all.n_systems(), 90);
  for (std::int64_t s = 0; s < 90; ++s) ASSERT_EQ(check_encoded(all, s, s % 9), "") << s;
  EXPECT_EQ(z.size(), 0);
  z.write(gpu, alternate(9, true));
  z.flush();
  EXPECT_EQ(batch_difference(z.read(), expected({{&host, alternate(9, true)}})), "");
  fs::remove_all(url);
}

TEST_F(GpuStagingTest, AFullSinkRaisesAndStoresNothing) {
  const Batch host = encoded_batch(0, 6);
  const Batch gpu = host.to(kGpu);
  HostMemory sink(10);
  sink.write(gpu);
  EXPECT_THROW(sink.write(gpu), CapacityError);
  EXPECT_EQ(sink.size(), 6);
  const std::vector<bool> four{true, true, false, true, false, true};
  sink.write(gpu, four);
  EXPECT_TRUE(sink.is_full());
  EXPECT_THROW(sink.write(gpu, {true, false, false, false, false, false}), CapacityError);
  EXPECT_EQ(batch_difference(sink.read(), expected({{&host, std::vector<bool>(6, true)}, {&host, four}})), "");

  const std::string url = temp_store("full");
  {
    ZarrData z(url, 8);
    z.write(gpu);
    EXPECT_THROW(z.write(gpu), CapacityError);
    EXPECT_EQ(z.size(), 6);
  }
  TrajectoryReader r(url);
  EXPECT_EQ(r.num_samples(), 6);
  fs::remove_all(url);
}

TEST_F(GpuStagingTest, BatchesWithOtherFieldsAreRejected) {
  const Batch gpu = encoded_batch(0, 4).to(kGpu);
  Batch fewer = encoded_batch(0, 4);
  fewer.erase("tag");
  const Batch gpu_fewer = fewer.to(kGpu);
  HostMemory sink(100);
  sink.write(gpu);
  EXPECT_THROW(sink.write(gpu_fewer), InvalidArgument);
  EXPECT_EQ(sink.size(), 4);
  EXPECT_EQ(batch_difference(sink.read(), encoded_batch(0, 4)), "");

  const std::string url = temp_store("schema");
  {
    ZarrData z(url, 100);
    z.write(gpu);
    EXPECT_THROW(z.write(gpu_fewer), InvalidArgument);
    EXPECT_EQ(z.size(), 4);
  }  // closed (and flushed) before the store is removed
  EXPECT_EQ(TrajectoryReader(url).num_samples(), 4);
  fs::remove_all(url);
}

TEST_F(GpuStagingTest, CpuAndGpuWritesInterleaveInOrder) {
  const Writes w(DType::Float32);
  HostMemory mixed(1000), cpu(1000);
  const std::string url_mixed = temp_store("mixed"), url_cpu = temp_store("mixed_cpu");
  {
    ZarrData zmixed(url_mixed, 1000), zcpu(url_cpu, 1000);
    bool from_gpu = true;
    for (const auto& [a, mask] : w.steps) {
      const Batch& b = from_gpu ? (a ? w.gpu_a : w.gpu_b) : (a ? w.host_a : w.host_b);
      mixed.write(b, mask);
      zmixed.write(b, mask);
      cpu.write(a ? w.host_a : w.host_b, mask);
      zcpu.write(a ? w.host_a : w.host_b, mask);
      from_gpu = !from_gpu;
    }
  }
  EXPECT_EQ(batch_difference(mixed.read(), cpu.read()), "");
  TrajectoryReader rm(url_mixed), rc(url_cpu);
  ASSERT_EQ(rm.num_samples(), rc.num_samples());
  EXPECT_EQ(batch_difference(rm.read_range(0, rm.num_samples()), rc.read_range(0, rc.num_samples())), "");
  fs::remove_all(url_mixed);
  fs::remove_all(url_cpu);
}

TEST_F(GpuStagingTest, OnlyFieldsAreStagedFromTheGpu) {
  const Batch host = encoded_batch(0, 8);
  const std::string url = temp_store("only");
  ZarrWriteConfig cfg;
  cfg.only_fields = {"positions", "system_id", std::string(kEdgeIndex)};
  {
    ZarrData z(url, 100, cfg);
    z.write(host.to(kGpu), alternate(8, true));
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 4);
  const Batch got = r.read_range(0, 4);
  EXPECT_EQ(got.fields().size(), 3u);
  const Batch want = host.index_select(test_support::where(alternate(8, true)));
  for (const char* k : {"positions", "system_id", "edge_index"}) {
    const Tensor& a = got.get(k);
    const Tensor& b = want.get(k);
    ASSERT_EQ(a.shape(), b.shape()) << k;
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << k;
  }
  fs::remove_all(url);
}

TEST_F(GpuStagingTest, SinksDestroyedRightAfterAsyncWritesKeepThem) {
  const Batch host = random_batch(16, 4000, 21, DType::Float32);
  const Batch gpu = host.to(kGpu);
  {  // HostMemory waits for its copies in its destructor: nothing to check but a clean exit
    HostMemory sink(1000);
    for (int i = 0; i < 10; ++i) sink.write(gpu);
  }
  const std::string url = temp_store("destroyed");
  {
    ZarrData z(url, 1000);
    for (int i = 0; i < 10; ++i) z.write(gpu);
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 160);
  std::vector<std::pair<const Batch*, std::vector<bool>>> parts(10, {&host, std::vector<bool>(16, true)});
  EXPECT_EQ(batch_difference(r.read_range(0, 160), expected(parts)), "");
  fs::remove_all(url);
}

TEST_F(GpuStagingTest, SparseMasksOverManySystemsFromTheGpu) {
  // Enough runs that the gather's table is uploaded rather than passed inline.
  const Batch host = random_batch(3000, 6, 17, DType::Float64);
  const Batch gpu = host.to(kGpu);
  HostMemory from_gpu(100000), from_cpu(100000);
  for (int w = 0; w < 6; ++w) {
    const std::vector<bool> mask = alternate(3000, w % 2 == 0);
    from_gpu.write(gpu, mask);
    from_cpu.write(host, mask);
  }
  EXPECT_EQ(batch_difference(from_gpu.read(), from_cpu.read()), "");
}
