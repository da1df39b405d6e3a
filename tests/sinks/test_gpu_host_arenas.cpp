// SPDX-License-Identifier: Apache-2.0
// GPU tests of HostMemory's pinned arenas (writes from a GPU batch are copied straight into
// pinned memory and stay there): with arenas shrunk to a few KiB, many snapshots span many
// arenas and read back bit for bit what a CPU-fed HostMemory holds (float32 and float64, every
// other system masked out, a batch changed by a kernel between snapshots); a sink filled to
// capacity raises the same CapacityError and pins no more than its samples need; zero() reuses
// the arenas; when pinned memory cannot be had (max_pinned), writes fall back to pageable copies,
// also part way through; a sink moved with copies in flight keeps them; a pinned reservation made
// up front takes the writes under the default limits until it is full.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "gpu_staging.hpp"
#include "gpu_test_util.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using batchmd::test_support::batch_difference;
using batchmd::test_support::kGpu;
using batchmd::test_support::random_batch;

namespace {

class GpuHostArenaTest : public test_support::GpuTest {};

/// Sets the arena limits for one test and restores the defaults after it. Writes wait for the
/// arenas they need (wait = true), so that which blocks land in arenas does not depend on how
/// fast another thread pins memory; the default (no waiting) has its own test.
struct ArenaLimits {
  explicit ArenaLimits(std::size_t arena_bytes, std::size_t max_pinned = static_cast<std::size_t>(-1),
                       bool wait = true) {
    detail::set_pinned_arena_limits(detail::PinnedArenaLimits{arena_bytes, max_pinned, wait});
  }
  ~ArenaLimits() { detail::set_pinned_arena_limits(detail::PinnedArenaLimits{}); }
  ArenaLimits(const ArenaLimits&) = delete;
  ArenaLimits& operator=(const ArenaLimits&) = delete;
};

std::vector<bool> every_other(std::int64_t n, bool first) {
  std::vector<bool> m(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = (i % 2 == 0) == first;
  return m;
}

/// Writes `writes` snapshots of `host` (on the GPU into `gpu_sink`, on the CPU into `cpu_sink`),
/// every third one with every other system only.
void write_both(HostMemory& gpu_sink, HostMemory& cpu_sink, const Batch& host, const Batch& gpu, int writes) {
  const std::vector<bool> all(static_cast<std::size_t>(host.n_systems()), true);
  for (int w = 0; w < writes; ++w) {
    const std::vector<bool> mask = w % 3 == 1 ? every_other(host.n_systems(), w % 2 == 0) : all;
    gpu_sink.write(gpu, mask);
    cpu_sink.write(host, mask);
  }
}

}  // namespace

TEST_F(GpuHostArenaTest, ManySnapshotsSpanManyArenasAndReadBackBitForBit) {
  const ArenaLimits limits(16 << 10);  // 16 KiB arenas: a few snapshots each
  for (DType fdt : {DType::Float32, DType::Float64}) {
    const Batch host = random_batch(12, 40, 3, fdt);
    const Batch gpu = host.to(kGpu);
    const std::size_t pinned0 = detail::pinned_arena_bytes();
    HostMemory from_gpu(100000), from_cpu(100000);
    write_both(from_gpu, from_cpu, host, gpu, 60);
    EXPECT_EQ(from_gpu.size(), from_cpu.size());
    EXPECT_EQ(batch_difference(from_gpu.read(), from_cpu.read()), "") << dtype_name(fdt);
    EXPECT_EQ(from_gpu.raw_bytes(), from_cpu.raw_bytes());
    const std::size_t pinned = detail::pinned_arena_bytes() - pinned0;
    EXPECT_GT(pinned, std::size_t(4) * (16 << 10)) << "several arenas, all pinned";
    EXPECT_GE(from_gpu.allocated_bytes(), from_gpu.raw_bytes());
    EXPECT_NO_THROW(from_gpu.read().validate());
  }
  EXPECT_EQ(detail::pinned_arena_bytes(), 0u) << "the sinks' arenas are freed with them";
}

TEST_F(GpuHostArenaTest, SnapshotsOfAChangingBatchKeepTheirStepsValues) {
  const ArenaLimits limits(64 << 10);
  const Batch host = random_batch(16, 300, 5, DType::Float64);
  Batch gpu = host.to(kGpu);
  Batch ref = host.clone();
  HostMemory sink(16 * 50), want(16 * 50);
  for (int step = 0; step < 50; ++step) {  // never synchronised: stream order alone keeps each step's values
    const std::vector<bool> mask = step % 2 ? every_other(16, true) : std::vector<bool>(16, true);
    sink.write(gpu, mask);
    want.write(ref, mask);
    test_support::gpu_add(gpu.get("positions"), 1.0);
    test_support::gpu_add(gpu.get("forces"), 0.5);
    for (auto& x : ref.get("positions").span<double>()) x += 1.0;
    for (auto& x : ref.get("forces").span<float>()) x += 0.5f;
  }
  EXPECT_EQ(batch_difference(sink.read(), want.read()), "");
}

TEST_F(GpuHostArenaTest, AFullSinkRaisesThePinnedBytesFitItsCapacity) {
  const ArenaLimits limits(std::size_t(1) << 30);  // large: only the capacity bounds the arenas
  const Batch host = random_batch(10, 200, 7, DType::Float32);
  const Batch gpu = host.to(kGpu);
  const std::size_t pinned0 = detail::pinned_arena_bytes();
  HostMemory sink(10 * 8), cpu(10 * 8);
  for (int w = 0; w < 8; ++w) {
    sink.write(gpu);
    cpu.write(host);
  }
  EXPECT_TRUE(sink.is_full());
  try {
    sink.write(gpu, every_other(10, true));
    ADD_FAILURE() << "no CapacityError";
  } catch (const CapacityError& e) {
    EXPECT_EQ(std::string(e.what()), "HostMemory is full: 5 samples do not fit (80 of 80 used)");
  }
  EXPECT_EQ(sink.size(), 80);
  EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
  // Equal writes: the arenas hold the 8 blocks (each padded to 256 bytes per field) and no more.
  const std::size_t pinned = detail::pinned_arena_bytes() - pinned0;
  const std::size_t fields = host.fields().size();
  EXPECT_GE(pinned, sink.raw_bytes());
  EXPECT_LE(pinned, sink.raw_bytes() + 8 * (256 * (fields + 1) + 10));
}

TEST_F(GpuHostArenaTest, ZeroReusesTheArenas) {
  const ArenaLimits limits(32 << 10);
  const Batch host = random_batch(8, 60, 11, DType::Float64);
  const Batch gpu = host.to(kGpu);
  HostMemory sink(8 * 30), cpu(8 * 30);
  write_both(sink, cpu, host, gpu, 30);
  // allocated_bytes counts the arenas in use, not one still being allocated ahead
  const std::size_t arenas = sink.allocated_bytes();
  EXPECT_GT(arenas, std::size_t(32) << 10);
  sink.zero();
  cpu.zero();
  EXPECT_EQ(sink.size(), 0);
  EXPECT_THROW(sink.read(), InvalidArgument);
  write_both(sink, cpu, host, gpu, 30);  // the same writes again fit the same arenas
  EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
  EXPECT_EQ(sink.allocated_bytes(), arenas);
}

TEST_F(GpuHostArenaTest, WithoutPinnedMemoryWritesFallBackToPageableCopies) {
  const Batch host = random_batch(12, 80, 13, DType::Float32);
  const Batch gpu = host.to(kGpu);
  {  // no pinned arena at all
    const ArenaLimits limits(16 << 10, 0);
    HostMemory sink(100000), cpu(100000);
    write_both(sink, cpu, host, gpu, 20);
    EXPECT_EQ(detail::pinned_arena_bytes(), 0u);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
    EXPECT_GE(sink.allocated_bytes(), sink.raw_bytes());
  }
  {  // arenas until max_pinned, then pageable copies: one sink holds both
    const ArenaLimits limits(16 << 10, 40 << 10);
    HostMemory sink(100000), cpu(100000);
    write_both(sink, cpu, host, gpu, 40);
    EXPECT_GT(detail::pinned_arena_bytes(), 0u);
    EXPECT_LE(detail::pinned_arena_bytes(), std::size_t(40) << 10);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
    sink.zero();  // the arenas that were had are reused; the rest stays pageable
    cpu.zero();
    write_both(sink, cpu, host, gpu, 40);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
  }
  EXPECT_EQ(detail::pinned_arena_bytes(), 0u);
}

TEST_F(GpuHostArenaTest, WritesThatDoNotWaitForArenasMixBothPathsAndReadBackBitForBit) {
  // The default: a write never waits for pinned memory; it goes the pageable way while the next
  // arena is being allocated on another thread. Whichever path each block took, the sink holds
  // the snapshots bit for bit, also after zero() and a second pass.
  const ArenaLimits limits(16 << 10, static_cast<std::size_t>(-1), false);
  for (const DType fdt : {DType::Float32, DType::Float64}) {
    const Batch host = random_batch(12, 80, 19, fdt);
    const Batch gpu = host.to(kGpu);
    HostMemory sink(100000), cpu(100000);
    write_both(sink, cpu, host, gpu, 60);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "") << dtype_name(fdt);
    EXPECT_GE(sink.allocated_bytes(), sink.raw_bytes());
    sink.zero();
    cpu.zero();
    write_both(sink, cpu, host, gpu, 60);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "") << dtype_name(fdt);
  }
  EXPECT_EQ(detail::pinned_arena_bytes(), 0u) << "the sinks' arenas are freed with them";
}

