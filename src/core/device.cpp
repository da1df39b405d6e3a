// SPDX-License-Identifier: Apache-2.0
// core/device: parsing and printing device names.
#include "batchmd/core/device.hpp"

#include <charconv>

#include "batchmd/core/error.hpp"

namespace batchmd {

Device Device::parse(std::string_view s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return {Kind::CUDA, 0};
  if (s.starts_with("cuda:")) {
    int idx = -1;
    auto rest = s.substr(5);
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), idx);
    if (ec == std::errc() && p == rest.data() + rest.size() && idx >= 0) return {Kind::CUDA, idx};
  }
  throw InvalidArgument("unknown device '" + std::string(s) + "' (expected cpu, cuda or cuda:N)");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

}  // namespace batchmd
