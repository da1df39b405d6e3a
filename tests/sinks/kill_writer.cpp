// kill_writer: the victim of test_kill. Appends encoded trajectory samples to a ZarrData store
// forever (until it is killed), so that the test can SIGKILL it at a random moment and check
// what a reader and an appending writer find afterwards.
//
// usage: kill_writer STORE FORMAT CODEC CHUNK_SAMPLES CHUNKS_PER_SHARD SEED READY_FD
//   FORMAT v2|v3; CODEC none|zstd|gzip|blosc-lz4|blosc-zstd; READY_FD: a descriptor to which one
//   byte is written once the first write has been committed (-1: none).
// Prints nothing while it works; exits non-zero (with a message on stderr) only on an error.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "batchmd/sinks/zarr_data.hpp"
#include "trajectory_fixture.hpp"

namespace {

batchmd::zarr::CompressorConfig codec_of(const std::string& name) {
  if (name == "none") return {"none", 0, false, false};
  if (name == "zstd") return {"zstd", 1, false, false};
  if (name == "gzip") return {"gzip", 1, false, false};
  if (name == "blosc-lz4") return {"blosc-lz4", 5, true, false};
  if (name == "blosc-zstd") return {"blosc-zstd", 3, true, false};
  throw std::invalid_argument("unknown codec '" + name + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: kill_writer STORE FORMAT CODEC CHUNK_SAMPLES CHUNKS_PER_SHARD SEED READY_FD\n");
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

    batchmd::sinks::ZarrData sink(url, std::int64_t{1} << 40, cfg);
    std::int64_t id = 0;
    for (;;) {
      const auto k = static_cast<std::int64_t>(1 + rng() % 7);
      sink.write(batchmd::test_support::encoded_batch(id, k));
      id += k;
      if (ready_fd >= 0) {  // the first samples are committed: tell the test it may aim now
        sink.flush();
        const char one = 1;
        if (::write(ready_fd, &one, 1) != 1) return 3;
        ::close(ready_fd);
        ready_fd = -1;
      }
      const auto pause = rng() % 4;  // 0: as fast as it can (the queue applies back-pressure)
      if (pause > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kill_writer: %s\n", e.what());
    return 1;
  }
}
