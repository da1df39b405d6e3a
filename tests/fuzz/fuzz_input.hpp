// SPDX-License-Identifier: Apache-2.0
// tests/fuzz: a small reader of fuzz input (bytes, integers, length-prefixed strings), in place of
// libFuzzer's FuzzedDataProvider so that the harnesses also build with GCC for the regression
// tests. Reading past the end yields zeros and empty strings.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace batchmd::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  std::size_t left() const { return n_; }
  std::uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) | (static_cast<std::uint32_t>(u16()) << 16); }
  /// Up to `len` bytes (fewer at the end of the input).
  std::span<const std::byte> bytes(std::size_t len) {
    len = std::min(len, n_);
    std::span<const std::byte> s(reinterpret_cast<const std::byte*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }
  std::string str(std::size_t len) {
    const auto b = bytes(len);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  /// Everything that is left.
  std::span<const std::byte> rest() { return bytes(n_); }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

}  // namespace batchmd::fuzz
