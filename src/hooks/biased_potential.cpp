// SPDX-License-Identifier: Apache-2.0
// hooks/biased_potential: BiasedPotentialHook, BiasKernel and the harmonic restraint.
#include "batchmd/hooks/biased_potential.hpp"

#include <cmath>
#include <cstring>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "device_slots.hpp"
#include "hook_kernels.hpp"
#include "hook_util.hpp"
#include "hooks_gpu.hpp"

namespace batchmd::hooks {

std::vector<double> BiasKernel::operator()(Batch& batch) const {
  Tensor e(DType::Float64, {batch.n_systems()}, batch.device());
  fn_(batch, e);
  const Tensor h = e.to(Device::cpu());
  return {h.data<double>(), h.data<double>() + h.numel()};
}

namespace {
[[noreturn]] void non_finite(const std::string& label, const Batch& batch, std::int64_t s) {
  throw NumericalError("BiasedPotentialHook(" + label + "): non-finite bias energy in " +
                       detail::describe_system(batch, s));
}
}  // namespace

BiasedPotentialHook::BiasedPotentialHook(BiasFunction bias, std::string label)
    : bias_(BiasKernel::Fn{}), label_(std::move(label)) {
  if (!bias) throw InvalidArgument("BiasedPotentialHook needs a bias function");
  // a host function: its energies are checked on the host, then stored where the batch lives
  bias_ = BiasKernel([fn = std::move(bias), label = label_](Batch& b, Tensor& energy) {
    auto e = fn(b);
    if (static_cast<std::int64_t>(e.size()) != b.n_systems())
      throw InvalidArgument("BiasedPotentialHook(" + label + "): the bias function returned " +
                            std::to_string(e.size()) + " energies for " + std::to_string(b.n_systems()) + " systems");
    for (std::size_t s = 0; s < e.size(); ++s)
      if (!std::isfinite(e[s])) non_finite(label, b, static_cast<std::int64_t>(s));
    if (energy.is_cuda())
      energy.copy_from(Tensor::from(e, {b.n_systems()}));
    else if (!e.empty())
      std::memcpy(energy.data<double>(), e.data(), e.size() * sizeof(double));
  });
}

BiasedPotentialHook::BiasedPotentialHook(BiasKernel bias, std::string label)
    : bias_(std::move(bias)), label_(std::move(label)) {
  if (!bias_) throw InvalidArgument("BiasedPotentialHook needs a bias function");
}

void BiasedPotentialHook::apply(Batch& batch) {
  batch.add_standard("energy");
  batch.add_standard("forces");
  const std::int64_t ns = batch.n_systems();
  if (energy_.device() != batch.device() || energy_.numel() != ns || !energy_.defined())
    energy_ = Tensor(DType::Float64, {ns}, batch.device());
  else
    energy_.fill_zero();
  if (!batch.is_cuda()) {
    bias_(batch, energy_);
    const double* e = energy_.data<double>();
    for (std::int64_t s = 0; s < ns; ++s)
      if (!std::isfinite(e[s])) non_finite(label_, batch, s);
    dispatch_float(batch.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      T* en = batch.get("energy").data<T>();
      for (std::int64_t s = 0; s < ns; ++s) en[s] = kernels::add_bias(en[s], e[s]);
    });
    last_.assign(e, e + ns);
    last_stale_ = false;
    return;
  }
  // A GPU batch: the bias and the addition are kernels; the non-finite check is read back later.
  if (gpu_ && gpu_->bound() && gpu_->device() == batch.device() && gpu_->landed())
    check_gpu_flag(batch, gpu_->mirror());
  if (!gpu_) gpu_ = std::make_shared<detail::DeviceSlots>(1);
  const std::int64_t init = detail::kNoIndex;
  std::int64_t* bad = gpu_->on(batch.device(), &init);
  bias_(batch, energy_);
  gpu::add_bias_energy(batch, energy_.data<double>(), bad);
  gpu_->post();
  last_stale_ = true;
}

