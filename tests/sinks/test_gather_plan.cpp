// SPDX-License-Identifier: Apache-2.0
// Tests for the GPU sinks' fused gather (src/sinks/gpu_gather*.hpp), run on the CPU: plans built
// from host batches are executed on host memory by the kernel's own per-lane code (gather_item),
// item by item and lane by lane, from the table exactly as it is passed to the GPU. They must give
// what index_select gives — rows at the requested destination offsets, edge_index rebased onto the
// destination or made local to each sample; large runs must be split into pieces (parallel warps)
// while a whole snapshot batch still fits the inline kernel-parameter table; copies of every size
// and alignment (16/8/4/1-byte paths and tails) must equal memcpy.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "batchmd/core/error.hpp"
#include "gather_test_util.hpp"
#include "gpu_gather_kernel.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks::detail;
using namespace batchmd::test_support;  // encoded_batch; Destination, run_on_host

namespace {

Batch snapshot_batch(std::int64_t n_systems, DType fdt) {  // the benchmark's batch: 64-256 atoms, 8 fields
  std::mt19937_64 rng(3);
  std::vector<AtomicData> systems;
  for (std::int64_t s = 0; s < n_systems; ++s) {
    const auto na = static_cast<std::int64_t>(64 + rng() % 193);
    std::vector<double> pos(static_cast<std::size_t>(3 * na));
    for (auto& x : pos) x = static_cast<double>(rng() % 1000);
    systems.push_back(AtomicData::make(fdt, pos, std::vector<std::int64_t>(static_cast<std::size_t>(na), 18),
                                       {9, 0, 0, 0, 9, 0, 0, 0, 9}, {true, true, true}));
  }
  Batch b = Batch::from_systems(systems);
  for (const char* name : {"velocities", "forces", "energy"}) b.add_standard(name);
  return b;
}

}  // namespace

TEST(GatherPlan, SelectedSystemsLandAtTheirOffsetsWithEdgeIndexRebased) {
  const Batch b = encoded_batch(0, 9);
  const std::vector<std::int64_t> idx{1, 2, 3, 5, 8};  // a run of three, then singles
  const Batch want = b.index_select(idx);
  const std::int64_t pad = 7;  // destination rows already used (a GPUBuffer holding samples)
  Destination d(b, want, pad);
  GatherPlan plan;
  plan_systems(plan, b, idx, d.fields, pad, pad, pad, EdgeIndexMode::Rebase);
  EXPECT_EQ(plan.pieces().size(), 3u);  // one piece per run: consecutive systems merge
  EXPECT_EQ(plan.items(), static_cast<std::int64_t>(3 * b.fields().size()));
  EXPECT_LE(plan.table_bytes(), kGatherInlineBytes);
  run_on_host(plan);
  for (const auto& [k, f] : want.fields()) {
    const auto& v = d.bytes[k];
    const std::size_t rb = f.tensor.row_bytes();
    for (std::size_t i = 0; i < pad * rb; ++i) ASSERT_EQ(v[i], std::byte{0xAB}) << k << ": rows before the offset";
    if (k == kEdgeIndex) {
      const auto* got = reinterpret_cast<const std::int64_t*>(v.data() + pad * rb);
      const auto* w = f.tensor.data<std::int64_t>();
      for (std::int64_t e = 0; e < f.tensor.numel(); ++e) ASSERT_EQ(got[e], w[e] + pad) << "edge value " << e;
    } else {
      EXPECT_EQ(std::memcmp(v.data() + pad * rb, f.tensor.raw(), f.tensor.nbytes()), 0) << k;
    }
  }
}

TEST(GatherPlan, SampleLocalEdgeIndexCountsFromEachSamplesFirstAtom) {
  const Batch b = encoded_batch(0, 9);
  const std::vector<std::int64_t> idx{0, 1, 2, 6, 7};
  const Batch want = b.index_select(idx);
  Destination d(b, want, 0);
  GatherPlan plan;
  plan_systems(plan, b, idx, d.fields, 0, 0, 0, EdgeIndexMode::SampleLocal);
  EXPECT_EQ(plan.pieces().size(), 5u);  // one run per system: each shifts by its own first atom
  run_on_host(plan);
  const auto* got = reinterpret_cast<const std::int64_t*>(d.bytes[std::string(kEdgeIndex)].data());
  const auto* w = want.get(kEdgeIndex).data<std::int64_t>();
  const auto* ap = want.atoms_ptr_data();
  const auto* ep = want.edges_ptr().data<std::int64_t>();
  for (std::int64_t s = 0; s < want.n_systems(); ++s)
    for (std::int64_t e = ep[s]; e < ep[s + 1]; ++e) {
      ASSERT_EQ(got[2 * e], w[2 * e] - ap[s]);
      ASSERT_EQ(got[2 * e + 1], w[2 * e + 1] - ap[s]);
    }
  for (const char* k : {"positions", "tag", "pbc", "energy", "bond_length"})
    EXPECT_EQ(std::memcmp(d.bytes[k].data(), want.get(k).raw(), want.get(k).nbytes()), 0) << k;
}

