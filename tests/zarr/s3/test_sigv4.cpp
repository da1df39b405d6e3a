// SPDX-License-Identifier: Apache-2.0
// The SigV4 signer against AWS's published S3 examples (canonical request, string to sign and
// signature of each), and against an independent signer (@smithy/signature-v4, the AWS SDK's)
// on hundreds of generated requests: methods, keys with special characters, query strings with
// repeated and empty parameters, extra headers with odd spacing, session tokens.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "batchmd/zarr/sigv4.hpp"
#include "s3_fixture.hpp"

using namespace batchmd::zarr;
using batchmd::s3test::kTestDir;

namespace {

const sigv4::Credentials kExampleCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kDate = "20130524T000000Z";
const std::string kHost = "examplebucket.s3.amazonaws.com";

std::string prefix_of_auth(const std::string& signed_headers) {
  return "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=" +
         signed_headers + ",Signature=";
}

}  // namespace

// "Example: GET Object" (the first 10 bytes of test.txt).
TEST(SigV4Published, GetObjectWithRange) {
  const sigv4::Request r{
      "GET",
      "/test.txt",
      {},
      {{"Host", kHost}, {"Range", "bytes=0-9"}, {"x-amz-content-sha256", kEmptyHash}, {"x-amz-date", kDate}},
      kEmptyHash};
  const auto s = sigv4::sign(r, kExampleCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(
      s.canonical_request,
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:" + kEmptyHash +
          "\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n" + kEmptyHash);
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.authorization, prefix_of_auth("host;range;x-amz-content-sha256;x-amz-date") + s.signature);
}

