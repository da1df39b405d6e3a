// SPDX-License-Identifier: Apache-2.0
// io/frames: FrameSelection, which frames of a multi-frame structure file to read, written the
// way Python slices are (a job file's `frames = "::10"`, or an index, or a list).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace batchmd::io {

/// Frames to take from a file of n frames. Negative indices count from the end (-1 is the last
/// frame), as in Python. The default selection is every frame.
class FrameSelection {
 public:
  FrameSelection() = default;
  static FrameSelection all() { return {}; }
  /// One frame.
  static FrameSelection index(std::int64_t i);
  /// Frames start, start+step, ... before stop (Python's start:stop:step; step != 0).
  static FrameSelection slice(std::optional<std::int64_t> start, std::optional<std::int64_t> stop,
                              std::int64_t step = 1);
  /// These frames, in this order (repeats allowed).
  static FrameSelection list(std::vector<std::int64_t> indices);
  /// Parses "3", "-1", ":", "2:10", "::5", "10:0:-1" or "0,4,7"; throws InvalidArgument.
  static FrameSelection parse(std::string_view text);

  /// The selected frame indices (0-based, in order) of a file with n_frames frames. An index
  /// (not a slice) outside the file throws InvalidArgument naming `source`; a slice may select
  /// nothing, which is also an InvalidArgument (a selection that reads no structure is a mistake).
  std::vector<std::int64_t> resolve(std::int64_t n_frames, std::string_view source) const;
  bool is_all() const;
  /// The selection as parse() reads it.
  std::string str() const;

 private:
  enum class Kind { Slice, List };
  Kind kind_ = Kind::Slice;
  std::optional<std::int64_t> start_, stop_;
  std::int64_t step_ = 1;
  std::vector<std::int64_t> list_;
};

}  // namespace batchmd::io
