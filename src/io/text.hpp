// SPDX-License-Identifier: Apache-2.0
// io/text (internal): the line cursor, tokenizer and number parsing every text reader shares,
// so that each error names the source and line the same way ("POSCAR:7: ...") and every number
// is checked the same way (whole token, finite). Also the shortest round-trip number formatting
// the writers share.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace batchmd::io::detail {

/// Throws FormatError "<source>:<line>: <what>" ("<source>: <what>" when line is 0).
[[noreturn]] void fail_at(std::string_view source, std::int64_t line, const std::string& what);

/// Lines of a text, with 1-based numbers for error messages. Accepts \n and \r\n endings.
class LineCursor {
 public:
  LineCursor(std::string_view text, std::string_view source) : text_(text), source_(source) {}
  bool at_end() const { return pos_ >= text_.size(); }
  /// The next line (without its ending). At the end of the text throws FormatError: "unexpected
  /// end of file: expected <what>" at the line after the last one.
  std::string_view next(std::string_view what);
  /// The next line, or nullopt at the end of the text.
  std::optional<std::string_view> try_next();
  /// The next line without consuming it, or nullopt at the end.
  std::optional<std::string_view> peek() const;
  /// Number of the line last returned by next()/try_next() (0 before the first).
  std::int64_t line() const { return line_; }
  std::string_view source() const { return source_; }
  /// Throws FormatError at the line last returned.
  [[noreturn]] void fail(const std::string& what) const { fail_at(source_, line_, what); }
  /// A copy that reports errors at `line` (for lines read ahead and parsed later).
  LineCursor at_line(std::int64_t line) const {
    LineCursor c = *this;
    c.line_ = line;
    return c;
  }
  /// Skips lines that are empty or whitespace only; true if a non-blank line follows.
  bool skip_blank();

 private:
  std::string_view text_, source_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 0;
};

/// Splits on spaces and tabs (and a stray \r).
std::vector<std::string_view> split_ws(std::string_view s);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
std::string lower(std::string_view s);
/// A token for an error message: quoted, cut at 40 characters, non-printable bytes escaped.
std::string quote(std::string_view tok);

/// The whole token as a number ("+1", "1e-3", "1.5D0" Fortran exponents too); nullopt when it is
/// not one. Non-finite values (nan, inf) are returned as such: callers decide.
std::optional<double> to_double(std::string_view tok);
std::optional<std::int64_t> to_int(std::string_view tok);

/// A finite double, or FormatError at the cursor's line naming `what` and the token.
double parse_double(std::string_view tok, const LineCursor& at, std::string_view what);
/// An integer, or FormatError at the cursor's line naming `what` and the token.
std::int64_t parse_int(std::string_view tok, const LineCursor& at, std::string_view what);

/// Appends the shortest text that reads back as the same double, with a '.' or an exponent so
/// that readers (ASE's key=value parser) keep it a float.
void append_double(std::string& s, double v);
void append_int(std::string& s, std::int64_t v);

}  // namespace batchmd::io::detail
