// SPDX-License-Identifier: Apache-2.0
// zarr/s3_xml (private): the little XML that S3 answers with (error codes and messages,
// ListObjectsV2 pages) read without an XML library: elements by tag, entities decoded.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace batchmd::zarr::s3xml {

/// Decodes XML entities (&amp; &lt; &gt; &quot; &apos; and numeric references, as UTF-8).
std::string unescape(std::string_view s);
/// Every element <tag>...</tag> of `xml` (not nested in itself), as raw inner text.
std::vector<std::string_view> elements(std::string_view xml, std::string_view tag);
/// The decoded text of the first <tag>...</tag>; "" when absent.
std::string text(std::string_view xml, std::string_view tag);

}  // namespace batchmd::zarr::s3xml
