// SPDX-License-Identifier: Apache-2.0
// hooks/logging: LoggingHook, which writes per-system scalars to a CSV file.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>

#include "batchmd/dynamics/dynamics.hpp"

namespace batchmd::hooks {

/// Appends one CSV row per system every `frequency` steps (default stage AFTER_STEP):
///     step,system_id,energy,kinetic_energy,temperature,fmax[,status]
/// step: steps completed by the dynamics for the state logged (Context::step + 1 at AFTER_STEP
/// and at any stage from AFTER_PRE_UPDATE on, Context::step before); energy and kinetic energy in
/// eV, temperature in K (3N−3 degrees of freedom), fmax = largest atomic force magnitude in eV/Å;
/// status only when the batch has a "status" field at the first row (the header is written with
/// the first row and fixes the columns). Numbers are written in shortest round-trip form.
/// The file is created (truncated) by the constructor and stays open across run() calls; it is
/// flushed at every close() (end of run) and closed by the destructor.
/// Reads "energy", "velocities", "masses", "forces", "system_id", "status"; writes nothing.
/// On a GPU batch every per-system value of a row is computed on the device and read back with
/// one copy per firing (the hook's only wait for the GPU). Energy, fmax, ids and status equal the
/// CPU's; kinetic energy and temperature are summed over atoms in another order and agree to
/// rounding (~1e-15 relative).
/// Errors: IOError naming the path when it cannot be opened or written; InvalidArgument for a
/// frequency < 1.
class LoggingHook : public dynamics::Hook {
 public:
  explicit LoggingHook(std::string path, std::int64_t frequency = 1,
                       dynamics::Stage stage = dynamics::Stage::AFTER_STEP);
  std::string name() const override { return "LoggingHook(" + path_ + ")"; }
  dynamics::Stage stage() const override { return stage_; }
  std::int64_t frequency() const override { return frequency_; }
  void operator()(dynamics::Context& ctx) override;
  void close(dynamics::Context& ctx) override;
  const std::string& path() const { return path_; }
  /// Data rows written so far.
  std::int64_t rows() const { return rows_; }

 private:
  std::string path_;
  std::int64_t frequency_;
  dynamics::Stage stage_;
  std::ofstream out_;
  bool header_written_ = false;
  bool with_status_ = false;
  std::int64_t rows_ = 0;
};

}  // namespace batchmd::hooks
