// SPDX-License-Identifier: Apache-2.0
// model/eam: the EAM Model on the CPU, and the dispatch of GPU batches to eam_gpu.
//
// CPU: the half NeighborList (each pair once) in slot order (half_list_frame), two passes per
// system as LAMMPS's PairEAM::compute (eam_cpu.cpp: densities with both ends of each pair, the
// embedding, then pair energies and forces with Newton's third law), then forces scattered back to
// the caller's atom order. Systems run in parallel (each owns disjoint slots), one system per
// thread; in a batch of fewer systems than threads, each system of at least kSplitAtoms atoms
// instead runs on all threads in turn (eam_cpu_split: chunks of slots, private density and force
// buffers added in chunk order). Energies and virials are summed in double, the rest in the
// batch's precision.
#include "batchmd/model/eam.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/data/schema.hpp"
#include "eam_cpu.hpp"
#include "eam_gpu.hpp"
#include "eam_kernels.hpp"
#include "model_fields.hpp"
#include "neighbor_view.hpp"

namespace batchmd::model {

namespace detail {

EAMSpecies eam_species(const EAMConfig& cfg, const Batch& batch, const std::int64_t* z) {
  const EAMTables& t = cfg.tables;
  const std::int32_t n = t.n_elements();
  EAMSpecies out;
  out.all = cfg.pairs.all();
  // Element index per atomic number: -1 not in the potential, -2 left out by the pairs.
  std::array<std::int32_t, 119> index;
  index.fill(-1);
  for (std::int64_t e = 0; e <= 118; ++e)
    if (!cfg.pairs.allows(e, e)) index[static_cast<std::size_t>(e)] = -2;
  for (std::int32_t e = 0; e < n; ++e)
    if (cfg.pairs.allows(t.elements[e], t.elements[e])) index[static_cast<std::size_t>(t.elements[e])] = e;
  const std::int64_t na = batch.n_atoms();
  out.atom.resize(static_cast<std::size_t>(na));
  const std::int64_t* ptr = batch.atoms_ptr_data();
  std::int64_t s = 0;
  for (std::int64_t a = 0; a < na; ++a) {
    while (ptr[s + 1] <= a) ++s;
    const std::int64_t za = z[a];
    const std::int32_t e = za >= 0 && za <= 118 ? index[static_cast<std::size_t>(za)] : -1;
    if (e == -1) {
      std::string have;
      for (std::int64_t el : t.elements) {
        if (!have.empty()) have += ' ';
        have += element_symbol(el);
      }
      throw InvalidArgument("EAM: atom " + std::to_string(a - ptr[s]) + " of system " + std::to_string(s) + " is " +
                            element_label(za) + ", which the potential (" + have + " from '" +
                            (t.files.empty() ? std::string("?") : t.files[0]) + "') does not cover");
    }
    out.atom[static_cast<std::size_t>(a)] = e < 0 ? -1 : e;
  }
  out.cutoff.assign(static_cast<std::size_t>(n * n), 0.0);
  for (std::int32_t a = 0; a < n; ++a)
    for (std::int32_t b = 0; b < n; ++b)
      if (cfg.pairs.allows(t.elements[a], t.elements[b])) out.cutoff[a * n + b] = t.cutoff;
  return out;
}

}  // namespace detail

namespace {

// The tables in precision T, and the view the kernels read.
template <typename T>
struct TypedTables {
  std::vector<T> frho, rhor, z2r;
  detail::EAMView<T> view;
  void set(const EAMTables& t) {
    frho.assign(t.frho.begin(), t.frho.end());
    rhor.assign(t.rhor.begin(), t.rhor.end());
    z2r.assign(t.z2r.begin(), t.z2r.end());
    view.frho = frho.data();
    view.rhor = rhor.data();
    view.z2r = z2r.data();
    view.rhor_index = t.rhor_index.data();
    view.z2r_index = t.z2r_index.data();
    view.n_elements = t.n_elements();
    view.nrho = t.nrho;
    view.nr = t.nr;
    view.rdr = static_cast<T>(1.0 / t.dr);
    view.rdrho = static_cast<T>(1.0 / t.drho);
    view.rhomax = static_cast<T>(t.rhomax);
    view.cutsq = static_cast<T>(t.cutoff * t.cutoff);
  }
};

// Reusable buffers of one precision (slot order).
template <typename T>
struct Work {
  TypedTables<T> tables;
  std::vector<T> pos, shift, rho, fp, force;
  std::vector<std::int32_t> species;
  std::vector<double> energy, virial;
  std::vector<std::int64_t> whole, large;  // systems run on one thread / split over all threads
  detail::EAMSplitWork<T> split;
};

// A system splits over the threads from this many atoms (below, the chunks' buffers and the
// four parallel regions per step cost more than they save; the LJ kernel uses the same bound).
constexpr std::int64_t kSplitAtoms = 4096;

}  // namespace

struct EAM::Impl {
  NeighborList nl;
  Work<double> work_d;
  Work<float> work_f;
  std::vector<std::uint8_t> allowed;
  std::unique_ptr<detail::EAMGpu> gpu;
  bool last_on_gpu = false;
  explicit Impl(const EAMConfig& c) : nl(c.tables.cutoff, c.skin) {
    work_d.tables.set(c.tables);
    work_f.tables.set(c.tables);
  }
  Work<double>& work(double) { return work_d; }
  Work<float>& work(float) { return work_f; }

