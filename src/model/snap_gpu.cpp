// SPDX-License-Identifier: Apache-2.0
// model/snap_gpu: SNAP for a GPU batch (CUDA builds) — host side: the index tables and
// coefficients copied to the device once per dtype, the work arrays (grown, never shrunk, so a
// steady run allocates nothing), the full list (DeviceFullList), the kernel pipeline
// (snap_gpu.cu) and the shared gather and per-system sums (full_list_gpu.cu).
#include "snap_gpu.hpp"

#include <algorithm>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/tensor.hpp"
#include "device_buffer.hpp"
#include "full_list_gpu.hpp"
#include "snap_gpu_kernels.hpp"

namespace batchmd::model::detail {

namespace {

template <typename V>
Tensor to_device(const std::vector<V>& host, const Device& d) {
  Tensor t(DType::UInt8, {static_cast<std::int64_t>(std::max<std::size_t>(host.size() * sizeof(V), 1))}, d);
  if (!host.empty()) cuda::copy_async(t.raw(), host.data(), host.size() * sizeof(V), cuda::compute_stream(d.index));
  return t;
}

// The model's tables on one device in one precision.
template <typename T>
struct DeviceTables {
  int device = -1;
  std::vector<Tensor> owned;
  SnapDev<T> dev;

  template <typename V>
  const V* put(const std::vector<V>& host, const Device& d) {
    owned.push_back(to_device(host, d));
    return static_cast<const V*>(owned.back().raw());
  }

  void upload(const SnapTables& t, const Device& d) {
    owned.clear();
    const SnapBasis& B = t.basis;
    const auto& s = t.scalars;
    SnapDev<T> x;
    x.sc.rfac0 = static_cast<T>(s.rfac0);
    x.sc.rmin0 = static_cast<T>(s.rmin0);
    x.sc.switchflag = s.switchflag;
    x.sc.switchinner = s.switchinner;
    x.sc.bnorm = s.bnorm;
    x.sc.bzero = s.bzero;
    x.sc.wselfall = s.wselfall;
    x.sc.quadratic = s.quadratic;
    x.sc.chem = s.chem;
    x.sc.n_elem = s.n_elem;
    x.sc.n_u = s.n_u;
    x.sc.n_b = s.n_b;
    x.sc.n_coeff = s.n_coeff;
    x.sc.twojmax = s.twojmax;
    x.jdim = B.twojmax + 1;
    x.n_uf = B.n_u;
    x.n_half = B.n_half();
    x.n_z = B.n_z();
    std::vector<std::int32_t> half_base(static_cast<std::size_t>(x.jdim), 0);
    for (int j = 1; j <= B.twojmax; ++j) half_base[j] = half_base[j - 1] + ((j - 1) / 2 + 1) * j;
    // The Z entries that feed each half entry (by its full index jju).
    std::vector<std::int32_t> half_of(static_cast<std::size_t>(B.n_u), -1);
    for (int h = 0; h < x.n_half; ++h) half_of[B.half[h].jju] = h;
    std::vector<std::int32_t> y_ptr(static_cast<std::size_t>(x.n_half) + 1, 0), y_z(B.z.size());
    for (const auto& z : B.z) ++y_ptr[half_of[z.jju] + 1];
    for (int h = 0; h < x.n_half; ++h) y_ptr[h + 1] += y_ptr[h];
    std::vector<std::int32_t> fill(y_ptr.begin(), y_ptr.end() - 1);
    for (int q = 0; q < x.n_z; ++q) y_z[fill[half_of[B.z[q].jju]]++] = q;
    auto typed = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
    x.u_block = put(B.u_block, d);
    x.half_base = put(half_base, d);
    x.rootpq = put(typed(B.rootpq), d);
    x.cg = put(typed(B.cg), d);
    x.z = put(B.z, d);
    x.b = put(B.b, d);
    x.half = put(B.half, d);
    x.y_ptr = put(y_ptr, d);
    x.y_z = put(y_z, d);
    x.coeff = put(t.coeff, d);
    x.n_all = t.n_all;
    x.weight = put(typed(t.weight), d);
    x.sinner = put(typed(t.sinner), d);
    x.dinner = put(typed(t.dinner), d);
    x.cutoff = put(typed(t.cutoff), d);
    dev = x;
    device = d.index;
  }
};

}  // namespace

struct SnapGpu::Impl {
  SnapTables tables;
  DeviceFullList list;
  DeviceTables<double> tab_d;
  DeviceTables<float> tab_f;
  Tensor u_re, u_im, b, beta, y_re, y_im, g, atom_energy, atom_virial, scratch;

