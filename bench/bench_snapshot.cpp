// SPDX-License-Identifier: Apache-2.0
// bench_snapshot: what recording a trajectory costs on the CPU (issue 15), side by side in one run.
//
//   write  N snapshots of a realistic batch to (a) plain write(2)s of the same bytes into one file
//          (the same durability policy: none, or with --fsync an fdatasync per chunk_bytes written,
//          as FileStore{fsync} syncs each chunk), (b) ZarrData without compression, (c) ZarrData
//          with zstd level 1; and one core's zstd-1 throughput on the same bytes (the zstd target
//          is 0.8 x workers x that). Two floors beside them: the same bytes as one file per
//          chunk ("1 MiB files", what an unsharded store's chunk objects cost the file system) and
//          as one file per field and shard of 64 chunks written in place ("shard files", what a
//          store appending to shards in place would cost). Prints MB/s of raw bytes, the ratios
//          and the mean time of a write() call (the step thread's share).
//   loop   the step loop of LJ dynamics on the default-job-sized batch with a SnapshotHook every
//          k steps into none | HostMemory | ZarrData (none) | ZarrData (zstd 1), rounds alternated
//          so machine noise hits every variant alike: time per step, slowdown against no hook,
//          and the mean and longest write() call (a stall of the step loop shows up there).
//
// Cases: "default" = 32 systems / 3,908 atoms, float64 (the size of the default job of the README);
// "large" = 4,096 systems of 64-256 atoms, float32 (the GPU benchmark's case (b)). Every field of
// the batch is recorded (what SnapshotHook does by default). Frames come from real LJ dynamics.
//
// usage: bench_snapshot [--mode write|loop|all] [--case default|large|both] [--snapshots N]
//                       [--dir DIR] [--format v3|v2] [--fsync] [--workers 2] [--steps 2000]
//                       [--every 10] [--rounds 3] [--write-rounds 2] [--variants none,zstd,...]
//   --variants       write mode: which ZarrData variants (none, zstd, none_sharded16,
//                    zstd_sharded16, zstd_fixed: zstd with positions, velocities and forces at
//                    1e-3 σ, 1e-4 σ/τ, 1e-3 ε/σ; default the first four), e.g. to profile one
//                    under perf or strace
//   --chunk-bytes    ZarrWriteConfig::chunk_bytes and the size of the "1 MiB files" (default 1 MiB)
//   --write-rounds   write mode: alternated rounds, the best of which is printed (default 2)
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "batchmd/core/parallel.hpp"
#include "batchmd/hooks/snapshot.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/codec.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "lj_system.hpp"

using namespace batchmd;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// CPU seconds of the whole process (every thread): on a shared machine this, not the wall time,
/// says what a variant costs.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

struct Options {
  std::string mode = "all", which = "both", dir = fs::temp_directory_path().string(), format = "v3";
  std::int64_t snapshots = 0;  // 0: per case (default 200, large 12)
  bool fsync = false;
  int workers = 2;
  std::int64_t steps = 2000, every = 10, rounds = 3;
  int write_rounds = 2;
  std::int64_t chunk_bytes = 1 << 20;  // ZarrWriteConfig::chunk_bytes (and the "1 MiB files" size)
  std::vector<std::string> variants = {"none", "zstd", "none_sharded16", "zstd_sharded16"};
};

/// One fcc box of nx*ny*nz cells (4 atoms each) at the in.lj density.
void fcc_box(std::int64_t nx, std::int64_t ny, std::int64_t nz, DType dtype, std::vector<AtomicData>& out) {
  const double a = std::cbrt(4.0 / 0.8442);
  const double basis[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
  std::vector<double> pos;
  for (std::int64_t i = 0; i < nx; ++i)
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t k = 0; k < nz; ++k)
        for (const auto& b : basis) {
          pos.push_back((double(i) + b[0]) * a);
          pos.push_back((double(j) + b[1]) * a);
          pos.push_back((double(k) + b[2]) * a);
        }
  std::vector<std::int64_t> z(pos.size() / 3, 18);
  out.push_back(AtomicData::make(dtype, pos, z, {a * double(nx), 0, 0, 0, a * double(ny), 0, 0, 0, a * double(nz)},
                                 {true, true, true}));
}

