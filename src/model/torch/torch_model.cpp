// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_model: the TorchScript Model, batchmd side — element table and dtype checks,
// the shared neighbor list turned into edges (edge_index, shifts, unit_shifts), and the call into
// the libtorch plugin (torch_plugin_abi.h). No libtorch here.
//
// Per call, only what depends on this call's positions is redone: the full view (every pair
// within cutoff + skin, sorted) is kept between neighbor-list rebuilds (NeighborViewCache, which
// rebuilds it when the list rebuilds: atoms moved > skin/2, other atom counts or atoms_ptr, a new
// cell or pbc, other species); each call refreshes its displacements and keeps the pairs inside
// the cutoff, in the view's order — the same edges, bit for bit, as a view built afresh
// (torch_edges.hpp).
//
// A GPU batch stays on its GPU: the edges come from the device full list (torch_edges_gpu.hpp),
// and the plugin gets device pointers — positions, cell, edges, the batch's output fields — on
// batchmd's compute stream. The atomic numbers are read back and mapped to species only when
// they differ from the last mapping's (a device comparison whose flag comes back with the edge
// count), so a call that keeps its atoms and its list has two round trips: the list's status with
// the edge count, and the plugin's check of the outputs.
#include "batchmd/model/torch_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "../model_fields.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "torch_edges.hpp"
#include "torch_edges_gpu.hpp"
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

