// SPDX-License-Identifier: Apache-2.0
// S3Store: S3 REST requests (GET with Range, PUT, DELETE, HEAD, ListObjectsV2) over the pooled
// libcurl client, signed with SigV4 (or a bearer token, or unsigned), retried with backoff.
#include "batchmd/zarr/s3_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/sigv4.hpp"
#include "http.hpp"
#include "s3_xml.hpp"

namespace batchmd::zarr {

namespace {

using Clock = std::chrono::steady_clock;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

double env_double(const char* name, double fallback) {
  const std::string v = env(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0') throw InvalidArgument(std::string(name) + "='" + v + "' is not a number");
  return d;
}

int env_int(const char* name, int fallback) {
  const double d = env_double(name, fallback);
  if (d != static_cast<double>(static_cast<int>(d))) throw InvalidArgument(std::string(name) + " must be an integer");
  return static_cast<int>(d);
}

std::string_view as_view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

bool retryable_status(long status, const std::string& code) {
  if (status >= 500 || status == 429 || status == 408) return true;
  return status == 400 && (code == "RequestTimeout" || code == "SlowDown");
}

struct Endpoint {
  std::string scheme;     // "http" / "https"
  std::string authority;  // host[:port]
  std::string base_path;  // "" or "/base"
};

Endpoint parse_endpoint(const std::string& endpoint) {
  const std::size_t sep = endpoint.find("://");
  if (sep == std::string::npos)
    throw InvalidArgument("S3 endpoint '" + endpoint + "' must start with http:// or https://");
  Endpoint e;
  e.scheme = endpoint.substr(0, sep);
  if (e.scheme != "http" && e.scheme != "https") {
    throw InvalidArgument("S3 endpoint '" + endpoint + "' must start with http:// or https://");
  }
  std::string rest = endpoint.substr(sep + 3);
  const std::size_t slash = rest.find('/');
  e.authority = rest.substr(0, slash);
  if (slash != std::string::npos) e.base_path = rest.substr(slash);
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  if (e.authority.empty() || e.authority.find('@') != std::string::npos) {
    throw InvalidArgument("S3 endpoint '" + endpoint + "' must name a host (and no user information)");
  }
  // drop a default port: the Host header curl sends leaves it out
  const auto strip = [&](const char* suffix) {
    const std::string s = suffix;
    if (e.authority.size() > s.size() && e.authority.compare(e.authority.size() - s.size(), s.size(), s) == 0) {
      e.authority.resize(e.authority.size() - s.size());
    }
  };
  if (e.scheme == "http") strip(":80");
  if (e.scheme == "https") strip(":443");
  return e;
}

}  // namespace

S3Options S3Options::from_environment(const std::string& scheme) {
  S3Options o;
  const bool gs = scheme == "gs";
  o.region = env("AWS_REGION");
  if (o.region.empty()) o.region = env("AWS_DEFAULT_REGION");
  if (gs) {
    o.region = "auto";
    o.endpoint = env("GCS_ENDPOINT_URL");
    if (!env("GCS_HMAC_ACCESS_KEY").empty()) {
      o.access_key_id = env("GCS_HMAC_ACCESS_KEY");
      o.secret_access_key = env("GCS_HMAC_SECRET");
    } else if (!env("GOOGLE_OAUTH_ACCESS_TOKEN").empty()) {
      o.bearer_token = env("GOOGLE_OAUTH_ACCESS_TOKEN");
    }
  } else {
    o.endpoint = env("AWS_ENDPOINT_URL_S3");
    if (o.endpoint.empty()) o.endpoint = env("AWS_ENDPOINT_URL");
  }
  if (o.access_key_id.empty() && o.bearer_token.empty()) {
    o.access_key_id = env("AWS_ACCESS_KEY_ID");
    o.secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    o.session_token = env("AWS_SESSION_TOKEN");
  }
  std::string nosign = env("AWS_NO_SIGN_REQUEST");
  for (char& c : nosign) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  o.anonymous = nosign == "yes" || nosign == "true" || nosign == "1";
  o.max_in_flight = env_int("BATCHMD_S3_MAX_IN_FLIGHT", o.max_in_flight);
  o.max_attempts = env_int("BATCHMD_S3_MAX_ATTEMPTS", o.max_attempts);
  o.retry_deadline_s = env_double("BATCHMD_S3_RETRY_DEADLINE_S", o.retry_deadline_s);
  o.request_timeout_s = env_double("BATCHMD_S3_TIMEOUT_S", o.request_timeout_s);
  o.connect_timeout_s = env_double("BATCHMD_S3_CONNECT_TIMEOUT_S", o.connect_timeout_s);
  const std::string down = env("BATCHMD_S3_WHEN_DOWN");
  if (down == "fail") {
    o.when_unavailable = WhenUnavailable::Fail;
  } else if (!down.empty() && down != "block") {
    throw InvalidArgument("BATCHMD_S3_WHEN_DOWN='" + down + "': expected 'block' or 'fail'");
  }
  const std::string addressing = env("BATCHMD_S3_ADDRESSING");
  if (addressing == "path") {
    o.path_style = true;
  } else if (addressing == "virtual") {
    o.path_style = false;
  } else if (!addressing.empty()) {
    throw InvalidArgument("BATCHMD_S3_ADDRESSING='" + addressing + "': expected 'path' or 'virtual'");
  }
  return o;
}

struct S3Store::Impl {
  std::string url;     // scheme://bucket[/prefix]
  std::string scheme;  // "s3" / "gs"
  std::string bucket;
  std::string prefix;  // no leading/trailing '/'
  S3Options options;
  std::string endpoint_text;
  Endpoint endpoint;
  bool path_style = true;
  std::string host;  // Host header
  enum class Auth { SigV4, Bearer, Anonymous } auth = Auth::Anonymous;
  std::unique_ptr<http::Client> client;

