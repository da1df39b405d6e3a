// SPDX-License-Identifier: Apache-2.0
// Faults: the S3 server killed and restarted in the middle of a trajectory write (blocking mode:
// the trajectory completes; failing mode: a clear error, and the committed prefix is intact); a
// proxy that answers 500/503, drops connections or stalls for a while (retries succeed), and 4xx
// answers that must not be retried; a missing bucket; an unreachable endpoint (a clear error
// within the deadline); and no secret in any error message or log line.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/s3_store.hpp"
#include "s3_fixture.hpp"
#include "trajectory_fixture.hpp"

using namespace batchmd;
using namespace batchmd::sinks;
using namespace batchmd::zarr;
using namespace batchmd::s3test;
using batchmd::test_support::check_encoded;
using batchmd::test_support::encoded_batch;
using Clock = std::chrono::steady_clock;

namespace {

Bytes as_bytes(const std::string& s) {
  Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}
std::string as_string(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A port on 127.0.0.1 that nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Proxy {
  explicit Proxy(int target) : process("fault_proxy.mjs", {"--target", std::to_string(target)}) {}
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(process.port()); }
  std::string control(const std::string& path) const { return http_get(endpoint() + path); }
  int faulted() const {
    const std::string s = control("/__stats");
    const auto p = s.find("\"faulted\":");
    return p == std::string::npos ? -1 : std::stoi(s.substr(p + 10));
  }
  NodeProcess process;
};

S3Options options_for(const std::string& endpoint) {
  S3Options o;
  o.endpoint = endpoint;
  o.access_key_id = "S3RVER";
  o.secret_access_key = "S3RVER";
  o.backoff_initial_s = 0.02;
  o.backoff_max_s = 0.5;
  o.retry_deadline_s = 30;
  o.request_timeout_s = 1.0;
  o.log = [](const std::string&) {};
  return o;
}

void set_env_for(const LocalS3& s, const char* when_down, const char* deadline_s, const char* attempts) {
  s.export_environment();
  ::setenv("BATCHMD_S3_WHEN_DOWN", when_down, 1);
  ::setenv("BATCHMD_S3_RETRY_DEADLINE_S", deadline_s, 1);
  ::setenv("BATCHMD_S3_MAX_ATTEMPTS", attempts, 1);
  ::setenv("BATCHMD_S3_TIMEOUT_S", "2", 1);
}

}  // namespace

TEST(S3Faults, ServerKilledAndRestartedDuringWriteLosesNothingWhenBlocking) {
  LocalS3 s3;
  set_env_for(s3, "block", "60", "1");
  const std::string url = "s3://" + kBucket + "/killed-block/traj.zarr";
  ZarrWriteConfig cfg;
  cfg.chunk_samples = 4;
  cfg.workers = 4;
  std::atomic<int> batches{0};
  std::thread writer([&] {
    ZarrData sink(url, 100000, cfg);
    for (std::int64_t id = 0; id < 120; id += 5) {
      sink.write(encoded_batch(id, 5));
      ++batches;
    }
    sink.flush();
  });
  while (batches < 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  s3.process().kill();  // mid-write: requests in flight fail, new ones cannot connect
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  s3.process().restart();  // same port, same data directory
  writer.join();
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 120);
  Batch all = r.read_range(0, 120);
  for (std::int64_t s = 0; s < 120; ++s) ASSERT_EQ(check_encoded(all, s, s), "") << "sample " << s;
}