/// "default": 31 boxes of 3x3x3 cells (108 atoms) and one of 4x5x7 (560): 32 systems, 3,908 atoms.
/// "large": 4,096 boxes of 16-64 cells (64-256 atoms), seeded.
Batch make_case(const std::string& which) {
  std::vector<AtomicData> sys;
  if (which == "default") {
    for (int s = 0; s < 31; ++s) fcc_box(3, 3, 3, DType::Float64, sys);
    fcc_box(4, 5, 7, DType::Float64, sys);
  } else {
    std::mt19937_64 rng(15);
    const std::int64_t shapes[][3] = {{2, 2, 4}, {2, 3, 3}, {2, 3, 4}, {3, 3, 3}, {2, 4, 4},
                                      {3, 3, 4}, {2, 4, 5}, {3, 4, 4}, {3, 3, 6}, {4, 4, 4}};
    for (int s = 0; s < 4096; ++s) {
      const auto& d = shapes[rng() % 10];
      fcc_box(d[0], d[1], d[2], DType::Float32, sys);
    }
  }
  Batch b = Batch::from_systems(sys);
  dynamics::maxwell_boltzmann(b, 1.44 / units::kBoltzmann, 87287);
  return b;
}

std::shared_ptr<model::LennardJones> lj_model() {
  return std::make_shared<model::LennardJones>(bench::inlj_model());  // the boxes are at in.lj's density
}

/// `n` distinct frames of the batch, `gap` MD steps apart (positions, velocities, forces move).
std::vector<Batch> frames_of(Batch batch, int n, int gap) {
  std::vector<Batch> out;
  dynamics::DemoDynamics dyn(lj_model(), bench::inlj_dt());
  for (int f = 0; f < n; ++f) {
    dyn.run(batch, gap);
    out.push_back(batch.clone());
  }
  return out;
}

double raw_bytes(const Batch& b) {
  double n = 0;
  for (const auto& [k, f] : b.fields()) n += double(f.tensor.nbytes());
  return n;
}

void write_all(int fd, const std::byte* p, std::size_t n, const std::string& what) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      std::perror(what.c_str());
      std::exit(1);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

/// (a) plain write(2)s of every field of every snapshot into one file.
struct Timing {
  double seconds = 0, cpu = 0;
};

Timing plain_writes(const std::vector<Batch>& frames, std::int64_t n, const fs::path& file, bool sync,
                    std::int64_t chunk_bytes) {
  fs::remove(file);
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(file.c_str());
    std::exit(1);
  }
  std::int64_t since_sync = 0;
  for (std::int64_t s = 0; s < n; ++s)
    for (const auto& [k, f] : frames[static_cast<std::size_t>(s) % frames.size()].fields()) {
      write_all(fd, static_cast<const std::byte*>(f.tensor.raw()), f.tensor.nbytes(), file.string());
      since_sync += static_cast<std::int64_t>(f.tensor.nbytes());
      if (sync && since_sync >= chunk_bytes) {
        ::fdatasync(fd);
        since_sync = 0;
      }
    }
  if (sync) ::fdatasync(fd);
  ::close(fd);
  return {since(t0), cpu_seconds() - c0};
}

