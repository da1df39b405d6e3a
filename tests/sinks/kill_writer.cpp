// SPDX-License-Identifier: Apache-2.0
// kill_writer: the victim (and the rival) of the crash and writer-lock tests. Appends encoded
// trajectory samples (trajectory_fixture.hpp: every value encodes its sample id) to a ZarrData
// store until it is killed, or until it has written --samples samples.
//
// usage: kill_writer STORE FORMAT CODEC CHUNK_SAMPLES CHUNKS_PER_SHARD SEED READY_FD [options]
//   FORMAT v2|v3; CODEC none|zstd|gzip|blosc-lz4|blosc-zstd; READY_FD: a descriptor to which one
//   byte is written once the first write has been committed (-1: none).
// options:
//   --append            open an existing trajectory and append (default: the store must be new)
//   --first-id N        id of the first sample (default 0; with --append, the store's size)
//   --samples N         write N samples, then flush and exit 0 (default: until killed)
//   --go-fd FD          wait until FD becomes readable (a byte or EOF) before opening the store, so
//                       that a test can release several writers at the same moment
//   --stop-after-first  raise SIGSTOP after the first committed write (a stalled writer)
//   --commit-interval S ZarrWriteConfig::commit_interval in seconds (default: the library's)
//   --idle-fd FD        after --samples samples, write one byte to FD and wait to be killed, with no
//                       flush: what the store holds then is what the commit interval committed
//   --die-at-set K      die (_exit, as abruptly as SIGKILL: no destructor, no flush) just before
//                       the K-th store write (set) of the process, K >= 1: a kill at an exact
//                       point of the commit protocol
// Exit status: 0 done; 3 another writer holds the store (StoreLockedError); 4 the store exists
// and may not be written over (InvalidArgument); 1 any other error (message on stderr); 2 usage.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/lock.hpp"
#include "trajectory_fixture.hpp"

namespace {

/// A store that forwards everything, and ends the process at its K-th set().
class DyingStore final : public batchmd::zarr::Store {
 public:
  DyingStore(std::shared_ptr<batchmd::zarr::Store> inner, long long die_at)
      : inner_(std::move(inner)), die_at_(die_at) {}
  std::optional<batchmd::zarr::Bytes> get(const std::string& k) const override { return inner_->get(k); }
  std::optional<batchmd::zarr::Bytes> get_range(const std::string& k, std::uint64_t o, std::uint64_t n) const override {
    return inner_->get_range(k, o, n);
  }
  std::optional<batchmd::zarr::Bytes> get_suffix(const std::string& k, std::uint64_t n) const override {
    return inner_->get_suffix(k, n);
  }
  void set(const std::string& k, std::span<const std::byte> v) override {
    if (++sets_ == die_at_) ::_exit(137);
    inner_->set(k, v);
  }
  void erase(const std::string& k) override { inner_->erase(k); }
  std::vector<std::string> list(const std::string& p) const override { return inner_->list(p); }
  std::vector<std::string> list_dir(const std::string& p) const override { return inner_->list_dir(p); }
  bool exists(const std::string& k) const override { return inner_->exists(k); }
  std::string url() const override { return inner_->url(); }
  std::unique_ptr<batchmd::zarr::WriterLock> lock_writer(const batchmd::zarr::WriterLockOptions& o) override {
    return inner_->lock_writer(o);
  }

