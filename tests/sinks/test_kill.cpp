// Crash safety of ZarrData: a writer process (kill_writer) appends samples until it is SIGKILLed
// at a random (seeded, reproducible) moment; afterwards the store must open with a consistent
// prefix of whole samples 0..N-1, and ZarrData(append = true) must resume it cleanly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using batchmd::test_support::check_encoded;
using batchmd::test_support::encoded_batch;
namespace fs = std::filesystem;

namespace {

const std::string kWriter = BATCHMD_KILL_WRITER;
constexpr std::uint64_t kSeed = 0x6b696c6c;  // every delay and batch size derives from this

struct Variant {
  std::string label;
  std::string format;  // v2 | v3
  std::string codec;
  std::int64_t chunk_samples;
  std::int64_t chunks_per_shard;
};

std::string temp_store(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_kill_" + name + "_" + std::to_string(::getpid()) + ".zarr");
  fs::remove_all(p);
  return p.string();
}

/// A running kill_writer. With `ready`, the constructor returns once the writer has committed
/// its first samples (the writer signals through a pipe).
class Writer {
 public:
  Writer(const std::string& url, const Variant& v, std::uint64_t seed, bool ready) {
    int fds[2] = {-1, -1};
    if (ready && ::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> args = {kWriter,
                                     url,
                                     v.format,
                                     v.codec,
                                     std::to_string(v.chunk_samples),
                                     std::to_string(v.chunks_per_shard),
                                     std::to_string(seed),
                                     std::to_string(ready ? fds[1] : -1)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {  // child: only async-signal-safe calls until exec
      if (ready) ::close(fds[0]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (!ready) return;
    ::close(fds[1]);
    pollfd p{fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, 30'000);
    char c = 0;
    ready_ = n == 1 && ::read(fds[0], &c, 1) == 1;
    ::close(fds[0]);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  /// SIGKILLs the writer and reaps it; "" if SIGKILL is what ended it, else how it ended.
  std::string kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return "";
    if (WIFEXITED(status)) return "the writer exited on its own with status " + std::to_string(WEXITSTATUS(status));
    return "the writer died of signal " + std::to_string(WTERMSIG(status));
  }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
  bool reaped_ = false;
};

/// Every sample 0..N-1 of the store is whole and is sample id i; returns N.
std::int64_t expect_consistent_prefix(const TrajectoryReader& r) {
  const std::int64_t n = r.num_samples();
  EXPECT_GE(n, 0);
  if (n <= 0) return n;
  const Batch all = r.read_range(0, n);
  EXPECT_EQ(all.n_systems(), n);
  for (std::int64_t s = 0; s < n; ++s) {
    const std::string why = check_encoded(all, s, s);
    if (!why.empty()) {
      ADD_FAILURE() << "sample " << s << " of " << n << ": " << why;
      break;
    }
  }
  return n;
}

/// ZarrData(append = true) resumes the killed store; the appended samples read back after the
/// survivors.
void expect_appendable(const std::string& url, std::int64_t n, zarr::ZarrFormat format) {
  {
    ZarrWriteConfig cfg;
    cfg.format = format;
    cfg.append = true;
    ZarrData sink(url, 1'000'000, cfg);
    ASSERT_EQ(sink.size(), n) << "ZarrData(append) sees another count than TrajectoryReader";
    sink.write(encoded_batch(n, 5));
    sink.write(encoded_batch(n + 5, 1));
    sink.write(encoded_batch(n + 6, 7));
    sink.flush();
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), n + 13);
  expect_consistent_prefix(r);
}

zarr::ZarrFormat format_of(const Variant& v) { return v.format == "v2" ? zarr::ZarrFormat::V2 : zarr::ZarrFormat::V3; }

class KillWriter : public ::testing::TestWithParam<Variant> {};

}  // namespace

// 8 kills per variant, each 5-300 ms after the writer's first commit.
TEST_P(KillWriter, LeavesAConsistentPrefixThatCanBeAppended) {
  ASSERT_TRUE(fs::exists(kWriter)) << kWriter;
  const Variant& v = GetParam();
  std::mt19937_64 rng(kSeed ^ std::hash<std::string>{}(v.label));
  for (int run = 0; run < 8; ++run) {
    const std::uint64_t writer_seed = rng();
    const auto delay_ms = static_cast<int>(5 + rng() % 296);
    SCOPED_TRACE(v.label + " run " + std::to_string(run) + ": kill " + std::to_string(delay_ms) +
                 " ms after the first commit, writer seed " + std::to_string(writer_seed));
    const std::string url = temp_store(v.label);
    {
      Writer w(url, v, writer_seed, true);
      ASSERT_TRUE(w.ready()) << "the writer did not commit its first samples within 30 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ASSERT_EQ(w.kill(), "");
    }
    std::int64_t n = -1;
    try {
      TrajectoryReader r(url);
      EXPECT_EQ(r.zarr_format(), v.format == "v2" ? 2 : 3);
      n = expect_consistent_prefix(r);
    } catch (const std::exception& e) {
      FAIL() << "the killed store does not open: " << e.what();
    }
    EXPECT_GE(n, 1) << "the first commit was acknowledged before the kill";
    if (::testing::Test::HasFailure()) return;
    try {
      expect_appendable(url, n, format_of(v));
    } catch (const std::exception& e) {
      FAIL() << "appending to the killed store failed: " << e.what();
    }
    if (::testing::Test::HasFailure()) return;
    fs::remove_all(url);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, KillWriter,
                         ::testing::Values(Variant{"v3_zstd", "v3", "zstd", 4, 0},
                                           Variant{"v3_none", "v3", "none", 16, 0},
                                           Variant{"v2_zstd", "v2", "zstd", 3, 0},
                                           Variant{"v3_sharded", "v3", "zstd", 2, 4}),
                         [](const auto& p) { return p.param.label; });

// Kills in the first few ms, possibly before anything was committed: the store is either absent,
// rejected with a FormatError, or opens with whole samples (and then can be appended).
TEST(KillWriterEarly, NoPartialSampleEvenBeforeTheFirstCommit) {
  ASSERT_TRUE(fs::exists(kWriter)) << kWriter;
  const std::vector<Variant> variants = {{"early_v3_zstd", "v3", "zstd", 4, 0},
                                         {"early_v2_zstd", "v2", "zstd", 3, 0},
                                         {"early_v3_sharded", "v3", "zstd", 2, 4}};
  std::mt19937_64 rng(kSeed + 1);
  int opened = 0, rejected = 0, empty = 0;
  for (int run = 0; run < 18; ++run) {
    const Variant& v = variants[static_cast<std::size_t>(run) % variants.size()];
    const std::uint64_t writer_seed = rng();
    // 0-250 ms after fork: the writer may still be loading, creating the layout (~the first
    // 100-200 ms here), or committing its first write; half the runs aim at the first 10 ms.
    const auto delay_us = static_cast<int>(run % 2 == 0 ? rng() % 10'000 : rng() % 250'000);
    SCOPED_TRACE(v.label + " run " + std::to_string(run) + ": kill " + std::to_string(delay_us) +
                 " us after fork, writer seed " + std::to_string(writer_seed));
    const std::string url = temp_store(v.label);
    {
      Writer w(url, v, writer_seed, false);
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      ASSERT_EQ(w.kill(), "");
    }
    std::optional<TrajectoryReader> r;
    try {
      r.emplace(url);
    } catch (const FormatError& e) {  // not (yet) a trajectory: acceptable, and said clearly
      ++rejected;
      EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << "the error should name the store: " << e.what();
    } catch (const std::exception& e) {
      FAIL() << "a killed store must open or fail with FormatError, got: " << e.what();
    }
    if (r) {
      ++opened;
      const std::int64_t n = expect_consistent_prefix(*r);
      if (n == 0) ++empty;
      if (::testing::Test::HasFailure()) return;
      try {
        expect_appendable(url, n, format_of(v));
      } catch (const std::exception& e) {
        FAIL() << "the store opens with " << n << " samples but appending to it failed: " << e.what();
      }
    }
    if (::testing::Test::HasFailure()) return;
    fs::remove_all(url);
  }
  std::printf("early kills: %d stores opened (%d of them empty), %d rejected as not a trajectory\n", opened, empty,
              rejected);
}