  struct Request {
    std::string method;
    std::string key;  // store key ("" for bucket-level requests); for messages
    std::string object_key;
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers (signed)
    std::span<const std::byte> body;
  };

  std::string where(const std::string& key) const { return key.empty() ? url : url + "/" + key; }

  std::string object_key(const std::string& key) const { return prefix.empty() ? key : prefix + "/" + key; }

  std::string path_of(const std::string& object_key_) const {
    std::string p = endpoint.base_path;
    if (path_style) p += "/" + sigv4::uri_encode(bucket, true);
    p += "/" + sigv4::uri_encode(object_key_, false);
    return p;
  }

  void log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }

  http::Result attempt(const Request& r) const {
    const std::string path = path_of(r.object_key);
    const std::string query = sigv4::canonical_query(r.query);
    const std::string full_url = endpoint.scheme + "://" + host + path + (query.empty() ? "" : "?" + query);
    std::vector<std::pair<std::string, std::string>> headers = r.headers;
    headers.emplace_back("host", host);
    std::vector<std::string> lines;
    if (auth == Auth::SigV4) {
      const std::string date = sigv4::amz_date_now();
      const std::string payload = sigv4::sha256_hex(r.body);
      headers.emplace_back("x-amz-date", date);
      headers.emplace_back("x-amz-content-sha256", payload);
      if (!options.session_token.empty()) headers.emplace_back("x-amz-security-token", options.session_token);
      const sigv4::Request sr{r.method, path, r.query, headers, payload};
      const sigv4::Credentials creds{options.access_key_id, options.secret_access_key, options.session_token};
      const auto sig = sigv4::sign(sr, creds, options.region, "s3", date);
      lines.push_back("Authorization: " + sig.authorization);
    } else if (auth == Auth::Bearer) {
      lines.push_back("Authorization: Bearer " + options.bearer_token);
    }
    for (const auto& [k, v] : headers) lines.push_back(k + ": " + v);
    if (r.method == "PUT") lines.emplace_back("Content-Type: application/octet-stream");
    return client->perform(r.method, full_url, lines, r.body);
  }

