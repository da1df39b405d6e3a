// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_model: the TorchScript Model, batchmd side — element table and dtype checks,
// the shared neighbor list turned into edges (edge_index, shifts, unit_shifts), and the call into
// the libtorch plugin (torch_plugin_abi.h). No libtorch here.
//
// Per call, only what depends on this call's positions is redone: the full view (every pair
// within cutoff + skin, sorted) is kept between neighbor-list rebuilds (NeighborViewCache, which
// rebuilds it when the list rebuilds: atoms moved > skin/2, other atom counts or atoms_ptr, a new
// cell or pbc, other species); each call refreshes its displacements and keeps the pairs inside
// the cutoff, in the view's order — the same edges, bit for bit, as a view built afresh.
#include "batchmd/model/torch_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "../model_fields.hpp"
#include "../neighbor_view.hpp"
#include "../neighbor_view_cache.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "torch_plugin_loader.hpp"

namespace batchmd::model {

TorchConvention parse_torch_convention(const std::string& s) {
  if (s == "auto") return TorchConvention::Auto;
  if (s == "batched") return TorchConvention::Batched;
  if (s == "mace-lammps") return TorchConvention::MaceLammps;
  throw InvalidArgument("TorchScript convention must be \"auto\", \"batched\" or \"mace-lammps\", got \"" + s + "\"");
}

std::string to_string(TorchConvention c) {
  switch (c) {
    case TorchConvention::Batched:
      return "batched";
    case TorchConvention::MaceLammps:
      return "mace-lammps";
    default:
      return "auto";
  }
}

namespace {

// Messages from libtorch span lines; the command line promises one line per error.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

std::string dn(DType t) { return std::string(dtype_name(t)); }

std::string element_list(const std::vector<std::int64_t>& z) {
  std::string s;
  for (auto e : z) s += (s.empty() ? "" : ", ") + element_label(e);
  return s;
}

// Edges and per-call arrays, reused across calls. The view (every pair within cutoff + skin, in
// canonical order) is kept between neighbor-list rebuilds by the cache; each call only refreshes
// its displacements and keeps the pairs inside the cutoff (edges).
template <typename T>
struct Buffers {
  detail::NeighborViewCache<T> cache;
  std::vector<std::uint8_t> keep;        // [view pairs] inside the cutoff this call
  std::vector<std::int64_t> edge_begin;  // [n_atoms + 1] first edge of each atom
  std::vector<std::int64_t> edge_index;  // [2][E]
  std::vector<T> shifts, unit_shifts;    // [E][3]
  std::vector<T> zero_cell;              // [S][9] for a batch without cell
  std::vector<std::uint8_t> pbc;         // [S][3]
  std::vector<T> virial;                 // [S][9]
  std::vector<double> virial_d;          // [S][9]
};

// The edges of this call: the view's pairs with 0 < |r| < cutoff (the test build_neighbor_view
// makes, on the same displacements, so the edges equal those of a view built fresh with the
// cutoff), in the view's order. Two passes over atoms (count, then fill), so threads need no
// atomics and the order does not depend on them.
template <typename T>
std::int64_t select_edges(const detail::NeighborView<T>& v, const BatchGeometry<T>& g, const std::int64_t* sys,
                          double cutoff, Buffers<T>& b) {
  const std::int64_t na = v.n_atoms;
  const double c2 = cutoff * cutoff;
  b.keep.resize(static_cast<std::size_t>(v.n_pairs()));
  b.edge_begin.resize(static_cast<std::size_t>(na + 1));
  const std::int64_t* off = v.offsets.data();
  const T* rij = v.rij.data();
  std::uint8_t* keep = b.keep.data();
  std::int64_t* cnt = b.edge_begin.data() + 1;
  parallel_for(na, [&](std::int64_t i) {
    std::int64_t n = 0;
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      const T* r = rij + 3 * p;
      const double r2 = double(r[0]) * r[0] + double(r[1]) * r[1] + double(r[2]) * r[2];
      const bool in = r2 < c2 && r2 > 1e-20;  // as build_neighbor_view: coincident atoms left out
      keep[p] = in ? 1 : 0;
      n += in ? 1 : 0;
    }
    cnt[i] = n;
  });
  b.edge_begin[0] = 0;
  for (std::int64_t i = 0; i < na; ++i) b.edge_begin[i + 1] += b.edge_begin[i];
  const std::int64_t ne = b.edge_begin[na];
  b.edge_index.resize(static_cast<std::size_t>(2 * ne));
  b.shifts.resize(static_cast<std::size_t>(3 * ne));
  b.unit_shifts.resize(static_cast<std::size_t>(3 * ne));
  const std::int64_t* first = b.edge_begin.data();
  const std::int32_t* nbr = v.neighbor.data();
  const std::int32_t* image = v.image.data();
  std::int64_t* ei = b.edge_index.data();
  T* shifts = b.shifts.data();
  T* unit = b.unit_shifts.data();
  parallel_for(na, [&](std::int64_t i) {
    const T* cell = g.cell != nullptr ? g.cell + 9 * sys[i] : nullptr;
    std::int64_t q = first[i];
    for (std::int64_t p = off[i]; p < off[i + 1]; ++p) {
      if (keep[p] == 0) continue;
      ei[q] = i;
      ei[ne + q] = nbr[p];
      const std::int32_t* im = image + 3 * p;
      for (int e = 0; e < 3; ++e) {
        T s = 0;
        if (cell != nullptr)
          for (int d = 0; d < 3; ++d) s += static_cast<T>(im[d]) * cell[3 * d + e];
        shifts[3 * q + e] = s;
        unit[3 * q + e] = static_cast<T>(im[e]);
      }
      ++q;
    }
  });
  return ne;
}

}  // namespace