/// (a') the same bytes as one file per chunk_bytes, each written to a temporary name and renamed
/// (what FileStore does for a chunk): the floor of any one-file-per-chunk layout on this filesystem.
Timing plain_chunk_files(const std::vector<Batch>& frames, std::int64_t n, const fs::path& dir, bool sync,
                         std::size_t chunk_bytes) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  std::vector<std::byte> chunk;
  chunk.reserve(chunk_bytes);
  int files = 0;
  const auto emit = [&] {
    const fs::path tmp = dir / ("tmp" + std::to_string(files)), name = dir / std::to_string(files);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::perror(tmp.c_str());
      std::exit(1);
    }
    write_all(fd, chunk.data(), chunk.size(), tmp.string());
    if (sync) ::fsync(fd);
    ::close(fd);
    fs::rename(tmp, name);
    ++files;
    chunk.clear();
  };
  for (std::int64_t s = 0; s < n; ++s)
    for (const auto& [k, f] : frames[static_cast<std::size_t>(s) % frames.size()].fields()) {
      const auto* p = static_cast<const std::byte*>(f.tensor.raw());
      for (std::size_t done = 0; done < f.tensor.nbytes();) {
        const std::size_t take = std::min(chunk_bytes - chunk.size(), f.tensor.nbytes() - done);
        chunk.insert(chunk.end(), p + done, p + done + take);
        done += take;
        if (chunk.size() == chunk_bytes) emit();
      }
    }
  if (!chunk.empty()) emit();
  return {since(t0), cpu_seconds() - c0};
}

/// (a'') the same bytes as one file per field and shard of `per_shard` chunks: each chunk written
/// in place (pwrite at its slot) when it fills, the unfinished one rewritten padded every second
/// (a commit) and at the end: the floor of a shard store appended in place, which creates one
/// inode per field and shard instead of one per chunk.
Timing plain_shard_files(const std::vector<Batch>& frames, std::int64_t n, const fs::path& dir, bool sync,
                         std::size_t chunk_bytes, std::size_t per_shard) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const double c0 = cpu_seconds();
  const auto t0 = Clock::now();
  struct Out {
    std::vector<std::byte> chunk;
    std::size_t index = 0;  // chunks completed
    int fd = -1;
  };
  std::map<std::string, Out> outs;
  std::vector<std::byte> padded(chunk_bytes);
  const auto put = [&](const std::string& k, Out& o) {
    const fs::path name = dir / (k + "_" + std::to_string(o.index / per_shard));
    if (o.fd < 0) {
      o.fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (o.fd < 0) {
        std::perror(name.c_str());
        std::exit(1);
      }
    }
    const std::byte* p = o.chunk.data();
    if (o.chunk.size() < chunk_bytes) {  // an unfinished chunk: padded, as a commit stores it
      std::copy(o.chunk.begin(), o.chunk.end(), padded.begin());
      p = padded.data();
    }
    const off_t at = static_cast<off_t>((o.index % per_shard) * chunk_bytes);
    if (::pwrite(o.fd, p, chunk_bytes, at) != static_cast<ssize_t>(chunk_bytes)) {
      std::perror(name.c_str());
      std::exit(1);
    }
    if (sync) ::fdatasync(o.fd);
  };
  const auto completed = [&](Out& o) {
    ++o.index;
    o.chunk.clear();
    if (o.index % per_shard == 0) {  // the shard is full: its file is done
      ::close(o.fd);
      o.fd = -1;
    }
  };
  auto last_commit = Clock::now();
  for (std::int64_t s = 0; s < n; ++s) {
    for (const auto& [k, f] : frames[static_cast<std::size_t>(s) % frames.size()].fields()) {
      Out& o = outs[k];
      if (o.chunk.capacity() < chunk_bytes) o.chunk.reserve(chunk_bytes);
      const auto* p = static_cast<const std::byte*>(f.tensor.raw());
      for (std::size_t done = 0; done < f.tensor.nbytes();) {
        const std::size_t take = std::min(chunk_bytes - o.chunk.size(), f.tensor.nbytes() - done);
        o.chunk.insert(o.chunk.end(), p + done, p + done + take);
        done += take;
        if (o.chunk.size() == chunk_bytes) {
          put(k, o);
          completed(o);
        }
      }
    }
    if (since(last_commit) >= 1.0) {
      for (auto& [k, o] : outs)
        if (!o.chunk.empty()) put(k, o);
      last_commit = Clock::now();
    }
  }
  for (auto& [k, o] : outs) {
    if (!o.chunk.empty()) put(k, o);
    if (o.fd >= 0) ::close(o.fd);
  }
  return {since(t0), cpu_seconds() - c0};
}

struct ZarrRun {
  double seconds = 0, cpu = 0, call_mean = 0, call_max = 0;
  std::uintmax_t stored = 0, files = 0, dirs = 0;  // what the store holds at the end
};