void BiasedPotentialHook::check_gpu_flag(const Batch& batch, const std::int64_t* slots) {
  const std::int64_t s = slots[0];
  if (s == detail::kNoIndex) return;
  gpu_->reset(0, 0xff);  // reported once
  gpu_->post();
  if (s >= batch.n_systems())
    throw NumericalError("BiasedPotentialHook(" + label_ + "): non-finite bias energy in system " + std::to_string(s));
  non_finite(label_, batch, s);
}

void BiasedPotentialHook::open(dynamics::Context& ctx) {
  ctx.model.compute(ctx.batch);
  apply(ctx.batch);
}

void BiasedPotentialHook::operator()(dynamics::Context& ctx) { apply(ctx.batch); }

void BiasedPotentialHook::close(dynamics::Context& ctx) {
  if (!gpu_ || !gpu_->bound() || gpu_->device() != ctx.batch.device()) return;
  const std::int64_t* slots = gpu_->wait();
  if (!ctx.failed) check_gpu_flag(ctx.batch, slots);
}

const std::vector<double>& BiasedPotentialHook::last_bias_energy() const {
  if (last_stale_) {
    const Tensor h = energy_.to(Device::cpu());
    last_.assign(h.data<double>(), h.data<double>() + h.numel());
    last_stale_ = false;
  }
  return last_;
}

namespace {
/// The harmonic restraint's data, with its GPU copies (uploaded on first use on a device).
struct Restraint {
  double k = 0;
  std::vector<double> ref;        // [n*3]
  std::vector<std::uint8_t> sel;  // [n], 1 = restrained (bytes: read by several threads)
  Tensor ref_dev, sel_dev;

  void operator()(Batch& b, Tensor& energy) {
    if (static_cast<std::int64_t>(ref.size()) != 3 * b.n_atoms())
      throw InvalidArgument("harmonic_restraint: " + std::to_string(ref.size() / 3) + " reference positions for " +
                            std::to_string(b.n_atoms()) + " atoms");
    if (b.is_cuda()) {
      if (ref_dev.device() != b.device() || !ref_dev.defined()) {
        const auto n = static_cast<std::int64_t>(sel.size());
        ref_dev = Tensor::from(ref, {n, 3}).to(b.device());
        sel_dev = Tensor::from(sel, {n}).to(b.device());
      }
      gpu::harmonic_restraint(b, k, ref_dev.data<double>(), sel_dev.data<std::uint8_t>(), energy.data<double>());
      return;
    }
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* x = b.get("positions").data<T>();
      T* f = b.get("forces").data<T>();
      const auto* ap = b.atoms_ptr_data();
      const double* r = ref.data();
      const std::uint8_t* m = sel.data();
      double* ep = energy.data<double>();
      const double kk = k;
      parallel_for_dynamic(b.n_systems(), [=](std::int64_t s) {
        double sum = 0;
        for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
          if (!m[i]) continue;
          for (std::int64_t d = 3 * i; d < 3 * i + 3; ++d) sum += kernels::restrain(x, f, r, kk, d);
        }
        ep[s] = 0.5 * kk * sum;
      });
    });
  }
};
}  // namespace

BiasKernel BiasedPotentialHook::harmonic_restraint(double k, std::vector<double> reference, std::vector<bool> atoms) {
  if (!(std::isfinite(k) && k >= 0))
    throw InvalidArgument("harmonic_restraint: k must be a finite value >= 0 eV/A^2, got " + std::to_string(k));
  if (reference.size() % 3 != 0)
    throw InvalidArgument("harmonic_restraint: the reference must hold 3 coordinates per atom");
  if (!atoms.empty() && atoms.size() * 3 != reference.size())
    throw InvalidArgument("harmonic_restraint: the atom mask has " + std::to_string(atoms.size()) + " entries for " +
                          std::to_string(reference.size() / 3) + " reference positions");
  auto st = std::make_shared<Restraint>();
  st->k = k;
  st->sel.assign(reference.size() / 3, 1);
  for (std::size_t i = 0; i < atoms.size(); ++i) st->sel[i] = atoms[i] ? 1 : 0;
  st->ref = std::move(reference);
  return BiasKernel([st](Batch& b, Tensor& energy) { (*st)(b, energy); });
}

}  // namespace batchmd::hooks