struct TorchScriptModel::Impl {
  TorchScriptConfig cfg;
  const detail::TorchPlugin* plugin = nullptr;
  void* handle = nullptr;
  bmd_torch_info info{};
  double cutoff = 0;
  std::optional<DType> dtype;
  std::vector<std::int64_t> elements;
  std::unique_ptr<NeighborList> nl;
  Buffers<float> buf_f;
  Buffers<double> buf_d;
  std::vector<std::int32_t> species;
  std::vector<std::int64_t> species64;
  std::vector<double> cut_matrix;

  Buffers<float>& buffers(float) { return buf_f; }
  Buffers<double>& buffers(double) { return buf_d; }

  [[noreturn]] void fail(const std::string& why) const {
    throw InvalidArgument(one_line("TorchScript model '" + cfg.path + "': " + why));
  }

  // Species index of every atom in `elements` (0 for all when the model takes any element).
  void map_species(const Batch& batch, const std::int64_t* z) {
    const std::int64_t na = batch.n_atoms();
    species.resize(static_cast<std::size_t>(na));
    species64.resize(static_cast<std::size_t>(na));
    const std::int64_t* ptr = batch.atoms_ptr_data();
    std::int64_t s = 0;
    for (std::int64_t a = 0; a < na; ++a) {
      std::int32_t k = 0;
      if (!elements.empty()) {
        const auto it = std::find(elements.begin(), elements.end(), z[a]);
        if (it == elements.end()) {
          while (ptr[s + 1] <= a) ++s;
          fail("element " + element_label(z[a]) + " (Z = " + std::to_string(z[a]) + ") of atom " +
               std::to_string(a - ptr[s]) + " in system " + std::to_string(s) + " is not covered by the model (" +
               element_list(elements) + ")");
        }
        k = static_cast<std::int32_t>(it - elements.begin());
      }
      species[static_cast<std::size_t>(a)] = k;
      species64[static_cast<std::size_t>(a)] = k;
    }
  }

