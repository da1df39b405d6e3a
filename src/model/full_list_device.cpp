// SPDX-License-Identifier: Apache-2.0
// model/full_list_device: the host side of the device-built full list (DeviceListBuild,
// full_list_device.hpp) — setup and sizing of the device arrays, the status read-back and its
// errors, the rebuild sequence (bin, count, scan, fill) and the per-call displacements.
#include "full_list_device.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "batchmd/core/error.hpp"
#include "full_list_device_batch.hpp"

namespace batchmd::model::detail {

using devlist::ListArgs;
using devlist::PairArrays;
using devlist::Status;

namespace {

// t = a tensor of exactly max(count, 1) elements of dt on d (contents not kept).
void make(Tensor& t, DType dt, std::int64_t count, const Device& d) {
  t = Tensor(dt, {std::max<std::int64_t>(count, 1)}, d);
}

// t holds at least max(count, 1) elements (grown by a quarter beyond the request, so a slowly
// growing list does not reallocate at every rebuild).
void grow(Tensor& t, DType dt, std::int64_t count, const Device& d) {
  count = std::max<std::int64_t>(count, 1);
  if (!t.defined() || t.dtype() != dt || t.numel() < count || t.device() != d)
    t = Tensor(dt, {count + count / 4 + 64}, d);
}

}  // namespace

DeviceListBuild::DeviceListBuild(double max_cutoff, double skin) : skin_(skin) {
  if (!(max_cutoff >= 0) || !(skin >= 0))
    throw InvalidArgument("GPU neighbor list: cutoff and skin must be finite lengths >= 0 in Å");
}

PairArrays DeviceListBuild::arrays(Pairs& p) {
  return PairArrays{p.offsets.data<std::int64_t>(), p.pair_atom.data<std::int32_t>(), p.neighbor.data<std::int32_t>(),
                    p.species.data<std::int32_t>(), p.image.data<std::int32_t>(),     p.reverse.data<std::int64_t>()};
}

bool DeviceListBuild::needs_setup(const Batch& batch, DType dt) const {
  return !ready_ || !same_structure(batch, dt, device_, dtype_, n_systems_, n_atoms_, atoms_ptr_);
}

void DeviceListBuild::reset_status() {
  Status init{};
  init.rebuild = 0;
  init.error = 0;
  init.bad_atom = devlist::kNone;
  init.bad_system = devlist::kNone;
  host_.reserve(64);
  std::memcpy(host_.data(), &init, sizeof(Status));
  cuda::copy(status_.raw(), host_.data(), sizeof(Status), stream());
}

template <typename T>
void DeviceListBuild::setup(const Batch& batch) {
  ready_ = false;
  const Device dev = batch.device();
  device_ = dev.index;
  dtype_ = dtype_of<T>();
  n_systems_ = batch.n_systems();
  n_atoms_ = batch.n_atoms();
  atoms_ptr_.assign(batch.atoms_ptr_data(), batch.atoms_ptr_data() + n_systems_ + 1);
  const std::int64_t ns = n_systems_, na = n_atoms_;
  if (na >= std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument("GPU neighbor list: at most 2^31 - 2 atoms per batch, got " + std::to_string(na));

  BinBases bins = bin_bases(atoms_ptr_, dev, "GPU neighbor list: ");
  bin_base_ = std::move(bins.base);
  make(bin_count_, DType::Int32, bins.n_bins, dev);
  make(bin_start_, DType::Int32, bins.n_bins, dev);
  make(grid_, DType::UInt8, ns * static_cast<std::int64_t>(sizeof(CellGrid)), dev);
  make(flag_, DType::UInt8, ns, dev);
  make(status_, DType::UInt8, static_cast<std::int64_t>(sizeof(Status)), dev);
  make(bin_, DType::Int32, na, dev);
  make(rank_, DType::Int32, na, dev);
  make(bin_atoms_, DType::Int32, na, dev);
  make(ref_, dtype_of<T>(), 3 * na, dev);
  make(jump_, DType::Int32, 3 * na, dev);
  make(wimg_, DType::Int32, 3 * na, dev);
  make(counts_, DType::Int64, na + 1, dev);
  // Nothing is read before it is written, but zeroed state keeps a mistake deterministic.
  for (Tensor* t :
       {&bin_count_, &bin_start_, &grid_, &flag_, &bin_, &rank_, &bin_atoms_, &ref_, &jump_, &wimg_, &counts_})
    t->fill_zero();
  make(scan_temp_, DType::UInt8, static_cast<std::int64_t>(devlist::devlist_scan_bytes(na)), dev);
  for (Pairs& p : pairs_) {
    make(p.offsets, DType::Int64, na + 1, dev);
    p.offsets.fill_zero();
    for (Tensor* t : {&p.pair_atom, &p.neighbor, &p.species}) make(*t, DType::Int32, 1, dev);
    make(p.image, DType::Int32, 3, dev);
    make(p.reverse, DType::Int64, 1, dev);
    p.n_pairs = 0;
  }
  cur_ = 0;
  species_uploaded_ = false;
  reset_status();
  ready_ = true;
}

void DeviceListBuild::upload_species(const std::vector<std::int32_t>& species, std::int32_t n_species,
                                     const std::vector<double>& cutoff) {
  const Device dev{Device::Kind::CUDA, device_};
  if (n_species < 0 || cutoff.size() != static_cast<std::size_t>(n_species) * static_cast<std::size_t>(n_species))
    throw InvalidArgument("GPU neighbor list: " + std::to_string(cutoff.size()) + " pair cutoffs for " +
                          std::to_string(n_species) + " species");
  for (const std::int32_t s : species)
    if (s >= n_species) throw InvalidArgument("GPU neighbor list: an atom's species is out of range");
  // The pair cutoffs plus the skin (the host view's cut_skin); excluded pairs stay <= 0. The
  // kernels read the upper triangle (min species, max species).
  std::vector<double> cut_skin(cutoff);
  double reach = 1e-3;
  for (double& c : cut_skin)
    if (c > 0) {
      c += skin_;
      reach = std::max(reach, c);
    }
  // Candidates come from the grid, the test is exact: a grid a hair wider than the largest cutoff
  // keeps pairs at the edge that rounding (float positions against double bins) could drop.
  rc_ = reach * (1 + 1e-6);
  make(atom_species_, DType::Int32, static_cast<std::int64_t>(species.size()), dev);
  make(cut_, DType::Float64, static_cast<std::int64_t>(cut_skin.size()), dev);
  // Waiting copies: the host vectors are the caller's (rare: when the species change).
  if (!species.empty())
    cuda::copy(atom_species_.raw(), species.data(), species.size() * sizeof(std::int32_t), stream());
  if (!cut_skin.empty()) cuda::copy(cut_.raw(), cut_skin.data(), cut_skin.size() * sizeof(double), stream());
  species_ = species;
  cutoff_ = cutoff;
  n_species_ = n_species;
  species_uploaded_ = true;
}

template <typename T>
ListArgs<T> DeviceListBuild::list_args(const Batch& batch) {
  ListArgs<T> a{};
  set_batch_args<T>(a, batch);
  a.species = atom_species_.data<std::int32_t>();
  a.cut = cut_.data<double>();
  a.n_species = n_species_;
  a.ref = ref_.data<T>();
  a.jump = jump_.data<std::int32_t>();
  a.wimg = wimg_.data<std::int32_t>();
  a.grid = reinterpret_cast<CellGrid*>(grid_.raw());
  a.bin_base = reinterpret_cast<const long long*>(bin_base_.raw());
  a.bin = bin_.data<std::int32_t>();
  a.rank = rank_.data<std::int32_t>();
  a.bin_atoms = bin_atoms_.data<std::int32_t>();
  a.bin_count = bin_count_.data<std::int32_t>();
  a.bin_start = bin_start_.data<std::int32_t>();
  a.flag = flag_.data<std::uint8_t>();
  a.st = reinterpret_cast<Status*>(status_.raw());
  a.n_atoms = n_atoms_;
  a.rc = rc_;
  a.skin = skin_;
  a.thr2 = 0.25 * skin_ * skin_;
  return a;
}

void DeviceListBuild::fail(const Status& h) {
  ready_ = false;  // the next call sets up afresh (and rebuilds every system)
  const std::string who = "GPU neighbor list: ";
  if (h.error & devlist::kErrNonFinite)
    throw NumericalError(who + atom_name(atoms_ptr_, h.bad_atom) + ": position is not finite (NaN or Inf)");
  if (h.error & devlist::kErrFar)
    throw NumericalError(who + atom_name(atoms_ptr_, h.bad_atom) +
                         ": position is more than 1e9 cells away from the cell");
  if (h.error & devlist::kErrBadCell)
    throw InvalidArgument(who + "system " + std::to_string(h.bad_system) +
                          ": periodic cell is degenerate (zero or negative volume, zero or parallel vectors, or not "
                          "finite); rows must be right-handed lattice vectors");
  if (h.error & devlist::kErrCellTooThin)
    throw InvalidArgument(who + "system " + std::to_string(h.bad_system) +
                          ": periodic cell is too thin for cutoff + skin = " + std::to_string(rc_) + " Å (over " +
                          std::to_string(kGridMaxReach) + " images per direction)");
  throw DeviceError(who + "internal error " + std::to_string(h.error) +
                    " (a pair without its opposite, or the fill pass disagreeing with the count pass)");
}

template <typename T>
void DeviceListBuild::rebuild(const ListArgs<T>& a) {
  const Device dev{Device::Kind::CUDA, device_};
  const std::int64_t na = n_atoms_;
  devlist::devlist_bin(device_, n_systems_, a);
  Pairs& old = pairs_[cur_];
  Pairs& out = pairs_[cur_ ^ 1];
  const PairArrays old_arrays = arrays(old);
  devlist::devlist_count(device_, a, old_arrays, counts_.data<std::int64_t>());
  devlist::devlist_scan(device_, scan_temp_.raw(), static_cast<std::size_t>(scan_temp_.numel()),
                        counts_.data<std::int64_t>(), out.offsets.data<std::int64_t>(), na);
  // The status and the pair total (the one extra read-back of a rebuild).
  host_.reserve(64);
  cuda::copy_async(host_.data(), status_.raw(), sizeof(Status), stream());
  cuda::copy_async(host_.data() + 32, out.offsets.data<std::int64_t>() + na, sizeof(std::int64_t), stream());
  cuda::synchronize(stream());
  Status h{};
  std::memcpy(&h, host_.data(), sizeof(Status));
  if (h.error != 0) fail(h);
  std::int64_t total = 0;
  std::memcpy(&total, host_.data() + 32, sizeof(std::int64_t));
  if (total < 0 || total > std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument("GPU neighbor list: " + std::to_string(total) +
                          " pairs within cutoff + skin, more than 2^31 in one batch");
  // The host list's bound (16384 neighbours per atom in its half list) on the batch's average.
  if (total > 2 * 16384 * std::max<std::int64_t>(na, 1))
    throw InvalidArgument("GPU neighbor list: cutoff + skin = " + std::to_string(rc_) + " Å gives " +
                          std::to_string(total / std::max<std::int64_t>(na, 1)) +
                          " neighbours per atom, more than a neighbour list allows: is the cutoff meant for "
                          "these cells?");
  grow(out.pair_atom, DType::Int32, total, dev);
  grow(out.neighbor, DType::Int32, total, dev);
  grow(out.species, DType::Int32, total, dev);
  grow(out.image, DType::Int32, 3 * total, dev);
  grow(out.reverse, DType::Int64, total, dev);
  devlist::devlist_fill(device_, a, old_arrays, arrays(out), total);
  out.n_pairs = total;
  cur_ ^= 1;
  ++builds_;
}

template <typename T>
DeviceNeighborView<T> DeviceListBuild::update(const Batch& batch, const std::vector<std::int32_t>& species,
                                              std::int32_t n_species, const std::vector<double>& cutoff) {
  DeviceNeighborView<T> v = begin_update<T>(batch, species, n_species, cutoff);
  finish_update<T>(batch, v);
  return v;
}

template <typename T>
DeviceNeighborView<T> DeviceListBuild::begin_update(const Batch& batch, const std::vector<std::int32_t>& species,
                                                    std::int32_t n_species, const std::vector<double>& cutoff,
                                                    std::uint64_t species_version) {
  const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
  if (static_cast<std::int64_t>(species.size()) != na) throw InvalidArgument("DeviceFullList: species size mismatch");
  const Tensor& pos = batch.get("positions");
  if (pos.dtype() != dtype_of<T>() || pos.numel() != 3 * na)
    throw InvalidArgument("GPU neighbor list: positions must be [n_atoms, 3] in the batch's float type");
  if (batch.has("pbc")) {
    if (!batch.has("cell")) throw InvalidArgument("the batch has pbc but no cell");
    if (batch.get("pbc").dtype() != DType::Bool || batch.get("pbc").numel() != 3 * ns)
      throw InvalidArgument("GPU neighbor list: pbc must be bool [n_systems, 3]");
  }
  if (batch.has("cell") && (batch.get("cell").dtype() != dtype_of<T>() || batch.get("cell").numel() != 9 * ns))
    throw InvalidArgument("GPU neighbor list: cell must be [n_systems, 3, 3] in the dtype of positions");

  cuda::set_device(batch.device().index);  // memsets and launches go to the batch's GPU
  pending_ = false;
  bool force = false;
  if (needs_setup(batch, dtype_of<T>())) {
    setup<T>(batch);
    force = true;
  }
  // The species vector is as long as the batch: a caller that versions it spares the comparison.
  const bool same_version = !force && species_version != 0 && species_version == species_version_;
  if (!species_uploaded_ || (!same_version && species != species_) || n_species != n_species_ || cutoff != cutoff_) {
    upload_species(species, n_species, cutoff);
    force = true;
  }
  species_version_ = species_version;

  if (na > 0) {
    const ListArgs<T> a = list_args<T>(batch);
    cuda::memset_async(flag_.raw(), force ? 1 : 0, static_cast<std::size_t>(std::max<std::int64_t>(ns, 1)), stream());
    cuda::memset_async(status_.raw(), 0, sizeof(int), stream());  // Status::rebuild
    devlist::devlist_check(device_, a);
    host_.reserve(64);
    if (force) {  // a rebuild in any case: settle it here
      cuda::copy(host_.data(), status_.raw(), sizeof(Status), stream());
      Status h{};
      std::memcpy(&h, host_.data(), sizeof(Status));
      if (h.error != 0) fail(h);
      rebuild<T>(a);
    } else {
      // The call's one round trip, waited for in finish_update().
      cuda::copy_async(host_.data(), status_.raw(), sizeof(Status), stream());
      pending_ = true;
    }
  }
  return view<T>(batch);
}

template <typename T>
bool DeviceListBuild::finish_update(const Batch& batch, DeviceNeighborView<T>& v) {
  cuda::synchronize(stream());  // the status and whatever the caller queued since begin_update()
  if (!pending_) return true;
  pending_ = false;
  Status h{};
  std::memcpy(&h, host_.data(), sizeof(Status));
  if (h.error != 0) fail(h);
  if (h.rebuild == 0) return true;
  rebuild<T>(list_args<T>(batch));
  v = view<T>(batch);
  return false;
}

// This call's displacements over the current pairs (queued), and the view of them.
template <typename T>
DeviceNeighborView<T> DeviceListBuild::view(const Batch& batch) {
  const std::int64_t na = batch.n_atoms(), ns = batch.n_systems();
  Pairs* cur = &pairs_[cur_];
  const Device dev = batch.device();
  if (displacements_) {
    grow(rij_, dtype_of<T>(), 3 * cur->n_pairs, dev);
    launch_displacements<T>(
        device_, cur->n_pairs, cur->pair_atom.data<std::int32_t>(), cur->neighbor.data<std::int32_t>(),
        cur->image.data<std::int32_t>(), jump_.data<std::int32_t>(), batch.system_index_on_device(),
        batch.get("positions").data<T>(), batch.has("cell") ? batch.get("cell").data<T>() : nullptr, rij_.data<T>());
  }
  DeviceNeighborView<T> v;
  v.n_atoms = na;
  v.n_pairs = cur->n_pairs;
  v.n_systems = ns;
  v.offsets = cur->offsets.data<std::int64_t>();
  v.pair_atom = cur->pair_atom.data<std::int32_t>();
  v.neighbor = cur->neighbor.data<std::int32_t>();
  v.species = cur->species.data<std::int32_t>();
  v.reverse = cur->reverse.data<std::int64_t>();
  v.rij = displacements_ ? rij_.data<T>() : nullptr;
  v.atom_species = atom_species_.data<std::int32_t>();
  v.atoms_ptr = batch.atoms_ptr_on_device();
  return v;
}

#define BATCHMD_DEVLIST_INSTANTIATE(T)                                                                          \
  template DeviceNeighborView<T> DeviceListBuild::update<T>(const Batch&, const std::vector<std::int32_t>&,     \
                                                            std::int32_t, const std::vector<double>&);          \
  template DeviceNeighborView<T> DeviceListBuild::begin_update<T>(                                              \
      const Batch&, const std::vector<std::int32_t>&, std::int32_t, const std::vector<double>&, std::uint64_t); \
  template bool DeviceListBuild::finish_update<T>(const Batch&, DeviceNeighborView<T>&);
BATCHMD_DEVLIST_INSTANTIATE(float)
BATCHMD_DEVLIST_INSTANTIATE(double)
#undef BATCHMD_DEVLIST_INSTANTIATE

}  // namespace batchmd::model::detail
