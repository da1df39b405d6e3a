// SPDX-License-Identifier: Apache-2.0
// Tests for mpi/partition (how a job's systems are shared between ranks) and mpi/wire (a Batch as
// the bytes of an MPI message). Neither needs MPI; the runs themselves are tested as processes
// under mpirun (tests/mpi/mpi_runs.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "batchmd/app/config.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/mpi/partition.hpp"
#include "batchmd/mpi/session.hpp"
#include "wire.hpp"

using namespace batchmd;

namespace {

double range_cost(const std::vector<double>& c, std::int64_t a, std::int64_t b) {
  return std::accumulate(c.begin() + a, c.begin() + b, 0.0);
}

// A mixed job: liquids of two sizes and clusters, as the app builds them.
Batch mixed_job() {
  const auto cfg = app::parse_config(R"(
[run]
seed = 3
[[liquid]]
count = 2
cells = 3
[[liquid]]
count = 3
cells = 2
[[cluster]]
count = 4
atoms = 13
)",
                                     "test");
  return app::build_systems(cfg);
}

}  // namespace

TEST(Partition, RangesAreContiguousCoverEverySystemAndHoldOneAtLeast) {
  const std::vector<double> costs{100, 1, 1, 1, 1, 1, 1, 1};
  for (int ranks = 1; ranks <= 8; ++ranks) {
    const auto b = mpi::partition(costs, ranks);
    ASSERT_EQ(b.size(), static_cast<std::size_t>(ranks) + 1);
    EXPECT_EQ(b.front(), 0);
    EXPECT_EQ(b.back(), 8);
    for (int r = 0; r < ranks; ++r) EXPECT_GE(b[r + 1] - b[r], 1) << ranks << " ranks, rank " << r;
  }
}

TEST(Partition, BalancesCostNotCount) {
  // Four expensive systems, then twelve cheap ones: two ranks split at the cost's midpoint.
  std::vector<double> costs(16, 1.0);
  for (int s = 0; s < 4; ++s) costs[s] = 10.0;
  const auto b = mpi::partition(costs, 2);
  // Total 52, half 26: the cut nearest it is after three expensive systems (30 | 22); an even
  // count (8 | 8) would give 44 | 8.
  EXPECT_EQ(b[1], 3);
  const double total = range_cost(costs, 0, 16);
  EXPECT_LE(std::abs(range_cost(costs, 0, b[1]) - total / 2), 5.0);
}

TEST(Partition, EqualSystemsShareEvenly) {
  const std::vector<double> costs(12, 3.0);
  const auto b = mpi::partition(costs, 3);
  EXPECT_EQ(b, (std::vector<std::int64_t>{0, 4, 8, 12}));
}