  template <typename T>
  void compute_cpu(Batch& batch, bool compute_stress, int device_index) {
    Buffers<T>& b = buffers(T{});
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "TorchScriptModel");
    map_species(batch, batch.get("atomic_numbers").data<std::int64_t>());
    const std::int32_t n_species = elements.empty() ? 1 : static_cast<std::int32_t>(elements.size());
    cut_matrix.assign(static_cast<std::size_t>(n_species * n_species), cutoff);
    const std::int64_t* sys = batch.system_index().data<std::int64_t>();
    const detail::NeighborView<T>& view =
        b.cache.update(*nl, g, detail::ViewRequest{species.data(), n_species, cut_matrix.data()});
    const std::int64_t ne = select_edges(view, g, sys, cutoff, b);
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    const T* cell = g.cell;
    if (cell == nullptr) {
      b.zero_cell.assign(static_cast<std::size_t>(9 * ns), T(0));
      cell = b.zero_cell.data();
    }
    b.pbc.assign(static_cast<std::size_t>(3 * ns), 0);
    if (g.pbc != nullptr)
      for (std::int64_t k = 0; k < 3 * ns; ++k) b.pbc[k] = g.pbc[k] ? 1 : 0;

    bmd_torch_inputs in{};
    in.dtype = std::is_same_v<T, float> ? BMD_TORCH_FLOAT32 : BMD_TORCH_FLOAT64;
    in.device_index = device_index;
    in.compute_virial = compute_stress ? 1 : 0;
    in.n_atoms = na, in.n_systems = ns, in.n_edges = ne;
    in.positions = g.positions;
    in.atomic_numbers = batch.get("atomic_numbers").data<std::int64_t>();
    in.species = species64.data();
    in.n_species = n_species;
    in.cell = cell;
    in.pbc = b.pbc.data();
    in.edge_index = b.edge_index.data();
    in.shifts = b.shifts.data();
    in.unit_shifts = b.unit_shifts.data();
    in.batch = sys;
    in.ptr = batch.atoms_ptr_data();
    b.virial.resize(static_cast<std::size_t>(9 * ns));
    bmd_torch_outputs out{};
    out.energy = batch.get("energy").data<T>();
    out.forces = batch.get("forces").data<T>();
    out.virial = compute_stress ? b.virial.data() : nullptr;
    call(in, out);
    if (compute_stress) {
      b.virial_d.assign(b.virial.begin(), b.virial.end());
      detail::write_virial_and_stress(batch, b.virial_d.data(), g);
    }
  }

  void call(const bmd_torch_inputs& in, bmd_torch_outputs& out) const {
    char err[2048] = {};
    const std::int32_t st = plugin->compute(handle, &in, &out, err, sizeof err);
    if (st == BMD_TORCH_OK) return;
    const std::string msg = one_line("TorchScript model '" + cfg.path + "': " + err);
    if (st == BMD_TORCH_NUMERICAL) throw NumericalError(msg);
    if (st == BMD_TORCH_DEVICE) throw DeviceError(msg);
    throw InvalidArgument(msg);
  }
};

