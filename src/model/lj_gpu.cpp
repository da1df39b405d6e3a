// SPDX-License-Identifier: Apache-2.0
// model/lj_gpu: the host side of the GPU Lennard-Jones model (LJGpu, lj_gpu.hpp) — setup and
// sizing of the device buffers, the lagged error checks, restore_state — around the kernels of
// lj_gpu_kernels.cu (launchers in lj_gpu_kernels.hpp). Compiled by the host compiler in every
// build; without the CUDA backend it links against model_gpu_stub.cpp and is never reached.
//
// No host synchronisation in a steady-state compute: errors the kernels find (non-finite
// positions, list overflow, bad cells or atomic numbers) are recorded in the device status block,
// copied to pinned memory after each call and checked at the next calls (Event::done), at the
// latest two calls later (poll()).
#include "lj_gpu.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "batchmd/model/lennard_jones_kernels.hpp"
#include "full_list_device_batch.hpp"
#include "lj_gpu_kernels.hpp"

namespace batchmd::model::detail {

using namespace gpu;

namespace {
int round_up(long long v, int to) { return static_cast<int>((v + to - 1) / to * to); }
}  // namespace

struct LJGpu::Impl {
  // Parameters.
  LJTable table;
  std::vector<std::int64_t> type_z;  // Z of type k+1 (type 0: every species without an override)
  double rc = 0;                     // cutoff + skin
  double skin = 0;

  // Setup (structure) state.
  bool ready = false;
  bool first = false;  // the next list update must rebuild
  int device = -1;
  DType dtype = DType::Float64;
  std::int64_t n_systems = -1, n_atoms = -1;
  std::vector<std::int64_t> atoms_ptr;  // host copy, for the structure check and messages
  std::int32_t cap = 0;
  unsigned long long gen = 0;
  std::int64_t builds_before = 0;  // builds of earlier setups

  Tensor status, grid, bin_base, ztype, coeffs;
  Tensor ref, nimg, nbuild, bin, rank, unsorted, order, wbuild, wslot, count, wpos, type, acc, sums;
  Tensor bin_count, bin_start, nbr, shift, ref_upload, ref_cells;  // ref_*: a restore's build inputs

  // restore_state(), applied at the next compute.
  std::vector<double> pending_ref;
  bool has_pending = false;

  // Lagged status checks: the status after call n is copied into slot n % 2.
  struct Slot {
    cuda::PinnedBuffer buf;
    std::unique_ptr<cuda::Event> ev;
    bool pending = false;
  };
  Slot ring[2];
  int next = 0;
  int ring_device = -1;

  Impl(const LJTable& t, std::vector<std::int64_t> z, double sk) : table(t), type_z(std::move(z)), skin(sk) {
    std::sort(type_z.begin(), type_z.end());
    type_z.erase(std::unique(type_z.begin(), type_z.end()), type_z.end());
    rc = table.max_cutoff() + skin;
  }

  cuda::Stream stream() const { return cuda::compute_stream(device); }
  Status* st() { return reinterpret_cast<Status*>(status.raw()); }

  Status read_status() {
    Status h{};
    cuda::copy(&h, status.raw(), sizeof(Status), stream());
    return h;
  }

  // Throws for what the device recorded. The model is set up afresh at the next call.
  void check(const Status& h) {
    const bool overflow = cap > 0 && h.max_count > cap;
    if (h.error == 0 && !overflow) return;
    builds_before += read_status().builds;
    ready = false;
    for (auto& sl : ring) sl.pending = false;
    const std::string who = "LennardJones (GPU): ";
    if (h.error & kErrNonFinite)
      throw NumericalError(who + atom_name(atoms_ptr, h.bad_atom) +
                           ": position is not finite (NaN or Inf), found at one of the last two compute calls");
    if (h.error & kErrFar)
      throw NumericalError(who + atom_name(atoms_ptr, h.far_atom) +
                           ": position is more than 1e9 cells away from the cell");
    if (h.error & kErrBadZ)
      throw InvalidArgument(who + atom_name(atoms_ptr, h.bad_z_atom) + " has an atomic number outside [0, " +
                            std::to_string(kMaxZ) + "]");
    if (h.error & kErrBadCell)
      throw InvalidArgument(who + "system " + std::to_string(h.bad_cell_system) +
                            ": periodic cell is degenerate (zero or negative volume, zero or parallel vectors, or "
                            "not finite); rows must be right-handed lattice vectors");
    if (h.error & kErrCellTooThin)
      throw InvalidArgument(who + "system " + std::to_string(h.bad_cell_system) +
                            ": periodic cell is too thin for cutoff + skin = " + std::to_string(rc) + " Å (over " +
                            std::to_string(kMaxReach) + " images per direction)");
    throw NumericalError(who + "the neighbor list overflowed: an atom had " + std::to_string(h.max_count) +
                         " neighbors within cutoff + skin (" + std::to_string(rc) + " Å) but the list holds " +
                         std::to_string(cap) +
                         " per atom (1.5x the densest atom at setup + 16); the structure compressed far beyond its "
                         "starting density. Forces of the last steps are incomplete.");
  }