/// (b), (c): ZarrData on a FileStore (fsync per store write with --fsync), until flushed and closed.
ZarrRun zarr_writes(const std::vector<Batch>& frames, std::int64_t n, const fs::path& path, const Options& o,
                    const std::string& codec, std::int64_t chunks_per_shard, bool fixed = false) {
  fs::remove_all(path);
  sinks::ZarrWriteConfig cfg;
  cfg.format = o.format == "v2" ? zarr::ZarrFormat::V2 : zarr::ZarrFormat::V3;
  cfg.compressor = {codec, 1, false, false};
  cfg.workers = o.workers;
  cfg.chunks_per_shard = chunks_per_shard;
  cfg.chunk_bytes = o.chunk_bytes;
  if (fixed) {  // in.lj's reduced units: σ, σ/τ, ε/σ
    cfg.fields["positions"].precision = 1e-3;
    cfg.fields["velocities"].precision = 1e-4;
    cfg.fields["forces"].precision = 1e-3;
  }
  ZarrRun r;
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  {
    auto store = std::make_shared<zarr::FileStore>(path, zarr::FileStoreOptions{o.fsync});
    sinks::ZarrData sink(store, n * frames[0].n_systems(), cfg);
    for (std::int64_t s = 0; s < n; ++s) {
      const auto c0 = Clock::now();
      sink.write(frames[static_cast<std::size_t>(s) % frames.size()]);
      const double c = since(c0);
      r.call_mean += c / double(n);
      r.call_max = std::max(r.call_max, c);
    }
    sink.flush();
  }
  r.seconds = since(t0);
  r.cpu = cpu_seconds() - cpu0;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file()) {
      r.stored += e.file_size();
      ++r.files;
    } else if (e.is_directory()) {
      ++r.dirs;
    }
  sinks::TrajectoryReader check(path.string());
  if (check.num_samples() != n * frames[0].n_systems()) {
    std::fprintf(stderr, "bench_snapshot: the store holds %lld samples, expected %lld\n",
                 static_cast<long long>(check.num_samples()), static_cast<long long>(n * frames[0].n_systems()));
    std::exit(1);
  }
  return r;
}

/// One core's zstd-1 throughput on the same bytes, in 1 MiB chunks of each field (the codec ZarrData uses).
double zstd_single_core_MBps(const std::vector<Batch>& frames, std::int64_t n) {
  double bytes = 0, packed = 0;
  const auto t0 = Clock::now();
  for (std::int64_t s = 0; s < n; ++s)
    for (const auto& [k, f] : frames[static_cast<std::size_t>(s) % frames.size()].fields()) {
      const auto* p = static_cast<const std::byte*>(f.tensor.raw());
      const std::size_t total = f.tensor.nbytes(), esz = dtype_size(f.tensor.dtype());
      for (std::size_t off = 0; off < total; off += 1u << 20) {
        const std::size_t len = std::min<std::size_t>(1u << 20, total - off);
        nlohmann::json codecs = nlohmann::json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
        for (const auto& c : zarr::compressor_codecs({"zstd", 1, false, false}, f.tensor.dtype())) codecs.push_back(c);
        const zarr::CodecPipeline pipe(codecs, zarr::ChunkSpec{f.tensor.dtype(), len / esz});
        packed += double(pipe.encode(std::span(p + off, len)).size());
        bytes += double(len);
      }
    }
  const double t = since(t0);
  std::printf("zstd1_compression_ratio %.2f\n", bytes / packed);
  return bytes / 1e6 / t;
}