TEST(S3Faults, ServerKilledDuringWriteGivesAClearErrorWhenFailingAndKeepsTheCommittedPrefix) {
  LocalS3 s3;
  set_env_for(s3, "fail", "5", "3");
  const std::string url = "s3://" + kBucket + "/killed-fail/traj.zarr";
  ZarrWriteConfig cfg;
  cfg.chunk_samples = 2;
  std::string error;
  {
    ZarrData sink(url, 100000, cfg);
    sink.write(encoded_batch(0, 10));
    sink.flush();
    s3.process().kill();
    const auto t0 = Clock::now();
    try {
      for (std::int64_t id = 10; id < 200; id += 5) sink.write(encoded_batch(id, 5));
      sink.flush();
    } catch (const IOError& e) {
      error = e.what();
    }
    EXPECT_LT(seconds_since(t0), 10.0);
  }  // the destructor's flush fails too: printed, not thrown
  EXPECT_NE(error.find(url + "/"), std::string::npos) << error;
  EXPECT_NE(error.find("cannot reach"), std::string::npos) << error;
  EXPECT_NE(error.find("after 3 attempts"), std::string::npos) << error;
  s3.process().restart();
  TrajectoryReader r(url);
  ASSERT_GE(r.num_samples(), 10);
  Batch all = r.read_range(0, r.num_samples());
  for (std::int64_t s = 0; s < r.num_samples(); ++s) ASSERT_EQ(check_encoded(all, s, s), "") << "sample " << s;
}

TEST(S3Faults, ServerErrorsThrottlingResetsAndStallsAreRetried) {
  LocalS3 s3;
  Proxy proxy(s3.port());
  S3Store store("s3://" + kBucket + "/flaky", options_for(proxy.endpoint()));
  for (const char* fault : {"/__fault?status=500&count=3", "/__fault?status=503&count=4", "/__fault?status=429&count=2",
                            "/__fault?reset=1&count=2", "/__fault?delay_ms=2500&count=2"}) {
    const int before = proxy.faulted();
    proxy.control(fault);
    store.set("k", as_bytes(fault));
    EXPECT_EQ(as_string(*store.get("k")), fault);
    EXPECT_GT(proxy.faulted(), before) << fault;
  }
  // a whole trajectory through a proxy that keeps failing now and then
  set_env_for(s3, "block", "30", "1");
  ::setenv("AWS_ENDPOINT_URL", proxy.endpoint().c_str(), 1);
  const std::string url = "s3://" + kBucket + "/flaky/traj.zarr";
  {
    ZarrData sink(url, 1000);
    for (int round = 0; round < 4; ++round) {
      proxy.control(round % 2 ? "/__fault?status=503&count=5" : "/__fault?status=500&count=5");
      sink.write(encoded_batch(round * 6, 6));
      sink.flush();
    }
  }
  TrajectoryReader r(url);
  ASSERT_EQ(r.num_samples(), 24);
  for (std::int64_t s = 0; s < 24; ++s) ASSERT_EQ(check_encoded(r.read(s), 0, s), "");
}

TEST(S3Faults, OtherClientErrorsAreNotRetriedAndPersistentFailuresEndClearly) {
  LocalS3 s3;
  Proxy proxy(s3.port());
  S3Options o = options_for(proxy.endpoint());
  o.when_unavailable = WhenUnavailable::Fail;
  o.max_attempts = 3;
  S3Store store("s3://" + kBucket + "/no-retry", o);
  store.set("k", as_bytes("v"));
  int before = proxy.faulted();
  proxy.control("/__fault?status=403&count=5");
  try {
    store.get("k");
    FAIL() << "403 did not fail";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("s3://" + kBucket + "/no-retry/k: GET failed"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("403"), std::string::npos) << e.what();
  }
  EXPECT_EQ(proxy.faulted() - before, 1);  // one attempt only
  proxy.control("/__fault?status=503&count=0");
  before = proxy.faulted();
  proxy.control("/__fault?status=503&count=50");
  try {
    store.set("k", as_bytes("w"));
    FAIL() << "persistent 503 did not fail";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 503 SlowDown"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("after 3 attempts"), std::string::npos) << e.what();
  }
  EXPECT_EQ(proxy.faulted() - before, 3);
  proxy.control("/__fault?status=503&count=0");
  EXPECT_EQ(as_string(*store.get("k")), "v");  // the failed write changed nothing
}

