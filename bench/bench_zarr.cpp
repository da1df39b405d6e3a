// SPDX-License-Identifier: Apache-2.0
// bench_zarr: ZarrData write throughput (MB/s of raw array bytes) vs plain sequential file
// writes of the same bytes, and TrajectoryReader throughput for a sequential scan and random
// single samples. Frames are real in.lj MD frames (positions, velocities, forces; 32,000 atoms).
// Usage: bench_zarr [--frames 100] [--dir /tmp] [--format v3|v2]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include "batchmd/core/parallel.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "lj_system.hpp"

using namespace batchmd;
namespace fs = std::filesystem;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
  std::int64_t frames = 100;
  std::string dir = fs::temp_directory_path().string(), format = "v3";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--frames")
      frames = std::stoll(argv[i + 1]);
    else if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--format")
      format = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: bench_zarr [--frames 100] [--dir DIR] [--format v3|v2]\n");
      return 2;
    }
  }
  set_num_threads(1);
  // Record real frames in memory first.
  Batch batch = bench::inlj_batch(20, DType::Float64);
  auto host = std::make_shared<sinks::HostMemory>(frames);
  {
    dynamics::DemoDynamics dyn(std::make_shared<model::LennardJones>(bench::inlj_model()), bench::inlj_dt());
    dyn.register_hook(std::make_shared<hooks::SnapshotHook>(host, 10));
    dyn.run(batch, frames * 10);
  }
  Batch all = host->read();
  std::vector<Batch> frame;
  for (std::int64_t f = 0; f < all.n_systems(); ++f) {
    std::vector<std::int64_t> one{f};
    Batch b = all.index_select(one);
    for (const auto& name :
         std::vector<std::string>({"atomic_numbers", "masses", "cell", "pbc", "energy", "step", "system_id"}))
      b.erase(name);
    frame.push_back(std::move(b));
  }
  double raw = 0;
  for (const auto& [k, f] : frame[0].fields()) raw += double(f.tensor.nbytes());
  raw *= double(frames);
  std::printf("frames %lld, raw bytes %.1f MB (positions, velocities, forces of 32,000 atoms, float64)\n",
              static_cast<long long>(frames), raw / 1e6);

  // Plain sequential writes of the same bytes: one file, one fwrite per field per frame.
  const fs::path plain = fs::path(dir) / "bench_zarr_plain.bin";
  auto t0 = std::chrono::steady_clock::now();
  {
    std::FILE* fp = std::fopen(plain.c_str(), "wb");
    for (const auto& b : frame)
      for (const auto& [k, f] : b.fields()) std::fwrite(f.tensor.raw(), 1, f.tensor.nbytes(), fp);
    std::fclose(fp);
  }
  const double t_plain = seconds_since(t0);
  fs::remove(plain);
  std::printf("plain_file_write_MBps %.0f\n", raw / 1e6 / t_plain);

  for (const std::string comp : {"none", "zstd"}) {
    const fs::path store = fs::path(dir) / ("bench_zarr_" + comp + ".zarr");
    fs::remove_all(store);
    sinks::ZarrWriteConfig cfg;
    cfg.format = format == "v2" ? zarr::ZarrFormat::V2 : zarr::ZarrFormat::V3;
    cfg.compressor = {comp, 1, false, false};
    t0 = std::chrono::steady_clock::now();
    double t_call = 0;
    {
      sinks::ZarrData sink(store.string(), frames, cfg);
      for (const auto& b : frame) {
        auto c0 = std::chrono::steady_clock::now();
        sink.write(b);
        t_call += seconds_since(c0);
      }
      sink.flush();
    }
    const double t_zarr = seconds_since(t0);
    std::uintmax_t stored = 0;
    for (const auto& e : fs::recursive_directory_iterator(store))
      if (e.is_regular_file()) stored += e.file_size();
    std::printf("zarr_%s_write_MBps %.0f  (ratio vs plain file %.2f; mean write() call %.2f ms; stored %.1f MB)\n",
                comp.c_str(), raw / 1e6 / t_zarr, t_plain / t_zarr, 1e3 * t_call / double(frames),
                double(stored) / 1e6);

    sinks::TrajectoryReader reader(store.string());
    t0 = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < reader.num_samples(); ++i) (void)reader.read(i);
    const double t_scan = seconds_since(t0);
    std::printf("zarr_%s_sequential_scan_MBps %.0f  (%.0f samples/s)\n", comp.c_str(), raw / 1e6 / t_scan,
                double(frames) / t_scan);
    sinks::TrajectoryReader cold(store.string());
    std::mt19937_64 rng(1);
    std::uniform_int_distribution<std::int64_t> pick(0, frames - 1);
    const int n_random = 50;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n_random; ++i) (void)cold.read(pick(rng));
    const double t_rand = seconds_since(t0);
    std::printf("zarr_%s_random_single_sample_per_s %.0f  (%.0f MB/s)\n", comp.c_str(), n_random / t_rand,
                raw / double(frames) * n_random / 1e6 / t_rand);
    fs::remove_all(store);
  }
  return 0;
}
