// SPDX-License-Identifier: Apache-2.0
// zarr/http (private): a thread-safe HTTP client on libcurl for the remote stores. A pool of
// easy handles (each keeps its connections alive between requests) and a bound on requests in
// flight; transport failures are returned, not thrown, so the caller decides on retries.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr::http {

struct Response {
  long status = 0;
  Bytes body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  /// The value of a header (lower-case name), "" when absent.
  std::string header(std::string_view name) const;
};

struct Result {
  bool transport_ok = false;  ///< false: no HTTP response (connect/timeout/reset)
  bool timed_out = false;
  std::string transport_error;  ///< curl's message when !transport_ok
  Response response;
};

struct ClientOptions {
  int max_in_flight = 16;
  long connect_timeout_ms = 5000;
  long request_timeout_ms = 120000;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// One request. `headers` are "Name: value" lines. HEAD gets no body.
  Result perform(const std::string& method, const std::string& url, const std::vector<std::string>& headers,
                 std::span<const std::byte> body) const;

 private:
  void* acquire() const;
  void release(void* handle) const;

  ClientOptions options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  mutable int in_flight_ = 0;
  mutable std::vector<void*> idle_;
};

}  // namespace batchmd::zarr::http