void write_mode(const std::string& which, const Options& o) {
  const std::int64_t n = o.snapshots > 0 ? o.snapshots : which == "default" ? 200 : 12;
  // Distinct frames, so that no compressed chunk holds repeats that zstd would find and real
  // trajectories do not have: the default case's 1 MiB chunk of a float64 atom field spans ~11
  // snapshots, so 64 frames (a field's cycle ~6 MB, beyond zstd-1's window) for it; a large
  // snapshot's field alone exceeds a chunk.
  const auto frames = frames_of(make_case(which), which == "default" ? 64 : 4, which == "default" ? 10 : 1);
  const Batch& b = frames[0];
  const double raw = raw_bytes(frames[0]) * double(n);
  std::printf(
      "\n== write: case %s (%lld systems, %lld atoms, %s), %lld snapshots of %.2f MB, %.0f MB raw; "
      "%s, %s, %d workers\n",
      which.c_str(), static_cast<long long>(b.n_systems()), static_cast<long long>(b.n_atoms()),
      std::string(dtype_name(b.float_dtype())).c_str(), static_cast<long long>(n), raw_bytes(frames[0]) / 1e6,
      raw / 1e6, o.format.c_str(), o.fsync ? "fsync" : "no fsync", o.workers);
  const fs::path dir(o.dir);
  fs::create_directories(dir);
  // Rounds alternated (--write-rounds, two by default); the better of each (the first round also
  // warms the page cache).
  //
  // Every output stays until the end of the run, each round writing to new paths: on ext4 without
  // a journal (this VM's disk) creating a file skips every inode of its group deleted in the last
  // ~30 s (`recently_deleted`, a scan per create), so deleting one variant's few hundred files just
  // before the next variant creates its own made that variant pay for the deletions (perf: half of
  // the run's cycles in ext4 inode allocation). A run writing a new trajectory deletes nothing.
  Timing plain{1e30, 1e30}, per_chunk{1e30, 1e30}, per_shard{1e30, 1e30};
  std::map<std::string, ZarrRun> best;
  std::vector<fs::path> outputs;
  for (int round = 0; round < o.write_rounds; ++round) {
    const std::string r_ = "_r" + std::to_string(round);
    outputs.push_back(dir / ("bench_snapshot_plain" + r_ + ".bin"));
    const Timing p = plain_writes(frames, n, outputs.back(), o.fsync, o.chunk_bytes);
    plain = {std::min(plain.seconds, p.seconds), std::min(plain.cpu, p.cpu)};
    outputs.push_back(dir / ("bench_snapshot_chunks" + r_));
    const Timing q = plain_chunk_files(frames, n, outputs.back(), o.fsync, static_cast<std::size_t>(o.chunk_bytes));
    per_chunk = {std::min(per_chunk.seconds, q.seconds), std::min(per_chunk.cpu, q.cpu)};
    outputs.push_back(dir / ("bench_snapshot_shards" + r_));
    const Timing h = plain_shard_files(frames, n, outputs.back(), o.fsync, static_cast<std::size_t>(o.chunk_bytes), 64);
    per_shard = {std::min(per_shard.seconds, h.seconds), std::min(per_shard.cpu, h.cpu)};
    for (const std::string& variant : o.variants) {
      const std::string codec = variant.substr(0, 4);
      outputs.push_back(dir / ("bench_snapshot_" + variant + r_ + ".zarr"));
      const ZarrRun r = zarr_writes(frames, n, outputs.back(), o, codec, variant.ends_with("sharded16") ? 16 : 0,
                                    variant.ends_with("_fixed"));
      const std::string& codec_key = variant;
      if (!best.count(codec_key)) best[codec_key] = r;
      best[codec_key].seconds = std::min(best[codec_key].seconds, r.seconds);
      best[codec_key].cpu = std::min(best[codec_key].cpu, r.cpu);
    }
  }
  if (!std::getenv("BENCH_SNAPSHOT_KEEP"))
    for (const auto& p : outputs) fs::remove_all(p);
  const double zstd1 = zstd_single_core_MBps(frames, std::min<std::int64_t>(n, 20));
  // MB/s of wall time (the target), and MB per CPU second (what it costs, robust to a loaded machine).
  std::printf("plain_write_MBps %.0f  cpu_MBps %.0f\n", raw / 1e6 / plain.seconds, raw / 1e6 / plain.cpu);
  std::printf("plain_1MiB_files_MBps %.0f  ratio_vs_plain %.2f  cpu_MBps %.0f\n", raw / 1e6 / per_chunk.seconds,
              plain.seconds / per_chunk.seconds, raw / 1e6 / per_chunk.cpu);
  std::printf("shard_files_in_place_MBps %.0f  ratio_vs_plain %.2f  cpu_MBps %.0f  cpu_ratio_vs_plain %.2f\n",
              raw / 1e6 / per_shard.seconds, plain.seconds / per_shard.seconds, raw / 1e6 / per_shard.cpu,
              plain.cpu / per_shard.cpu);
  for (const auto& [codec, r] : best) {
    std::printf(
        "zarr_%s_write_MBps %.0f  ratio_vs_plain %.2f  cpu_MBps %.0f  cpu_ratio_vs_plain %.2f  "
        "write_call_mean_ms %.3f  write_call_max_ms %.2f  stored_MB %.1f  files %ju  dirs %ju\n",
        codec.c_str(), raw / 1e6 / r.seconds, plain.seconds / r.seconds, raw / 1e6 / r.cpu, plain.cpu / r.cpu,
        1e3 * r.call_mean, 1e3 * r.call_max, double(r.stored) / 1e6, r.files, r.dirs);
  }
  if (best.count("zstd"))
    std::printf("zstd1_single_core_MBps %.0f  zarr_zstd_vs_workers_x_single_core %.2f\n", zstd1,
                raw / 1e6 / best["zstd"].seconds / (double(o.workers) * zstd1));
}