  template <typename T>
  void compute(Batch& batch, const detail::EAMSpecies& sp, bool stress) {
    Work<T>& wk = work(T{});
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "EAM");
    nl.update(g);
    const std::int64_t na = g.n_atoms, ns = g.n_systems;
    const std::int32_t n = wk.tables.view.n_elements;
    allowed.resize(static_cast<std::size_t>(n * n));
    for (std::size_t e = 0; e < allowed.size(); ++e) allowed[e] = sp.cutoff[e] > 0 ? 1 : 0;
    wk.pos.resize(static_cast<std::size_t>(3 * na));
    wk.force.resize(static_cast<std::size_t>(3 * na));
    wk.rho.resize(static_cast<std::size_t>(na));
    wk.fp.resize(static_cast<std::size_t>(na));
    wk.species.resize(static_cast<std::size_t>(na));
    wk.shift.resize(nl.shifts().size());
    wk.energy.assign(static_cast<std::size_t>(ns), 0.0);
    wk.virial.assign(static_cast<std::size_t>(9 * ns), 0.0);
    // Pointers for the threads (never the thread-unsafe containers themselves).
    const detail::EAMView<T>& v = wk.tables.view;
    const std::uint8_t* al = allowed.data();
    T *pos = wk.pos.data(), *shift = wk.shift.data(), *rho = wk.rho.data(), *fp = wk.fp.data(),
      *force = wk.force.data();
    std::int32_t* species = wk.species.data();
    double *energy = wk.energy.data(), *virial = wk.virial.data();
    const std::int64_t* order = nl.atom_order().data();
    const std::int64_t* shift_ptr = nl.shift_ptr().data();
    T* out = batch.get("forces").data<T>();
    const bool all = sp.all;
    auto args_of = [&](std::int64_t s) {
      const std::int64_t k0 = g.atoms_ptr[s], k1 = g.atoms_ptr[s + 1];
      detail::half_list_frame(nl, g, s, pos, shift);
      for (std::int64_t k = k0; k < k1; ++k) species[k] = sp.atom[static_cast<std::size_t>(order[k])];
      return detail::EAMSystemArgs<T>{&nl, v,     al,  pos,          shift + 3 * shift_ptr[s], species, rho,
                                      fp,  force, all, all && n == 1};
    };
    auto store_virial = [&](std::int64_t s, const double* c) {
      const double w9[9] = {c[0], c[3], c[4], c[3], c[1], c[5], c[4], c[5], c[2]};
      std::copy(w9, w9 + 9, virial + 9 * s);
    };
    // Which systems split over all threads: the large ones of a batch with fewer systems than
    // threads (docs/eam.md, "Threads"); the others run one system per thread, as before.
    const int n_threads = num_threads();
    std::vector<std::int64_t>& whole = wk.whole;
    std::vector<std::int64_t>& large = wk.large;
    whole.clear();
    large.clear();
    for (std::int64_t s = 0; s < ns; ++s)
      (n_threads > 1 && ns < n_threads && g.atoms_ptr[s + 1] - g.atoms_ptr[s] >= kSplitAtoms ? large : whole)
          .push_back(s);
    const std::int64_t* whole_s = whole.data();
    parallel_for_dynamic(static_cast<std::int64_t>(whole.size()), [&](std::int64_t i) {
      const std::int64_t s = whole_s[i];
      const std::int64_t k0 = g.atoms_ptr[s], k1 = g.atoms_ptr[s + 1];
      const detail::EAMSystemArgs<T> args = args_of(s);
      double c[6] = {0, 0, 0, 0, 0, 0};
      energy[s] = detail::eam_cpu_system(args, k0, k1, stress ? c : nullptr);
      for (std::int64_t k = k0; k < k1; ++k)
        for (int e = 0; e < 3; ++e) out[3 * order[k] + e] = force[3 * k + e];
      store_virial(s, c);
    });
    for (const std::int64_t s : large) {
      const std::int64_t k0 = g.atoms_ptr[s], k1 = g.atoms_ptr[s + 1];
      const detail::EAMSystemArgs<T> args = args_of(s);
      double c[6] = {0, 0, 0, 0, 0, 0};
      energy[s] = detail::eam_cpu_split(args, k0, k1, n_threads, wk.split, order, out, stress ? c : nullptr);
      store_virial(s, c);
    }
    T* e_out = batch.get("energy").data<T>();
    for (std::int64_t s = 0; s < ns; ++s) e_out[s] = static_cast<T>(energy[s]);
    if (stress) detail::write_virial_and_stress(batch, virial, g);
  }
};