// Edges and per-call arrays of a CPU batch, reused across calls.
template <typename T>
struct Buffers {
  detail::HostEdges<T> edges;
  std::vector<T> zero_cell;       // [S][9] for a batch without cell
  std::vector<std::uint8_t> pbc;  // [S][3]
  std::vector<T> virial;          // [S][9]
  std::vector<double> virial_d;   // [S][9]
};

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
  // A GPU batch: its edges, and device arrays the batch does not have (species as uploaded,
  // zero cell and pbc for a batch without a cell).
  std::unique_ptr<detail::TorchEdgesGpu> gpu_edges;
  Tensor species_dev, zero_cell_dev, zero_pbc_dev;
  // A GPU batch's atomic numbers at the last species mapping (device copy), while `species` is
  // still that mapping's: map_species() clears it (a CPU call, or a failed mapping, leaves none).
  Tensor z_seen;
  // Incremented by every species mapping: the device list compares `species` (one entry per atom)
  // only when it changed.
  std::uint64_t species_version = 0;

  Buffers<float>& buffers(float) { return buf_f; }
  Buffers<double>& buffers(double) { return buf_d; }

  [[noreturn]] void fail(const std::string& why) const {
    throw InvalidArgument(one_line("TorchScript model '" + cfg.path + "': " + why));
  }

  // Species index of every atom in `elements` (0 for all when the model takes any element).
  void map_species(const Batch& batch, const std::int64_t* z) {
    z_seen = Tensor();  // the GPU path's record of the mapping is stale from here on
    ++species_version;
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

  // A GPU batch's species from its atomic numbers (read back; an element the model does not cover
  // is an error naming it), uploaded with the atomic numbers they came from.
  void refresh_species(const Batch& batch) {
    const Device dev = batch.device();
    const Tensor z = batch.get("atomic_numbers").to(Device::cpu());
    map_species(batch, z.data<std::int64_t>());
    species_dev = Tensor::from(species64, {batch.n_atoms()}).to(dev);
    z_seen = z.to(dev);
  }

  template <typename T>
  void compute_cpu(Batch& batch, bool compute_stress) {
    Buffers<T>& b = buffers(T{});
    const BatchGeometry<T> g = detail::batch_geometry<T>(batch, "TorchScriptModel");
    map_species(batch, batch.get("atomic_numbers").data<std::int64_t>());
    const std::int32_t n_species = elements.empty() ? 1 : static_cast<std::int32_t>(elements.size());
    cut_matrix.assign(static_cast<std::size_t>(n_species * n_species), cutoff);
    const std::int64_t* sys = batch.system_index().data<std::int64_t>();
    const std::int64_t ne = detail::host_edges(
        *nl, g, sys, detail::ViewRequest{species.data(), n_species, cut_matrix.data()}, cutoff, b.edges);
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
    in.device_index = -1;
    in.compute_virial = compute_stress ? 1 : 0;
    in.n_atoms = na, in.n_systems = ns, in.n_edges = ne;
    in.positions = g.positions;
    in.atomic_numbers = batch.get("atomic_numbers").data<std::int64_t>();
    in.species = species64.data();
    in.n_species = n_species;
    in.cell = cell;
    in.pbc = b.pbc.data();
    in.edge_index = b.edges.edge_index.data();
    in.shifts = b.edges.shifts.data();
    in.unit_shifts = b.edges.unit_shifts.data();
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

  // A GPU batch: every array the plugin gets is device memory on the batch's GPU, written on its
  // compute stream; the plugin writes energy, forces and virial into the batch's fields there.
  template <typename T>
  void compute_gpu(Batch& batch, bool compute_stress) {
    const Device dev = batch.device();
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    const std::int32_t n_species = elements.empty() ? 1 : static_cast<std::int32_t>(elements.size());
    if (!gpu_edges) gpu_edges = std::make_unique<detail::TorchEdgesGpu>(cutoff, cfg.skin);
    // The species of the last mapping hold while the atomic numbers equal the ones it saw: the
    // comparison runs on the device and its flag comes back with the edge count; only a change
    // (rare: a new batch) reads them back, maps them again and builds the edges anew.
    const bool mapped = z_seen.defined() && z_seen.device() == dev && z_seen.numel() == na;
    if (!mapped)
      refresh_species(batch);
    else if (na > 0)
      detail::launch_torch_z_changed(dev.index, na, batch.get("atomic_numbers").data<std::int64_t>(),
                                     z_seen.data<std::int64_t>(), gpu_edges->side_word(dev.index));
    // unit_shifts are read by the mace-lammps convention and by the batched one's strain (virial).
    const bool unit_shifts = info.convention == BMD_TORCH_MACE_LAMMPS || compute_stress;
    detail::DeviceEdges<T> e = gpu_edges->update<T>(batch, species, n_species, species_version, unit_shifts);
    if (e.side_word != 0) {
      refresh_species(batch);
      e = gpu_edges->update<T>(batch, species, n_species, species_version, unit_shifts);
    }
    const bool has_cell = batch.has("cell"), has_pbc = batch.has("pbc");
    if (!has_cell && (!zero_cell_dev.defined() || zero_cell_dev.device() != dev ||
                      zero_cell_dev.dtype() != dtype_of<T>() || zero_cell_dev.numel() < 9 * ns)) {
      zero_cell_dev = Tensor(dtype_of<T>(), {std::max<std::int64_t>(9 * ns, 1)}, dev);
      zero_cell_dev.fill_zero();
    }
    if (!has_pbc && (!zero_pbc_dev.defined() || zero_pbc_dev.device() != dev || zero_pbc_dev.numel() < 3 * ns)) {
      zero_pbc_dev = Tensor(DType::UInt8, {std::max<std::int64_t>(3 * ns, 1)}, dev);
      zero_pbc_dev.fill_zero();
    }
    const T* cell = has_cell ? batch.get("cell").data<T>() : zero_cell_dev.data<T>();
    static_assert(sizeof(bool) == 1);
    const void* pbc = has_pbc ? batch.get("pbc").raw() : zero_pbc_dev.raw();

    bmd_torch_inputs in{};
    in.dtype = std::is_same_v<T, float> ? BMD_TORCH_FLOAT32 : BMD_TORCH_FLOAT64;
    in.device_index = dev.index;
    in.cuda_stream = cuda::compute_stream(dev.index);
    in.compute_virial = compute_stress ? 1 : 0;
    in.n_atoms = na, in.n_systems = ns, in.n_edges = e.n_edges;
    in.positions = batch.get("positions").data<T>();
    in.atomic_numbers = batch.get("atomic_numbers").data<std::int64_t>();
    in.species = species_dev.data<std::int64_t>();
    in.n_species = n_species;
    in.cell = cell;
    in.pbc = static_cast<const std::uint8_t*>(pbc);
    in.edge_index = e.edge_index;
    in.shifts = e.shifts;
    in.unit_shifts = e.unit_shifts;
    in.batch = batch.system_index_on_device();
    in.ptr = batch.atoms_ptr_on_device();
    bmd_torch_outputs out{};
    out.energy = batch.get("energy").data<T>();
    out.forces = batch.get("forces").data<T>();
    out.virial = compute_stress ? batch.get("virial").data<T>() : nullptr;
    // A plugin that runs libtorch on its own stream reads the inputs only after batchmd's
    // stream has written them (and returns with its outputs written).
    if (info.cuda_stream == 0) cuda::synchronize(in.cuda_stream);
    call(in, out);
    if (compute_stress)
      detail::launch_torch_stress<T>(dev.index, ns, batch.get("virial").data<T>(), has_cell ? cell : nullptr,
                                     has_pbc ? batch.get("pbc").data<bool>() : nullptr, batch.get("stress").data<T>());
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
std::int64_t TorchScriptModel::neighbor_builds() const {
  return impl_->nl->n_builds() + (impl_->gpu_edges ? impl_->gpu_edges->builds() : 0);
}

void TorchScriptModel::compute(Batch& batch, bool compute_stress) {
  Impl& m = *impl_;
  detail::add_output_fields(batch, compute_stress, "TorchScriptModel");
  const DType dt = batch.float_dtype();
  if (m.dtype && *m.dtype != dt)
    m.fail(std::string("the model computes in ") + dn(*m.dtype) + " but the batch is " + dn(dt) +
           " (run the job with dtype = \"" + dn(*m.dtype) + "\", or export the model in " + dn(dt) + ")");
  if (!batch.is_cuda()) {
    dispatch_float(dt, [&](auto zero) { m.compute_cpu<decltype(zero)>(batch, compute_stress); });
    return;
  }
  // A GPU batch: edges built on its GPU, the module run there on batchmd's arrays.
  dispatch_float(dt, [&](auto zero) { m.compute_gpu<decltype(zero)>(batch, compute_stress); });
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
