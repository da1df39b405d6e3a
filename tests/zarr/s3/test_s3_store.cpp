// SPDX-License-Identifier: Apache-2.0
// S3Store against a local S3 server process (which checks SigV4 signatures): the Store contract
// (the same checks tests/zarr/test_store.cpp runs on FileStore and MemoryStore), listing with
// pagination, keys with special characters, open_store URLs and environment, gs:// with HMAC keys
// and with a bearer token, anonymous access, and an independent client reading what we wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/s3_store.hpp"
#include "s3_fixture.hpp"

using namespace batchmd;
using namespace batchmd::zarr;
using namespace batchmd::s3test;

namespace {

Bytes as_bytes(const std::string& s) {
  Bytes b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}
std::string as_string(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

LocalS3& server() {
  static LocalS3 s;
  return s;
}

S3Options local_options() {
  S3Options o;
  o.endpoint = server().endpoint();
  o.access_key_id = "S3RVER";
  o.secret_access_key = "S3RVER";
  o.retry_deadline_s = 20;
  return o;
}

std::shared_ptr<S3Store> fresh_store(const std::string& tag, S3Options o = local_options()) {
  return std::make_shared<S3Store>("s3://" + kBucket + "/" + unique_name(tag) + "/root.zarr", std::move(o));
}

}  // namespace

TEST(S3StoreContract, SetGetEraseExists) {
  auto store = fresh_store("basic");
  Store& s = *store;
  EXPECT_FALSE(s.get("a/b").has_value());
  EXPECT_FALSE(s.exists("a/b"));
  s.set("a/b", as_bytes("hello"));
  EXPECT_TRUE(s.exists("a/b"));
  EXPECT_EQ(as_string(*s.get("a/b")), "hello");
  s.set("a/b", as_bytes("bye"));
  EXPECT_EQ(as_string(*s.get("a/b")), "bye");
  s.set("empty", {});
  ASSERT_TRUE(s.get("empty").has_value());
  EXPECT_TRUE(s.get("empty")->empty());
  s.erase("a/b");
  EXPECT_FALSE(s.exists("a/b"));
  EXPECT_NO_THROW(s.erase("a/b"));
  EXPECT_FALSE(s.exists("a"));
  EXPECT_FALSE(s.get("a").has_value());
}

TEST(S3StoreContract, Ranges) {
  auto store = fresh_store("ranges");
  Store& s = *store;
  s.set("k", as_bytes("0123456789"));
  EXPECT_EQ(as_string(*s.get_range("k", 2, 3)), "234");
  EXPECT_EQ(as_string(*s.get_range("k", 8, 100)), "89");
  EXPECT_EQ(as_string(*s.get_range("k", 20, 5)), "");
  EXPECT_EQ(as_string(*s.get_range("k", 3, 0)), "");
  EXPECT_EQ(as_string(*s.get_suffix("k", 4)), "6789");
  EXPECT_EQ(as_string(*s.get_suffix("k", 40)), "0123456789");
  EXPECT_EQ(as_string(*s.get_suffix("k", 10)), "0123456789");
  EXPECT_FALSE(s.get_range("missing", 0, 1).has_value());
  EXPECT_FALSE(s.get_suffix("missing", 1).has_value());
  EXPECT_FALSE(s.get_range("missing", 0, 0).has_value());
}

TEST(S3StoreContract, ListAndListDir) {
  auto store = fresh_store("list");
  Store& s = *store;
  for (const char* k : {"zarr.json", "core/zarr.json", "core/positions/zarr.json", "core/positions/c/0/0",
                        "core/positions/c/1/0", "meta/atoms_ptr/zarr.json", "corex"}) {
    s.set(k, as_bytes("x"));
  }
  EXPECT_EQ(s.list("core/positions/"),
            (std::vector<std::string>{"core/positions/c/0/0", "core/positions/c/1/0", "core/positions/zarr.json"}));
  EXPECT_EQ(s.list("core").size(), 5u);
  EXPECT_EQ(s.list("").size(), 7u);
  EXPECT_EQ(s.list_dir(""), (std::vector<std::string>{"core", "corex", "meta", "zarr.json"}));
  EXPECT_EQ(s.list_dir("core"), (std::vector<std::string>{"positions", "zarr.json"}));
  EXPECT_EQ(s.list_dir("core/positions/c/"), (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(s.list_dir("nothing").empty());
}

TEST(S3StoreContract, EveryOperationValidatesKeys) {
  auto store = fresh_store("validate");
  Store& s = *store;
  const std::string bad = "a/../b";
  EXPECT_THROW(s.get(bad), InvalidArgument);
  EXPECT_THROW(s.get_range(bad, 0, 1), InvalidArgument);
  EXPECT_THROW(s.get_suffix(bad, 1), InvalidArgument);
  EXPECT_THROW(s.set(bad, as_bytes("x")), InvalidArgument);
  EXPECT_THROW(s.erase(bad), InvalidArgument);
  EXPECT_THROW(s.exists(bad), InvalidArgument);
  EXPECT_THROW(s.list("/abs"), InvalidArgument);
}

TEST(S3StoreContract, ReplaceIsAtomicUnderConcurrentReaders) {
  auto store = fresh_store("atomic");
  Store& s = *store;
  const std::vector<std::string> values = {std::string(10, 'a'), std::string(70000, 'b'), std::string(3, 'c'),
                                           std::string(200000, 'd')};
  s.set("doc", as_bytes(values[0]));
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        const auto v = s.get("doc");
        ++reads;
        if (!v || std::find(values.begin(), values.end(), as_string(*v)) == values.end()) ++bad_reads;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i) {
        s.set("doc", as_bytes(values[static_cast<std::size_t>(i + w) % values.size()]));
        s.set("other/" + std::to_string(w) + "/" + std::to_string(i % 5), as_bytes("v"));
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_GT(reads.load(), 10);
  EXPECT_EQ(s.list("other/").size(), 10u);
}

TEST(S3Store, ListingPaginatesWithContinuationTokens) {
  S3Options o = local_options();
  o.list_page_size = 3;
  auto store = fresh_store("pages", o);
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back("c/" + std::to_string(i / 10) + "/" + std::to_string(i));
  for (const auto& k : keys) store->set(k, as_bytes(k));
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(store->list(""), keys);
  EXPECT_EQ(store->list("c/1/").size(), 10u);
  EXPECT_EQ(store->list_dir("c"), (std::vector<std::string>{"0", "1"}));
  // the same listing through a plain (unpaginated-size) store
  EXPECT_EQ(S3Store(store->url(), local_options()).list(""), keys);
}

TEST(S3Store, KeysWithSpecialCharactersRoundTrip) {
  auto store = fresh_store("special");
  const std::vector<std::string> keys = {"a b/c+d",
                                         "x=y&z",
                                         "dollar$file.text",
                                         "percent%20not-an-escape",
                                         "caf\xc3\xa9/\xe2\x82\xac",
                                         "tilde~_-.!*'()",
                                         "semi;colon,comma:at@"};
  for (const auto& k : keys) store->set(k, as_bytes("v:" + k));
  for (const auto& k : keys) {
    ASSERT_TRUE(store->exists(k)) << k;
    EXPECT_EQ(as_string(*store->get(k)), "v:" + k);
  }
  auto sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(store->list(""), sorted);
}

TEST(S3Store, UrlParsingAndOptions) {
  S3Store s("s3://bucket/a/b/traj.zarr/", local_options());
  EXPECT_EQ(s.url(), "s3://bucket/a/b/traj.zarr");
  EXPECT_EQ(s.bucket(), "bucket");
  EXPECT_EQ(s.prefix(), "a/b/traj.zarr");
  EXPECT_EQ(s.auth_mode(), "sigv4");
  S3Options aws;
  aws.region = "eu-west-1";
  EXPECT_EQ(S3Store("s3://b", aws).endpoint(), "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(S3Store("s3://b", aws).auth_mode(), "anonymous");
  EXPECT_EQ(S3Store("gs://b/x", S3Options{}).endpoint(), "https://storage.googleapis.com");
  S3Options bearer;
  bearer.bearer_token = "tok";
  EXPECT_EQ(S3Store("gs://b/x", bearer).auth_mode(), "bearer");
  EXPECT_THROW(S3Store("s3://", local_options()), InvalidArgument);
  EXPECT_THROW(S3Store("s3://Bad_Bucket!/x", local_options()), InvalidArgument);
  EXPECT_THROW(S3Store("s3://b/a/../c", local_options()), InvalidArgument);
  EXPECT_THROW(S3Store("http://b/x", local_options()), InvalidArgument);
  S3Options no_secret = local_options();
  no_secret.secret_access_key.clear();
  EXPECT_THROW(S3Store("s3://b", no_secret), InvalidArgument);
  S3Options bad_endpoint = local_options();
  bad_endpoint.endpoint = "127.0.0.1:9000";
  EXPECT_THROW(S3Store("s3://b", bad_endpoint), InvalidArgument);
}

TEST(S3Store, OpenStoreReadsTheEnvironment) {
  server().export_environment();
  ::setenv("BATCHMD_S3_MAX_IN_FLIGHT", "4", 1);
  auto store = open_store("s3://" + kBucket + "/" + unique_name("env") + "/t.zarr");
  auto* s3 = dynamic_cast<S3Store*>(store.get());
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->endpoint(), server().endpoint());
  store->set("k", as_bytes("through open_store"));
  EXPECT_EQ(as_string(*open_store(store->url())->get("k")), "through open_store");
  ::setenv("BATCHMD_S3_WHEN_DOWN", "sometimes", 1);
  EXPECT_THROW(open_store("s3://" + kBucket + "/x"), InvalidArgument);
  ::unsetenv("BATCHMD_S3_WHEN_DOWN");
  ::unsetenv("BATCHMD_S3_MAX_IN_FLIGHT");
  // keys the server does not know: the error says access was denied (the local server checks
  // the access key id, not SigV4 signatures: test_sigv4.cpp checks those)
  ::setenv("AWS_ACCESS_KEY_ID", "UNKNOWNKEY", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-4c1d", 1);
  try {
    open_store(store->url())->get("k");
    FAIL() << "no error with unknown keys";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(store->url() + "/k"), std::string::npos) << msg;
    EXPECT_NE(msg.find("403"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("not-the-secret-4c1d"), std::string::npos) << msg;
  }
  server().export_environment();
}

TEST(S3Store, GcsUrlsWithHmacKeysAndBearerToken) {
  // gs:// through the same S3-compatible API: HMAC keys are SigV4 keys.
  ::setenv("GCS_ENDPOINT_URL", server().endpoint().c_str(), 1);
  ::setenv("GCS_HMAC_ACCESS_KEY", "S3RVER", 1);
  ::setenv("GCS_HMAC_SECRET", "S3RVER", 1);
  const std::string url = "gs://" + kBucket + "/" + unique_name("gcs") + "/t.zarr";
  auto gs = open_store(url);
  EXPECT_EQ(dynamic_cast<S3Store&>(*gs).auth_mode(), "sigv4");
  gs->set("zarr.json", as_bytes("{}"));
  EXPECT_EQ(gs->list(""), std::vector<std::string>{"zarr.json"});
  ::unsetenv("GCS_HMAC_ACCESS_KEY");
  ::unsetenv("GCS_HMAC_SECRET");
  // A bearer token (the proxy records it and forwards the request unsigned).
  NodeProcess proxy("fault_proxy.mjs", {"--target", std::to_string(server().port())});
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  ::setenv("GCS_ENDPOINT_URL", proxy_url.c_str(), 1);
  ::setenv("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.test-token", 1);
  auto bearer = open_store(url);
  EXPECT_EQ(dynamic_cast<S3Store&>(*bearer).auth_mode(), "bearer");
  EXPECT_EQ(as_string(*bearer->get("zarr.json")), "{}");
  ::unsetenv("GOOGLE_OAUTH_ACCESS_TOKEN");
  ::unsetenv("GCS_ENDPOINT_URL");
  const std::string stats = http_get(proxy_url + "/__stats");
  EXPECT_NE(stats.find("\"bearer_tokens\":[\"ya29.test-token\"]"), std::string::npos) << stats;
}

TEST(S3Store, AnonymousAccessSendsNoSignature) {
  auto store = fresh_store("anon");
  store->set("public/data", as_bytes("open"));
  NodeProcess proxy("fault_proxy.mjs", {"--target", std::to_string(server().port())});
  S3Options o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(proxy.port());
  o.anonymous = true;
  o.access_key_id = "ignored";  // anonymous wins
  o.secret_access_key = "ignored";
  S3Store anon(store->url(), o);
  EXPECT_EQ(anon.auth_mode(), "anonymous");
  EXPECT_EQ(as_string(*anon.get("public/data")), "open");
  const std::string stats = http_get(o.endpoint + "/__stats");
  EXPECT_NE(stats.find("\"auth\":[\"none\"]"), std::string::npos) << stats;
}

TEST(S3Store, IndependentClientReadsTheSameObjects) {
  auto store = fresh_store("independent");
  std::map<std::string, std::string> written;
  for (int i = 0; i < 60; ++i) {
    std::string v(static_cast<std::size_t>(i * 997 % 5000), '\0');
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = static_cast<char>((i * 31 + static_cast<int>(j) * 7) & 0xff);
    std::string k = "g";
    k += std::to_string(i % 4);
    k += "/c/";
    k += std::to_string(i);
    store->set(k, as_bytes(v));
    written[k] = v;
  }
  ScratchDir out("independent");
  server().export_environment();
  const auto r = run_command("node " + quote(kTestDir + "/read_store.mjs") + " --endpoint " +
                             quote(server().endpoint()) + " --bucket " + kBucket + " --prefix " +
                             quote(store->prefix()) + " --out " + quote(out.path().string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OBJECTS 60"), std::string::npos) << r.output;
  for (const auto& [k, v] : written) {
    std::ifstream in(out.path() / k, std::ios::binary);
    const std::string got((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(got, v) << k;
  }
}
