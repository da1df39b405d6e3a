// SPDX-License-Identifier: Apache-2.0
// bench_gpu_sinks: what recording snapshots from a GPU batch costs, against the plain CUDA copy
// of the same bytes. Batch: 4,096 systems of 64-256 atoms (positions, velocities, forces,
// atomic_numbers, masses, energy, cell, pbc) on cuda:0.
//   (a) GPUBuffer.write vs cudaMemcpy device-to-device, every system and every other one: GPU
//       time (CUDA events around the call, the stream kept busy meanwhile so that host work is
//       not counted), host time per call, and `reps` calls back to back (host and GPU); and every
//       system written after one system of an odd atom count (as a trajectory's later samples
//       land: rows that start off a 16-byte boundary), GPU and host time.
//   (b) HostMemory fed from the GPU vs cudaMemcpy device-to-pinned-host: write() call time (what
//       the step loop waits for) and throughput of `reps` writes back to back up to flush().
//   (c) ZarrData fed from the GPU (file store in --dir, no compression): write() call time and
//       throughput up to flush(), beside the same from the batch on the CPU.
// Usage: bench_gpu_sinks [--systems 4096] [--dtype float32|float64 (default: both)] [--reps 20] [--dir /tmp]
//                        [--sections abc (which of (a), (b), (c) to run)]
#include <cuda_runtime.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/sinks/gpu_buffer.hpp"
#include "batchmd/sinks/zarr_data.hpp"

using namespace batchmd;
namespace fs = std::filesystem;

namespace {

const Device kGpu{Device::Kind::CUDA, 0};

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

cudaStream_t compute() { return static_cast<cudaStream_t>(cuda::compute_stream(0)); }

/// Keeps the compute stream busy for a while (a large memset), so that what the host enqueues
/// next is timed on the GPU alone.
void keep_gpu_busy() {
  static Tensor scratch(DType::UInt8, {std::int64_t(1) << 30}, kGpu);
  cuda::memset_async(scratch.raw(), 1, scratch.nbytes(), cuda::compute_stream(0));
}

/// GPU time between two points of the compute stream (timing events, unlike cuda::Event).
class GpuTimer {
 public:
  GpuTimer() {
    cudaEventCreate(&a_);
    cudaEventCreate(&b_);
  }
  ~GpuTimer() {
    cudaEventDestroy(a_);
    cudaEventDestroy(b_);
  }
  void start() { cudaEventRecord(a_, compute()); }
  /// Seconds since start(), once the stream got there.
  double stop() {
    cudaEventRecord(b_, compute());
    cudaEventSynchronize(b_);
    float ms = 0;
    cudaEventElapsedTime(&ms, a_, b_);
    return 1e-3 * ms;
  }