TEST(S3Faults, MissingBucketGivesAClearError) {
  LocalS3 s3;
  S3Store store("s3://no-such-bucket/traj.zarr", options_for(s3.endpoint()));
  for (const auto& op : std::vector<std::function<void()>>{
           [&] { store.get("zarr.json"); }, [&] { store.set("zarr.json", as_bytes("{}")); }, [&] { store.list(""); }}) {
    try {
      op();
      ADD_FAILURE() << "no error";
    } catch (const IOError& e) {
      EXPECT_NE(std::string(e.what()).find("bucket 'no-such-bucket' does not exist"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("s3://no-such-bucket/traj.zarr"), std::string::npos) << e.what();
    }
  }
  set_env_for(s3, "fail", "5", "2");
  EXPECT_THROW(ZarrData("s3://no-such-bucket/traj.zarr", 10).write(encoded_batch(0, 1)), IOError);
}

TEST(S3Faults, UnreachableEndpointFailsClearlyWithinTheDeadline) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  S3Options o = options_for(endpoint);
  o.retry_deadline_s = 2.0;  // blocking mode, bounded by the deadline
  S3Store store("s3://bucket/traj.zarr", o);
  auto t0 = Clock::now();
  try {
    store.get("zarr.json");
    FAIL() << "no error";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("s3://bucket/traj.zarr/zarr.json: GET failed: cannot reach " + endpoint), std::string::npos)
        << msg;
  }
  const double blocked = seconds_since(t0);
  EXPECT_GT(blocked, 1.0);
  EXPECT_LT(blocked, 3.5);
  o.when_unavailable = WhenUnavailable::Fail;
  o.max_attempts = 2;
  S3Store failing("s3://bucket/traj.zarr", o);
  t0 = Clock::now();
  EXPECT_THROW(failing.set("k", as_bytes("v")), IOError);
  EXPECT_LT(seconds_since(t0), 1.5);
}

TEST(S3Faults, SecretsNeverAppearInErrorsOrLogs) {
  LocalS3 s3;
  Proxy proxy(s3.port());
  const std::string secret = "SeCrEt-9f8e7d6c5b4a", token = "SeSsIoN-TOKEN-1a2b3c";
  std::vector<std::string> texts;
  std::mutex m;
  S3Options o = options_for(proxy.endpoint());
  o.access_key_id = "UNKNOWNKEY";  // unknown to this server: 403
  o.secret_access_key = secret;
  o.session_token = token;
  o.when_unavailable = WhenUnavailable::Fail;
  o.max_attempts = 3;
  o.log = [&](const std::string& line) {
    const std::lock_guard lock(m);
    texts.push_back(line);
  };
  S3Store store("s3://" + kBucket + "/secret", o);
  const auto collect = [&](const std::function<void()>& f) {
    try {
      f();
      texts.emplace_back("(no error)");
    } catch (const std::exception& e) {
      texts.emplace_back(e.what());
    }
  };
  collect([&] { store.get("k"); });  // 403 from the signature check
  proxy.control("/__fault?status=503&count=20");
  collect([&] { store.set("k", as_bytes("v")); });  // retries logged, then an error
  proxy.control("/__fault?status=503&count=0");
  S3Options down = o;
  down.endpoint = "http://127.0.0.1:" + std::to_string(closed_port());
  collect([&] { S3Store("s3://" + kBucket + "/secret", down).list(""); });
  ::setenv("AWS_SECRET_ACCESS_KEY", secret.c_str(), 1);
  ::setenv("AWS_SESSION_TOKEN", token.c_str(), 1);
  ::setenv("AWS_ENDPOINT_URL", s3.endpoint().c_str(), 1);
  ::setenv("AWS_ACCESS_KEY_ID", "UNKNOWNKEY", 1);
  collect([&] { TrajectoryReader r("s3://" + kBucket + "/secret/traj.zarr"); });
  collect([&] { ZarrData("s3://" + kBucket + "/secret/traj.zarr", 10).write(encoded_batch(0, 1)); });
  ASSERT_GE(texts.size(), 7u);
  int logged_retries = 0;
  for (const auto& t : texts) {
    EXPECT_EQ(t.find(secret), std::string::npos) << t;
    EXPECT_EQ(t.find(token), std::string::npos) << t;
    EXPECT_EQ(t.find("SeCrEt"), std::string::npos) << t;
    if (t.find("; retry ") != std::string::npos) ++logged_retries;
  }
  EXPECT_GE(logged_retries, 2);
  ::unsetenv("AWS_SESSION_TOKEN");
}
