// SPDX-License-Identifier: Apache-2.0
// model/element_pairs: which element pairs a model acts on — the restriction behind overlays
// such as LAMMPS's `pair_style hybrid/overlay` (`pair_coeff 1 2 zbl ...` acts on one type pair;
// `pair_coeff * * snap ... W NULL` leaves He atoms out of SNAP).
//
// A pair potential acts on a pair of atoms iff their (unordered) element pair is allowed. A
// many-body model acts on the atoms whose element e has (e, e) allowed and, around such an atom,
// sees only neighbors whose pair is allowed. The default (no pairs) allows everything.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace batchmd::model {

class ElementPairs {
 public:
  /// Every pair allowed.
  ElementPairs() = default;
  /// Exactly the given unordered pairs of atomic numbers; an empty list means every pair.
  explicit ElementPairs(const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs) {
    for (auto [a, b] : pairs) add(a, b);
  }
  /// Allows the unordered pair (a, b).
  ElementPairs& add(std::int64_t a, std::int64_t b) {
    const auto key = std::minmax(a, b);
    if (std::find(pairs_.begin(), pairs_.end(), std::pair(key.first, key.second)) == pairs_.end())
      pairs_.emplace_back(key.first, key.second);
    return *this;
  }
  /// Every pair among the given elements (a many-body model restricted to a set of elements).
  static ElementPairs among(const std::vector<std::int64_t>& elements) {
    ElementPairs p;
    for (std::size_t i = 0; i < elements.size(); ++i)
      for (std::size_t j = i; j < elements.size(); ++j) p.add(elements[i], elements[j]);
    return p;
  }
  bool all() const noexcept { return pairs_.empty(); }
  bool allows(std::int64_t a, std::int64_t b) const {
    if (pairs_.empty()) return true;
    const auto key = std::minmax(a, b);
    return std::find(pairs_.begin(), pairs_.end(), std::pair(key.first, key.second)) != pairs_.end();
  }
  /// The pairs, each as (smaller Z, larger Z); empty for "all".
  const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs() const noexcept { return pairs_; }
  /// "all" or e.g. "(74,74) (74,4)".
  std::string describe() const {
    if (pairs_.empty()) return "all";
    std::string s;
    for (auto [a, b] : pairs_) {
      if (!s.empty()) s += ' ';
      s += '(';
      s += std::to_string(a);
      s += ',';
      s += std::to_string(b);
      s += ')';
    }
    return s;
  }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> pairs_;
};

}  // namespace batchmd::model
