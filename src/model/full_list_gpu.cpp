// SPDX-License-Identifier: Apache-2.0
// model/full_list_gpu: DeviceFullList (CUDA builds) — the choice of the device-built list
// (full_list_device.cpp, the default) or the host-built one, and the host-built path itself: the
// host NeighborList, the full view built on the host at each rebuild and uploaded, and the
// per-atom image shifts uploaded when hooks wrapped atoms.
#include "full_list_gpu.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "batchmd/core/error.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "full_list_device.hpp"
#include "neighbor_view.hpp"

namespace batchmd::model::detail {

namespace {

// dev = host (reallocated when the size changes), ordered on the compute stream.
template <typename V>
void upload(Tensor& dev, const std::vector<V>& host, const Device& d) {
  const auto n = static_cast<std::int64_t>(host.size());
  if (!dev.defined() || dev.numel() != n || dev.device() != d || dev.dtype() != dtype_of<V>())
    dev = Tensor(dtype_of<V>(), {std::max<std::int64_t>(n, 1)}, d);
  if (n > 0) cuda::copy_async(dev.raw(), host.data(), host.size() * sizeof(V), cuda::compute_stream(d.index));
}

template <typename V>
void download(std::vector<V>& host, const Tensor& dev) {
  host.resize(static_cast<std::size_t>(dev.numel()));
  if (!host.empty())
    cuda::copy(host.data(), dev.raw(), host.size() * sizeof(V), cuda::compute_stream(dev.device().index));
}

}  // namespace

ListBuild list_build_from_env() {
  const char* v = std::getenv("BATCHMD_GPU_HOST_LIST");
  return (v != nullptr && *v != '\0' && std::string(v) != "0") ? ListBuild::kHost : ListBuild::kDevice;
}

// The host-built path.
struct HostBuiltList {
  NeighborList nl;
  double skin;
  // Host copies of this call's geometry.
  std::vector<double> pos_d, cell_d;
  std::vector<float> pos_f, cell_f;
  std::vector<std::uint8_t> pbc;
  // What the uploaded pairs were built from.
  bool built = false;
  DType dtype = DType::Float64;
  int device = -1;
  std::vector<std::int32_t> species;
  std::vector<double> cutoff;
  std::vector<std::int32_t> image_at_upload;  // [n][3] per atom
  std::vector<std::int32_t> shift;            // [n][3] image now - image at upload (as uploaded)
  std::vector<std::int32_t> image_now;
  NeighborView<double> host_view_d;
  NeighborView<float> host_view_f;
  // Device arrays.
  Tensor offsets, pair_atom, neighbor, pair_species, image, reverse, atom_species, shift_dev, rij;
  std::int64_t n_pairs = 0;

  HostBuiltList(double max_cutoff, double skin_in) : nl(std::max(max_cutoff, 1e-3), skin_in), skin(skin_in) {}

  std::vector<double>& pos(double) { return pos_d; }
  std::vector<float>& pos(float) { return pos_f; }
  std::vector<double>& cell(double) { return cell_d; }
  std::vector<float>& cell(float) { return cell_f; }
  NeighborView<double>& host_view(double) { return host_view_d; }
  NeighborView<float>& host_view(float) { return host_view_f; }

