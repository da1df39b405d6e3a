// SPDX-License-Identifier: Apache-2.0
// The word view of a write's mask (sinks/mask_words.hpp) against the mask read bit by bit, for
// sizes around word boundaries and vectors whose storage holds set bits past their end; and
// DataSink::selected built on it (the indices in order, a wrong-length mask refused).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "mask_words.hpp"

using namespace batchmd;
using namespace batchmd::sinks;

namespace {

// DataSink::selected is for sinks: a sink type (never made) that lets the test call it.
struct Selector : DataSink {
  using DataSink::selected;
};

std::vector<std::int64_t> bit_by_bit(const std::vector<bool>& m) {
  std::vector<std::int64_t> idx;
  for (std::size_t s = 0; s < m.size(); ++s)
    if (m[s]) idx.push_back(static_cast<std::int64_t>(s));
  return idx;
}

void check(const std::vector<bool>& m, const std::string& what) {
  std::vector<std::uint64_t> words{~std::uint64_t(0)};  // stale content must not survive
  detail::mask_words(m, words);
  ASSERT_EQ(words.size(), (m.size() + 63) / 64) << what;
  for (std::size_t s = 0; s < 64 * words.size(); ++s) {
    const bool bit = (words[s / 64] >> (s % 64)) & 1u;
    ASSERT_EQ(bit, s < m.size() && m[s]) << what << ": bit " << s;
  }
  std::vector<std::int64_t> idx{-1};  // appended to
  detail::set_bits(words, idx);
  idx.erase(idx.begin());
  EXPECT_EQ(idx, bit_by_bit(m)) << what;
}

}  // namespace

TEST(MaskWords, EqualTheMaskReadBitByBit) {
  std::mt19937_64 rng(7);
  for (std::size_t n : {0, 1, 2, 63, 64, 65, 127, 128, 129, 300, 4096, 4097}) {
    check(std::vector<bool>(n, true), "all " + std::to_string(n));
    check(std::vector<bool>(n, false), "none " + std::to_string(n));
    std::vector<bool> r(n);
    for (std::size_t s = 0; s < n; ++s) r[s] = rng() % 3 == 0;
    check(r, "random " + std::to_string(n));
  }
}

TEST(MaskWords, BitsLeftPastTheEndOfAShrunkVectorAreNotSystems) {
  std::vector<bool> m(200, true);
  m.resize(70);  // the storage keeps bits 70..199 set
  check(m, "shrunk to 70");
  m.resize(130, false);
  m[129] = true;
  check(m, "grown to 130");
  std::vector<bool> c(m);
  c.pop_back();
  check(c, "popped");
}

TEST(MaskWords, SelectedListsTheSetSystemsAndRefusesAWrongLength) {
  std::vector<bool> m(150);
  for (std::size_t s = 0; s < m.size(); ++s) m[s] = s % 7 == 3 || s == 149;
  std::vector<AtomicData> systems;
  for (int s = 0; s < 150; ++s)
    systems.push_back(
        AtomicData::make(DType::Float64, {0, 0, 0}, {18}, {10, 0, 0, 0, 10, 0, 0, 0, 10}, {true, true, true}));
  const Batch b = Batch::from_systems(systems);
  EXPECT_EQ(Selector::selected(b, m, "Test"), bit_by_bit(m));
  m.push_back(true);
  try {
    (void)Selector::selected(b, m, "Test");
    FAIL() << "a 151-entry mask for 150 systems was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("mask has 151 entries but the batch has 150 systems"), std::string::npos)
        << e.what();
  }
}