TorchScriptModel::TorchScriptModel(TorchScriptConfig config) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.cfg = std::move(config);
  if (!std::isfinite(m.cfg.skin) || m.cfg.skin < 0)
    m.fail("skin must be a finite length >= 0 Å, got " + std::to_string(m.cfg.skin));
  if (!std::isfinite(m.cfg.cutoff) || m.cfg.cutoff < 0)
    m.fail("cutoff must be a finite length > 0 Å (or 0: the module's), got " + std::to_string(m.cfg.cutoff));
  try {
    m.plugin = &detail::load_torch_plugin(m.cfg.plugin);
  } catch (const InvalidArgument& e) {
    m.fail(e.what());
  }
  const std::int32_t want = m.cfg.convention == TorchConvention::Batched      ? BMD_TORCH_BATCHED
                            : m.cfg.convention == TorchConvention::MaceLammps ? BMD_TORCH_MACE_LAMMPS
                                                                              : BMD_TORCH_AUTO;
  char err[2048] = {};
  std::int32_t status = 0;
  m.handle = m.plugin->open(m.cfg.path.c_str(), want, &status, err, sizeof err, &m.info);
  if (m.handle == nullptr) m.fail(err);
  try {
    // Elements: the module's atomic_numbers, checked against the config's.
    std::vector<std::int64_t> own(m.info.elements, m.info.elements + m.info.n_elements);
    if (!m.cfg.elements.empty() && !own.empty() && m.cfg.elements != own)
      m.fail("elements (" + element_list(m.cfg.elements) + ") differ from the module's atomic_numbers (" +
             element_list(own) + ")");
    m.elements = !m.cfg.elements.empty() ? m.cfg.elements : own;
    if (m.info.convention == BMD_TORCH_MACE_LAMMPS && m.elements.empty())
      m.fail("a mace-lammps module needs its element table (attribute atomic_numbers, or elements in the config)");
    for (auto z : m.elements)
      if (z < 1 || z > 118) m.fail("atomic number " + std::to_string(z) + " in the element table is not 1..118");
    // Cutoff: the config's, else the module's.
    m.cutoff = m.cfg.cutoff > 0 ? m.cfg.cutoff : m.info.cutoff;
    if (!(m.cutoff > 0) || !std::isfinite(m.cutoff))
      m.fail(std::string("no cutoff: the module has no attribute ") +
             (m.info.convention == BMD_TORCH_MACE_LAMMPS ? "r_max" : "cutoff") + "; give cutoff (Å) in the config");
    // dtype: the module's, checked against the config's.
    if (m.info.dtype != BMD_TORCH_DTYPE_UNKNOWN)
      m.dtype = m.info.dtype == BMD_TORCH_FLOAT32 ? DType::Float32 : DType::Float64;
    if (m.cfg.dtype) {
      if (*m.cfg.dtype != DType::Float32 && *m.cfg.dtype != DType::Float64) m.fail("dtype must be float32 or float64");
      if (m.dtype && *m.dtype != *m.cfg.dtype)
        m.fail(std::string("the module computes in ") + dn(*m.dtype) + " but dtype = " + dn(*m.cfg.dtype) +
               " was asked for");
      m.dtype = m.cfg.dtype;
    }
    m.nl = std::make_unique<NeighborList>(m.cutoff, m.cfg.skin);
  } catch (...) {
    m.plugin->close(m.handle);
    throw;
  }
}

TorchScriptModel::~TorchScriptModel() {
  if (impl_ && impl_->handle != nullptr) impl_->plugin->close(impl_->handle);
}

double TorchScriptModel::cutoff() const { return impl_->cutoff; }
TorchConvention TorchScriptModel::convention() const {
  return impl_->info.convention == BMD_TORCH_MACE_LAMMPS ? TorchConvention::MaceLammps : TorchConvention::Batched;
}
std::optional<DType> TorchScriptModel::dtype() const { return impl_->dtype; }
const std::vector<std::int64_t>& TorchScriptModel::elements() const { return impl_->elements; }
std::string TorchScriptModel::torch_version() const { return impl_->info.torch_version; }
std::string TorchScriptModel::plugin_path() const { return impl_->plugin->path; }
std::int64_t TorchScriptModel::neighbor_builds() const { return impl_->nl->n_builds(); }

void TorchScriptModel::compute(Batch& batch, bool compute_stress) {
  Impl& m = *impl_;
  detail::add_output_fields(batch, compute_stress, "TorchScriptModel");
  const DType dt = batch.float_dtype();
  if (m.dtype && *m.dtype != dt)
    m.fail(std::string("the model computes in ") + dn(*m.dtype) + " but the batch is " + dn(dt) +
           " (run the job with dtype = \"" + dn(*m.dtype) + "\", or export the model in " + dn(dt) + ")");
  if (!batch.is_cuda()) {
    dispatch_float(dt, [&](auto zero) { m.compute_cpu<decltype(zero)>(batch, compute_stress, -1); });
    return;
  }
  // A GPU batch: the edges are built on the host and the arrays pass through it (for now,
  // docs/torchscript.md); the module runs on the batch's GPU.
  Batch host = batch.to(Device::cpu());
  dispatch_float(dt, [&](auto zero) { m.compute_cpu<decltype(zero)>(host, compute_stress, batch.device().index); });
  for (const char* f : {"energy", "forces", "virial", "stress"})
    if (host.has(f) && batch.has(f)) batch.get(f).copy_from(host.get(f));
}

bool torch_plugin_available(const std::string& plugin, std::string* why) {
  try {
    detail::load_torch_plugin(plugin);
    return true;
  } catch (const InvalidArgument& e) {
    if (why != nullptr) *why = e.what();
    return false;
  }
}

}  // namespace batchmd::model
