// hooks/biased_potential: BiasedPotentialHook and the harmonic restraint.
#include "batchmd/hooks/biased_potential.hpp"

#include <cmath>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "hook_util.hpp"

namespace batchmd::hooks {

BiasedPotentialHook::BiasedPotentialHook(BiasFunction bias, std::string label)
    : bias_(std::move(bias)), label_(std::move(label)) {
  if (!bias_) throw InvalidArgument("BiasedPotentialHook needs a bias function");
}

void BiasedPotentialHook::apply(Batch& batch) {
  batch.add_standard("energy");
  batch.add_standard("forces");
  auto e = bias_(batch);
  if (static_cast<std::int64_t>(e.size()) != batch.n_systems())
    throw InvalidArgument("BiasedPotentialHook(" + label_ + "): the bias function returned " +
                          std::to_string(e.size()) + " energies for " + std::to_string(batch.n_systems()) + " systems");
  for (std::size_t s = 0; s < e.size(); ++s)
    if (!std::isfinite(e[s]))
      throw NumericalError("BiasedPotentialHook(" + label_ + "): non-finite bias energy in " +
                           detail::describe_system(batch, static_cast<std::int64_t>(s)));
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    using T = decltype(zero);
    T* en = batch.get("energy").data<T>();
    for (std::size_t s = 0; s < e.size(); ++s) en[s] = static_cast<T>(double(en[s]) + e[s]);
  });
  last_ = std::move(e);
}

void BiasedPotentialHook::open(dynamics::Context& ctx) {
  ctx.model.compute(ctx.batch);
  apply(ctx.batch);
}

void BiasedPotentialHook::operator()(dynamics::Context& ctx) { apply(ctx.batch); }

BiasedPotentialHook::BiasFunction BiasedPotentialHook::harmonic_restraint(double k, std::vector<double> reference,
                                                                          std::vector<bool> atoms) {
  if (!(std::isfinite(k) && k >= 0))
    throw InvalidArgument("harmonic_restraint: k must be a finite value >= 0 eV/A^2, got " + std::to_string(k));
  if (reference.size() % 3 != 0)
    throw InvalidArgument("harmonic_restraint: the reference must hold 3 coordinates per atom");
  if (!atoms.empty() && atoms.size() * 3 != reference.size())
    throw InvalidArgument("harmonic_restraint: the atom mask has " + std::to_string(atoms.size()) + " entries for " +
                          std::to_string(reference.size() / 3) + " reference positions");
  // the mask as bytes so the kernel can read it from several threads
  std::vector<std::uint8_t> sel(reference.size() / 3, 1);
  for (std::size_t i = 0; i < atoms.size(); ++i) sel[i] = atoms[i] ? 1 : 0;
  return [k, ref = std::move(reference), sel = std::move(sel)](Batch& b) {
    if (static_cast<std::int64_t>(ref.size()) != 3 * b.n_atoms())
      throw InvalidArgument("harmonic_restraint: " + std::to_string(ref.size() / 3) + " reference positions for " +
                            std::to_string(b.n_atoms()) + " atoms");
    std::vector<double> e(static_cast<std::size_t>(b.n_systems()), 0.0);
    dispatch_float(b.float_dtype(), [&](auto zero) {
      using T = decltype(zero);
      const T* x = b.get("positions").data<T>();
      T* f = b.get("forces").data<T>();
      const auto* ap = b.atoms_ptr_data();
      const double* r = ref.data();
      const std::uint8_t* m = sel.data();
      double* ep = e.data();
      parallel_for_dynamic(b.n_systems(), [=](std::int64_t s) {
        double sum = 0;
        for (std::int64_t i = ap[s]; i < ap[s + 1]; ++i) {
          if (!m[i]) continue;
          for (std::int64_t d = 3 * i; d < 3 * i + 3; ++d) {
            const double u = double(x[d]) - r[d];
            sum += u * u;
            f[d] = static_cast<T>(double(f[d]) - k * u);
          }
        }
        ep[s] = 0.5 * k * sum;
      });
    });
    return e;
  };
}

}  // namespace batchmd::hooks