 private:
  cudaEvent_t a_{}, b_{};
};

Batch make_batch(std::int64_t n_systems, DType fdt) {
  std::mt19937_64 rng(42);
  std::vector<AtomicData> systems;
  for (std::int64_t s = 0; s < n_systems; ++s) {
    const auto na = static_cast<std::int64_t>(64 + rng() % 193);
    std::vector<double> pos(static_cast<std::size_t>(3 * na));
    for (auto& x : pos) x = static_cast<double>(rng() % 10000) * 1e-3;
    const std::vector<std::int64_t> z(static_cast<std::size_t>(na), 18);
    const double l = 10.0;
    systems.push_back(AtomicData::make(fdt, pos, z, {l, 0, 0, 0, l, 0, 0, 0, l}, {true, true, true}));
  }
  Batch b = Batch::from_systems(systems);
  for (const char* name : {"velocities", "forces", "energy"}) {
    Tensor& t = b.add_standard(name);
    dispatch_float(fdt, [&](auto zero) {
      using T = decltype(zero);
      for (auto& x : t.span<T>()) x = static_cast<T>(static_cast<double>(rng() % 1000) * 1e-3);
    });
  }
  return b;
}

std::size_t selected_bytes(const Batch& b, const std::vector<bool>& mask) {
  const auto* ap = b.atoms_ptr_data();
  std::int64_t atoms = 0, systems = 0;
  for (std::size_t s = 0; s < mask.size(); ++s)
    if (mask[s]) atoms += ap[s + 1] - ap[s], ++systems;
  std::size_t n = 0;
  for (const auto& [k, f] : b.fields())
    n += static_cast<std::size_t>(f.level == Level::Atom ? atoms : systems) * f.tensor.row_bytes();
  return n;
}

void line(const char* what, std::size_t bytes, double seconds, double baseline_seconds = 0) {
  std::printf("  %-44s %8.3f ms  %7.1f GB/s", what, 1e3 * seconds, double(bytes) / seconds / 1e9);
  if (baseline_seconds > 0) std::printf("  ratio %.2f", baseline_seconds / seconds);
  std::printf("\n");
}

void run_all(DType fdt, std::int64_t n_systems, int reps, const std::string& dir, const std::string& sections) {
  const Batch host = make_batch(n_systems, fdt);
  const Batch gpu = host.to(kGpu);
  cuda::synchronize(cuda::compute_stream(0));
  const std::vector<bool> all(static_cast<std::size_t>(n_systems), true);
  std::vector<bool> half(all.size());
  for (std::size_t s = 0; s < half.size(); s += 2) half[s] = true;
  std::vector<bool> odd_one(all.size());  // the first system with an odd atom count
  for (std::size_t s = 0; s < odd_one.size(); ++s)
    if ((host.atoms_ptr_data()[s + 1] - host.atoms_ptr_data()[s]) % 2 == 1) {
      odd_one[s] = true;
      break;
    }
  std::printf("\n==== batch: %lld systems, %lld atoms, %s; %d repetitions, medians\n",
              static_cast<long long>(gpu.n_systems()), static_cast<long long>(gpu.n_atoms()),
              std::string(dtype_name(fdt)).c_str(), reps);

  // ---------------------------------------------------------------- (a) GPUBuffer
  if (sections.find('a') != std::string::npos) {
    std::printf("\n(a) GPUBuffer.write vs cudaMemcpy device-to-device of the same bytes (GPU time)\n");
    sinks::GPUBuffer buf(n_systems + 1, 256, 0, kGpu);
    GpuTimer timer;
    struct Case {
      const char* label;
      const std::vector<bool>* mask;
      bool after_odd;  // written after odd_one (rows misaligned against the batch's)
    };
    for (const auto& [label, mask, after_odd] :
         {Case{"all systems", &all, false}, Case{"every other system", &half, false},
          Case{"all systems, after an odd system", &all, true}}) {
      const std::size_t bytes = selected_bytes(host, *mask);
      Tensor src(DType::UInt8, {static_cast<std::int64_t>(bytes)}, kGpu), dst(DType::UInt8, src.shape(), kGpu);
      std::vector<double> t_copy, t_write, t_host;
      for (int r = 0; r < reps + 3; ++r) {  // the first 3 warm up
        keep_gpu_busy();
        timer.start();
        cuda::copy_async(dst.raw(), src.raw(), bytes, cuda::compute_stream(0));
        const double tc = timer.stop();
        buf.zero();
        if (after_odd) buf.write(gpu, odd_one);
        keep_gpu_busy();
        timer.start();
        const double h0 = now_s();
        buf.write(gpu, *mask);
        const double h1 = now_s();
        const double tw = timer.stop();
        if (r >= 3) t_copy.push_back(tc), t_write.push_back(tw), t_host.push_back(h1 - h0);
      }
      std::printf(" %s: %.1f MB\n", label, double(bytes) / 1e6);
      line("cudaMemcpy device-to-device (GPU time)", bytes, median(t_copy));
      line("GPUBuffer.write, one fused gather (GPU time)", bytes, median(t_write), median(t_copy));
      if (after_odd) {
        std::printf("  %-44s %8.1f us\n", "host time per call (planned anew: mask alternates)", 1e6 * median(t_host));
        continue;
      }
      cuda::synchronize(cuda::compute_stream(0));
      double t0 = now_s();
      for (int r = 0; r < reps; ++r) cuda::copy_async(dst.raw(), src.raw(), bytes, cuda::compute_stream(0));
      cuda::synchronize(cuda::compute_stream(0));
      const double t_copy_stream = (now_s() - t0) / reps;
      t0 = now_s();
      for (int r = 0; r < reps; ++r) {
        buf.zero();
        buf.write(gpu, *mask);
      }
      cuda::synchronize(cuda::compute_stream(0));
      const double t_write_stream = (now_s() - t0) / reps;
      line("cudaMemcpy, back to back", bytes, t_copy_stream);
      line("GPUBuffer.write, back to back", bytes, t_write_stream, t_copy_stream);
      std::printf("  %-44s %8.1f us\n", "GPUBuffer.write host time per call", 1e6 * median(t_host));
    }
  }

  // ---------------------------------------------------------------- (b) HostMemory
  if (sections.find('b') != std::string::npos) {
    std::printf("\n(b) HostMemory from the GPU vs cudaMemcpy device-to-pinned-host of the same bytes\n");
    const std::size_t bytes = selected_bytes(host, all);
    Tensor src(DType::UInt8, {static_cast<std::int64_t>(bytes)}, kGpu);
    cuda::PinnedBuffer pinned;
    pinned.reserve(bytes);
    GpuTimer timer;
    std::vector<double> t_copy;
    for (int r = 0; r < reps + 3; ++r) {
      keep_gpu_busy();
      timer.start();
      cuda::copy_async(pinned.data(), src.raw(), bytes, cuda::compute_stream(0));
      const double t = timer.stop();
      if (r >= 3) t_copy.push_back(t);
    }
    // back to back, like snapshots: reps copies then one wait
    cuda::synchronize(cuda::compute_stream(0));
    double t0 = now_s();
    for (int r = 0; r < reps; ++r) cuda::copy_async(pinned.data(), src.raw(), bytes, cuda::compute_stream(0));
    cuda::synchronize(cuda::compute_stream(0));
    const double t_copy_stream = (now_s() - t0) / reps;

    sinks::HostMemory sink(n_systems * reps);
    // Warm up: one full pass allocates the staging slots and the pinned arenas (zero() keeps and
    // reuses them), so the timed pass measures the steady state of a sink that is written again
    // and again, not cudaHostAlloc; the cold pass's time is printed too.
    const double c_cold = now_s();
    for (int r = 0; r < reps; ++r) sink.write(gpu);
    sink.flush();
    const double t_cold = (now_s() - c_cold) / reps;
    sink.zero();
    // reps writes and a flush: time per write, and each write() call's time.
    const auto timed_pass = [&](sinks::HostMemory& h, std::vector<double>& calls) {
      cuda::synchronize(cuda::compute_stream(0));
      const double p0 = now_s();
      for (int r = 0; r < reps; ++r) {
        const double c0 = now_s();
        h.write(gpu);
        calls.push_back(now_s() - c0);
      }
      h.flush();
      return (now_s() - p0) / reps;
    };
    std::vector<double> t_call, t_call_reserved;
    const double t_sink = timed_pass(sink, t_call);
    // A sink that pinned its memory before the run (reserve_pinned): its first pass.
    sinks::HostMemory reserved(n_systems * reps);
    const double r0 = now_s();
    reserved.reserve_pinned(static_cast<std::size_t>(reps) * (bytes + 16 * 256), kGpu);
    const double t_reserve = now_s() - r0;
    const double t_reserved = timed_pass(reserved, t_call_reserved);
    std::printf(" all systems: %.1f MB per write\n", double(bytes) / 1e6);
    line("cudaMemcpy to pinned (one copy, GPU time)", bytes, median(t_copy));
    line("cudaMemcpy to pinned, back to back", bytes, t_copy_stream);
    line("HostMemory.write x reps + flush, per write", bytes, t_sink, t_copy_stream);
    line("  the same, first pass (arenas allocated)", bytes, t_cold, t_copy_stream);
    std::printf("  %-44s %8.3f ms (median; the step loop waits this long)\n", "HostMemory.write call",
                1e3 * median(t_call));
    line("HostMemory after reserve_pinned, first pass", bytes, t_reserved, t_copy_stream);
    std::printf("  %-44s %8.3f ms (median); reserve_pinned took %.3f s\n", "  its write call",
                1e3 * median(t_call_reserved), t_reserve);
  }

  // ---------------------------------------------------------------- (c) ZarrData
  if (sections.find('c') != std::string::npos) {
    std::printf("\n(c) ZarrData (file store, no compression), time per write\n");
    const std::size_t bytes = selected_bytes(host, all);
    sinks::ZarrWriteConfig cfg;
    cfg.compressor = {"none", 0, false, false};
    for (const auto& [label, batch] : {std::pair{"from the GPU", &gpu}, std::pair{"from the CPU", &host}}) {
      const fs::path path = fs::path(dir) / ("bench_gpu_sinks_" + std::to_string(::getpid()) + ".zarr");
      fs::remove_all(path);
      std::vector<double> t_call;
      double total = 0;
      {
        sinks::ZarrData z(path.string(), n_systems * (reps + 1), cfg);
        z.write(*batch);  // creates the layout
        z.flush();
        cuda::synchronize(cuda::compute_stream(0));
        const double t0 = now_s();
        for (int r = 0; r < reps; ++r) {
          const double c0 = now_s();
          z.write(*batch);
          t_call.push_back(now_s() - c0);
        }
        z.flush();
        total = (now_s() - t0) / reps;
      }
      fs::remove_all(path);
      std::printf(" %s: %.1f MB per write\n", label, double(bytes) / 1e6);
      std::printf("  %-44s %8.3f ms (median)\n", "ZarrData.write call", 1e3 * median(t_call));
      line("ZarrData.write x reps + flush, per write", bytes, total);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n_systems = 4096;
  int reps = 20;
  std::string dtype, dir = fs::temp_directory_path().string(), sections = "abc";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--systems")
      n_systems = std::stoll(argv[i + 1]);
    else if (a == "--dtype")
      dtype = argv[i + 1];
    else if (a == "--reps")
      reps = std::stoi(argv[i + 1]);
    else if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--sections")
      sections = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: bench_gpu_sinks [--systems 4096] [--dtype float32|float64] [--reps 20] [--dir DIR]\n"
                   "                       [--sections abc]\n");
      return 2;
    }
  }
  if (sections.empty() || sections.find_first_not_of("abc") != std::string::npos) {
    std::fprintf(stderr, "bench_gpu_sinks: --sections takes letters of a, b and c (got '%s')\n", sections.c_str());
    return 2;
  }
  if (dtype != "" && dtype != "float32" && dtype != "float64") {
    std::fprintf(stderr, "bench_gpu_sinks: --dtype must be float32 or float64\n");
    return 2;
  }
  if (cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_gpu_sinks: no GPU: %s\n", cuda::unavailable_reason().c_str());
    return 1;
  }
  std::printf("device %s\n", cuda::device_name(0).c_str());
  for (const char* name : {"float32", "float64"})
    if (dtype.empty() || dtype == name) run_all(dtype_from_name(name), n_systems, reps, dir, sections);
  return 0;
}
