// SPDX-License-Identifier: Apache-2.0
// zarr/sigv4: AWS Signature Version 4 for S3-style requests (header-based auth), on OpenSSL's
// SHA-256 and HMAC. Used by S3Store; public so that tests can check it against AWS's published
// examples and an independent signer.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batchmd::zarr::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< "" when the credentials are not temporary
};

struct Request {
  std::string method;         ///< "GET", "PUT", ...
  std::string canonical_uri;  ///< the path, already URI-encoded ('/' kept), e.g. "/bucket/a%24b"
  /// Query parameters, not encoded (the signer encodes and sorts them).
  std::vector<std::pair<std::string, std::string>> query;
  /// Every header to sign, "host" included; names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_hash;
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;       ///< hex
  std::string signed_headers;  ///< "host;range;x-amz-date"
  std::string authorization;   ///< the Authorization header's value
};

/// Signs `request` as of `amz_date` ("YYYYMMDDTHHMMSSZ"). The caller has put x-amz-date (and
/// x-amz-content-sha256, x-amz-security-token where used) among the headers.
Signature sign(const Request& request, const Credentials& credentials, std::string_view region,
               std::string_view service, std::string_view amz_date);

/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, everything else
/// %XX (upper case); '/' kept unless encode_slash.
std::string uri_encode(std::string_view s, bool encode_slash);
/// The encoded query string of `query`, sorted by encoded name then value.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
std::string sha256_hex(std::span<const std::byte> data);
std::string sha256_hex(std::string_view data);
/// The current UTC time as "YYYYMMDDTHHMMSSZ".
std::string amz_date_now();

}  // namespace batchmd::zarr::sigv4