TEST_F(GpuHostArenaTest, AReservationTakesTheWritesUntilFullThenThePageablePathTakesOver) {
  // The default limits pin nothing during writes; reserve_pinned pins up front. Writes land in the
  // reservation (no pageable block: allocated_bytes stays the reservation) until it is full, then
  // take the pageable path; no write pins more; all read back bit for bit, also after zero().
  const Batch host = random_batch(12, 80, 23, DType::Float64);
  const Batch gpu = host.to(kGpu);
  std::size_t reserve = 0;
  {
    HostMemory a(1000), b(1000);
    write_both(a, b, host, host, 10);  // the bytes of the first 10 writes, on the CPU
    reserve = b.raw_bytes() + 10 * (host.fields().size() + 2) * detail::kStagingAlign;
  }
  {
    HostMemory sink(100000), cpu(100000);
    sink.reserve_pinned(reserve, kGpu);
    EXPECT_EQ(detail::pinned_arena_bytes(), reserve);
    EXPECT_EQ(sink.allocated_bytes(), reserve);
    write_both(sink, cpu, host, gpu, 10);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
    EXPECT_EQ(sink.allocated_bytes(), reserve) << "every write landed in the reservation";
    write_both(sink, cpu, host, gpu, 30);  // past it
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
    EXPECT_GT(sink.allocated_bytes(), reserve) << "later writes are pageable blocks";
    EXPECT_EQ(detail::pinned_arena_bytes(), reserve) << "no write pinned more";
    sink.zero();
    cpu.zero();
    write_both(sink, cpu, host, gpu, 10);
    EXPECT_EQ(batch_difference(sink.read(), cpu.read()), "");
    EXPECT_EQ(sink.allocated_bytes(), reserve) << "zero() keeps the reservation for the next pass";
  }
  EXPECT_EQ(detail::pinned_arena_bytes(), 0u) << "freed with the sink";
}

TEST_F(GpuHostArenaTest, MovedSinksKeepCopiesInFlight) {
  const ArenaLimits limits(16 << 10);
  const Batch host = random_batch(12, 80, 17, DType::Float64);
  const Batch gpu = host.to(kGpu);
  HostMemory a(100000), cpu(100000);
  write_both(a, cpu, host, gpu, 10);
  HostMemory b(std::move(a));  // no flush: copies may still be landing
  write_both(b, cpu, host, gpu, 5);
  HostMemory c(100);
  c.write(gpu);  // in flight, then replaced by the assignment
  c = std::move(b);
  EXPECT_EQ(c.capacity(), 100000);
  EXPECT_EQ(batch_difference(c.read(), cpu.read()), "");
}
