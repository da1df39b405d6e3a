// SPDX-License-Identifier: Apache-2.0
// Crash safety of ZarrData: a writer process (kill_writer) appends samples until it is SIGKILLed
// at a random (seeded, reproducible) moment, from the first microseconds after its start to
// hundreds of ms after its first commit. After every kill the path must either open as a
// trajectory of whole samples 0..N-1 — which `inspect` describes, `convert` writes out and
// ZarrData(append) continues — or hold no store at all and take a new one (issue 10, §3 and §6).
// `--restart` needs a store written by `batchmd run`: tests/app/test_run_kill.cpp kills that.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "../support/child_process.hpp"
#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using namespace batchmd::test_support;
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
  double commit_interval = 0;  // seconds: 0 commits every write, so that kills land in commits too
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.label; }

zarr::ZarrFormat format_of(const Variant& v) { return v.format == "v2" ? zarr::ZarrFormat::V2 : zarr::ZarrFormat::V3; }

std::string temp_path(const std::string& name) {
  auto p = fs::path(::testing::TempDir()) / ("batchmd_kill_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

SpawnOptions writer(const std::string& url, const Variant& v, std::uint64_t seed, int ready_fd) {
  SpawnOptions o;
  o.argv = {kWriter,
            url,
            v.format,
            v.codec,
            std::to_string(v.chunk_samples),
            std::to_string(v.chunks_per_shard),
            std::to_string(seed),
            std::to_string(ready_fd),
            "--commit-interval",
            std::to_string(v.commit_interval)};
  if (ready_fd >= 0) o.keep_fds = {ready_fd};
  o.output_file = url + ".log";
  return o;
}

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

/// Runs a command function with its report going to a temporary file; returns (exit code, text).
template <typename F>
std::pair<int, std::string> capture(F&& command) {
  std::FILE* f = std::tmpfile();
  const int rc = command(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  return {rc, text};
}

/// `batchmd inspect` reports the n samples; `batchmd convert` writes them all (with n = 0 it
/// refuses, saying nothing matched).
void expect_inspect_and_convert(const std::string& url, std::int64_t n) {
  const auto [irc, itext] = capture([&](std::FILE* f) { return app::inspect_command({url, false}, f); });
  EXPECT_EQ(irc, 0);
  EXPECT_NE(itext.find("samples:      " + std::to_string(n) + "\n"), std::string::npos) << itext;
  app::ConvertOptions c;
  c.url = url;
  c.output = url + ".xyz";
  if (n == 0) {
    EXPECT_THROW(app::convert_command(c, stdout), InvalidArgument);
    return;
  }
  const auto [crc, ctext] = capture([&](std::FILE* f) { return app::convert_command(c, f); });
  EXPECT_EQ(crc, 0);
  EXPECT_NE(ctext.find("wrote " + std::to_string(n) + (n == 1 ? " frame," : " frames")), std::string::npos) << ctext;
  std::ifstream xyz(c.output);
  std::string first;
  std::getline(xyz, first);
  EXPECT_EQ(first, std::to_string(atoms_of(0))) << "the first frame of the extended XYZ file";
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

struct Tally {
  int kills = 0, opened = 0, empty = 0, no_store = 0;
};

/// After a kill: the store opens with whole samples (inspect, convert, append), or there is no
/// store and a new writer takes the path (it may not be refused as "already holds a store").
void check_killed_store(const std::string& url, const Variant& v, bool must_hold_samples, Tally& tally) {
  ++tally.kills;
  std::optional<TrajectoryReader> r;
  try {
    r.emplace(url);
  } catch (const FormatError& e) {
    EXPECT_FALSE(must_hold_samples) << "the first commit was acknowledged before the kill: " << e.what();
    EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << "the error should name the store: " << e.what();
    ++tally.no_store;
    try {
      ZarrWriteConfig cfg;
      cfg.format = format_of(v);
      ZarrData fresh(url, 1000, cfg);  // a new run to the same path
      fresh.write(encoded_batch(0, 4));
      fresh.flush();
    } catch (const std::exception& e2) {
      FAIL() << "after a kill that left no store, a new writer is refused: " << e2.what();
    }
    TrajectoryReader again(url);
    EXPECT_EQ(again.num_samples(), 4);
    expect_consistent_prefix(again);
    return;
  } catch (const std::exception& e) {
    FAIL() << "a killed store must open or say that it holds no store (FormatError), got: " << e.what();
  }
  ++tally.opened;
  EXPECT_EQ(r->zarr_format(), v.format == "v2" ? 2 : 3);
  const std::int64_t n = expect_consistent_prefix(*r);
  if (must_hold_samples) {
    EXPECT_GE(n, 1) << "the first commit was acknowledged before the kill";
  }
  if (n == 0) ++tally.empty;
  if (::testing::Test::HasFailure()) return;
  expect_inspect_and_convert(url, n);
  try {
    expect_appendable(url, n, format_of(v));
  } catch (const std::exception& e) {
    FAIL() << "appending to the killed store failed: " << e.what();
  }
}

class KillWriter : public ::testing::TestWithParam<Variant> {};

}  // namespace

// 8 kills per variant (x BATCHMD_KILL_STORM), each 5-300 ms after the writer's first commit.
TEST_P(KillWriter, LeavesAConsistentPrefixThatCanBeAppended) {
  ASSERT_TRUE(fs::exists(kWriter)) << kWriter;
  const Variant& v = GetParam();
  std::mt19937_64 rng(kSeed ^ std::hash<std::string>{}(v.label));
  Tally tally;
  for (int run = 0; run < 8 * kill_storm(); ++run) {
    const std::uint64_t writer_seed = rng();
    const auto delay_ms = static_cast<int>(5 + rng() % 296);
    SCOPED_TRACE(v.label + " run " + std::to_string(run) + ": kill " + std::to_string(delay_ms) +
                 " ms after the first commit, writer seed " + std::to_string(writer_seed));
    const std::string url = temp_path(v.label) + ".zarr";
    {
      ReadySignal ready;
      Child w(writer(url, v, writer_seed, ready.write_fd()));
      ASSERT_TRUE(ready.wait(60)) << "the writer did not commit its first samples within 60 s: " << w.output();
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ASSERT_TRUE(w.kill()) << "the writer ended on its own: " << w.output();
    }
    check_killed_store(url, v, true, tally);
    if (::testing::Test::HasFailure()) return;
    fs::remove_all(url);
  }
  std::printf("%s: %d kills\n", v.label.c_str(), tally.kills);
}

INSTANTIATE_TEST_SUITE_P(Stores, KillWriter,
                         ::testing::Values(Variant{"v3_zstd", "v3", "zstd", 4, 0},
                                           Variant{"v3_none", "v3", "none", 16, 0},
                                           Variant{"v2_zstd", "v2", "zstd", 3, 0},
                                           Variant{"v3_sharded", "v3", "zstd", 2, 4},
                                           // commits on an interval: kills land between and in them
                                           Variant{"v3_interval", "v3", "zstd", 4, 0, 0.02},
                                           Variant{"v3_sharded_interval", "v3", "none", 2, 4, 0.05}),
                         [](const auto& p) { return p.param.label; });

// 18 kills (x BATCHMD_KILL_STORM) in the first 250 ms after the start (half of them in the first 10 ms): the writer may
// be loading, taking the lock, creating the layout or committing its first write. The path must open with whole samples
// or hold no store, and in that case take a new one.
TEST(KillWriterEarly, NoPartialSampleAndThePathStaysUsable) {
  ASSERT_TRUE(fs::exists(kWriter)) << kWriter;
  const std::vector<Variant> variants = {{"early_v3_zstd", "v3", "zstd", 4, 0},
                                         {"early_v2_zstd", "v2", "zstd", 3, 0},
                                         {"early_v3_sharded", "v3", "zstd", 2, 4}};
  std::mt19937_64 rng(kSeed + 1);
  Tally tally;
  for (int run = 0; run < 18 * kill_storm(); ++run) {
    const Variant& v = variants[static_cast<std::size_t>(run) % variants.size()];
    const std::uint64_t writer_seed = rng();
    const auto delay_us = static_cast<int>(run % 2 == 0 ? rng() % 10'000 : rng() % 250'000);
    SCOPED_TRACE(v.label + " run " + std::to_string(run) + ": kill " + std::to_string(delay_us) +
                 " us after fork, writer seed " + std::to_string(writer_seed));
    const std::string url = temp_path(v.label) + ".zarr";
    {
      Child w(writer(url, v, writer_seed, -1));
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      ASSERT_TRUE(w.kill()) << "the writer ended on its own: " << w.output();
    }
    check_killed_store(url, v, false, tally);
    if (::testing::Test::HasFailure()) return;
    fs::remove_all(url);
  }
  std::printf("early kills: %d (%d stores opened, %d of them empty; %d held no store and took a new one)\n",
              tally.kills, tally.opened, tally.empty, tally.no_store);
}

// Kills at exact points of the protocol: kill_writer ends itself (_exit, no destructor) just
// before its K-th store write, for every K through the lock, the layout, the root document and
// the first commit (v2: every other K), then every 10th (20th) through the next commits; v3 and
// v2 (whose root is two documents). Each must leave whole samples or no store, never a root the next run refuses.
TEST(KillWriterAtEveryWrite, EachPointLeavesAUsablePath) {
  ASSERT_TRUE(fs::exists(kWriter)) << kWriter;
  Tally tally;
  for (const Variant& v : {Variant{"points_v3", "v3", "zstd", 4, 0}, Variant{"points_v2", "v2", "zstd", 3, 0}}) {
    const bool v3 = v.format == "v3";  // v3: every point to 40, v2: every other one
    for (int k = 1; k <= 140; k += k < 40 ? (v3 ? 1 : 2) : (v3 ? 10 : 20)) {
      SCOPED_TRACE(v.label + ": dies before its store write " + std::to_string(k));
      const std::string url = temp_path(v.label) + ".zarr";
      SpawnOptions o = writer(url, v, 3, -1);
      o.argv.insert(o.argv.end(), {"--samples", "12", "--die-at-set", std::to_string(k)});
      Child w(o);
      const int rc = w.wait();
      ASSERT_TRUE(rc == 137 || rc == 0) << w.output();
      check_killed_store(url, v, false, tally);
      if (::testing::Test::HasFailure()) return;
      fs::remove_all(url);
    }
  }
  std::printf("kills at exact store writes: %d (%d stores opened, %d of them empty; %d held no store)\n", tally.kills,
              tally.opened, tally.empty, tally.no_store);
}

// The loss window (ZarrWriteConfig::commit_interval): samples that write() accepted are committed
// within the interval, with no further write or flush, so a kill after that keeps them all; with
// an interval longer than the wait, the same kill keeps none of them (the control: it is the
// interval that commits, not an exit path).
TEST(KillWriterCommitInterval, AcceptedSamplesSurviveAKillOnceTheIntervalHasPassed) {
  ASSERT_TRUE(fs::exists(kWriter)) << kWriter;
  Tally tally;
  for (const double interval : {0.2, 1000.0}) {
    const Variant v{"interval_" + std::to_string(static_cast<int>(interval * 1000)), "v3", "zstd", 4, 0, interval};
    SCOPED_TRACE(v.label);
    const std::string url = temp_path(v.label) + ".zarr";
    {
      ReadySignal idle;
      SpawnOptions o = writer(url, v, 7, -1);
      o.argv.insert(o.argv.end(), {"--samples", "40", "--idle-fd", std::to_string(idle.write_fd())});
      o.keep_fds = {idle.write_fd()};
      Child w(o);
      ASSERT_TRUE(idle.wait(60)) << "the writer did not accept its 40 samples within 60 s: " << w.output();
      // The bound is the interval once the store keeps up; the margin absorbs a loaded machine.
      std::this_thread::sleep_for(std::chrono::milliseconds(interval < 1 ? 200 + 2000 : 500));
      ASSERT_TRUE(w.kill()) << "the writer ended on its own: " << w.output();
    }
    std::int64_t n = -1;
    try {
      n = TrajectoryReader(url).num_samples();
    } catch (const FormatError&) {
      n = 0;  // no commit at all: no store
    }
    if (interval < 1) {
      EXPECT_EQ(n, 40) << "samples accepted more than the commit interval before the kill were lost";
    } else {
      EXPECT_EQ(n, 0) << "with a 1000 s interval and no flush nothing should have been committed";
    }
    check_killed_store(url, v, interval < 1, tally);
    if (::testing::Test::HasFailure()) return;
    fs::remove_all(url);
  }
}