  // Sends `r`, retrying what may succeed later; returns the final HTTP response (any status
  // that is not retried) or throws IOError when the retries are spent.
  http::Response send(const Request& r) const {
    const auto start = Clock::now();
    const bool block = options.when_unavailable == WhenUnavailable::Block;
    const auto deadline_ok = [&](double extra_s) {
      if (options.retry_deadline_s <= 0) return true;  // no deadline: Block retries forever, Fail until max_attempts
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      return elapsed + extra_s < options.retry_deadline_s;
    };
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string last;
    for (int tries = 1;; ++tries) {
      http::Result res = attempt(r);
      std::string failure;
      if (res.transport_ok) {
        const long status = res.response.status;
        const std::string code = status >= 300 ? s3xml::text(as_view(res.response.body), "Code") : "";
        if (!retryable_status(status, code)) return std::move(res.response);
        failure = "HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code);
        const std::string msg = s3xml::text(as_view(res.response.body), "Message");
        if (!msg.empty()) failure += " (" + msg + ")";
      } else {
        failure = (res.timed_out ? "timed out: " : "cannot reach " + endpoint_text + ": ") + res.transport_error;
      }
      last = failure;
      const double cap =
          std::min(options.backoff_max_s, options.backoff_initial_s * std::pow(2.0, std::min(tries - 1, 30)));
      const double sleep_s = std::uniform_real_distribution<double>(cap / 2, cap)(rng);
      const bool more_attempts = block || tries < options.max_attempts;
      if (!more_attempts || !deadline_ok(sleep_s)) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        char when[64];
        std::snprintf(when, sizeof when, " (after %d attempt%s in %.1f s)", tries, tries == 1 ? "" : "s", elapsed);
        throw IOError(where(r.key) + ": " + r.method + " failed: " + failure + when);
      }
      char line[96];
      std::snprintf(line, sizeof line, "; retry %d in %.2f s", tries, sleep_s);
      log("batchmd: " + where(r.key) + ": " + r.method + " " + failure + line);
      std::this_thread::sleep_for(std::chrono::duration<double>(sleep_s));
    }
  }

  [[noreturn]] void fail(const Request& r, const http::Response& resp) const {
    const std::string code = s3xml::text(as_view(resp.body), "Code");
    const std::string msg = s3xml::text(as_view(resp.body), "Message");
    std::string what = "HTTP " + std::to_string(resp.status) + (code.empty() ? "" : " " + code);
    if (!msg.empty()) what += " (" + msg + ")";
    if (code == "NoSuchBucket" || (resp.status == 404 && r.method == "HEAD" && r.object_key.empty())) {
      throw IOError(where(r.key) + ": " + r.method + " failed: bucket '" + bucket + "' does not exist at " +
                    endpoint_text + " (" + what + ")");
    }
    if (resp.status == 403 || resp.status == 401) {
      throw IOError(where(r.key) + ": " + r.method + " failed: access denied (" + what +
                    "); check the credentials and the bucket's permissions");
    }
    throw IOError(where(r.key) + ": " + r.method + " failed: " + what);
  }

  bool is_missing(const http::Response& resp) const {
    if (resp.status != 404) return false;
    const std::string code = s3xml::text(as_view(resp.body), "Code");
    return code != "NoSuchBucket";
  }

  // GET with an optional Range header; nullopt on a missing key.
  std::optional<http::Response> get(const std::string& key, const std::string& range) const {
    validate_key(key);
    Request r{"GET", key, object_key(key), {}, {}, {}};
    if (!range.empty()) r.headers.emplace_back("range", range);
    http::Response resp = send(r);
    if (is_missing(resp)) return std::nullopt;
    if (resp.status == 200 || resp.status == 206 || resp.status == 416) return resp;
    fail(r, resp);
  }

  // The total size from "Content-Range: bytes a-b/total" and the range [a, b].
  static bool content_range(const http::Response& resp, std::uint64_t& a, std::uint64_t& b, std::uint64_t& total) {
    const std::string cr = resp.header("content-range");
    unsigned long long x = 0, y = 0, t = 0;
    if (std::sscanf(cr.c_str(), "bytes %llu-%llu/%llu", &x, &y, &t) != 3) return false;
    a = x;
    b = y;
    total = t;
    return true;
  }