  Status read_slot(Slot& sl) {
    Status h{};
    std::memcpy(&h, sl.buf.data(), sizeof(Status));
    sl.pending = false;
    return h;
  }

  // The lagged checks: the call before the previous one (waits if still running, which frees its
  // slot for this call), then the previous one if it is done.
  void poll() {
    Slot& older = ring[next];
    if (older.pending) {
      older.ev->sync();
      check(read_slot(older));
    }
    Slot& newer = ring[next ^ 1];
    if (newer.pending && newer.ev->done()) check(read_slot(newer));
  }

  void drain() {
    for (int k : {next, next ^ 1}) {
      Slot& sl = ring[k];
      if (!sl.pending) continue;
      sl.ev->sync();
      check(read_slot(sl));
    }
  }

  bool needs_setup(const Batch& batch, DType dt) const {
    return !ready || !same_structure(batch, dt, device, dtype, n_systems, n_atoms, atoms_ptr);
  }

  template <typename T>
  void setup(const Batch& batch) {
    if (ready) {
      drain();
      builds_before += read_status().builds;
    }
    ready = false;
    device = batch.device().index;
    dtype = dtype_of<T>();
    n_systems = batch.n_systems();
    n_atoms = batch.n_atoms();
    atoms_ptr.assign(batch.atoms_ptr_data(), batch.atoms_ptr_data() + n_systems + 1);
    if (n_atoms >= 0x7fffffff)
      throw InvalidArgument("LennardJones (GPU): at most 2^31 - 2 atoms per batch, got " + std::to_string(n_atoms));
    if (ring_device != device) {
      for (auto& sl : ring) {
        sl.ev = std::make_unique<cuda::Event>();
        sl.buf.reserve(sizeof(Status));
        sl.pending = false;
      }
      ring_device = device;
      next = 0;
    }
    const Device dev{Device::Kind::CUDA, device};
    const auto ns = n_systems, na = n_atoms;

    BinBases bins = bin_bases(atoms_ptr, dev, "LennardJones (GPU): ");
    bin_base = std::move(bins.base);
    bin_count = Tensor(DType::Int32, {std::max<std::int64_t>(bins.n_bins, 1)}, dev);
    bin_start = Tensor(DType::Int32, {std::max<std::int64_t>(bins.n_bins, 1)}, dev);

    // Types: 0 for every species without an override, k+1 for type_z[k].
    std::vector<std::int32_t> zt(kMaxZ + 1, 0);
    for (std::size_t k = 0; k < type_z.size(); ++k) zt[static_cast<std::size_t>(type_z[k])] = static_cast<int>(k) + 1;
    ztype = Tensor::from(zt, {kMaxZ + 1}).to(dev);
    const std::size_t nt = type_z.size() + 1;
    std::vector<LJCoeffs<T>> cf(nt * nt);
    for (std::size_t p = 0; p < nt; ++p)
      for (std::size_t q = 0; q < nt; ++q) {
        const LJPair& pair = (p == 0 || q == 0)
                                 ? table.default_pair()
                                 : table.get(static_cast<int>(type_z[p - 1]), static_cast<int>(type_z[q - 1]));
        cf[p * nt + q] = lj_coeffs<T>(pair);
      }
    coeffs = Tensor(DType::UInt8, {static_cast<std::int64_t>(cf.size() * sizeof(LJCoeffs<T>))}, dev);
    cuda::copy(coeffs.raw(), cf.data(), cf.size() * sizeof(LJCoeffs<T>), stream());

    const DType fd = dtype_of<T>();
    grid = Tensor(DType::UInt8, {std::max<std::int64_t>(ns, 1) * static_cast<std::int64_t>(sizeof(SysGrid))}, dev);
    ref = Tensor(fd, {na, 3}, dev);
    ref_upload = Tensor();
    ref_cells = Tensor();
    nimg = Tensor(DType::Int32, {na, 3}, dev);
    nbuild = Tensor(DType::Int32, {na, 3}, dev);
    bin = Tensor(DType::Int32, {na}, dev);
    rank = Tensor(DType::Int32, {na}, dev);
    unsorted = Tensor(DType::Int32, {na}, dev);
    order = Tensor(DType::Int32, {na}, dev);
    wbuild = Tensor(DType::Float64, {na, 3}, dev);
    wslot = Tensor(DType::Float64, {na, 3}, dev);
    count = Tensor(DType::Int32, {na}, dev);
    wpos = Tensor(fd, {na, 4}, dev);
    type = Tensor(DType::Int32, {na}, dev);
    acc = Tensor(DType::Float64, {na, kSumsPerSystem}, dev);
    sums = Tensor(DType::Float64, {std::max<std::int64_t>(ns, 1), kSumsPerSystem}, dev);
    nbr = Tensor();
    shift = Tensor();
    cap = 0;

    status = Tensor(DType::UInt8, {static_cast<std::int64_t>(sizeof(Status))}, dev);
    Status init{};
    init.rebuild_gen = 0;
    init.builds = 0;
    init.max_count = 0;
    init.error = 0;
    init.bad_atom = init.far_atom = init.bad_z_atom = init.bad_cell_system = kNone;
    cuda::copy(status.raw(), &init, sizeof(Status), stream());
    ready = true;
    first = true;
  }