  Impl(const SnapTables& t, double skin) : tables(t), list(max_cutoff(t), skin) {}
  static double max_cutoff(const SnapTables& t) {
    double r = 0;
    for (double c : t.cutoff) r = std::max(r, c);
    return r;
  }
  DeviceTables<double>& tab(double) { return tab_d; }
  DeviceTables<float>& tab(float) { return tab_f; }

  template <typename T>
  void compute(Batch& batch, const std::vector<std::int32_t>& species, bool stress) {
    const Device dev = batch.device();
    const DeviceNeighborView<T> v = list.update<T>(batch, species, tables.scalars.n_elem, tables.cutoff);
    DeviceTables<T>& t = tab(T{});
    if (t.device != dev.index) t.upload(tables, dev);
    const SnapDev<T>& d = t.dev;
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    const DType dt = dtype_of<T>();
    const std::int64_t n_u = static_cast<std::int64_t>(d.sc.n_u) * d.n_uf * na;
    const std::int64_t n_b = static_cast<std::int64_t>(d.sc.n_coeff) * na;
    ensure_buffer(u_re, dt, n_u, dev);
    ensure_buffer(u_im, dt, n_u, dev);
    ensure_buffer(y_re, dt, n_u, dev);
    ensure_buffer(y_im, dt, n_u, dev);
    ensure_buffer(b, dt, n_b, dev);
    ensure_buffer(beta, dt, n_b, dev);
    ensure_buffer(g, dt, 3 * v.n_pairs, dev);
    ensure_buffer(atom_energy, DType::Float64, na, dev);
    ensure_buffer(scratch, DType::Float64, 10 * ns, dev);
    if (stress) ensure_buffer(atom_virial, DType::Float64, 9 * na, dev);
    SnapWork<T> w;
    w.u_re = u_re.data<T>();
    w.u_im = u_im.data<T>();
    w.b = b.data<T>();
    w.beta = beta.data<T>();
    w.y_re = y_re.data<T>();
    w.y_im = y_im.data<T>();
    w.g = g.data<T>();
    w.atom_energy = atom_energy.data<double>();
    launch_snap<T>(dev.index, d, v, w);
    double* av = stress ? atom_virial.data<double>() : nullptr;
    launch_gather_forces<T>(dev.index, v, w.g, batch.get("forces").data<T>(), av);
    launch_system_outputs<T>(dev.index, v, w.atom_energy, av, batch.has("cell") ? batch.get("cell").data<T>() : nullptr,
                             batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr, scratch.data<double>(),
                             batch.get("energy").data<T>(), stress ? batch.get("virial").data<T>() : nullptr,
                             stress ? batch.get("stress").data<T>() : nullptr);
  }
};

SnapGpu::SnapGpu(const SnapTables& tables, double skin) : impl_(std::make_unique<Impl>(tables, skin)) {}
SnapGpu::~SnapGpu() = default;
std::int64_t SnapGpu::neighbor_builds() const { return impl_->list.builds(); }

void SnapGpu::compute(Batch& batch, const std::vector<std::int32_t>& species, bool compute_stress) {
  if (batch.n_systems() == 0) return;
  dispatch_float(batch.float_dtype(),
                 [&](auto zero) { impl_->compute<decltype(zero)>(batch, species, compute_stress); });
}

}  // namespace batchmd::model::detail
