// SPDX-License-Identifier: Apache-2.0
// ZarrData and TrajectoryReader on s3:// URLs (unchanged code, through open_store): round trips
// of every field level and dtype in v2/v3 with several codecs and sharding, a reader following a
// writer, the restart test, `batchmd run/inspect/convert` on an s3:// store end to end, and an
// independent client (@aws-sdk/client-s3) whose copy of the objects decodes to the same values.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/s3_store.hpp"
#include "s3_fixture.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using namespace batchmd::s3test;
using batchmd::test_support::check_encoded;
using batchmd::test_support::encoded_batch;

namespace {

LocalS3& server() {
  static LocalS3 s;
  s.export_environment();
  return s;
}

std::string s3_url(const std::string& tag) { return "s3://" + kBucket + "/" + unique_name(tag) + "/traj.zarr"; }

struct Variant {
  std::string label;
  zarr::ZarrFormat format;
  zarr::CompressorConfig comp;
  std::int64_t chunks_per_shard = 0;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.label; }

class S3RoundTrip : public ::testing::TestWithParam<Variant> {};

void check_all(const TrajectoryReader& r, std::int64_t n) {
  ASSERT_EQ(r.num_samples(), n);
  Batch all = r.read_range(0, n);
  for (std::int64_t s = 0; s < n; ++s) ASSERT_EQ(check_encoded(all, s, s), "") << "sample " << s;
}

}  // namespace

