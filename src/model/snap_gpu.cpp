// SPDX-License-Identifier: Apache-2.0
// model/snap_gpu: SNAP for a GPU batch (CUDA builds) — host side: the index tables and
// coefficients copied to the device once per dtype, the work arrays (grown, never shrunk, so a
// steady run allocates nothing), the full list (DeviceFullList), the kernel pipeline
// (snap_gpu.cu) and the shared gather and per-system sums (full_list_gpu.cu).
#include "snap_gpu.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

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
    // B slots (component, row) and Y items, each costed by the CG terms of its Z products.
    auto z_cost = [&](int q) { return static_cast<long>(B.z[q].na) * B.z[q].nb + 1; };
    const int nu = x.sc.n_u, nb = x.sc.n_b;
    std::vector<std::int32_t> bslot_k, bslot_mb, bslot_ptr(static_cast<std::size_t>(x.sc.n_coeff) + 1, 0);
    std::vector<long> bcost;
    for (int k = 0; k < x.sc.n_coeff; ++k) {
      const SnapBIndex& bi = B.b[k % nb];
      for (int mb = 0; 2 * mb <= bi.j; ++mb) {
        long c = 1;
        for (int ma = 0; ma <= bi.j && !(2 * mb == bi.j && ma > mb); ++ma) c += z_cost(bi.jjz + mb * (bi.j + 1) + ma);
        bslot_k.push_back(k);
        bslot_mb.push_back(mb);
        bcost.push_back(c);
      }
      bslot_ptr[k + 1] = static_cast<std::int32_t>(bslot_k.size());
    }
    std::vector<long> ycost(static_cast<std::size_t>(nu) * x.n_half, 1);
    for (int h = 0; h < x.n_half; ++h)
      for (int q = y_ptr[h]; q < y_ptr[h + 1]; ++q)
        for (int e3 = 0; e3 < nu; ++e3) ycost[e3 * x.n_half + h] += z_cost(y_z[q]) * nu * nu;
    auto by_cost = [](const std::vector<long>& cost) {
      std::vector<std::int32_t> order(cost.size());
      for (std::size_t k = 0; k < order.size(); ++k) order[k] = static_cast<std::int32_t>(k);
      std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) { return cost[a] > cost[b]; });
      return order;
    };
    x.n_bslot = static_cast<int>(bslot_k.size());
    x.bslot_k = put(bslot_k, d);
    x.bslot_mb = put(bslot_mb, d);
    x.bslot_ptr = put(bslot_ptr, d);
    x.border = put(by_cost(bcost), d);
    x.yorder = put(by_cost(ycost), d);
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
  Tensor u_re, u_im, bpart, b, beta, y_re, y_im, g, atom_energy, atom_virial, scratch;

  int z_atoms_max, lanes;

  Impl(const SnapTables& t, double skin)
      : tables(t),
        list(max_cutoff(t), skin),
        z_atoms_max(power_of_two_from_env("BATCHMD_SNAP_GPU_GROUP", 32, 1, 32)),
        lanes(power_of_two_from_env("BATCHMD_SNAP_GPU_LANES", default_lanes(t.scalars.twojmax), 8, 32)) {}
  // Kernel shapes, read when the model is made (for the tests and for tuning; docs/snap.md):
  // BATCHMD_SNAP_GPU_GROUP, the most atoms per block of the B and Y passes (per-atom sums do not
  // depend on it: the tests compare it bit for bit), and BATCHMD_SNAP_GPU_LANES, lanes per
  // neighbor in the U and force kernels.
  static int power_of_two_from_env(const char* name, int fallback, int lo, int hi) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    const std::string s(v);
    for (int a = lo; a <= hi; a *= 2)
      if (s == std::to_string(a)) return a;
    throw InvalidArgument(std::string(name) + "='" + s + "': expected a power of two from " + std::to_string(lo) +
                          " to " + std::to_string(hi));
  }
  static int default_lanes(int twojmax) { return twojmax >= 6 ? 16 : 8; }
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
    t.dev.z_atoms_max = z_atoms_max;
    t.dev.lanes = lanes;
    const SnapDev<T>& d = t.dev;
    const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
    const DType dt = dtype_of<T>();
    const std::int64_t n_u = static_cast<std::int64_t>(d.sc.n_u) * d.n_uf * na;
    const std::int64_t n_b = static_cast<std::int64_t>(d.sc.n_coeff) * na;
    ensure_buffer(u_re, dt, n_u, dev);
    ensure_buffer(u_im, dt, n_u, dev);
    ensure_buffer(y_re, dt, n_u, dev);
    ensure_buffer(y_im, dt, n_u, dev);
    ensure_buffer(bpart, dt, static_cast<std::int64_t>(d.n_bslot) * na, dev);
    ensure_buffer(b, dt, n_b, dev);
    ensure_buffer(beta, dt, n_b, dev);
    ensure_buffer(g, dt, 3 * v.n_pairs, dev);
    ensure_buffer(atom_energy, DType::Float64, na, dev);
    ensure_buffer(scratch, DType::Float64, 10 * ns, dev);
    if (stress) ensure_buffer(atom_virial, DType::Float64, 9 * na, dev);
    SnapWork<T> w;
    w.u_re = u_re.data<T>();
    w.u_im = u_im.data<T>();
    w.bpart = bpart.data<T>();
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