TEST(GatherPlan, AWholeSnapshotBatchIsSplitIntoPiecesAndStaysInline) {
  for (DType fdt : {DType::Float32, DType::Float64}) {
    const Batch b = snapshot_batch(4096, fdt);
    const std::vector<std::int64_t> all = all_systems(b);
    Destination d(b, b, 0);
    GatherPlan plan;
    plan_systems(plan, b, all, d.fields, 0, 0, 0, EdgeIndexMode::Rebase);
    EXPECT_LE(plan.table_bytes(), kGatherInlineBytes) << dtype_name(fdt) << ": no upload for a whole batch";
    // About one wave of items (fields x pieces): enough groups to fill the GPU, no part-empty
    // second wave.
    EXPECT_GE(plan.items(), kGatherWaveItems / 2) << dtype_name(fdt);
    EXPECT_LE(plan.items(), kGatherWaveItems + static_cast<std::int64_t>(plan.fields().size())) << dtype_name(fdt);
    std::int64_t atoms = 0;
    for (const GatherPiece& p : plan.pieces()) {
      EXPECT_LE(p.rows[0] * 3 * static_cast<std::int64_t>(dtype_size(fdt)), kGatherMaxPieceBytes + 24);
      atoms += p.rows[0];
    }
    EXPECT_EQ(atoms, b.n_atoms());
    run_on_host(plan);
    for (const auto& [k, f] : b.fields())
      EXPECT_EQ(std::memcmp(d.bytes[k].data(), f.tensor.raw(), f.tensor.nbytes()), 0) << k;

    // Every other system: one run per system, a larger table (uploaded), the same result.
    std::vector<std::int64_t> half;
    for (std::int64_t s = 0; s < b.n_systems(); s += 2) half.push_back(s);
    const Batch want = b.index_select(half);
    Destination h(b, want, 0);
    GatherPlan sparse;
    plan_systems(sparse, b, half, h.fields, 0, 0, 0, EdgeIndexMode::Rebase);
    EXPECT_EQ(sparse.pieces().size(), half.size());
    EXPECT_GT(sparse.table_bytes(), kGatherInlineBytes);  // this one goes through the upload path
    run_on_host(sparse);
    for (const auto& [k, f] : want.fields())
      EXPECT_EQ(std::memcmp(h.bytes[k].data(), f.tensor.raw(), f.tensor.nbytes()), 0) << k;
  }
}

TEST(GatherPlan, PiecesGrowToKeepALargeGatherNearOneWaveOfItems) {
  // A small gather keeps kGatherPieceBytes pieces (many groups for few bytes).
  EXPECT_EQ(gather_piece_bytes(100000, 2000, 8), kGatherPieceBytes);
  EXPECT_EQ(gather_piece_bytes(0, 0, 0), kGatherPieceBytes);
  // A large gather: items = fields x pieces come to about one wave (runs enough that the inline
  // table's rule, which may only enlarge pieces, does not apply).
  for (const std::size_t nf : {std::size_t(1), std::size_t(4), std::size_t(8), std::size_t(16)})
    for (const std::int64_t widest : {std::int64_t(4) << 20, std::int64_t(8) << 20, std::int64_t(16) << 20}) {
      const std::int64_t piece = gather_piece_bytes(widest, 100000, nf);
      const std::int64_t items = static_cast<std::int64_t>(nf) * ((widest + piece - 1) / piece);
      if (piece > kGatherPieceBytes && piece < kGatherMaxPieceBytes) {
        EXPECT_LE(items, kGatherWaveItems) << nf << " fields, " << widest << " bytes";
        EXPECT_GT(items, kGatherWaveItems - static_cast<std::int64_t>(nf)) << nf << " fields, " << widest << " bytes";
      }
      EXPECT_GE(piece, kGatherPieceBytes);
      EXPECT_LE(piece, kGatherMaxPieceBytes);
    }
  // The 4,096-system batch of bench_gpu_sinks (8 fields, 7.9 MB of float32 positions): about the
  // 64 KB that an H100 measured best; float64 about 128 KB.
  EXPECT_NEAR(static_cast<double>(gather_piece_bytes(12 * 655325, 1, 8)), 65536, 8192);
  EXPECT_NEAR(static_cast<double>(gather_piece_bytes(24 * 655325, 1, 8)), 131072, 16384);
  // A huge gather stops at kGatherMaxPieceBytes (more waves of bounded items).
  EXPECT_EQ(gather_piece_bytes(std::int64_t(1) << 32, 1, 8), kGatherMaxPieceBytes);
}