 private:
  std::shared_ptr<batchmd::zarr::Store> inner_;
  long long die_at_;
  std::atomic<long long> sets_{0};
};

batchmd::zarr::CompressorConfig codec_of(const std::string& name) {
  if (name == "none") return {"none", 0, false, false};
  if (name == "zstd") return {"zstd", 1, false, false};
  if (name == "gzip") return {"gzip", 1, false, false};
  if (name == "blosc-lz4") return {"blosc-lz4", 5, true, false};
  if (name == "blosc-zstd") return {"blosc-zstd", 3, true, false};
  throw std::invalid_argument("unknown codec '" + name + "'");
}

void wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0) {
  }
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr,
                 "usage: kill_writer STORE FORMAT CODEC CHUNK_SAMPLES CHUNKS_PER_SHARD SEED READY_FD [--append] "
                 "[--first-id N] [--samples N] [--go-fd FD] [--stop-after-first] [--die-at-set K]\n");
    return 2;
  }
  try {
    const std::string url = argv[1];
    const std::string format = argv[2];
    batchmd::sinks::ZarrWriteConfig cfg;
    if (format == "v2") {
      cfg.format = batchmd::zarr::ZarrFormat::V2;
    } else if (format == "v3") {
      cfg.format = batchmd::zarr::ZarrFormat::V3;
    } else {
      throw std::invalid_argument("FORMAT must be v2 or v3, got '" + format + "'");
    }
    cfg.compressor = codec_of(argv[3]);
    cfg.chunk_samples = std::stoll(argv[4]);
    // Small meta/ chunks (32 pointers, 256 mask entries): their chunk boundaries are crossed
    // too, and a write does not re-encode 1 MiB chunks of the default size.
    cfg.chunk_bytes = 256;
    cfg.chunks_per_shard = std::stoll(argv[5]);
    std::mt19937_64 rng(std::stoull(argv[6]));
    int ready_fd = std::stoi(argv[7]);
    std::int64_t first_id = -1, samples = -1;
    bool stop_after_first = false;
    long long die_at_set = 0;
    int idle_fd = -1;
    for (int i = 8; i < argc; ++i) {
      const std::string a = argv[i];
      const bool has_value = i + 1 < argc;
      if (a == "--append") {
        cfg.append = true;
      } else if (a == "--first-id" && has_value) {
        first_id = std::stoll(argv[++i]);
      } else if (a == "--samples" && has_value) {
        samples = std::stoll(argv[++i]);
      } else if (a == "--go-fd" && has_value) {
        wait_readable(std::stoi(argv[++i]));
      } else if (a == "--stop-after-first") {
        stop_after_first = true;
      } else if (a == "--commit-interval" && has_value) {
        cfg.commit_interval = std::stod(argv[++i]);
      } else if (a == "--idle-fd" && has_value) {
        idle_fd = std::stoi(argv[++i]);
      } else if (a == "--die-at-set" && has_value) {
        die_at_set = std::stoll(argv[++i]);
      } else {
        throw std::invalid_argument("unknown option '" + a + "'");
      }
    }

    std::shared_ptr<batchmd::zarr::Store> store = batchmd::zarr::open_store(url);
    if (die_at_set > 0) store = std::make_shared<DyingStore>(store, die_at_set);
    batchmd::sinks::ZarrData sink(store, std::int64_t{1} << 40, cfg);
    std::int64_t id = first_id >= 0 ? first_id : sink.size();
    const std::int64_t end = samples >= 0 ? id + samples : INT64_MAX;
    bool first = true;
    while (id < end) {
      const auto k = std::min<std::int64_t>(static_cast<std::int64_t>(1 + rng() % 7), end - id);
      sink.write(batchmd::test_support::encoded_batch(id, k));
      id += k;
      if (first && (ready_fd >= 0 || stop_after_first)) {  // the first samples are committed
        sink.flush();
        if (ready_fd >= 0) {
          const char one = 1;
          if (::write(ready_fd, &one, 1) != 1) return 1;
          ::close(ready_fd);
          ready_fd = -1;
        }
        if (stop_after_first) ::raise(SIGSTOP);
      }
      first = false;
      const auto pause = rng() % 4;  // 0: as fast as it can (the queue applies back-pressure)
      if (pause > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
    if (idle_fd >= 0) {  // accepted, not flushed: only the commit interval can make them visible
      const char one = 1;
      if (::write(idle_fd, &one, 1) != 1) return 1;
      ::close(idle_fd);
      for (;;) ::pause();
    }
    sink.flush();
    return 0;
  } catch (const batchmd::zarr::StoreLockedError& e) {
    std::fprintf(stderr, "kill_writer: %s\n", e.what());
    return 3;
  } catch (const batchmd::InvalidArgument& e) {
    std::fprintf(stderr, "kill_writer: %s\n", e.what());
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kill_writer: %s\n", e.what());
    return 1;
  }
}
