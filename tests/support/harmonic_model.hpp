// SPDX-License-Identifier: Apache-2.0
// Test support: an independent, analytically solvable model (each atom tied to the origin by a
// spring of stiffness k eV/Å²), used to test the step loop and sinks without Lennard-Jones.
#pragma once
#include "batchmd/model/model.hpp"

namespace batchmd::test_support {

class HarmonicModel : public model::Model {
 public:
  explicit HarmonicModel(double k) : k_(k) {}
  std::string name() const override { return "harmonic"; }
  double cutoff() const override { return 0.0; }
  int calls = 0;
  void compute(Batch& b, bool /*stress*/) override {
    ++calls;
    b.add_standard("energy");
    b.add_standard("forces");
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* x = b.get("positions").data<T>();
      T* f = b.get("forces").data<T>();
      T* e = b.get("energy").data<T>();
      const auto* si = b.system_index().data<std::int64_t>();
      for (std::int64_t s = 0; s < b.n_systems(); ++s) e[s] = 0;
      for (std::int64_t i = 0; i < 3 * b.n_atoms(); ++i) {
        f[i] = static_cast<T>(-k_ * double(x[i]));
        e[si[i / 3]] += static_cast<T>(0.5 * k_ * double(x[i]) * double(x[i]));
      }
    });
  }

 private:
  double k_;
};

}  // namespace batchmd::test_support
