// SPDX-License-Identifier: Apache-2.0
// Write throughput of one trajectory to the local S3 server (s3rver via s3_server.mjs) vs to
// the filesystem, with 1, 4 and 16 requests in flight (ZarrData workers = S3 max_in_flight).
//   build/release/tests/zarr/s3/bench_s3_write [writes=96] [systems_per_write=16] [atoms=1000]
// Prints MB/s (uncompressed payload) per configuration and the S3/filesystem ratios.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "batchmd/sinks/zarr_data.hpp"
#include "s3_fixture.hpp"

using namespace batchmd;
using Clock = std::chrono::steady_clock;

namespace {

Batch make_batch(std::int64_t first_id, std::int64_t systems, std::int64_t atoms) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(first_id));
  std::uniform_real_distribution<double> u(0.0, 20.0);
  std::vector<AtomicData> out;
  for (std::int64_t s = 0; s < systems; ++s) {
    std::vector<double> pos(static_cast<std::size_t>(3 * atoms));
    for (double& x : pos) x = u(rng);
    std::vector<std::int64_t> z(static_cast<std::size_t>(atoms), 18);
    AtomicData d = AtomicData::make(DType::Float64, pos, z, {20, 0, 0, 0, 20, 0, 0, 0, 20}, {true, true, true});
    Tensor f(DType::Float32, {atoms, 3});
    for (std::int64_t i = 0; i < 3 * atoms; ++i) f.data<float>()[i] = static_cast<float>(u(rng));
    d.set("forces", Level::Atom, std::move(f));
    d.set("system_id", Level::System, Tensor::from<std::int64_t>({first_id + s}, {1}));
    Tensor e(DType::Float64, {1});
    e.data<double>()[0] = u(rng);
    d.set("energy", Level::System, std::move(e));
    out.push_back(std::move(d));
  }
  return Batch::from_systems(out);
}

double payload_bytes(const Batch& b) {
  double n = 0;
  for (const auto& [k, f] : b.fields()) n += static_cast<double>(f.tensor.nbytes());
  return n;
}

double run(const std::string& url, int in_flight, const std::vector<Batch>& batches) {
  ::setenv("BATCHMD_S3_MAX_IN_FLIGHT", std::to_string(in_flight).c_str(), 1);
  sinks::ZarrWriteConfig cfg;
  cfg.compressor = {"none", 0, false, false};  // measure storage, not compression
  cfg.chunk_bytes = 256 << 10;
  cfg.workers = in_flight;
  cfg.queue_depth = static_cast<std::size_t>(std::max(4, in_flight));
  const auto t0 = Clock::now();
  {
    sinks::ZarrData sink(url, 1'000'000, cfg);
    for (const Batch& b : batches) sink.write(b);
    sink.flush();
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int writes = argc > 1 ? std::atoi(argv[1]) : 96;
  const std::int64_t systems = argc > 2 ? std::atoll(argv[2]) : 16;
  const std::int64_t atoms = argc > 3 ? std::atoll(argv[3]) : 1000;
  std::vector<Batch> batches;
  double bytes = 0;
  for (int w = 0; w < writes; ++w) {
    batches.push_back(make_batch(w * systems, systems, atoms));
    bytes += payload_bytes(batches.back());
  }
  s3test::LocalS3 s3;
  s3.export_environment();
  s3test::ScratchDir dir("bench");
  std::printf(
      "trajectory: %d writes x %lld systems x %lld atoms = %.1f MB uncompressed (no compressor, 256 KiB chunks)\n",
      writes, static_cast<long long>(systems), static_cast<long long>(atoms), bytes / 1e6);
  std::printf("%-10s %10s %10s %10s %10s %12s\n", "in flight", "fs s", "fs MB/s", "s3 s", "s3 MB/s", "s3/fs speed");
  int run_id = 0;
  for (const int n : {1, 4, 16}) {
    const std::string path = (dir.path() / ("fs" + std::to_string(run_id))).string();
    const double fs_s = run(path, n, batches);
    const std::string url = "s3://" + s3test::kBucket + "/bench" + std::to_string(run_id++) + "/traj.zarr";
    const double s3_s = run(url, n, batches);
    std::printf("%-10d %10.2f %10.1f %10.2f %10.1f %12.3f\n", n, fs_s, bytes / 1e6 / fs_s, s3_s, bytes / 1e6 / s3_s,
                fs_s / s3_s);
    std::fflush(stdout);
    std::filesystem::remove_all(path);
  }
  return 0;
}