  std::vector<std::string> list_objects(const std::string& full_prefix, bool delimited,
                                        std::vector<std::string>* common_prefixes) const {
    std::vector<std::string> keys;
    std::string token;
    while (true) {
      Request r{"GET", "", "", {}, {}, {}};
      r.query.emplace_back("list-type", "2");
      r.query.emplace_back("prefix", full_prefix);
      r.query.emplace_back("max-keys", std::to_string(options.list_page_size));
      if (delimited) r.query.emplace_back("delimiter", "/");
      if (!token.empty()) r.query.emplace_back("continuation-token", token);
      const http::Response resp = send(r);
      if (resp.status != 200) fail(r, resp);
      const std::string_view xml = as_view(resp.body);
      for (const std::string_view c : s3xml::elements(xml, "Contents")) keys.push_back(s3xml::text(c, "Key"));
      if (common_prefixes != nullptr) {
        for (const std::string_view c : s3xml::elements(xml, "CommonPrefixes")) {
          common_prefixes->push_back(s3xml::text(c, "Prefix"));
        }
      }
      const std::string truncated = s3xml::text(xml, "IsTruncated");
      token = s3xml::text(xml, "NextContinuationToken");
      if (truncated != "true") break;
      if (token.empty()) {
        throw IOError(url + ": list failed: the server said the listing is truncated but gave no continuation token");
      }
    }
    return keys;
  }

  // Store keys from object keys under our prefix; foreign keys that are not valid store keys
  // (folder markers "a/", "a//b") are skipped.
  std::optional<std::string> store_key(const std::string& object_key_) const {
    std::string k = object_key_;
    if (!prefix.empty()) {
      if (k.compare(0, prefix.size() + 1, prefix + "/") != 0) return std::nullopt;
      k = k.substr(prefix.size() + 1);
    }
    try {
      validate_key(k);
    } catch (const InvalidArgument&) {
      return std::nullopt;
    }
    return k;
  }
};

S3Store::S3Store(const std::string& url, S3Options options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  const std::size_t sep = url.find("://");
  m.scheme = sep == std::string::npos ? "" : url.substr(0, sep);
  if (m.scheme != "s3" && m.scheme != "gs") {
    throw InvalidArgument("S3Store: '" + url + "' is not an s3:// or gs:// URL");
  }
  std::string rest = url.substr(sep + 3);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const std::size_t slash = rest.find('/');
  m.bucket = rest.substr(0, slash);
  m.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (m.bucket.empty()) throw InvalidArgument("S3Store: '" + url + "' names no bucket");
  for (const char c : m.bucket) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '.' || c == '_')) {
      throw InvalidArgument("S3Store: '" + url + "': bad bucket name '" + m.bucket + "'");
    }
  }
  if (!m.prefix.empty()) {
    try {
      validate_key(m.prefix);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("S3Store: '" + url + "': bad prefix: " + e.what());
    }
  }
  m.url = m.scheme + "://" + m.bucket + (m.prefix.empty() ? "" : "/" + m.prefix);
  const bool gs = m.scheme == "gs";
  if (options.region.empty()) options.region = gs ? "auto" : "us-east-1";
  const bool custom_endpoint = !options.endpoint.empty();
  if (!custom_endpoint) {
    options.endpoint = gs ? "https://storage.googleapis.com" : "https://s3." + options.region + ".amazonaws.com";
  }
  if (options.max_in_flight < 1) throw InvalidArgument("S3Store: max_in_flight must be >= 1");
  if (options.max_attempts < 1) throw InvalidArgument("S3Store: max_attempts must be >= 1");
  if (options.list_page_size < 1 || options.list_page_size > 1000) {
    throw InvalidArgument("S3Store: list_page_size must be in 1..1000");
  }
  if (!(options.request_timeout_s > 0) || !(options.connect_timeout_s > 0)) {
    throw InvalidArgument("S3Store: timeouts must be > 0");
  }
  m.endpoint = parse_endpoint(options.endpoint);
  m.endpoint_text = m.endpoint.scheme + "://" + m.endpoint.authority + m.endpoint.base_path;
  m.path_style = options.path_style.value_or(custom_endpoint || gs || m.bucket.find('.') != std::string::npos);
  m.host = m.path_style ? m.endpoint.authority : m.bucket + "." + m.endpoint.authority;
  if (options.anonymous) {
    m.auth = Impl::Auth::Anonymous;
  } else if (!options.access_key_id.empty()) {
    if (options.secret_access_key.empty()) {
      throw InvalidArgument("S3Store: '" + url + "': an access key id is set but no secret access key");
    }
    m.auth = Impl::Auth::SigV4;
  } else if (!options.bearer_token.empty()) {
    m.auth = Impl::Auth::Bearer;
  } else {
    m.auth = Impl::Auth::Anonymous;
  }
  m.client = std::make_unique<http::Client>(http::ClientOptions{options.max_in_flight,
                                                                static_cast<long>(options.connect_timeout_s * 1000.0),
                                                                static_cast<long>(options.request_timeout_s * 1000.0)});
  m.options = std::move(options);
}