/// Times every write() the hook makes.
class TimedSink : public sinks::DataSink {
 public:
  explicit TimedSink(std::shared_ptr<sinks::DataSink> s) : inner_(std::move(s)) {}
  std::string name() const override { return inner_->name(); }
  using DataSink::write;
  void write(const Batch& b, const std::vector<bool>& mask) override {
    const auto t0 = Clock::now();
    inner_->write(b, mask);
    const double t = since(t0);
    total += t;
    longest = std::max(longest, t);
    ++calls;
  }
  Batch read() override { return inner_->read(); }
  void zero() override { inner_->zero(); }
  void flush() override {
    const auto t0 = Clock::now();
    inner_->flush();
    flush_s += since(t0);
  }
  std::int64_t size() const override { return inner_->size(); }
  std::int64_t capacity() const override { return inner_->capacity(); }
  double total = 0, longest = 0, flush_s = 0;
  std::int64_t calls = 0;

 private:
  std::shared_ptr<sinks::DataSink> inner_;
};

void loop_mode(const Options& o) {
  const Batch start = std::move(frames_of(make_case("default"), 1, 10)[0]);
  const std::int64_t snaps = o.steps / o.every + 1;
  std::printf(
      "\n== loop: case default (%lld systems, %lld atoms), %lld steps, snapshot every %lld steps "
      "(%.2f MB each), %d simulation thread(s), %lld rounds\n",
      static_cast<long long>(start.n_systems()), static_cast<long long>(start.n_atoms()),
      static_cast<long long>(o.steps), static_cast<long long>(o.every), raw_bytes(start) / 1e6, num_threads(),
      static_cast<long long>(o.rounds));
  const std::vector<std::string> kinds = {"none", "host", "zarr-none", "zarr-zstd1"};
  std::map<std::string, double> total, call_total, call_max, flush_total;
  std::map<std::string, std::int64_t> calls;
  const fs::path store = fs::path(o.dir) / "bench_snapshot_loop.zarr";
  for (std::int64_t round = 0; round < o.rounds; ++round)
    for (const auto& kind : kinds) {
      Batch batch = start.clone();
      dynamics::DemoDynamics dyn(lj_model(), bench::inlj_dt());
      std::shared_ptr<TimedSink> timed;
      if (kind == "host") {
        timed = std::make_shared<TimedSink>(std::make_shared<sinks::HostMemory>(snaps * batch.n_systems()));
      } else if (kind != "none") {
        fs::remove_all(store);
        sinks::ZarrWriteConfig cfg;
        cfg.compressor = kind == "zarr-none" ? zarr::CompressorConfig{"none", 0, false, false}
                                             : zarr::CompressorConfig{"zstd", 1, false, false};
        cfg.workers = o.workers;
        timed = std::make_shared<TimedSink>(std::make_shared<sinks::ZarrData>(
            std::make_shared<zarr::FileStore>(store, zarr::FileStoreOptions{o.fsync}), snaps * batch.n_systems(), cfg));
      }
      if (timed) dyn.register_hook(std::make_shared<hooks::SnapshotHook>(timed, o.every));
      const auto t0 = Clock::now();
      dyn.run(batch, o.steps);  // the hook flushes at the end: the whole trajectory is in the timing
      const double t = since(t0);
      total[kind] += t;
      if (timed) {
        call_total[kind] += timed->total;
        call_max[kind] = std::max(call_max[kind], timed->longest);
        flush_total[kind] += timed->flush_s;
        calls[kind] += timed->calls;
      }
      std::printf("round %lld %-10s loop %.3f s\n", static_cast<long long>(round), kind.c_str(), t);
      std::fflush(stdout);
    }
  fs::remove_all(store);
  for (const auto& kind : kinds) {
    std::printf("%-10s ms_per_step %.4f  slowdown %.3f", kind.c_str(), 1e3 * total[kind] / double(o.rounds * o.steps),
                total[kind] / total["none"]);
    if (calls[kind] > 0)
      std::printf("  write_call_mean_ms %.3f  write_call_max_ms %.2f  final_flush_ms %.2f",
                  1e3 * call_total[kind] / double(calls[kind]), 1e3 * call_max[kind],
                  1e3 * flush_total[kind] / double(o.rounds));
    std::printf("\n");
  }
  const double data_MBps = raw_bytes(start) / 1e6 / (double(o.every) * total["none"] / double(o.rounds * o.steps));
  std::printf("snapshot data rate at the unhooked step rate: %.0f MB/s\n", data_MBps);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_snapshot: missing value after %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--mode")
      o.mode = next();
    else if (a == "--case")
      o.which = next();
    else if (a == "--snapshots")
      o.snapshots = std::stoll(next());
    else if (a == "--dir")
      o.dir = next();
    else if (a == "--format")
      o.format = next();
    else if (a == "--fsync")
      o.fsync = true;
    else if (a == "--workers")
      o.workers = std::stoi(next());
    else if (a == "--steps")
      o.steps = std::stoll(next());
    else if (a == "--every")
      o.every = std::stoll(next());
    else if (a == "--rounds")
      o.rounds = std::stoll(next());
    else if (a == "--chunk-bytes")
      o.chunk_bytes = std::max<std::int64_t>(1, std::stoll(next()));
    else if (a == "--write-rounds")
      o.write_rounds = std::max(1, std::stoi(next()));
    else if (a == "--variants") {
      o.variants.clear();
      std::stringstream list(next());
      for (std::string v; std::getline(list, v, ',');) {
        if (v != "none" && v != "zstd" && v != "none_sharded16" && v != "zstd_sharded16" && v != "zstd_fixed") {
          std::fprintf(stderr,
                       "bench_snapshot: unknown variant '%s' (none, zstd, none_sharded16, zstd_sharded16, "
                       "zstd_fixed)\n",
                       v.c_str());
          return 2;
        }
        o.variants.push_back(v);
      }
    } else {
      std::fprintf(stderr,
                   "usage: bench_snapshot [--mode write|loop|all] [--case default|large|both] [--snapshots N]\n"
                   "                      [--dir DIR] [--format v3|v2] [--fsync] [--workers 2] [--steps 2000]\n"
                   "                      [--every 10] [--rounds 3] [--write-rounds 2] [--variants none,zstd,...]\n"
                   "                      [--chunk-bytes 1048576]\n");
      return 2;
    }
  }
  set_num_threads(1);
  if (o.mode == "write" || o.mode == "all") {
    if (o.which == "default" || o.which == "both") write_mode("default", o);
    if (o.which == "large" || o.which == "both") write_mode("large", o);
  }
  if (o.mode == "loop" || o.mode == "all") loop_mode(o);
  return 0;
}
