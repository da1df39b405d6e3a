// SPDX-License-Identifier: Apache-2.0
// Support for the dynamics backend tests (dynamics_cases.hpp): the test systems, field-by-field
// comparison of two batches, a Recorder hook (statuses, convergence events, frozen systems), Runs
// (a run on the backend under test plus, on cuda, the same run on the CPU), and a host sink.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../support/backend.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/dynamics/dynamics.hpp"
#include "batchmd/sinks/data_sink.hpp"
#include "gpu_test_model.hpp"

namespace batchmd::dynamics::cases {

using gpu_test::SpringChainModel;
using gpu_test::SpringParams;
using test_support::Backend;
using test_support::backend_name;
using test_support::device_of;

#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kSlow = 4;  // ASan: fewer samples (the bounds below allow for it)
#else
inline constexpr int kSlow = 1;
#endif

inline double rtol(DType d) { return d == DType::Float64 ? 1e-9 : 2e-4; }
inline std::string dname(DType d) { return d == DType::Float64 ? "float64" : "float32"; }

/// Systems of 1, 2, 7, 40, 300 and 600 atoms (the last two span several reduction blocks), atoms
/// at their SpringChainModel anchors plus uniform noise, carbon and argon alternating, distinct
/// system_ids.
inline Batch systems(DType dt, std::uint64_t seed, double noise) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-noise, noise);
  std::vector<AtomicData> sys;
  for (int n : {1, 2, 7, 40, 300, 600}) {
    std::vector<double> x;
    std::vector<std::int64_t> z;
    for (int i = 0; i < n; ++i) {
      double a[3];
      gpu_test::anchor(i, a);
      for (double c : a) x.push_back(c + u(rng));
      z.push_back(i % 2 ? 6 : 18);
    }
    sys.push_back(AtomicData::make(dt, x, z));
  }
  Batch b = Batch::from_systems(sys);
  auto* id = b.add_standard("system_id").data<std::int64_t>();
  for (std::int64_t s = 0; s < b.n_systems(); ++s) id[s] = 1000 + 7 * s;
  return b;
}

inline std::vector<double> as_doubles(const Tensor& t) {
  const Tensor h = t.is_cuda() ? t.to(Device::cpu()) : t.clone();
  std::vector<double> v(static_cast<std::size_t>(h.numel()));
  dispatch_float(h.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = h.data<T>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(p[i]);
  });
  return v;
}

template <typename T>
std::vector<T> field_host(const Batch& b, const std::string& name) {
  const Tensor h = b.get(name).to(Device::cpu());
  return {h.data<T>(), h.data<T>() + h.numel()};
}

/// Every field of the CPU batch `cpu` against the same field of `other` (on any device): floats
/// within tol of the field's largest magnitude, everything else equal. Forces and velocities
/// vanish in relaxed systems, so their scale is at least that of an unrelaxed one (1 eV/Å,
/// 0.01 Å/fs).
inline void expect_close(const Batch& cpu, const Batch& other, double tol, const std::string& what) {
  const Batch g = other.to(Device::cpu());
  ASSERT_EQ(g.n_systems(), cpu.n_systems()) << what;
  ASSERT_EQ(g.n_atoms(), cpu.n_atoms()) << what;
  EXPECT_EQ(g.fields().size(), cpu.fields().size()) << what;
  double worst_all = 0;
  std::string worst_field;
  for (const auto& [name, f] : cpu.fields()) {
    ASSERT_TRUE(g.has(name)) << what << ": the other batch lacks " << name;
    const Tensor& a = f.tensor;
    const Tensor& b = g.get(name);
    ASSERT_EQ(a.dtype(), b.dtype()) << what << " " << name;
    ASSERT_EQ(a.numel(), b.numel()) << what << " " << name;
    if (!is_floating(a.dtype())) {
      EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << what << ": field " << name << " differs";
      continue;
    }
    const auto va = as_doubles(a), vb = as_doubles(b);
    double scale = name == "forces" ? 1.0 : name == "velocities" ? 0.01 : 0.0;
    for (double x : va) scale = std::max(scale, std::abs(x));
    double worst = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < va.size(); ++i) {
      const bool na = std::isnan(va[i]), nb = std::isnan(vb[i]);
      ASSERT_EQ(na, nb) << what << " " << name << "[" << i << "]: " << va[i] << " vs " << vb[i];
      if (na) continue;
      const double err = std::abs(va[i] - vb[i]) / (scale > 0 ? scale : 1.0);
      if (err > worst) worst = err, at = i;
    }
    EXPECT_LE(worst, tol) << what << ": field " << name << "[" << at << "] cpu " << va[at] << " other " << vb[at]
                          << " (scale " << scale << ")";
    if (worst >= worst_all) worst_all = worst, worst_field = name;
  }
  std::printf("%s: largest CPU/GPU difference %.3g (%s; tolerance %.0e)\n", what.c_str(), worst_all,
              worst_field.c_str(), tol);
}

