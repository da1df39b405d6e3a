// SPDX-License-Identifier: Apache-2.0
// core/device: where a Tensor's memory lives ("cpu" or "cuda:N").
#pragma once
#include <string>
#include <string_view>

namespace batchmd {

struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  /// Parses "cpu", "cuda" or "cuda:N"; throws InvalidArgument otherwise.
  static Device parse(std::string_view s);
  std::string str() const;
  bool is_cpu() const { return kind == Kind::CPU; }
  friend bool operator==(const Device&, const Device&) = default;
};

}  // namespace batchmd
