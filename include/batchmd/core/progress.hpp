// SPDX-License-Identifier: Apache-2.0
// core/progress: a progress line for long work (steps/s and ETA), redrawn in place on a
// terminal and printed every ~10% otherwise.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace batchmd {

class Progress {
 public:
  /// total: units of work; label: what a unit is ("steps"); out: where to draw (stderr).
  Progress(std::int64_t total, std::string label, std::FILE* out = stderr, bool enabled = true);
  /// Reports that `done` units are complete (monotonic). Cheap when nothing is drawn.
  void update(std::int64_t done);
  /// Draws the final line.
  void finish();
  double elapsed_s() const;

 private:
  void draw(std::int64_t done, bool final);
  std::int64_t total_;
  std::string label_;
  std::FILE* out_;
  bool enabled_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::int64_t last_decile_ = -1;
  bool finished_ = false;
};

}  // namespace batchmd