S3Store::~S3Store() = default;

std::optional<Bytes> S3Store::get(const std::string& key) const {
  auto resp = impl_->get(key, "");
  if (!resp) return std::nullopt;
  if (resp->status != 200) {
    impl_->fail(Impl::Request{"GET", key, impl_->object_key(key), {}, {}, {}}, *resp);
  }
  return std::move(resp->body);
}

std::optional<Bytes> S3Store::get_range(const std::string& key, std::uint64_t offset, std::uint64_t length) const {
  if (length == 0) {
    if (!exists(key)) return std::nullopt;
    return Bytes{};
  }
  std::string range = "bytes=" + std::to_string(offset) + "-";
  if (length <= UINT64_MAX - offset) range += std::to_string(offset + length - 1);
  auto resp = impl_->get(key, range);
  if (!resp) return std::nullopt;
  if (resp->status == 416) return Bytes{};  // the range starts past the end
  if (resp->status == 206) {
    std::uint64_t a = 0, b = 0, total = 0;
    if (Impl::content_range(*resp, a, b, total) && a != offset) {
      throw IOError(impl_->where(key) + ": GET failed: the server returned bytes from " + std::to_string(a) +
                    " for a range from " + std::to_string(offset));
    }
    if (resp->body.size() > length) resp->body.resize(length);
    return std::move(resp->body);
  }
  // 200: the server ignored the range; cut it out here
  Bytes& all = resp->body;
  const std::uint64_t begin = std::min<std::uint64_t>(offset, all.size());
  const std::uint64_t count = std::min<std::uint64_t>(length, all.size() - begin);
  return Bytes(all.begin() + static_cast<std::ptrdiff_t>(begin),
               all.begin() + static_cast<std::ptrdiff_t>(begin + count));
}

std::optional<Bytes> S3Store::get_suffix(const std::string& key, std::uint64_t length) const {
  if (length == 0) {
    if (!exists(key)) return std::nullopt;
    return Bytes{};
  }
  auto resp = impl_->get(key, "bytes=-" + std::to_string(length));
  if (!resp) return std::nullopt;
  if (resp->status == 416) return Bytes{};  // an empty object
  if (resp->status == 206) {
    std::uint64_t a = 0, b = 0, total = 0;
    if (!Impl::content_range(*resp, a, b, total)) {
      throw IOError(impl_->where(key) + ": GET failed: a ranged answer without a valid Content-Range");
    }
    if (b + 1 == total && b + 1 - a == std::min(length, total)) return std::move(resp->body);
    // Some S3-compatible servers do not implement suffix ranges: ask for the explicit range.
    const std::uint64_t n = std::min(length, total);
    return get_range(key, total - n, n);
  }
  Bytes& all = resp->body;
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(length, all.size()));
  return Bytes(all.end() - static_cast<std::ptrdiff_t>(n), all.end());
}

void S3Store::set(const std::string& key, std::span<const std::byte> value) {
  validate_key(key);
  const Impl::Request r{"PUT", key, impl_->object_key(key), {}, {}, value};
  const http::Response resp = impl_->send(r);
  if (resp.status < 200 || resp.status >= 300) impl_->fail(r, resp);
}

void S3Store::erase(const std::string& key) {
  validate_key(key);
  const Impl::Request r{"DELETE", key, impl_->object_key(key), {}, {}, {}};
  const http::Response resp = impl_->send(r);
  if (resp.status >= 200 && resp.status < 300) return;
  if (impl_->is_missing(resp)) return;
  impl_->fail(r, resp);
}

