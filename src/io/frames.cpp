// SPDX-License-Identifier: Apache-2.0
// io/frames: FrameSelection parsing and resolution against a frame count.
#include "batchmd/io/frames.hpp"

#include <algorithm>

#include "batchmd/core/error.hpp"
#include "text.hpp"

namespace batchmd::io {

FrameSelection FrameSelection::index(std::int64_t i) { return list({i}); }

FrameSelection FrameSelection::slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                                     std::int64_t step) {
  if (step == 0) throw InvalidArgument("frames: a slice step cannot be 0");
  FrameSelection f;
  f.kind_ = Kind::Slice;
  f.start_ = start;
  f.stop_ = stop;
  f.step_ = step;
  return f;
}

FrameSelection FrameSelection::list(std::vector<std::int64_t> indices) {
  if (indices.empty()) throw InvalidArgument("frames: an empty list selects nothing");
  FrameSelection f;
  f.kind_ = Kind::List;
  f.list_ = std::move(indices);
  return f;
}

FrameSelection FrameSelection::parse(std::string_view text) {
  const std::string_view t = detail::trim(text);
  auto bad = [&](const std::string& why) -> InvalidArgument {
    return InvalidArgument(
        "frames: cannot read '" + std::string(text) + "': " + why +
        " (expected an index such as 0 or -1, a slice such as 2:10 or ::5, or a list such as 0,4,7)");
  };
  auto number = [&](std::string_view s) {
    const auto v = detail::to_int(detail::trim(s));
    if (!v) throw bad(detail::quote(detail::trim(s)) + " is not an integer");
    return *v;
  };
  if (t.empty()) throw bad("it is empty");
  if (t.find(':') != std::string_view::npos) {
    std::vector<std::string_view> parts;
    std::size_t b = 0;
    for (std::size_t i = 0; i <= t.size(); ++i)
      if (i == t.size() || t[i] == ':') {
        parts.push_back(t.substr(b, i - b));
        b = i + 1;
      }
    if (parts.size() > 3) throw bad("a slice has at most two ':'");
    auto opt = [&](std::size_t k) -> std::optional<std::int64_t> {
      if (k >= parts.size() || detail::trim(parts[k]).empty()) return std::nullopt;
      return number(parts[k]);
    };
    const auto step = opt(2);
    if (step && *step == 0) throw bad("the step is 0");
    return slice(opt(0), opt(1), step.value_or(1));
  }
  std::vector<std::int64_t> v;
  std::size_t b = 0;
  for (std::size_t i = 0; i <= t.size(); ++i)
    if (i == t.size() || t[i] == ',') {
      v.push_back(number(t.substr(b, i - b)));
      b = i + 1;
    }
  return list(std::move(v));
}

bool FrameSelection::is_all() const { return kind_ == Kind::Slice && !start_ && !stop_ && step_ == 1; }

std::string FrameSelection::str() const {
  // Built with += only: GCC 12 warns (-Wrestrict, a false positive) on "literal" + std::string.
  std::string s;
  if (kind_ == Kind::List) {
    for (std::size_t i = 0; i < list_.size(); ++i) {
      if (i) s += ',';
      s += std::to_string(list_[i]);
    }
    return s;
  }
  if (start_) s += std::to_string(*start_);
  s += ':';
  if (stop_) s += std::to_string(*stop_);
  if (step_ != 1) {
    s += ':';
    s += std::to_string(step_);
  }
  return s;
}

std::vector<std::int64_t> FrameSelection::resolve(std::int64_t n, std::string_view source) const {
  std::vector<std::int64_t> out;
  const std::string what = std::string(source) + " has " + std::to_string(n) + (n == 1 ? " frame" : " frames");
  if (kind_ == Kind::List) {
    for (std::int64_t i : list_) {
      const std::int64_t k = i < 0 ? i + n : i;
      if (k < 0 || k >= n) throw InvalidArgument("frames: index " + std::to_string(i) + " is out of range: " + what);
      out.push_back(k);
    }
    return out;
  }
  // Python's slice.indices().
  auto clamp = [&](std::optional<std::int64_t> v, std::int64_t dflt) {
    if (!v) return dflt;
    std::int64_t k = *v < 0 ? *v + n : *v;
    if (step_ > 0) return std::clamp<std::int64_t>(k, 0, n);
    return std::clamp<std::int64_t>(k, -1, n - 1);
  };
  const std::int64_t start = clamp(start_, step_ > 0 ? 0 : n - 1);
  const std::int64_t stop = clamp(stop_, step_ > 0 ? n : -1);
  for (std::int64_t k = start; step_ > 0 ? k < stop : k > stop; k += step_) out.push_back(k);
  if (out.empty()) throw InvalidArgument("frames: '" + str() + "' selects no frame: " + what);
  return out;
}

}  // namespace batchmd::io