TEST(Partition, FewerSystemsThanRanksIsAClearError) {
  try {
    mpi::partition(std::vector<double>(2, 1.0), 3);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("2 systems for 3 MPI ranks"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mpirun -np 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(mpi::partition(std::vector<double>(2, 1.0), 0), InvalidArgument);
}

TEST(Partition, CostsFollowAtomsAndNeighbours) {
  const Batch b = mixed_job();  // 2 liquids of 108 atoms, 3 of 32 (same density), 4 clusters of 13
  const auto c = mpi::system_costs(b, 8.5);
  ASSERT_EQ(c.size(), 9u);
  // Same density: neighbours per atom equal, so cost scales with atoms.
  EXPECT_NEAR(c[0] / c[2], 108.0 / 32.0, 1e-9);
  EXPECT_DOUBLE_EQ(c[0], c[1]);
  // A cluster of 13 atoms has at most 12 neighbours per atom.
  for (int s = 5; s < 9; ++s) EXPECT_LE(c[s], 13.0 * 12.0);
  // Liquid argon at 1.4 g/cm³ within 8.5 Å: ~2.1e-2 atoms/Å³ × 2572 Å³ ≈ 54 neighbours per atom.
  EXPECT_NEAR(c[0] / 108.0, 54.0, 6.0);
}

TEST(Session, SingleRankShareIsTheWholeJob) {
  auto s = mpi::Session::start();  // not launched by mpirun: one rank, nothing started
  ASSERT_FALSE(s.distributed());
  Batch all = mixed_job();
  const std::int64_t atoms = all.n_atoms();
  Batch mine = s.local_share(std::move(all), 8.5);
  EXPECT_EQ(mine.n_systems(), 9);
  EXPECT_EQ(s.share().n_atoms, atoms);
  EXPECT_EQ(s.per_rank_path("log.csv"), "log.csv");
  EXPECT_EQ(s.label(), "");
}

TEST(Wire, PackedBatchComesBackBitForBit) {
  Batch b = mixed_job();
  // Fields of every level and dtype the engine uses, with values whose bits matter.
  auto& e = b.add_field("energy", Level::System, DType::Float64, {});
  for (std::int64_t s = 0; s < b.n_systems(); ++s) e.data<double>()[s] = -1.0 / 3.0 * static_cast<double>(s + 1);
  auto& st = b.add_field("status", Level::System, DType::Int32, {});
  st.data<std::int32_t>()[4] = 7;
  std::vector<std::byte> bytes;
  mpi::wire::pack(b, bytes);
  const Batch back = mpi::wire::unpack(bytes);
  ASSERT_EQ(back.n_systems(), b.n_systems());
  ASSERT_EQ(back.n_atoms(), b.n_atoms());
  ASSERT_EQ(back.fields().size(), b.fields().size());
  for (const auto& [name, f] : b.fields()) {
    ASSERT_TRUE(back.has(name)) << name;
    const Tensor& t = back.get(name);
    EXPECT_EQ(back.level(name), f.level) << name;
    EXPECT_EQ(t.dtype(), f.tensor.dtype()) << name;
    EXPECT_EQ(t.shape(), f.tensor.shape()) << name;
    EXPECT_EQ(std::memcmp(t.raw(), f.tensor.raw(), t.nbytes()), 0) << name;
  }
}

// A message (kind, value[, batch]) of the pipeline and inflight streams read back, and what
// read_message refuses: too short a header, a kind outside the stream's range, a cut batch.
TEST(Wire, MessagesComeBackAndBadOnesNameStreamAndRank) {
  const Batch b = mixed_job();
  const auto with = mpi::wire::message(3, -42, &b);
  const mpi::wire::Message m = mpi::wire::read_message(with, "pipeline", 2, 1, 6);
  EXPECT_EQ(m.kind, 3);
  EXPECT_EQ(m.value, -42);
  ASSERT_TRUE(m.has_batch);
  EXPECT_EQ(m.batch.n_systems(), b.n_systems());
  EXPECT_EQ(m.batch.n_atoms(), b.n_atoms());
  const mpi::wire::Message bare = mpi::wire::read_message(mpi::wire::message(5, 1, nullptr), "pipeline", 2, 1, 6);
  EXPECT_EQ(bare.kind, 5);
  EXPECT_EQ(bare.value, 1);
  EXPECT_FALSE(bare.has_batch);
  auto error_of = [](const std::vector<std::byte>& bytes) -> std::string {
    try {
      mpi::wire::read_message(bytes, "inflight", 3, 1, 4);
    } catch (const FormatError& e) {
      return e.what();
    }
    return "no error";
  };
  const auto short_one = std::vector<std::byte>(mpi::wire::kMessageHeader - 1);
  EXPECT_NE(error_of(short_one).find("inflight message of 15 bytes from rank 3 is too short"), std::string::npos)
      << error_of(short_one);
  EXPECT_NE(error_of(mpi::wire::message(9, 0, nullptr)).find("unknown inflight message kind 9 from rank 3"),
            std::string::npos);
  EXPECT_NE(error_of(mpi::wire::message(0, 0, nullptr)).find("kind 0"), std::string::npos);
  auto cut = mpi::wire::message(2, 0, &b);
  cut.resize(cut.size() / 2);
  EXPECT_THROW(mpi::wire::read_message(cut, "inflight", 3, 1, 4), FormatError);
}

TEST(Wire, DamagedMessagesAreFormatErrors) {
  Batch b = mixed_job();
  std::vector<std::byte> bytes;
  mpi::wire::pack(b, bytes);
  auto cut = bytes;
  cut.resize(bytes.size() / 2);
  EXPECT_THROW(mpi::wire::unpack(cut), FormatError);
  auto bad = bytes;
  bad[0] = std::byte{'X'};
  EXPECT_THROW(mpi::wire::unpack(bad), FormatError);
  auto longer = bytes;
  longer.resize(bytes.size() + 8);
  EXPECT_THROW(mpi::wire::unpack(longer), FormatError);
}