  template <typename T>
  ListArgs<T> list_args(const Batch& batch) {
    ListArgs<T> a{};
    set_batch_args<T>(a, batch);
    a.ref = ref.data<T>();
    a.nimg = nimg.data<std::int32_t>();
    a.nbuild = nbuild.data<std::int32_t>();
    a.grid = reinterpret_cast<SysGrid*>(grid.raw());
    a.bin_base = reinterpret_cast<const long long*>(bin_base.raw());
    a.bin = bin.data<std::int32_t>();
    a.rank = rank.data<std::int32_t>();
    a.unsorted = unsorted.data<std::int32_t>();
    a.order = order.data<std::int32_t>();
    a.wbuild = wbuild.data<double>();
    a.wslot = wslot.data<double>();
    a.bin_count = bin_count.data<std::int32_t>();
    a.bin_start = bin_start.data<std::int32_t>();
    a.nbr = nbr.defined() ? nbr.data<std::int32_t>() : nullptr;
    a.shift = shift.defined() ? shift.data<std::int32_t>() : nullptr;
    a.count = count.data<std::int32_t>();
    a.st = st();
    a.n_atoms = n_atoms;
    a.cap = cap;
    a.rc = rc;
    a.skin = skin;
    a.thr2 = 0.25 * skin * skin;
    return a;
  }

  // One list update against positions a.pos: check, then the build chain (a no-op unless the
  // check asked for a rebuild). The first update after setup measures the capacity (syncs).
  template <typename T>
  void update_list(ListArgs<T>& a, bool force) {
    a.gen = ++gen;
    a.force = force;
    const std::int64_t na = n_atoms;
    gpu::lj_list_update(device, n_systems, a);
    if (cap == 0) {
      // Count only, then size the list: 1.5x the densest atom + 16, a multiple of 32.
      a.cap = 0;
      gpu::lj_list_build(device, a);
      const Status h = read_status();
      check(h);
      cap = round_up(static_cast<long long>(1.5 * h.max_count) + 16, 32);
      nbr = Tensor(DType::Int32, {static_cast<std::int64_t>(cap) * na}, Device{Device::Kind::CUDA, device});
      shift = Tensor(DType::Int32, {static_cast<std::int64_t>(cap) * na}, Device{Device::Kind::CUDA, device});
      a.cap = cap;
      a.nbr = nbr.data<std::int32_t>();
      a.shift = shift.data<std::int32_t>();
    }
    gpu::lj_list_build(device, a);
  }