// "Example: PUT Object" (test$file.text, "Welcome to Amazon S3.", REDUCED_REDUNDANCY).
TEST(SigV4Published, PutObject) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string hash = sigv4::sha256_hex(body);
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  EXPECT_EQ(sigv4::uri_encode("/test$file.text", false), "/test%24file.text");
  const sigv4::Request r{"PUT",
                         "/test%24file.text",
                         {},
                         {{"Host", kHost},
                          {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                          {"x-amz-date", kDate},
                          {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                          {"x-amz-content-sha256", hash}},
                         hash};
  const auto s = sigv4::sign(r, kExampleCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(s.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  EXPECT_EQ(s.authorization,
            prefix_of_auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class") + s.signature);
}

// "Example: GET Bucket Lifecycle" (?lifecycle: a parameter without a value).
TEST(SigV4Published, GetBucketLifecycle) {
  const sigv4::Request r{"GET",
                         "/",
                         {{"lifecycle", ""}},
                         {{"Host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", kEmptyHash}},
                         kEmptyHash};
  const auto s = sigv4::sign(r, kExampleCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.canonical_request.substr(0, 17), "GET\n/\nlifecycle=\n");
  EXPECT_EQ(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1),
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(s.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

// "Example: Get Bucket (List Objects)" (?max-keys=2&prefix=J, given in the other order here).
TEST(SigV4Published, ListObjects) {
  const sigv4::Request r{"GET",
                         "/",
                         {{"prefix", "J"}, {"max-keys", "2"}},
                         {{"Host", kHost}, {"x-amz-date", kDate}, {"x-amz-content-sha256", kEmptyHash}},
                         kEmptyHash};
  const auto s = sigv4::sign(r, kExampleCreds, "us-east-1", "s3", kDate);
  EXPECT_EQ(s.canonical_request.substr(0, 26), "GET\n/\nmax-keys=2&prefix=J\n");
  EXPECT_EQ(s.string_to_sign.substr(s.string_to_sign.rfind('\n') + 1),
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(s.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, UriEncodingAndQueryOrder) {
  EXPECT_EQ(sigv4::uri_encode("a b/c~d_e-f.g*h+i=j&k%l", false), "a%20b/c~d_e-f.g%2Ah%2Bi%3Dj%26k%25l");
  EXPECT_EQ(sigv4::uri_encode("a/b", true), "a%2Fb");
  EXPECT_EQ(sigv4::uri_encode("\xc3\xa9", true), "%C3%A9");
  EXPECT_EQ(sigv4::canonical_query({{"b", "2"}, {"a", "x y"}, {"a", "1"}, {"c", ""}}), "a=1&a=x%20y&b=2&c=");
}

// Many generated requests signed here and by @smithy/signature-v4 must give identical headers.
TEST(SigV4, MatchesIndependentSignerOnGeneratedRequests) {
  std::mt19937 rng(12345);
  const auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const auto random_text = [&](std::size_t max_len, const std::string& alphabet) {
    std::string s;
    const std::size_t n = 1 + rng() % max_len;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  const std::string key_chars = "abcXYZ019-_.~ !$&'()*+,;=:@%#?[]{}^`|\"<>\xc3\xa9/";
  const std::string value_chars = "abcXYZ019-_.~ !$&'()*+,;=:@/%";
  nlohmann::json requests = nlohmann::json::array();
  std::vector<std::string> ours;
  for (int i = 0; i < 300; ++i) {
    const std::string method = pick({"GET", "PUT", "DELETE", "HEAD", "POST"});
    std::string key = random_text(40, key_chars);
    std::string path = "/bucket-";
    path += std::to_string(i % 7);
    path += '/';
    path += sigv4::uri_encode(key, false);
    std::vector<std::pair<std::string, std::string>> query;
    const int nq = static_cast<int>(rng() % 4);
    for (int q = 0; q < nq; ++q) {
      const std::string name = pick({"prefix", "list-type", "continuation-token", "max-keys", "delimiter", "x y",
                                     "uploads", random_text(8, value_chars)});
      query.emplace_back(name, rng() % 4 == 0 ? "" : random_text(20, value_chars));
    }
    const std::string date = "2024" + std::string(rng() % 2 ? "01" : "11") + (rng() % 2 ? "05" : "28") + "T" +
                             std::to_string(10 + rng() % 13) + "3045Z";
    const std::string payload = rng() % 3 == 0 ? "UNSIGNED-PAYLOAD" : sigv4::sha256_hex(random_text(100, value_chars));
    const std::string host =
        rng() % 2 ? "127.0.0.1:" + std::to_string(1024 + rng() % 60000) : "s3.eu-west-1.amazonaws.com";
    std::vector<std::pair<std::string, std::string>> headers = {{"host", host}, {"x-amz-date", date}};
    const std::vector<std::string> extra = {"Range",          "Content-Type", "x-amz-meta-Note", "If-Match",
                                            "Content-Length", "x-amz-acl",    "Content-MD5"};
    for (const std::string& h : extra) {
      if (rng() % 3 == 0) headers.emplace_back(h, "  " + random_text(12, "ab c  d=1/2") + "   ");
    }
    const sigv4::Credentials creds{"AKID" + std::to_string(rng() % 100000), random_text(40, "ABCDEFabcdef0123456789/+"),
                                   rng() % 2 ? "" : random_text(60, "ABCabc0123456789/+=")};
    auto signed_headers = headers;
    signed_headers.emplace_back("x-amz-content-sha256", payload);
    if (!creds.session_token.empty()) signed_headers.emplace_back("x-amz-security-token", creds.session_token);
    const std::string region = pick({"us-east-1", "eu-west-1", "auto"});
    const std::string service = pick({"s3", "s3", "execute-api"});
    const auto s =
        sigv4::sign(sigv4::Request{method, path, query, signed_headers, payload}, creds, region, service, date);
    ours.push_back(s.authorization);
    nlohmann::json q = nlohmann::json::array(), h = nlohmann::json::array();
    for (const auto& [k, v] : query) q.push_back({k, v});
    for (const auto& [k, v] : headers) h.push_back({k, v});
    requests.push_back({{"method", method},
                        {"host", host},
                        {"path", path},
                        {"query", q},
                        {"headers", h},
                        {"payload_hash", payload},
                        {"access_key", creds.access_key_id},
                        {"secret_key", creds.secret_access_key},
                        {"session_token", creds.session_token},
                        {"region", region},
                        {"service", service},
                        {"amz_date", date}});
  }
  batchmd::s3test::ScratchDir dir("sigv4");
  const auto file = dir.path() / "requests.json";
  std::ofstream(file) << requests.dump();
  const auto r = batchmd::s3test::run_command("node " + batchmd::s3test::quote(kTestDir + "/sign_check.mjs") + " " +
                                              batchmd::s3test::quote(file.string()));
  ASSERT_EQ(r.status, 0) << "the independent signer failed (run scripts/setup.sh): " << r.output;
  const auto theirs = nlohmann::json::parse(r.output);
  ASSERT_EQ(theirs.size(), ours.size());
  // The SDK separates the Authorization parts with ", ", we with "," (AWS accepts both).
  const auto normalized = [](std::string a) {
    for (std::size_t p; (p = a.find(", ")) != std::string::npos;) a.erase(p + 1, 1);
    return a;
  };
  int mismatches = 0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    if (normalized(theirs[i].get<std::string>()) != ours[i] && ++mismatches <= 5) {
      ADD_FAILURE() << "request " << i << ": " << requests[i].dump() << "\n ours:   " << ours[i]
                    << "\n theirs: " << theirs[i].get<std::string>();
    }
  }
  EXPECT_EQ(mismatches, 0);
}
