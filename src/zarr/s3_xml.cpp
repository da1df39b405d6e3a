// SPDX-License-Identifier: Apache-2.0
// S3 XML helpers (s3_xml.hpp).
#include "s3_xml.hpp"

#include <cstdlib>

namespace batchmd::zarr::s3xml {

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s[i];
      continue;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp")
      out += '&';
    else if (ent == "lt")
      out += '<';
    else if (ent == "gt")
      out += '>';
    else if (ent == "quot")
      out += '"';
    else if (ent == "apos")
      out += '\'';
    else if (!ent.empty() && ent[0] == '#') {
      const bool hexa = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
      const unsigned long cp = std::strtoul(std::string(ent.substr(hexa ? 2 : 1)).c_str(), nullptr, hexa ? 16 : 10);
      // UTF-8 encode
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

std::vector<std::string_view> elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string open("<"), close("</");
  open.append(tag).append(">");
  close.append(tag).append(">");
  std::size_t pos = 0;
  while (true) {
    const std::size_t a = xml.find(open, pos);
    if (a == std::string_view::npos) break;
    const std::size_t b = xml.find(close, a + open.size());
    if (b == std::string_view::npos) break;
    out.push_back(xml.substr(a + open.size(), b - a - open.size()));
    pos = b + close.size();
  }
  return out;
}

std::string text(std::string_view xml, std::string_view tag) {
  const auto els = elements(xml, tag);
  return els.empty() ? std::string() : unescape(els.front());
}

}  // namespace batchmd::zarr::s3xml
