// SPDX-License-Identifier: Apache-2.0
// Test support for the hook tests: a hook from a lambda, a force-free model and batch builders.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::test_support {

/// A hook that calls `fn` at `stage`.
class FnHook : public dynamics::Hook {
 public:
  FnHook(dynamics::Stage stage, std::function<void(dynamics::Context&)> fn, std::int64_t frequency = 1)
      : stage_(stage), fn_(std::move(fn)), frequency_(frequency) {}
  std::string name() const override { return "FnHook"; }
  dynamics::Stage stage() const override { return stage_; }
  std::int64_t frequency() const override { return frequency_; }
  void operator()(dynamics::Context& ctx) override { fn_(ctx); }

 private:
  dynamics::Stage stage_;
  std::function<void(dynamics::Context&)> fn_;
  std::int64_t frequency_;
};

inline std::shared_ptr<FnHook> fn_hook(dynamics::Stage s, std::function<void(dynamics::Context&)> fn) {
  return std::make_shared<FnHook>(s, std::move(fn));
}

/// No forces, zero energy: atoms fly in straight lines.
class ZeroModel : public model::Model {
 public:
  std::string name() const override { return "zero"; }
  double cutoff() const override { return 0.0; }
  void compute(Batch& b, bool /*stress*/) override {
    b.add_standard("energy").fill_zero();
    b.add_standard("forces").fill_zero();
  }
};

/// Copies a float64 field into a vector.
inline std::vector<double> values(const Batch& b, const std::string& name) {
  auto s = b.get(name).span<double>();
  return {s.begin(), s.end()};
}

}  // namespace batchmd::test_support