EAM::EAM(EAMConfig config) : config_(std::move(config)) {
  const EAMTables& t = config_.tables;
  if (t.n_elements() < 1 || t.nr < 5 || t.nrho < 5 || !(t.dr > 0) || !(t.drho > 0) || !(t.cutoff > 0) ||
      t.frho.size() != static_cast<std::size_t>(t.n_elements()) * (t.nrho + 1) * 7 ||
      t.rhor_index.size() != static_cast<std::size_t>(t.n_elements() * t.n_elements()) ||
      t.z2r_index.size() != t.rhor_index.size())
    throw InvalidArgument("EAM: the tables are not set up (read them with read_eam)");
  if (!std::isfinite(config_.skin) || config_.skin < 0)
    throw InvalidArgument("EAM: skin must be a finite length >= 0 Å, got " + std::to_string(config_.skin));
  impl_ = std::make_unique<Impl>(config_);
}
EAM::~EAM() = default;

std::int64_t EAM::neighbor_builds() const {
  return impl_->nl.n_builds() + (impl_->gpu ? impl_->gpu->neighbor_builds() : 0);
}

std::vector<double> EAM::state() const {
  if (impl_->last_on_gpu) return {};
  return impl_->nl.state();
}

void EAM::restore_state(const Batch& batch, std::span<const double> state) {
  if (batch.is_cuda() || state.empty()) return;
  dispatch_float(batch.float_dtype(), [&](auto zero) {
    impl_->nl.build_from_reference(detail::batch_geometry<decltype(zero)>(batch, "EAM"), state);
  });
}

void EAM::compute(Batch& batch, bool compute_stress) {
  detail::add_output_fields(batch, compute_stress, "EAM");
  if (batch.is_cuda()) {
    const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
    const auto sp = detail::eam_species(config_, batch, z.data<std::int64_t>());
    if (!impl_->gpu) impl_->gpu = std::make_unique<detail::EAMGpu>(config_);
    impl_->gpu->compute(batch, sp, compute_stress);
    impl_->last_on_gpu = true;
    return;
  }
  impl_->last_on_gpu = false;
  const auto sp = detail::eam_species(config_, batch, batch.get("atomic_numbers").data<std::int64_t>());
  dispatch_float(batch.float_dtype(), [&](auto zero) { impl_->compute<decltype(zero)>(batch, sp, compute_stress); });
}

std::shared_ptr<EAM> load_eam(const std::vector<std::string>& files, const std::string& format,
                              const std::vector<std::string>& elements, double skin) {
  if (files.empty()) throw InvalidArgument("EAM: no potential file given");
  const EAMFormat f = format.empty() ? eam_format_from_path(files[0]) : parse_eam_format(format);
  EAMConfig c;
  c.tables = read_eam(files, f, elements);
  c.skin = skin;
  return std::make_shared<EAM>(std::move(c));
}

}  // namespace batchmd::model