TEST_P(S3RoundTrip, EveryFieldLevelAndDtypeWithMasks) {
  server();
  const Variant& v = GetParam();
  const std::string url = s3_url(v.label);
  {
    ZarrWriteConfig cfg;
    cfg.format = v.format;
    cfg.compressor = v.comp;
    cfg.chunk_samples = 3;
    cfg.chunks_per_shard = v.chunks_per_shard;
    cfg.workers = 4;
    ZarrData sink(url, 1000, cfg);
    sink.write(encoded_batch(0, 5));
    Batch b = encoded_batch(5, 6);
    sink.write(b, {true, false, true, true, false, true});  // ids 5, 7, 8, 10
    sink.write(encoded_batch(11, 17));
    EXPECT_EQ(sink.size(), 26);
    EXPECT_EQ(sink.read().n_systems(), 26);
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 26);
  EXPECT_EQ(r.zarr_format(), static_cast<int>(v.format));
  std::vector<std::int64_t> ids = {0, 1, 2, 3, 4, 5, 7, 8, 10};
  for (int i = 11; i < 28; ++i) ids.push_back(i);
  Batch all = r.read_range(0, 26);
  for (std::size_t s = 0; s < ids.size(); ++s)
    ASSERT_EQ(check_encoded(all, static_cast<std::int64_t>(s), ids[s]), "") << v.label << " sample " << s;
  Batch picked = r.read_indices({25, 0, 13});
  ASSERT_EQ(check_encoded(picked, 0, 27), "");
  ASSERT_EQ(check_encoded(picked, 2, 15), "");
  ASSERT_EQ(check_encoded(r.read_system(8), 0, 8), "");
  EXPECT_EQ(r.read_system(6).n_systems(), 0);
  EXPECT_THROW(r.read(26), InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(FormatsAndCodecs, S3RoundTrip,
                         ::testing::Values(Variant{"v3_none", zarr::ZarrFormat::V3, {"none", 0, false, false}},
                                           Variant{"v3_zstd_crc", zarr::ZarrFormat::V3, {"zstd", 3, false, true}},
                                           Variant{"v3_sharded", zarr::ZarrFormat::V3, {"zstd", 1, false, false}, 4},
                                           Variant{"v2_zstd", zarr::ZarrFormat::V2, {"zstd", 1, false, false}}),
                         [](const auto& p) { return p.param.label; });

TEST(S3Trajectory, AppendReopenAndExistingStoreIsNotOverwritten) {
  server();
  const std::string url = s3_url("append");
  { ZarrData(url, 100).write(encoded_batch(0, 3)); }
  EXPECT_THROW(ZarrData(url, 100), InvalidArgument);
  {
    ZarrWriteConfig cfg;
    cfg.append = true;
    ZarrData again(url, 100, cfg);
    EXPECT_EQ(again.size(), 3);
    again.write(encoded_batch(3, 4));
  }
  check_all(TrajectoryReader(url), 7);
  EXPECT_THROW(TrajectoryReader(s3_url("never-written")), FormatError);
}

TEST(S3Trajectory, ReaderSeesConsistentPrefixWhileWriterAppends) {
  server();
  const std::string url = s3_url("concurrent");
  ZarrWriteConfig cfg;
  cfg.chunk_samples = 2;
  {
    ZarrData sink(url, 100000, cfg);
    sink.write(encoded_batch(0, 1));
    sink.flush();
    std::atomic<bool> done{false};
    std::thread writer([&] {
      for (std::int64_t id = 1; id < 25; id += 3) sink.write(encoded_batch(id, 3));
      sink.flush();
      done = true;
    });
    std::int64_t last = 0;
    int checks = 0;
    while (!done || checks < 3) {
      TrajectoryReader r(url);
      const auto n = r.num_samples();
      EXPECT_GE(n, last);
      last = n;
      if (n > 0) {
        ASSERT_EQ(check_encoded(r.read(n - 1), 0, n - 1), "");
      }
      ++checks;
    }
    writer.join();
  }
  check_all(TrajectoryReader(url), 25);
}

TEST(S3Trajectory, IndependentClientCopyDecodesToTheSameValues) {
  server();
  const std::string name = unique_name("independent");
  const std::string url = "s3://" + kBucket + "/" + name + "/traj.zarr";
  {
    ZarrWriteConfig cfg;
    cfg.chunk_samples = 4;
    cfg.chunks_per_shard = 2;
    ZarrData sink(url, 1000, cfg);
    sink.write(encoded_batch(0, 9));
    sink.write(encoded_batch(9, 14));
  }
  ScratchDir copy("copy");
  const auto r = run_command("node " + quote(kTestDir + "/read_store.mjs") + " --endpoint " +
                             quote(server().endpoint()) + " --bucket " + kBucket + " --prefix " +
                             quote(name + "/traj.zarr") + " --out " + quote(copy.path().string()));
  ASSERT_EQ(r.status, 0) << r.output;
  // byte for byte: every object the independent client listed and fetched equals ours
  auto store = zarr::open_store(url);
  const auto keys = store->list("");
  EXPECT_NE(r.output.find("OBJECTS " + std::to_string(keys.size())), std::string::npos) << r.output;
  for (const auto& k : keys) {
    std::ifstream in(copy.path() / k, std::ios::binary);
    const std::string got((std::istreambuf_iterator<char>(in)), {});
    const auto ours = store->get(k);
    ASSERT_TRUE(ours.has_value()) << k;
    EXPECT_EQ(got, std::string(reinterpret_cast<const char*>(ours->data()), ours->size())) << k;
  }
  // value for value: the copy, read from the filesystem, is the trajectory that was written
  check_all(TrajectoryReader(copy.path().string()), 23);
}

namespace {

int run_quiet(app::RunOptions o) {
  o.quiet = true;
  std::FILE* devnull = std::fopen("/dev/null", "w");
  const int rc = app::run_command(o, devnull);
  std::fclose(devnull);
  return rc;
}

}  // namespace

// tests/app/test_restart.cpp's check, with every store on the S3 server.
TEST(S3Trajectory, RestartFromAnS3StoreEqualsAnUninterruptedRunBitwise) {
  server();
  ScratchDir dir("restart");
  const std::string job = (dir.path() / "job.toml").string();
  std::ofstream(job) << "[run]\nsteps = 400\ndt_fs = 4.0\nseed = 3\n"
                        "[[liquid]]\ncount = 2\ncells = 3\ntemperature_K = 120\n"
                        "[[cluster]]\ncount = 2\natoms = 38\ntemperature_K = 40\n"
                        "[output]\nsnapshot_every = 30\nprogress = false\n";
  const std::string whole = s3_url("whole"), part = s3_url("part");
  app::RunOptions o;
  o.config_path = job;
  o.output = whole;
  ASSERT_EQ(run_quiet(o), 0);
  o.output = part;
  o.steps = 200;
  ASSERT_EQ(run_quiet(o), 0);
  app::RunOptions r;
  r.restart = part;
  r.steps = 200;
  ASSERT_EQ(run_quiet(r), 0);
  TrajectoryReader ra(whole), rb(part);
  Batch la = last_snapshot_per_system(ra), lb = last_snapshot_per_system(rb);
  ASSERT_EQ(la.n_systems(), lb.n_systems());
  for (std::int64_t s = 0; s < la.n_systems(); ++s) EXPECT_EQ(la.get("step").data<std::int64_t>()[s], 400);
  for (const auto& [k, f] : la.fields()) {
    ASSERT_TRUE(lb.has(k)) << k;
    ASSERT_EQ(f.tensor.nbytes(), lb.get(k).nbytes()) << k;
    EXPECT_EQ(0, std::memcmp(f.tensor.raw(), lb.get(k).raw(), f.tensor.nbytes())) << "field " << k << " differs";
  }
  app::RunOptions missing;
  missing.restart = s3_url("missing");
  EXPECT_THROW(run_quiet(missing), FormatError);
}

TEST(S3Trajectory, CommandLineRunInspectConvertOnS3) {
  server();
  const std::string url = s3_url("cli");
  const std::string cli = BATCHMD_CLI;
  const auto run = run_command(quote(cli) + " run " + quote(kTestDir + "/../../../examples/argon.toml") +
                               " --steps 200 --quiet -o " + quote(url));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("24 samples in " + url), std::string::npos) << run.output;
  const auto inspect = run_command(quote(cli) + " inspect --json " + quote(url));
  ASSERT_EQ(inspect.status, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("positions"), std::string::npos) << inspect.output;
  ScratchDir dir("cli");
  const std::string xyz = (dir.path() / "out.xyz").string();
  const auto convert = run_command(quote(cli) + " convert " + quote(url) + " " + quote(xyz));
  ASSERT_EQ(convert.status, 0) << convert.output;
  std::ifstream in(xyz);
  std::string first;
  std::getline(in, first);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(TrajectoryReader(url).num_samples(), 24);
}
