// SPDX-License-Identifier: Apache-2.0
// Test support for the dynamics GPU tests: SpringChainModel, a small model that runs on CPU and
// GPU batches from one per-atom function. Each atom is tied by a harmonic spring (k) to an anchor
// on a 3×3×N grid (spacing 1.1 Å, from its index within the system), and consecutive atoms of a
// system are coupled by springs (kp): with r0 = 0 on their displacements from the anchors, so the
// model is linear with its minimum at the anchors (MD trajectories are not chaotic: CPU/GPU
// rounding differences do not grow exponentially); with r0 > 0 on their distance, rest length r0
// (a nonlinear relaxation problem for the optimizers).
// Energies are summed per system in double (sequentially on the CPU, a fixed tree on the GPU);
// forces are per atom and bitwise equal on both devices for equal positions.
#pragma once
#include <cmath>
#include <cstdint>

#include "batchmd/core/error.hpp"
#include "batchmd/core/hd.hpp"
#include "batchmd/model/model.hpp"

namespace batchmd::gpu_test {

struct SpringParams {
  double k = 1.0;   ///< tether stiffness, eV/Å²
  double kp = 2.0;  ///< chain spring stiffness, eV/Å²
  double r0 = 0.0;  ///< chain spring rest length, Å
};

/// The anchor of the atom with index `local` within its system.
BATCHMD_HD inline void anchor(std::int64_t local, double a[3]) {
  a[0] = 1.1 * static_cast<double>(local % 3);
  a[1] = 1.1 * static_cast<double>((local / 3) % 3);
  a[2] = 1.1 * static_cast<double>(local / 9);
}

/// Force on atom i of the system [a0, a1) (into f[3], double) and the atom's energy share
/// (its tether and the spring to atom i+1).
template <typename T>
BATCHMD_HD inline double spring_atom(const T* x, std::int64_t i, std::int64_t a0, std::int64_t a1,
                                     const SpringParams& p, double f[3]) {
  double a[3];
  anchor(i - a0, a);
  double e = 0;
  for (int k = 0; k < 3; ++k) {
    const double d = double(x[3 * i + k]) - a[k];
    f[k] = -p.k * d;
    e += 0.5 * p.k * d * d;
  }
  for (int side = -1; side <= 1; side += 2) {
    const std::int64_t j = i + side;
    if (j < a0 || j >= a1) continue;
    double aj[3];
    anchor(j - a0, aj);
    double d[3], r2 = 0;
    for (int k = 0; k < 3; ++k) {
      d[k] = double(x[3 * i + k]) - double(x[3 * j + k]);
      if (!(p.r0 > 0)) d[k] -= a[k] - aj[k];  // displacement difference
      r2 += d[k] * d[k];
    }
    if (p.r0 > 0) {  // F_i = -kp (r - r0) d / r
      const double r = std::sqrt(r2);
      const double c = r > 0 ? -p.kp * (r - p.r0) / r : 0.0;
      for (int k = 0; k < 3; ++k) f[k] += c * d[k];
      if (side == 1) e += 0.5 * p.kp * (r - p.r0) * (r - p.r0);
    } else {  // F_i = -kp d
      for (int k = 0; k < 3; ++k) f[k] += -p.kp * d[k];
      if (side == 1) e += 0.5 * p.kp * r2;
    }
  }
  return e;
}

/// GPU half (gpu_test_model.cu): forces and per-system energies of a GPU batch.
template <typename T>
void spring_compute_gpu(int device, std::int64_t n_systems, std::int64_t n_atoms, const std::int64_t* atoms_ptr,
                        const std::int64_t* system_index, const T* x, T* f, T* e, double* scratch,
                        const SpringParams& p);

class SpringChainModel : public model::Model {
 public:
  explicit SpringChainModel(SpringParams p = {}) : p_(p) {}
  std::string name() const override { return "spring_chain"; }
  double cutoff() const override { return 0.0; }
  std::int64_t calls = 0;
  void compute(Batch& b, bool /*stress*/) override {
    ++calls;
    b.add_standard("energy");
    b.add_standard("forces");
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* x = b.get("positions").data<T>();
      T* f = b.get("forces").data<T>();
      T* e = b.get("energy").data<T>();
      if (b.is_cuda()) {
        if (!scratch_.defined() || scratch_.numel() < b.n_systems() + 1)
          scratch_ = Tensor(DType::Float64, {b.n_systems() + 1}, b.device());
        spring_compute_gpu<T>(b.device().index, b.n_systems(), b.n_atoms(), b.atoms_ptr_on_device(),
                              b.system_index_on_device(), x, f, e, scratch_.data<double>(), p_);
        return;
      }
      const auto* ap = b.atoms_ptr_data();
      for (std::int64_t s = 0; s < b.n_systems(); ++s) {
        double es = 0;
        for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
          double fi[3];
          es += spring_atom(x, i, ap[s], ap[s + 1], p_, fi);
          for (int k = 0; k < 3; ++k) f[3 * i + k] = static_cast<T>(fi[k]);
        }
        e[s] = static_cast<T>(es);
      }
    });
  }

 private:
  SpringParams p_;
  Tensor scratch_;
};

}  // namespace batchmd::gpu_test
