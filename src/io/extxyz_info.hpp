// SPDX-License-Identifier: Apache-2.0
// io/extxyz_info (internal): the comment line of an extended XYZ frame, parsed the way ASE's
// key_val_str_to_dict does: key=value pairs separated by whitespace, values quoted with "", '',
// {} or [], backslash escapes, bare keys meaning T; each value typed as ASE types it (integers,
// else floats, else T/F booleans, else a _JSON array, else a string).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "batchmd/core/tensor.hpp"
#include "text.hpp"

namespace batchmd::io::detail {

struct InfoValue {
  enum class Kind { Int, Float, Bool, String };
  Kind kind = Kind::String;
  std::vector<std::int64_t> ints;  // Kind::Int
  std::vector<double> floats;      // Kind::Float (also filled for Int, as doubles)
  std::vector<bool> bools;         // Kind::Bool
  Shape shape;                     // {} for a scalar, {n} for a list, {a, b, ...} for a _JSON array
  std::string text;                // the value as written (unquoted)
  std::int64_t count() const;      // number of elements
};

struct InfoEntry {
  std::string key;
  InfoValue value;
};

/// The key=value pairs of a comment line, in order. A line with no '=' at all is a plain XYZ
/// title and gives no pairs. Throws FormatError at the cursor's line for an unterminated quote,
/// a pair with no key or a bad _JSON value.
std::vector<InfoEntry> parse_comment(std::string_view line, const LineCursor& at);

}  // namespace batchmd::io::detail
