// SPDX-License-Identifier: Apache-2.0
// zarr/s3_store: a Store on an S3 bucket (AWS or any S3-compatible server) or a Google Cloud
// Storage bucket through its S3-compatible XML API. One object per key under the URL's prefix;
// PUT replaces an object atomically, so set() is an atomic replace. Requests are signed with
// AWS Signature Version 4, sent with an OAuth bearer token (GCS), or sent unsigned (public
// buckets). Retries with exponential backoff and jitter on connection errors, timeouts, 5xx and
// throttling; never on other 4xx. Error messages name the URL, key and HTTP status, never a secret.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

/// What a request does while the server cannot be reached or keeps failing (5xx, throttling).
enum class WhenUnavailable {
  Block,  ///< keep retrying (backoff capped at backoff_max_s) until retry_deadline_s has passed
  Fail,   ///< give up after max_attempts attempts (or the deadline, whichever comes first)
};

struct S3Options {
  /// "http(s)://host[:port]"; "" = AWS (https://s3.<region>.amazonaws.com) for s3://,
  /// https://storage.googleapis.com for gs://.
  std::string endpoint;
  /// "" = us-east-1 for s3://, "auto" for gs://.
  std::string region;
  /// Path-style URLs (endpoint/bucket/key) instead of virtual-hosted (bucket.endpoint/key).
  /// Unset: path style for a custom endpoint, gs:// and bucket names with dots.
  std::optional<bool> path_style;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  /// OAuth 2 access token sent as "Authorization: Bearer" (GCS users without HMAC keys).
  std::string bearer_token;
  /// Send requests unsigned (public buckets). Also the case when no credentials are given.
  bool anonymous = false;
  /// Requests in flight at once, over all threads using this store.
  int max_in_flight = 16;
  /// Keys per ListObjectsV2 page (S3's maximum is 1000).
  int list_page_size = 1000;
  WhenUnavailable when_unavailable = WhenUnavailable::Block;
  int max_attempts = 8;             ///< WhenUnavailable::Fail only
  double retry_deadline_s = 300.0;  ///< per request, over all its attempts; <= 0: no deadline
  double backoff_initial_s = 0.05;
  double backoff_max_s = 5.0;
  double connect_timeout_s = 5.0;
  double request_timeout_s = 120.0;  ///< one attempt, transfer included
  /// Receives a line per retried attempt (never containing a secret). Default: stderr.
  std::function<void(const std::string&)> log;

  /// Options from the environment, as the AWS SDKs read it: AWS_ACCESS_KEY_ID,
  /// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION,
  /// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_NO_SIGN_REQUEST. For "gs": GCS_HMAC_ACCESS_KEY +
  /// GCS_HMAC_SECRET, else GOOGLE_OAUTH_ACCESS_TOKEN, else the AWS_* keys; GCS_ENDPOINT_URL.
  /// Tuning: BATCHMD_S3_MAX_IN_FLIGHT, BATCHMD_S3_WHEN_DOWN (block|fail),
  /// BATCHMD_S3_RETRY_DEADLINE_S, BATCHMD_S3_MAX_ATTEMPTS, BATCHMD_S3_TIMEOUT_S,
  /// BATCHMD_S3_CONNECT_TIMEOUT_S, BATCHMD_S3_ADDRESSING (path|virtual).
  static S3Options from_environment(const std::string& scheme = "s3");
};

class S3Store final : public Store {
 public:
  /// url: s3://bucket[/prefix] or gs://bucket[/prefix]. Throws InvalidArgument on a bad URL or
  /// option; does not contact the server.
  explicit S3Store(const std::string& url, S3Options options = S3Options::from_environment());
  ~S3Store() override;

  std::optional<Bytes> get(const std::string& key) const override;
  std::optional<Bytes> get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const override;
  std::optional<Bytes> get_suffix(const std::string& key, std::uint64_t length) const override;
  /// Returns once the server has confirmed the write (2xx).
  void set(const std::string& key, std::span<const std::byte> value) override;
  void erase(const std::string& key) override;
  std::vector<std::string> list(const std::string& prefix) const override;
  std::vector<std::string> list_dir(const std::string& prefix) const override;
  bool exists(const std::string& key) const override;
  std::string url() const override;
  /// A lease lock object at kWriterLockKey (s3_lock.cpp, docs/stores.md): created with a
  /// conditional write where the server enforces it, else confirmed by reading it back after
  /// WriterLockOptions::settle_s; renewed every lease_s/4 by a background thread.
  std::unique_ptr<WriterLock> lock_writer(const WriterLockOptions& options) override;

  /// A value with the version the server gave it and its age by the server's own clock.
  struct Versioned {
    Bytes value;
    std::string version;  ///< ETag (gs://: the generation, x-goog-generation)
    /// Server Date minus Last-Modified, seconds (1 s resolution); nullopt when not reported.
    std::optional<double> age_s;
  };
  std::optional<Versioned> get_versioned(const std::string& key) const;
  enum class Precondition {
    Absent,   ///< only if the key does not exist: If-None-Match: * (gs://: x-goog-if-generation-match: 0)
    Version,  ///< only if the key still has `version`: If-Match (gs://: x-goog-if-generation-match)
  };
  /// A conditional PUT; false when the server refused it (HTTP 412, or 409 for a concurrent
  /// conditional write). A server that does not implement conditional writes (s3rver, older
  /// S3-compatible servers) ignores the condition, writes and returns true.
  bool set_if(const std::string& key, std::span<const std::byte> value, Precondition condition,
              const std::string& version = "");

  const std::string& bucket() const;
  const std::string& prefix() const;
  /// The endpoint requests go to ("https://s3.us-east-1.amazonaws.com", ...).
  const std::string& endpoint() const;
  /// "sigv4", "bearer" or "anonymous".
  std::string auth_mode() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchmd::zarr