  // Per-atom image offsets of the host list now (caller order).
  void images_by_atom(std::vector<std::int32_t>& out) const {
    const auto order = nl.atom_order();
    const auto img = nl.image_offsets();
    out.resize(img.size());
    for (std::size_t k = 0; k < order.size(); ++k)
      for (int d = 0; d < 3; ++d) out[3 * static_cast<std::size_t>(order[k]) + d] = img[3 * k + d];
  }
};

template <typename T>
DeviceNeighborView<T> update_host(HostBuiltList& m, const Batch& batch, const std::vector<std::int32_t>& species,
                                  std::int32_t n_species, const std::vector<double>& cutoff);

struct DeviceFullList::Impl {
  ListBuild build;
  std::optional<HostBuiltList> host;
  std::optional<DeviceListBuild> device;
  Impl(double max_cutoff, double skin, ListBuild b) : build(b) {
    if (b == ListBuild::kHost)
      host.emplace(max_cutoff, skin);
    else
      device.emplace(max_cutoff, skin);
  }
};

DeviceFullList::DeviceFullList(double max_cutoff, double skin, ListBuild build)
    : impl_(std::make_unique<Impl>(max_cutoff, skin, build)) {}
DeviceFullList::~DeviceFullList() = default;
std::int64_t DeviceFullList::builds() const {
  return impl_->host ? impl_->host->nl.n_builds() : impl_->device->builds();
}
ListBuild DeviceFullList::build() const { return impl_->build; }

template <typename T>
DeviceNeighborView<T> DeviceFullList::update(const Batch& batch, const std::vector<std::int32_t>& species,
                                             std::int32_t n_species, const std::vector<double>& cutoff) {
  if (impl_->host) return update_host<T>(*impl_->host, batch, species, n_species, cutoff);
  return impl_->device->update<T>(batch, species, n_species, cutoff);
}

template <typename T>
DeviceNeighborView<T> update_host(HostBuiltList& m, const Batch& batch, const std::vector<std::int32_t>& species,
                                  std::int32_t n_species, const std::vector<double>& cutoff) {
  const Device dev = batch.device();
  const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
  if (static_cast<std::int64_t>(species.size()) != na) throw InvalidArgument("DeviceFullList: species size mismatch");

  // 1. The geometry on the host (the download waits for the kernels that moved the atoms).
  download(m.pos(T{}), batch.get("positions"));
  const bool has_cell = batch.has("cell");
  if (has_cell) download(m.cell(T{}), batch.get("cell"));
  if (batch.has("pbc")) {
    static_assert(sizeof(bool) == 1);
    m.pbc.resize(static_cast<std::size_t>(3 * ns));
    if (!m.pbc.empty()) cuda::copy(m.pbc.data(), batch.get("pbc").raw(), m.pbc.size(), cuda::compute_stream(dev.index));
  } else {
    m.pbc.clear();
  }
  BatchGeometry<T> g;
  g.n_systems = ns;
  g.n_atoms = na;
  g.positions = m.pos(T{}).data();
  g.atoms_ptr = batch.atoms_ptr_data();
  g.cell = has_cell ? m.cell(T{}).data() : nullptr;
  g.pbc = m.pbc.empty() ? nullptr : reinterpret_cast<const bool*>(m.pbc.data());
  if (g.pbc != nullptr && g.cell == nullptr) throw InvalidArgument("the batch has pbc but no cell");

  // 2. The host list; a new device list after every rebuild, and when what it depends on changed
  //    (then rebuilt first, so every pair that can come within its cutoff before the next
  //    rebuild is within cutoff + skin now).
  bool rebuilt = m.nl.update(g);
  const bool stale =
      !m.built || m.dtype != dtype_of<T>() || m.device != dev.index || m.species != species || m.cutoff != cutoff;
  if (stale && !rebuilt) {
    m.nl.request_rebuild();
    rebuilt = m.nl.update(g);
  }
  if (rebuilt) {
    std::vector<double> cut_skin(cutoff);
    for (double& c : cut_skin)
      if (c > 0) c += m.skin;
    auto& hv = m.host_view(T{});
    build_neighbor_view(m.nl, g, ViewRequest{species.data(), n_species, cut_skin.data()}, hv);
    m.n_pairs = hv.n_pairs();
    std::vector<std::int32_t> pair_atom(static_cast<std::size_t>(m.n_pairs));
    for (std::int64_t i = 0; i < na; ++i)
      std::fill(pair_atom.begin() + hv.offsets[i], pair_atom.begin() + hv.offsets[i + 1], static_cast<std::int32_t>(i));
    upload(m.offsets, hv.offsets, dev);
    upload(m.pair_atom, pair_atom, dev);
    upload(m.neighbor, hv.neighbor, dev);
    upload(m.pair_species, hv.species, dev);
    upload(m.image, hv.image, dev);
    upload(m.reverse, hv.reverse, dev);
    upload(m.atom_species, species, dev);
    m.images_by_atom(m.image_at_upload);
    m.shift.assign(static_cast<std::size_t>(3 * na), 0);
    upload(m.shift_dev, m.shift, dev);
    m.built = true;
    m.dtype = dtype_of<T>();
    m.device = dev.index;
    m.species = species;
    m.cutoff = cutoff;
  } else {
    // Atoms a hook moved by lattice vectors: their image shift since the upload changed.
    m.images_by_atom(m.image_now);
    bool changed = false;
    for (std::size_t k = 0; k < m.image_now.size(); ++k) {
      const std::int32_t s = m.image_now[k] - m.image_at_upload[k];
      changed = changed || s != m.shift[k];
      m.shift[k] = s;
    }
    if (changed) upload(m.shift_dev, m.shift, dev);
  }

  // 3. This call's displacements.
  if (!m.rij.defined() || m.rij.dtype() != dtype_of<T>() || m.rij.numel() < 3 * std::max<std::int64_t>(m.n_pairs, 1))
    m.rij = Tensor(dtype_of<T>(), {3 * std::max<std::int64_t>(m.n_pairs, 1)}, dev);
  launch_displacements<T>(dev.index, m.n_pairs, m.pair_atom.data<std::int32_t>(), m.neighbor.data<std::int32_t>(),
                          m.image.data<std::int32_t>(), m.shift_dev.data<std::int32_t>(),
                          batch.system_index_on_device(), batch.get("positions").data<T>(),
                          has_cell ? batch.get("cell").data<T>() : nullptr, m.rij.data<T>());

  DeviceNeighborView<T> v;
  v.n_atoms = na;
  v.n_pairs = m.n_pairs;
  v.n_systems = ns;
  v.offsets = m.offsets.data<std::int64_t>();
  v.pair_atom = m.pair_atom.data<std::int32_t>();
  v.neighbor = m.neighbor.data<std::int32_t>();
  v.species = m.pair_species.data<std::int32_t>();
  v.reverse = m.reverse.data<std::int64_t>();
  v.rij = m.rij.data<T>();
  v.atom_species = m.atom_species.data<std::int32_t>();
  v.atoms_ptr = batch.atoms_ptr_on_device();
  return v;
}

template DeviceNeighborView<float> DeviceFullList::update<float>(const Batch&, const std::vector<std::int32_t>&,
                                                                 std::int32_t, const std::vector<double>&);
template DeviceNeighborView<double> DeviceFullList::update<double>(const Batch&, const std::vector<std::int32_t>&,
                                                                   std::int32_t, const std::vector<double>&);

}  // namespace batchmd::model::detail