/// Records at AFTER_STEP every system's status (and checks the host mirror against the field),
/// at ON_CONVERGE the newly converged systems; checks that systems with status >= `frozen_from`
/// keep their positions and step count exactly.
class Recorder : public Hook {
 public:
  Recorder(Stage s, std::int32_t frozen_from) : stage_(s), frozen_from_(frozen_from) {}
  std::string name() const override { return "recorder"; }
  Stage stage() const override { return stage_; }
  void operator()(Context& ctx) override {
    if (stage_ == Stage::ON_CONVERGE) {
      newly.push_back(ctx.newly_converged);
      at.push_back(ctx.step);
      return;
    }
    const Batch& b = ctx.batch;
    const auto st = field_host<std::int32_t>(b, "status");
    const auto mirror = ctx.dynamics.host_status(b);
    ASSERT_EQ(mirror.size(), st.size());
    for (std::size_t s = 0; s < st.size(); ++s) ASSERT_EQ(mirror[s], st[s]) << "host status mirror, system " << s;
    status.push_back(st);
    // GPU-side masks the step used agree with the host's.
    if (b.is_cuda() && !ctx.active.empty()) {
      ASSERT_NE(ctx.active_device, nullptr);
      std::vector<std::uint8_t> dev(ctx.active.size());
      cuda::copy(dev.data(), ctx.active_device, dev.size(), cuda::compute_stream(b.device().index));
      EXPECT_EQ(dev, ctx.active);
    }
    const auto x = as_doubles(b.get("positions"));
    const auto steps = field_host<std::int64_t>(b, "step");
    const auto* ap = b.atoms_ptr_data();
    for (std::size_t s = 0; s < st.size(); ++s) {
      if (st[s] < frozen_from_) continue;
      std::vector<double> xs(x.begin() + 3 * ap[s], x.begin() + 3 * ap[s + 1]);
      auto it = frozen_x.find(s);
      if (it == frozen_x.end()) {
        frozen_x[s] = xs;
        frozen_step[s] = steps[s];
        continue;
      }
      EXPECT_EQ(it->second, xs) << "finished system " << s << " moved at step " << ctx.step;
      EXPECT_EQ(frozen_step[s], steps[s]) << "finished system " << s << " counted a step";
    }
  }
  std::vector<std::vector<std::int32_t>> status;
  std::vector<std::vector<bool>> newly;
  std::vector<std::int64_t> at;
  std::map<std::size_t, std::vector<double>> frozen_x;
  std::map<std::size_t, std::int64_t> frozen_step;

 private:
  Stage stage_;
  std::int32_t frozen_from_;
};

/// A dynamics run on the backend under test, with recorders (for dynamics that track a status;
/// frozen_from < 0: none); on the cuda backend also the same dynamics on a CPU copy of the input,
/// the reference the GPU run is compared with.
struct Runs {
  Backend backend;
  Batch dev, host;  // host: the CPU twin's batch (cuda backend only)
  std::shared_ptr<Dynamics> dyn, cpu;
  std::shared_ptr<Recorder> rec, conv, rec_cpu, conv_cpu;
  template <typename Make>
  Runs(Backend be, const Batch& input, Make make, std::int32_t frozen_from)
      : backend(be), dev(input.to(device_of(be))), dyn(make()) {
    const bool record = frozen_from >= 0;
    rec = std::make_shared<Recorder>(Stage::AFTER_STEP, frozen_from);
    conv = std::make_shared<Recorder>(Stage::ON_CONVERGE, frozen_from);
    if (record) {
      dyn->register_hook(rec);
      dyn->register_hook(conv);
    }
    if (be == Backend::Cuda) {
      host = input.clone();
      cpu = make();
      rec_cpu = std::make_shared<Recorder>(Stage::AFTER_STEP, frozen_from);
      conv_cpu = std::make_shared<Recorder>(Stage::ON_CONVERGE, frozen_from);
      if (record) {
        cpu->register_hook(rec_cpu);
        cpu->register_hook(conv_cpu);
      }
    }
  }
  /// Runs n steps; on cuda also the CPU twin, and checks that both took the same steps, recorded
  /// the same statuses and convergence events, froze the same systems and end with every field
  /// within tol.
  std::int64_t run(std::int64_t n, double tol, const std::string& what) {
    const auto taken = dyn->run(dev, n);
    if (backend != Backend::Cuda) return taken;
    const auto taken_cpu = cpu->run(host, n);
    EXPECT_EQ(taken, taken_cpu) << what;
    EXPECT_EQ(rec_cpu->status, rec->status) << what << ": statuses differ";
    EXPECT_EQ(conv_cpu->newly, conv->newly) << what << ": convergence differs";
    EXPECT_EQ(conv_cpu->at, conv->at) << what;
    EXPECT_EQ(rec_cpu->frozen_x.size(), rec->frozen_x.size()) << what;
    expect_close(host, dev, tol, what);
    return taken;
  }
};

inline std::shared_ptr<model::Model> springs(SpringParams p = {}) { return std::make_shared<SpringChainModel>(p); }

/// Per-system E_kin + E_pot of a batch on either device.
inline std::vector<double> total_energy(const Batch& b) {
  auto e = kinetic_energy(b);
  const auto pot = as_doubles(b.get("energy"));
  for (std::size_t s = 0; s < e.size(); ++s) e[s] += pot[s];
  return e;
}

/// Keeps every written system on the host, in write order.
class HostCopySink : public sinks::DataSink {
 public:
  std::string name() const override { return "host_copy"; }
  using DataSink::write;
  void write(const Batch& batch, const std::vector<bool>& mask) override {
    const Batch h = batch.is_cuda() ? batch.to(Device::cpu()) : batch.clone();
    std::vector<std::int64_t> idx;
    for (std::size_t s = 0; s < mask.size(); ++s)
      if (mask[s]) idx.push_back(static_cast<std::int64_t>(s));
    out_.append(h, idx);
  }
  Batch read() override { return out_.clone(); }
  void zero() override { out_ = Batch(); }
  std::int64_t size() const override { return out_.n_systems(); }
  std::int64_t capacity() const override { return 1 << 20; }

 private:
  Batch out_;
};

}  // namespace batchmd::dynamics::cases
