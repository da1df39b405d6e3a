// SPDX-License-Identifier: Apache-2.0
// model/full_list_device_batch (internal; host code, CUDA-free): what the host side of both
// device-built full lists — the shared one (DeviceListBuild, full_list_device.cpp) and the
// Lennard-Jones model's own (LJGpu, lj_gpu.cpp) — takes from a batch, written once: whether the
// batch still has the structure the device arrays were set up for, the per-system bin bases, the
// batch pointers every list kernel reads, and how an atom is named in a message.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "batchmd/core/error.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"

namespace batchmd::model::detail {

/// Whether batch, with positions of type dt, has the structure a list was set up for: its GPU
/// (device), float type (dtype), systems, atoms and atoms_ptr (the host copy taken at setup).
inline bool same_structure(const Batch& batch, DType dt, int device, DType dtype, std::int64_t n_systems,
                           std::int64_t n_atoms, const std::vector<std::int64_t>& atoms_ptr) {
  if (batch.device().index != device || dt != dtype || batch.n_systems() != n_systems || batch.n_atoms() != n_atoms)
    return false;
  const std::int64_t* p = batch.atoms_ptr_data();
  for (std::int64_t s = 0; s <= n_systems; ++s)
    if (p[s] != atoms_ptr[static_cast<std::size_t>(s)]) return false;
  return true;
}

/// The bins of a batch's systems: at most (atoms + 64) per system, so the sizes depend on the
/// structure only.
struct BinBases {
  Tensor base;          ///< [n_systems + 1] int64 on the list's device: the first bin of each system
  std::int64_t n_bins;  ///< base[n_systems]: the bins of the whole batch
};

/// The bin bases for atoms_ptr (host copy, n_systems + 1 entries) on dev; throws
/// InvalidArgument (its message starting with who) when the batch has 2^31 - 1 bins or more.
inline BinBases bin_bases(const std::vector<std::int64_t>& atoms_ptr, const Device& dev, const std::string& who) {
  const auto ns = static_cast<std::int64_t>(atoms_ptr.size()) - 1;
  std::vector<std::int64_t> base(static_cast<std::size_t>(ns) + 1, 0);
  for (std::int64_t s = 0; s < ns; ++s) base[s + 1] = base[s] + (atoms_ptr[s + 1] - atoms_ptr[s]) + 64;
  if (base[ns] >= std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument(who + "too many systems for the bin arrays");
  return BinBases{Tensor::from(base, {ns + 1}).to(dev), base[ns]};
}

/// Sets the batch fields of a list's argument block (ListArgs of either list): positions,
/// atoms_ptr, system index, cell and pbc (null where the batch has none), all on the device.
template <typename T, typename Args>
void set_batch_args(Args& a, const Batch& batch) {
  a.pos = batch.get("positions").data<T>();
  a.ptr = batch.atoms_ptr_on_device();
  a.sys = batch.system_index_on_device();
  a.cell = batch.has("cell") ? batch.get("cell").data<T>() : nullptr;
  a.pbc = batch.has("pbc") ? batch.get("pbc").data<bool>() : nullptr;
}

/// "system s, atom k (batch atom atom)" for a batch atom index, from the host atoms_ptr.
inline std::string atom_name(const std::vector<std::int64_t>& atoms_ptr, int atom) {
  const auto it = std::upper_bound(atoms_ptr.begin(), atoms_ptr.end(), static_cast<std::int64_t>(atom));
  const auto s = static_cast<std::int64_t>(it - atoms_ptr.begin()) - 1;
  return "system " + std::to_string(s) + ", atom " + std::to_string(atom - atoms_ptr[static_cast<std::size_t>(s)]) +
         " (batch atom " + std::to_string(atom) + ")";
}

}  // namespace batchmd::model::detail
