// SPDX-License-Identifier: Apache-2.0
// model/full_list_device (internal; CUDA builds): the full neighbor list of a GPU batch built ON
// the device (DeviceFullList's default path) — per-system skin checks, per-system rebuilds on a
// cell grid, the canonical pair order of the host view, the reverse pairs. Host logic that
// sequences the kernels of full_list_device.cu (launchers in full_list_device_kernels.hpp).
//
// Per call: one kernel checks every atom against its system's build (skin/2 modulo lattice
// vectors, cell and pbc; a fully periodic cell's strain charged against the skin, as the CPU list
// does: full_list_device_strain.hpp); the host reads back a 16-byte status (one synchronisation: the only
// host round trip of a call that keeps the list). The displacements over the kept pairs are
// queued before that status is known (and queued again on the rare call that rebuilds), so a
// caller can fold its own read-back into the same synchronisation (begin_update/finish_update). A call that rebuilds
// reads back the pair total as well (a second synchronisation), between the count and the fill pass. Only the systems
// that need it are rebuilt, so a system's pairs — and, the order being canonical, its forces — do not depend on the
// other systems of its batch.
#pragma once
#include <cstdint>
#include <vector>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/tensor.hpp"
#include "batchmd/data/batch.hpp"
#include "full_list_device_kernels.hpp"
#include "full_list_gpu.hpp"

namespace batchmd::model::detail {

class DeviceListBuild {
 public:
  /// max_cutoff: largest pair cutoff (Å, used only to name the list in messages); skin (Å).
  DeviceListBuild(double max_cutoff, double skin);

  /// As DeviceFullList::update: the list for this call's positions, the displacements computed.
  /// @post the view's arrays stay valid until the next update().
  template <typename T>
  DeviceNeighborView<T> update(const Batch& batch, const std::vector<std::int32_t>& species, std::int32_t n_species,
                               const std::vector<double>& cutoff);
  /// update() in two halves, for a caller with device work of its own on the view and a read-back
  /// of its own to fold into the list's one round trip. begin_update() queues the skin check and
  /// the status copy without waiting for it and — as if no system needed a rebuild — this call's
  /// displacements over the kept pairs; the caller may queue kernels on the view and copies into
  /// pinned host memory on the compute stream. finish_update() then waits for the stream (always,
  /// so the caller's copies are complete) and reads the status: true, the view stands; false, some
  /// system was rebuilt, `v` is the new view, and the caller's work on the old one must be queued
  /// (and waited for) again. A call that must rebuild anyway (the first, new species or structure)
  /// settles inside begin_update(), whose view then stands.
  /// species_version: non-zero while `species` (and n_species, cutoff) hold the values of the
  /// last call with that version, so that they need not be compared again (0: always compared).
  template <typename T>
  DeviceNeighborView<T> begin_update(const Batch& batch, const std::vector<std::int32_t>& species,
                                     std::int32_t n_species, const std::vector<double>& cutoff,
                                     std::uint64_t species_version = 0);
  template <typename T>
  bool finish_update(const Batch& batch, DeviceNeighborView<T>& v);
  /// Updates that rebuilt some system (a rebuild of several systems counts as one).
  std::int64_t builds() const { return builds_; }
  /// Device arrays behind the last update()'s view, valid as long as it: each pair's lattice
  /// image at its build ([n_pairs][3]) and each atom's whole-cell jump since ([n_atoms][3]). Pair
  /// p = (i, j) has r_p = x_j - x_i + (image[p] + jump[i] - jump[j]) . cell now (the
  /// displacements' arithmetic); the TorchScript model's edges take their lattice shifts from it.
  const std::int32_t* pair_image() const { return pairs_[cur_].image.data<std::int32_t>(); }
  const std::int32_t* atom_jump() const { return jump_.data<std::int32_t>(); }
  /// Off: the views carry no displacements (rij null; no kernel computes them) — for a caller
  /// that derives what it needs from pair_image() and atom_jump() in its own kernels.
  void set_displacements(bool on) { displacements_ = on; }

 private:
  struct Pairs {
    Tensor offsets, pair_atom, neighbor, species, image, reverse;
    std::int64_t n_pairs = 0;
  };
  template <typename T>
  void setup(const Batch& batch);
  bool needs_setup(const Batch& batch, DType dt) const;
  void upload_species(const std::vector<std::int32_t>& species, std::int32_t n_species,
                      const std::vector<double>& cutoff);
  template <typename T>
  devlist::ListArgs<T> list_args(const Batch& batch);
  template <typename T>
  void rebuild(const devlist::ListArgs<T>& a);
  static devlist::PairArrays arrays(Pairs& p);
  void reset_status();
  [[noreturn]] void fail(const devlist::Status& h);
  template <typename T>
  DeviceNeighborView<T> view(const Batch& batch);  // displacements of the current pairs, queued
  cuda::Stream stream() const { return cuda::compute_stream(device_); }

  double skin_;
  double rc_ = 0;  // the grid's reach (Å)
  bool ready_ = false;
  int device_ = -1;
  DType dtype_ = DType::Float64;
  std::int64_t n_systems_ = -1, n_atoms_ = -1;
  std::vector<std::int64_t> atoms_ptr_;  // host copy: structure check and messages
  std::vector<std::int32_t> species_;
  std::vector<double> cutoff_;
  std::int32_t n_species_ = -1;
  bool species_uploaded_ = false;
  std::uint64_t species_version_ = 0;  // the caller's version of species_ (0: none)
  bool displacements_ = true;
  bool pending_ = false;  // begin_update() queued a status copy that finish_update() reads
  std::int64_t builds_ = 0;

  Tensor status_, flag_, grid_, bin_base_, bin_, rank_, bin_atoms_, bin_count_, bin_start_;
  Tensor ref_, jump_, wimg_, counts_, scan_temp_, atom_species_, cut_, rij_;
  Pairs pairs_[2];
  int cur_ = 0;
  cuda::PinnedBuffer host_;  // status and pair total read back
};

}  // namespace batchmd::model::detail
