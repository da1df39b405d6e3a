// SPDX-License-Identifier: Apache-2.0
// core/progress: progress reporting for long runs.
#include "batchmd/core/progress.hpp"

#include <unistd.h>

#include <cmath>

namespace batchmd {

Progress::Progress(std::int64_t total, std::string label, std::FILE* out, bool enabled)
    : total_(total),
      label_(std::move(label)),
      out_(out),
      enabled_(enabled && out != nullptr),
      tty_(out != nullptr && isatty(fileno(out))),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(std::int64_t done) {
  if (!enabled_ || total_ <= 0) return;
  if (tty_) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(200)) return;
    last_draw_ = now;
    draw(done, false);
  } else {
    std::int64_t decile = done * 10 / total_;
    if (decile > last_decile_ && decile < 10) {
      last_decile_ = decile;
      if (decile > 0) draw(done, false);
    }
  }
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  draw(total_, true);
}

void Progress::draw(std::int64_t done, bool final) {
  const double t = elapsed_s();
  const double rate = t > 0 ? static_cast<double>(done) / t : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
  if (final)
    std::fprintf(out_, "%s%lld/%lld %s (100%%)  %.1f %s/s  %.2f s%s\n", tty_ ? "\r" : "", static_cast<long long>(done),
                 static_cast<long long>(total_), label_.c_str(), rate, label_.c_str(), t, tty_ ? "          " : "");
  else
    std::fprintf(out_, "%s%lld/%lld %s (%3.0f%%)  %.1f %s/s  ETA %.1f s%s", tty_ ? "\r" : "",
                 static_cast<long long>(done), static_cast<long long>(total_), label_.c_str(), pct, rate,
                 label_.c_str(), eta, tty_ ? "   " : "\n");
  std::fflush(out_);
}

}  // namespace batchmd
