// SPDX-License-Identifier: Apache-2.0
// model/torch/torch_edges_gpu: the host side of the TorchScript model's device-built edges
// (torch_edges_gpu.hpp) — the device full list's update (without its displacement array), then
// the scan that tests and numbers the edges, one read-back of the edge count (the edge arrays'
// size) and the caller's side word in the list's own round trip, fill. CUDA builds only.
#include "torch_edges_gpu.hpp"

#include <algorithm>
#include <cstring>

#include "../full_list_device.hpp"
#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"

namespace batchmd::model::detail {

namespace {

// t holds at least max(count, 1) elements of dt on d (grown by a quarter beyond the request, so a
// slowly growing edge count does not reallocate every call).
void grow(Tensor& t, DType dt, std::int64_t count, const Device& d) {
  count = std::max<std::int64_t>(count, 1);
  if (!t.defined() || t.dtype() != dt || t.numel() < count || t.device() != d)
    t = Tensor(dt, {count + count / 4 + 64}, d);
}

}  // namespace

struct TorchEdgesGpu::Impl {
  double cutoff;
  DeviceListBuild list;
  std::vector<double> cut;  // [n_species^2] all `cutoff`
  Tensor pos, scan_temp, edge_index, shifts, unit_shifts;
  std::int64_t scan_items = -1;
  std::size_t scan_bytes = 0;
  Tensor words;             // [2] int32 on the device: the edge count, the caller's side word
  cuda::PinnedBuffer host;  // both read back
  Impl(double c, double skin) : cutoff(c), list(c, skin) { list.set_displacements(false); }
  std::int32_t* words_on(const Device& d) {
    if (!words.defined() || words.device() != d) {
      words = Tensor(DType::Int32, {2}, d);
      words.fill_zero();
    }
    return words.data<std::int32_t>();
  }
};

TorchEdgesGpu::TorchEdgesGpu(double cutoff, double skin) : impl_(std::make_unique<Impl>(cutoff, skin)) {}
TorchEdgesGpu::~TorchEdgesGpu() = default;
std::int64_t TorchEdgesGpu::builds() const { return impl_->list.builds(); }
std::int32_t* TorchEdgesGpu::side_word(int device) { return impl_->words_on(Device{Device::Kind::CUDA, device}) + 1; }

template <typename T>
DeviceEdges<T> TorchEdgesGpu::update(const Batch& batch, const std::vector<std::int32_t>& species,
                                     std::int32_t n_species, std::uint64_t species_version, bool unit_shifts) {
  Impl& m = *impl_;
  m.cut.assign(static_cast<std::size_t>(n_species) * static_cast<std::size_t>(n_species), m.cutoff);
  // The list's update in two halves: the edge selection and the read-back of the edge count and
  // the side word are queued on the displacements of the kept pairs before the list's status is
  // known, so that one synchronisation serves both; on the rare call that rebuilds they are
  // queued again on the new pairs (a second one).
  DeviceNeighborView<T> v = m.list.begin_update<T>(batch, species, n_species, m.cut, species_version);
  const Device dev = batch.device();
  const cuda::Stream stream = cuda::compute_stream(dev.index);
  std::int32_t* words = m.words_on(dev);
  m.host.reserve(64);
  const auto pairs = [&] {  // the current view's pairs (a rebuild in finish_update replaces them)
    TorchPairs<T> g;
    g.n_pairs = v.n_pairs;
    g.pair_atom = v.pair_atom;
    g.neighbor = v.neighbor;
    g.image = m.list.pair_image();
    g.jump = m.list.atom_jump();
    g.sys = batch.system_index_on_device();
    g.positions = batch.get("positions").data<T>();
    g.cell = batch.has("cell") ? batch.get("cell").data<T>() : nullptr;
    g.cutoff2 = m.cutoff * m.cutoff;
    return g;
  };
  const auto select = [&] {
    const std::int64_t np = v.n_pairs;
    if (np > 0) {
      grow(m.pos, DType::Int32, np, dev);
      if (np != m.scan_items) {
        m.scan_bytes = torch_edge_scan_bytes<T>(np);
        m.scan_items = np;
        grow(m.scan_temp, DType::UInt8, static_cast<std::int64_t>(m.scan_bytes), dev);
      }
      torch_edge_scan<T>(dev.index, m.scan_temp.raw(), m.scan_bytes, pairs(), m.pos.data<std::int32_t>());
      cuda::copy_async(words, m.pos.data<std::int32_t>() + (np - 1), sizeof(std::int32_t), stream);
    } else {
      cuda::memset_async(words, 0, sizeof(std::int32_t), stream);
    }
    // The edge count (the arrays handed to libtorch are sized by it) and the side word.
    cuda::copy_async(m.host.data(), words, 2 * sizeof(std::int32_t), stream);
  };
  select();
  if (!m.list.finish_update<T>(batch, v)) {
    select();
    cuda::synchronize(stream);
  }
  std::int32_t got[2] = {0, 0};
  std::memcpy(got, m.host.data(), sizeof got);
  const std::int64_t ne = got[0];
  cuda::memset_async(words + 1, 0, sizeof(std::int32_t), stream);
  grow(m.edge_index, DType::Int64, 2 * ne, dev);
  grow(m.shifts, dtype_of<T>(), 3 * ne, dev);
  grow(m.unit_shifts, dtype_of<T>(), 3 * ne, dev);
  if (ne > 0) {
    TorchEdgeFill<T> f;
    f.pairs = pairs();
    f.n_edges = ne;
    f.pos = m.pos.data<std::int32_t>();
    f.edge_index = m.edge_index.data<std::int64_t>();
    f.shifts = m.shifts.data<T>();
    f.unit_shifts = unit_shifts ? m.unit_shifts.data<T>() : nullptr;
    launch_torch_edge_fill<T>(dev.index, f);
  }
  DeviceEdges<T> e;
  e.n_edges = ne;
  e.side_word = got[1];
  e.edge_index = m.edge_index.data<std::int64_t>();
  e.shifts = m.shifts.data<T>();
  e.unit_shifts = m.unit_shifts.data<T>();
  return e;
}

template DeviceEdges<float> TorchEdgesGpu::update<float>(const Batch&, const std::vector<std::int32_t>&, std::int32_t,
                                                         std::uint64_t, bool);
template DeviceEdges<double> TorchEdgesGpu::update<double>(const Batch&, const std::vector<std::int32_t>&, std::int32_t,
                                                           std::uint64_t, bool);

}  // namespace batchmd::model::detail