std::vector<std::string> S3Store::list(const std::string& prefix) const {
  validate_prefix(prefix);
  const std::string full = impl_->prefix.empty() ? prefix : impl_->prefix + "/" + prefix;
  std::vector<std::string> keys;
  for (const std::string& k : impl_->list_objects(full, false, nullptr)) {
    if (auto sk = impl_->store_key(k)) keys.push_back(std::move(*sk));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::vector<std::string> S3Store::list_dir(const std::string& prefix) const {
  validate_prefix(prefix);
  const std::string folder = (prefix.empty() || prefix.back() == '/') ? prefix : prefix + "/";
  const std::string full = impl_->prefix.empty() ? folder : impl_->prefix + "/" + folder;
  std::vector<std::string> common;
  std::vector<std::string> names;
  for (const std::string& k : impl_->list_objects(full, true, &common)) {
    const std::string name = k.substr(std::min(full.size(), k.size()));
    if (!name.empty() && name.find('/') == std::string::npos && k.size() > full.size()) names.push_back(name);
  }
  for (const std::string& p : common) {
    if (p.size() <= full.size() + 1) continue;
    std::string name = p.substr(full.size());
    if (name.back() == '/') name.pop_back();
    if (!name.empty() && name.find('/') == std::string::npos) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

bool S3Store::exists(const std::string& key) const {
  validate_key(key);
  const Impl::Request r{"HEAD", key, impl_->object_key(key), {}, {}, {}};
  const http::Response resp = impl_->send(r);
  if (resp.status == 200) return true;
  if (resp.status == 404) return false;
  impl_->fail(r, resp);
}

namespace {

/// An HTTP date ("Tue, 05 Jan 2026 10:22:03 GMT") as seconds since the epoch.
std::optional<double> http_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr) return std::nullopt;
  return static_cast<double>(::timegm(&tm));
}

}  // namespace

std::optional<S3Store::Versioned> S3Store::get_versioned(const std::string& key) const {
  auto resp = impl_->get(key, "");
  if (!resp) return std::nullopt;
  if (resp->status != 200) impl_->fail(Impl::Request{"GET", key, impl_->object_key(key), {}, {}, {}}, *resp);
  Versioned v;
  v.version = resp->header("x-goog-generation");
  if (v.version.empty()) v.version = resp->header("etag");
  const auto now = http_date(resp->header("date"));
  const auto modified = http_date(resp->header("last-modified"));
  if (now && modified) v.age_s = *now - *modified;
  v.value = std::move(resp->body);
  return v;
}

bool S3Store::set_if(const std::string& key, std::span<const std::byte> value, Precondition condition,
                     const std::string& version) {
  validate_key(key);
  Impl::Request r{"PUT", key, impl_->object_key(key), {}, {}, value};
  const bool gs = impl_->scheme == "gs";
  if (condition == Precondition::Absent) {
    r.headers.emplace_back(gs ? "x-goog-if-generation-match" : "if-none-match", gs ? "0" : "*");
  } else {
    if (version.empty()) throw InvalidArgument(impl_->where(key) + ": a conditional write needs a version");
    r.headers.emplace_back(gs ? "x-goog-if-generation-match" : "if-match", version);
  }
  const http::Response resp = impl_->send(r);
  if (resp.status >= 200 && resp.status < 300) return true;
  if (resp.status == 412 || resp.status == 409 || (condition == Precondition::Version && impl_->is_missing(resp)))
    return false;
  impl_->fail(r, resp);
}

std::string S3Store::url() const { return impl_->url; }
const std::string& S3Store::bucket() const { return impl_->bucket; }
const std::string& S3Store::prefix() const { return impl_->prefix; }
const std::string& S3Store::endpoint() const { return impl_->endpoint_text; }

std::string S3Store::auth_mode() const {
  switch (impl_->auth) {
    case Impl::Auth::SigV4:
      return "sigv4";
    case Impl::Auth::Bearer:
      return "bearer";
    case Impl::Auth::Anonymous:
      break;
  }
  return "anonymous";
}

}  // namespace batchmd::zarr
