// SPDX-License-Identifier: Apache-2.0
// libcurl easy handles, pooled: curl_easy_reset keeps a handle's live connections, so a request
// usually reuses a kept-alive connection of the handle it borrows.
#include "http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "batchmd/core/error.hpp"

namespace batchmd::zarr::http {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw IOError("libcurl: global initialisation failed");
  });
}

struct Upload {
  std::span<const std::byte> body;
  std::size_t pos = 0;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* up = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, up->body.size() - up->pos);
  if (n > 0) std::memcpy(buffer, up->body.data() + up->pos, n);
  up->pos += n;
  return n;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* up = static_cast<Upload*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > up->body.size()) return CURL_SEEKFUNC_FAIL;
  up->pos = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Bytes*>(user);
  const auto* p = reinterpret_cast<const std::byte*>(data);
  body->insert(body->end(), p, p + size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * count);
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();  // a new response (after 100 Continue or a retry inside curl)
    return size * count;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  headers->emplace_back(std::move(name), std::string(value));
  return size * count;
}

// NO_PROXY / no_proxy plus the loopback names.
const std::string& no_proxy() {
  static const std::string list = [] {
    std::string l = "127.0.0.1,localhost,::1";
    for (const char* name : {"NO_PROXY", "no_proxy"}) {
      const char* v = std::getenv(name);
      if (v != nullptr && *v != '\0') {
        if (std::string_view(v) == "*") return std::string("*");
        l += ',';
        l += v;
      }
    }
    return l;
  }();
  return list;
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

Client::Client(ClientOptions options) : options_(options) {
  global_init();
  if (options_.max_in_flight < 1) throw InvalidArgument("http client: max_in_flight must be >= 1");
}

Client::~Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* Client::acquire() const {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return in_flight_ < options_.max_in_flight; });
  ++in_flight_;
  if (!idle_.empty()) {
    void* h = idle_.back();
    idle_.pop_back();
    return h;
  }
  lock.unlock();
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    release(nullptr);
    throw IOError("libcurl: cannot create a handle");
  }
  return h;
}

void Client::release(void* handle) const {
  {
    const std::lock_guard lock(mutex_);
    --in_flight_;
    if (handle != nullptr) idle_.push_back(handle);
  }
  cv_.notify_one();
}

Result Client::perform(const std::string& method, const std::string& url, const std::vector<std::string>& headers,
                       std::span<const std::byte> body) const {
  CURL* h = static_cast<CURL*>(acquire());
  struct Releaser {
    const Client* client;
    CURL* handle;
    curl_slist* list = nullptr;
    ~Releaser() {
      curl_slist_free_all(list);
      client->release(handle);
    }
  } releaser{this, h};
  curl_easy_reset(h);
  Result result;
  Upload upload{body, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};
  for (const std::string& line : headers) releaser.list = curl_slist_append(releaser.list, line.c_str());
  releaser.list = curl_slist_append(releaser.list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, releaser.list);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  // Proxies from the environment apply, but never to the loopback interface.
  curl_easy_setopt(h, CURLOPT_NOPROXY, no_proxy().c_str());
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &result.response.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &result.response.headers);
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    result.transport_ok = false;
    result.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    result.transport_error = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    return result;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  result.transport_ok = true;
  result.response.status = status;
  return result;
}

}  // namespace batchmd::zarr::http
