// SPDX-License-Identifier: Apache-2.0
// model/eam_gpu: EAM for a GPU batch (CUDA builds) — the full list from DeviceFullList, the spline
// tables uploaded once per precision, the embedding and pair kernels (eam_gpu.cu), and the shared
// force gather and per-system sums (full_list_gpu.cu).
#include "eam_gpu.hpp"

#include <algorithm>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"
#include "device_buffer.hpp"
#include "eam_gpu_kernels.hpp"
#include "full_list_gpu.hpp"

namespace batchmd::model::detail {

struct EAMGpu::Impl {
  EAMConfig cfg;
  DeviceFullList list;
  Tensor frho, rhor, z2r, rhor_index, z2r_index;  // device copies of the tables
  DType table_dtype = DType::Float64;
  int table_device = -1;
  Tensor fp, atom_energy, atom_virial, g, scratch;
  explicit Impl(const EAMConfig& c) : cfg(c), list(c.tables.cutoff, c.skin) {}

  template <typename T, typename S>
  static Tensor upload(const std::vector<S>& host, DType dt, const Device& dev) {
    std::vector<T> typed(host.begin(), host.end());
    Tensor t(dt, {std::max<std::int64_t>(static_cast<std::int64_t>(typed.size()), 1)}, dev);
    // A waiting copy: the host vector dies here (once per model and precision, not per step).
    if (!typed.empty()) cuda::copy(t.raw(), typed.data(), typed.size() * sizeof(T), cuda::compute_stream(dev.index));
    return t;
  }

  template <typename T>
  EAMView<T> tables(const Device& dev) {
    const EAMTables& t = cfg.tables;
    if (table_dtype != dtype_of<T>() || table_device != dev.index || !frho.defined()) {
      frho = upload<T>(t.frho, dtype_of<T>(), dev);
      rhor = upload<T>(t.rhor, dtype_of<T>(), dev);
      z2r = upload<T>(t.z2r, dtype_of<T>(), dev);
      rhor_index = upload<std::int32_t>(t.rhor_index, DType::Int32, dev);
      z2r_index = upload<std::int32_t>(t.z2r_index, DType::Int32, dev);
      table_dtype = dtype_of<T>();
      table_device = dev.index;
    }
    EAMView<T> v;
    v.frho = frho.data<T>();
    v.rhor = rhor.data<T>();
    v.z2r = z2r.data<T>();
    v.rhor_index = rhor_index.data<std::int32_t>();
    v.z2r_index = z2r_index.data<std::int32_t>();
    v.n_elements = t.n_elements();
    v.nrho = t.nrho;
    v.nr = t.nr;
    v.rdr = static_cast<T>(1.0 / t.dr);
    v.rdrho = static_cast<T>(1.0 / t.drho);
    v.rhomax = static_cast<T>(t.rhomax);
    v.cutsq = static_cast<T>(t.cutoff * t.cutoff);
    return v;
  }

  template <typename T>
  void compute(Batch& batch, const EAMSpecies& sp, bool stress) {
    const Device dev = batch.device();
    const EAMView<T> tv = tables<T>(dev);
    const DeviceNeighborView<T> v = list.update<T>(batch, sp.atom, tv.n_elements, sp.cutoff);
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    ensure_buffer(fp, dtype_of<T>(), na, dev);
    ensure_buffer(atom_energy, DType::Float64, na, dev);
    ensure_buffer(g, dtype_of<T>(), 3 * v.n_pairs, dev);
    ensure_buffer(scratch, DType::Float64, 10 * ns, dev);
    if (stress) ensure_buffer(atom_virial, DType::Float64, 9 * na, dev);
    launch_eam_embedding<T>(dev.index, v, tv, fp.data<T>(), atom_energy.data<double>());
    launch_eam_pairs<T>(dev.index, v, tv, fp.data<T>(), atom_energy.data<double>(), g.data<T>());
    double* av = stress ? atom_virial.data<double>() : nullptr;
    launch_gather_forces<T>(dev.index, v, g.data<T>(), batch.get("forces").data<T>(), av);
    launch_system_outputs<T>(dev.index, v, atom_energy.data<double>(), av,
                             batch.has("cell") ? batch.get("cell").data<T>() : nullptr,
                             batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr, scratch.data<double>(),
                             batch.get("energy").data<T>(), stress ? batch.get("virial").data<T>() : nullptr,
                             stress ? batch.get("stress").data<T>() : nullptr);
  }
};

EAMGpu::EAMGpu(const EAMConfig& config) : impl_(std::make_unique<Impl>(config)) {}
EAMGpu::~EAMGpu() = default;
std::int64_t EAMGpu::neighbor_builds() const { return impl_->list.builds(); }

void EAMGpu::compute(Batch& batch, const EAMSpecies& species, bool compute_stress) {
  if (batch.n_systems() == 0) return;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->compute<decltype(zero)>(batch, species, compute_stress); });
}

}  // namespace batchmd::model::detail