TEST(GatherPlan, CopiesOfEverySizeAndAlignmentEqualMemcpy) {
  // One field of 1-byte rows, so runs start and end at every byte alignment (source and
  // destination equally misaligned in a quarter of them: the 16-byte path after a head; else
  // 8-, 4- or 1-byte copies), and one of int64 edge indices shifted by each run's edge_add; runs
  // from 1 byte to several pieces. Run as the kernel's warps (32 lanes) and groups of four warps
  // (128), and by a single lane.
  std::mt19937_64 rng(1);
  std::vector<std::byte> src(1 << 20), want(4 << 20);
  for (auto& b : src) b = static_cast<std::byte>(rng());
  std::vector<std::int64_t> isrc(1 << 16), iwant(1 << 16, -1);
  for (auto& v : isrc) v = static_cast<std::int64_t>(rng() % 100000);
  for (const unsigned lanes : {32u, 128u, 1u}) {
    SCOPED_TRACE(lanes);
    std::vector<std::byte> dst(4 << 20);
    std::vector<std::int64_t> idst(1 << 16, -1);
    rng.seed(2);
    GatherPlan plan;
    plan.add_field(src.data(), dst.data(), 1, Level::Atom);
    plan.add_field(isrc.data(), idst.data(), 8, Level::Edge, true);
    std::int64_t at = 0, edge_at = 0, copied = 0;
    int runs = 0;
    unsigned widths = 0;  // the vector widths the runs' relative alignments give
    for (int i = 0; i < 300; ++i, ++runs) {
      const std::int64_t bytes = i % 10 == 0 ? 3 * kGatherPieceBytes + static_cast<std::int64_t>(rng() % 5000)
                                             : 1 + static_cast<std::int64_t>(rng() % 3000);
      const auto from = static_cast<std::int64_t>(rng() % (src.size() - static_cast<std::size_t>(bytes)));
      at += i % 4 == 0 ? (16 - at % 16) % 16 + from % 16 : static_cast<std::int64_t>(rng() % 16);  // dst alignment
      const std::int64_t edges = static_cast<std::int64_t>(rng() % 50);
      const auto edge_from = static_cast<std::int64_t>(rng() % (isrc.size() - 50));
      if (at + bytes > static_cast<std::int64_t>(dst.size()) ||
          edge_at + edges > static_cast<std::int64_t>(idst.size()))
        break;
      const std::int64_t add = static_cast<std::int64_t>(rng() % 7) - 3;
      const std::int64_t src_row[3] = {from, edge_from, 0}, dst_row[3] = {at, edge_at, 0}, rows[3] = {bytes, edges, 0};
      plan.add_run(src_row, dst_row, rows, add);
      widths |= gather_vector_bytes(src.data() + from, dst.data() + at);
      std::memcpy(want.data() + at, src.data() + from, static_cast<std::size_t>(bytes));
      for (std::int64_t e = 0; e < edges; ++e)
        iwant[static_cast<std::size_t>(edge_at + e)] = isrc[static_cast<std::size_t>(edge_from + e)] + add;
      at += bytes;
      edge_at += edges;
      copied += bytes + 8 * edges;
    }
    ASSERT_EQ(runs, 300);
    ASSERT_GT(plan.pieces().size(), 300u);  // the long runs were split
    EXPECT_EQ(widths, 16u | 8u | 4u | 1u);
    EXPECT_EQ(plan.copy_bytes(), copied);
    run_on_host(plan, GatherBase{}, lanes);
    EXPECT_EQ(std::memcmp(dst.data(), want.data(), dst.size()), 0);
    EXPECT_EQ(idst, iwant);
  }
}

TEST(GatherPlan, RejectsWhatTheKernelCannotDo) {
  std::vector<std::int64_t> a(16), b(16);
  GatherPlan plan;
  EXPECT_THROW(plan.add_field(reinterpret_cast<std::byte*>(a.data()) + 4, b.data(), 8, Level::Edge, true),
               InvalidArgument);  // misaligned edge indices
  EXPECT_THROW(plan.add_field(a.data(), b.data(), 12, Level::Edge, true), InvalidArgument);
  plan.add_field(a.data(), b.data(), 8, Level::Atom);
  const std::int64_t zero[3] = {0, 0, 0}, huge[3] = {std::int64_t(1) << 31, 0, 0}, one[3] = {1, 0, 0};
  EXPECT_THROW(plan.add_run(zero, zero, huge, 0), InvalidArgument);  // rows beyond int32
  plan.add_run(zero, zero, one, 0);
  EXPECT_THROW(plan.add_field(a.data(), b.data(), 8, Level::Atom), InvalidArgument);  // fields first
  const std::int64_t none[3] = {0, 0, 0};
  plan.add_run(zero, zero, none, 0);  // an empty run adds no piece
  EXPECT_EQ(plan.pieces().size(), 1u);
}
