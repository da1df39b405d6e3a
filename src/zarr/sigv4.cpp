// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4: canonical request -> string to sign -> HMAC chain -> signature.
#include "batchmd/zarr/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "batchmd/core/error.hpp"

namespace batchmd::zarr::sigv4 {

namespace {

using Digest = std::array<unsigned char, 32>;

std::string hex(std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

Digest hmac(std::span<const unsigned char> key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out.data(), &len) == nullptr ||
      len != out.size()) {
    throw IOError("sigv4: HMAC-SHA256 failed");
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header values: leading/trailing whitespace trimmed, inner runs of spaces collapsed to one.
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (const char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool encode_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, true), uri_encode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string sha256_hex(std::span<const std::byte> data) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  return hex(d);
}

std::string sha256_hex(std::string_view data) { return sha256_hex(std::as_bytes(std::span(data.data(), data.size()))); }

std::string amz_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature sign(const Request& request, const Credentials& credentials, std::string_view region,
               std::string_view service, std::string_view amz_date) {
  if (amz_date.size() != 16) throw InvalidArgument("sigv4: bad x-amz-date '" + std::string(amz_date) + "'");
  // Canonical headers: lower-case names, sorted; repeated names joined with ','.
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [k, v] : request.headers) headers.emplace_back(lower(k), canonical_value(v));
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.pop_back();  // the '\n'
      canonical_headers += ',' + headers[i].second + '\n';
      continue;
    }
    canonical_headers += headers[i].first + ':' + headers[i].second + '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += headers[i].first;
  }
  Signature s;
  s.signed_headers = signed_headers;
  s.canonical_request = request.method + '\n' + (request.canonical_uri.empty() ? "/" : request.canonical_uri) + '\n' +
                        canonical_query(request.query) + '\n' + canonical_headers + '\n' + signed_headers + '\n' +
                        request.payload_hash;
  const std::string date(amz_date.substr(0, 8));
  const std::string scope = date + '/' + std::string(region) + '/' + std::string(service) + "/aws4_request";
  s.string_to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(amz_date) + '\n' + scope + '\n' + sha256_hex(s.canonical_request);
  const std::string k_secret = "AWS4" + credentials.secret_access_key;
  const Digest k_date = hmac(std::span(reinterpret_cast<const unsigned char*>(k_secret.data()), k_secret.size()), date);
  const Digest k_region = hmac(k_date, region);
  const Digest k_service = hmac(k_region, service);
  const Digest k_signing = hmac(k_service, "aws4_request");
  s.signature = hex(hmac(k_signing, s.string_to_sign));
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + '/' + scope +
                    ",SignedHeaders=" + signed_headers + ",Signature=" + s.signature;
  return s;
}

}  // namespace batchmd::zarr::sigv4
