// SPDX-License-Identifier: Apache-2.0
// sinks/mask_words (internal): a write's system mask (std::vector<bool>) as 64-bit words, read a
// word at a time where the standard library lets us (libstdc++ stores whole words from bit 0),
// bit by bit elsewhere. Selecting systems and comparing a mask with the last write's then cost a
// few operations per 64 systems instead of one bit extraction per system.
#pragma once
#include <bit>
#include <cstdint>
#include <vector>

namespace batchmd::sinks::detail {

/// Bit s of word s / 64 is mask[s]; bits past mask.size() are zero. `words` is resized.
inline void mask_words(const std::vector<bool>& mask, std::vector<std::uint64_t>& words) {
  const std::size_t n = mask.size(), nw = (n + 63) / 64;
  words.resize(nw);
#if defined(__GLIBCXX__)
  static_assert(sizeof(std::_Bit_type) == sizeof(std::uint64_t));
  const std::_Bit_type* p = mask.begin()._M_p;  // word 0, bit offset 0 (a vector starts there)
  for (std::size_t w = 0; w < nw; ++w) words[w] = static_cast<std::uint64_t>(p[w]);
#else
  for (std::size_t w = 0; w < nw; ++w) words[w] = 0;
  for (std::size_t s = 0; s < n; ++s)
    if (mask[s]) words[s / 64] |= std::uint64_t(1) << (s % 64);
#endif
  if (n % 64 != 0) words[nw - 1] &= (std::uint64_t(1) << (n % 64)) - 1;  // libstdc++ may leave them set
}

/// The indices of the set bits, in order, appended to `idx`.
inline void set_bits(const std::vector<std::uint64_t>& words, std::vector<std::int64_t>& idx) {
  for (std::size_t w = 0; w < words.size(); ++w)
    for (std::uint64_t b = words[w]; b != 0; b &= b - 1)
      idx.push_back(static_cast<std::int64_t>(64 * w) + std::countr_zero(b));
}

}  // namespace batchmd::sinks::detail