  template <typename T>
  void compute(Batch& batch, bool compute_stress) {
    const std::int64_t ns = batch.n_systems(), na = batch.n_atoms();
    const Tensor& pos = batch.get("positions");
    if (pos.numel() != 3 * na) throw InvalidArgument("LennardJones: positions must be [n_atoms, 3]");
    const Tensor& z = batch.get("atomic_numbers");
    if (z.dtype() != DType::Int64 || z.numel() != na)
      throw InvalidArgument("LennardJones: atomic_numbers must be int64 [n_atoms]");
    if (batch.has("pbc")) {
      if (!batch.has("cell")) throw InvalidArgument("LennardJones: the batch has pbc but no cell");
      if (batch.get("pbc").dtype() != DType::Bool || batch.get("pbc").numel() != 3 * ns)
        throw InvalidArgument("LennardJones: pbc must be bool [n_systems, 3]");
    }
    if (batch.has("cell") && (batch.get("cell").dtype() != dtype_of<T>() || batch.get("cell").numel() != 9 * ns))
      throw InvalidArgument("LennardJones: cell must be [n_systems, 3, 3] in the dtype of positions");

    if (ready) poll();
    if (needs_setup(batch, dtype_of<T>())) setup<T>(batch);

    T* energy = batch.get("energy").data<T>();
    T* virial = compute_stress ? batch.get("virial").data<T>() : nullptr;
    T* stress = compute_stress ? batch.get("stress").data<T>() : nullptr;
    if (na == 0) {
      batch.get("energy").fill_zero();
      if (compute_stress) {
        batch.get("virial").fill_zero();
        batch.get("stress").fill_zero();
      }
      has_pending = false;
      return;
    }
    Slot& sl = ring[next];
    if (sl.pending) {  // poll() freed it; kept for safety
      sl.ev->sync();
      check(read_slot(sl));
    }

    ListArgs<T> a = list_args<T>(batch);
    if (has_pending) {
      const auto n3 = static_cast<std::size_t>(3 * na);
      if (pending_ref.size() != n3 && pending_ref.size() != 4 * n3)
        throw InvalidArgument("LennardJones (GPU): the restored state holds reference positions of " +
                              std::to_string(pending_ref.size() / (pending_ref.size() % 12 == 0 ? 12 : 3)) +
                              " atoms, the batch has " + std::to_string(na));
      const std::size_t stride = pending_ref.size() == n3 ? 3 : 12;
      // The list is rebuilt from the reference positions, in the build cells when the state has
      // them (12 values an atom: NeighborList's layout), then checked against the current
      // positions and cells as at any step: where the run this state came from kept its list
      // through a strain, so does the restarted one, and the continuation is bitwise the same.
      has_pending = false;
      std::vector<T> host(n3);
      for (std::size_t k = 0; k < host.size(); ++k) host[k] = static_cast<T>(pending_ref[stride * (k / 3) + k % 3]);
      ref_upload = Tensor::from(host, {na, 3}).to(Device{Device::Kind::CUDA, device});
      ref_cells = Tensor();
      if (stride == 12 && batch.has("cell")) {
        const Tensor hc = batch.get("cell").to(Device::cpu());
        std::vector<T> c(hc.data<T>(), hc.data<T>() + 9 * ns);
        for (std::int64_t sy = 0; sy < ns; ++sy) {
          const auto a0 = static_cast<std::size_t>(atoms_ptr[static_cast<std::size_t>(sy)]);
          if (a0 == static_cast<std::size_t>(atoms_ptr[static_cast<std::size_t>(sy + 1)])) continue;
          for (std::size_t e = 0; e < 9; ++e)
            c[9 * static_cast<std::size_t>(sy) + e] = static_cast<T>(pending_ref[12 * a0 + 3 + e]);
        }
        ref_cells = Tensor::from(c, {ns, 3, 3}).to(Device{Device::Kind::CUDA, device});
      }
      const T* now_cell = a.cell;
      a.pos = ref_upload.data<T>();
      if (ref_cells.defined()) a.cell = ref_cells.data<T>();
      update_list(a, true);
      a.pos = pos.data<T>();
      a.cell = now_cell;
      update_list(a, false);
    } else {
      update_list(a, first);
    }
    first = false;

    ForceArgs<T> f{};
    f.pos = pos.data<T>();
    f.sys = a.sys;
    f.cell = a.cell;
    f.pbc = a.pbc;
    f.z = z.data<std::int64_t>();
    f.ztype = ztype.data<std::int32_t>();
    f.order = a.order;
    f.nimg = a.nimg;
    f.nbr = a.nbr;
    f.shift = a.shift;
    f.count = a.count;
    f.wpos = wpos.data<T>();
    f.type = type.data<std::int32_t>();
    f.coeffs = reinterpret_cast<const LJCoeffs<T>*>(coeffs.raw());
    f.ntypes = static_cast<std::int32_t>(type_z.size() + 1);
    f.forces = batch.get("forces").data<T>();
    f.acc = acc.data<double>();
    f.n_atoms = na;
    f.st = a.st;
    gpu::lj_forces(device, ns, a.ptr, f, compute_stress, sums.data<double>(), energy, virial, stress);

    cuda::copy_async(sl.buf.data(), status.raw(), sizeof(Status), stream());
    sl.ev->record(stream());
    sl.pending = true;
    next ^= 1;
  }
};

LJGpu::LJGpu(const LJTable& table, std::vector<std::int64_t> override_z, double skin)
    : impl_(std::make_unique<Impl>(table, std::move(override_z), skin)) {}
LJGpu::~LJGpu() = default;

void LJGpu::compute(Batch& batch, bool compute_stress) {
  if (!batch.is_cuda()) throw InvalidArgument("LJGpu::compute: the batch is not on a GPU");
  cuda::set_device(batch.device().index);
  dispatch_float(batch.float_dtype(), [&](auto zero) { impl_->compute<decltype(zero)>(batch, compute_stress); });
}

std::vector<double> LJGpu::state() const {
  const Impl& m = *impl_;
  if (m.has_pending) return m.pending_ref;
  if (!m.ready || m.n_atoms <= 0) return {};
  cuda::set_device(m.device);
  // The CPU list's layout (NeighborList::state): per atom, its position at the build and the cell
  // of its system at the build, so that either backend restarts from the other's store.
  Tensor h = m.ref.to(Device::cpu());
  std::vector<SysGrid> grid(static_cast<std::size_t>(m.n_systems));
  cuda::copy(grid.data(), m.grid.raw(), grid.size() * sizeof(SysGrid), m.stream());
  return dispatch_float(h.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* p = h.data<T>();
    std::vector<double> out(12 * static_cast<std::size_t>(m.n_atoms));
    for (std::int64_t s = 0; s < m.n_systems; ++s)
      for (std::int64_t a = m.atoms_ptr[s]; a < m.atoms_ptr[s + 1]; ++a) {
        for (int e = 0; e < 3; ++e) out[12 * a + e] = static_cast<double>(p[3 * a + e]);
        for (int e = 0; e < 9; ++e) out[12 * a + 3 + e] = grid[static_cast<std::size_t>(s)].cell[e];
      }
    return out;
  });
}

void LJGpu::restore_state(const Batch& batch, std::span<const double> reference) {
  const auto na = static_cast<std::size_t>(batch.n_atoms());
  if (reference.size() != 3 * na && reference.size() != 12 * na)
    throw InvalidArgument("LennardJones (GPU): the saved state holds reference positions of " +
                          std::to_string(reference.size() / (reference.size() % 12 == 0 ? 12 : 3)) +
                          " atoms, the batch has " + std::to_string(na));
  impl_->pending_ref.assign(reference.begin(), reference.end());
  impl_->has_pending = true;
}

std::int64_t LJGpu::neighbor_builds() const {
  Impl& m = *impl_;
  if (!m.ready) return m.builds_before;
  cuda::set_device(m.device);
  return m.builds_before + m.read_status().builds;
}

}  // namespace batchmd::model::detail
