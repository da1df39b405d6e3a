// SPDX-License-Identifier: Apache-2.0
// model/neighbor_list: Verlet neighbor lists for a batch of atomic systems — cell lists plus a
// skin, half lists (each pair once), exact periodic images for any triclinic cell and any mix of
// periodic and open directions, systems stored CSR by atoms_ptr. A list stays valid through
// homogeneous strains of a fully periodic cell (a barostat's), the strain charged against the skin.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace batchmd::model {

/// A borrowed view of the geometry of a batch. Units: Å.
template <typename T>
struct BatchGeometry {
  std::int64_t n_systems = 0;
  std::int64_t n_atoms = 0;
  /// [n_atoms][3] Cartesian positions; need not be wrapped into the cell (atoms may drift out).
  const T* positions = nullptr;
  /// [n_systems + 1]; system s owns atoms [atoms_ptr[s], atoms_ptr[s+1]).
  const std::int64_t* atoms_ptr = nullptr;
  /// [n_systems][3][3], rows are the lattice vectors a, b, c (ASE convention). May be nullptr when
  /// no system is periodic; rows of open directions are ignored.
  const T* cell = nullptr;
  /// [n_systems][3] periodic flags per direction; nullptr means no periodicity anywhere.
  const bool* pbc = nullptr;
};

/// One pair of a half list, in the caller's atom indices: the separation vector is
/// r_ij = x_j - x_i + shift, with shift = image · cell (Å), for positions as given to update().
struct NeighborPair {
  std::int64_t i = 0;
  std::int64_t j = 0;
  std::array<std::int32_t, 3> image{};
  std::array<double, 3> shift{};
};

/// Half Verlet list over a batch, built in O(N) with cell lists and rebuilt only when needed.
///
/// Layout (what a kernel reads). Atoms are re-ordered into *slots*, sorted by bin within their
/// system, so neighbors sit close in memory; system s keeps slots [atoms_ptr[s], atoms_ptr[s+1]).
///  - atom_order()[k]: the atom held by slot k.
///  - image_offsets()[k]: integer lattice offset n of slot k; the *wrapped* position of slot k is
///    w_k = x[atom_order[k]] - n · cell  (n = 0 along open directions). update() adjusts n when an
///    atom jumps by whole lattice vectors (e.g. is wrapped back into the cell), so w_k always stays
///    within skin/2 of where it was at the build.
///  - neighbors of slot k: neighbors()[neighbor_offsets()[k] .. neighbor_offsets()[k+1]), slot
///    indices. The first part, up to shifted_begin()[k], needs no shift; for the rest the
///    separation is  w_j - w_k + shifts()[shift_ptr()[s] + shift_index()[p]] · cell.
/// Each unordered pair (including an atom and its own periodic image) appears exactly once.
class NeighborList {
 public:
  /// cutoff: interaction cutoff (Å, > 0); skin: Verlet skin (Å, >= 0). Pairs closer than
  /// cutoff + skin are listed. Throws InvalidArgument for bad or non-finite values.
  NeighborList(double cutoff, double skin);

  /// Rebuilds the list if this is the first call, the atom counts or atoms_ptr changed, a pbc flag
  /// changed, rebuild was requested, the cell of a partly periodic system changed, or an atom
  /// moved too far since its system's last build: more than skin/2 while the cell is the build's.
  /// In periodic systems the displacement is taken modulo lattice vectors, so wrapping atoms into
  /// the cell does not force a rebuild. Every system is rebuilt, except when a cell of the batch is
  /// strained (below): then only the systems that need it are, so that under a barostat a
  /// system's list, and its forces to the last bit, depend on that system alone, not on its batch.
  /// A fully periodic system whose cell changed from h0 (at the build) to h = h0 A keeps its list
  /// while every atom stays within δ/2 of its build position carried along by the strain, x0 A
  /// (modulo lattice vectors of h), with δ = skin − (1 − σ)(cutoff + skin), at most the skin: a
  /// pair outside cutoff + skin at the build is then still outside the cutoff, since
  /// |r0 A| ≥ σ |r0| for σ a rigorous lower bound of A's smallest singular value (the larger of
  /// the square root of a Gershgorin bound of λ_min(A Aᵀ) — exact for an isotropic or axial
  /// strain, about half the shear for a shear, nothing for a rotation — and 1 − ‖A − I‖_F;
  /// src/model/neighbor_list_strain.hpp).
  /// Pair shifts are integer image counts, so kernels that take the cell from the geometry they
  /// are given (all do) see this call's cell. Returns whether it rebuilt.
  /// Throws NumericalError for a NaN/Inf position (naming system and atom), InvalidArgument for a
  /// malformed geometry or a periodic cell of zero or negative volume. On a throw the list keeps
  /// its previous state.
  template <typename T>
  bool update(const BatchGeometry<T>& g);

  /// Makes the next update() rebuild (e.g. after atoms were reordered in place).
  void request_rebuild() noexcept { rebuild_requested_ = true; }

  /// Positions ([n_atoms][3], Å, caller order) the list was last built from: with the geometry,
  /// all the state a list has. A restarted run that rebuilds from them (build_from_reference)
  /// holds the same list, and so sums forces in the same order, as the run it continues.
  std::span<const double> reference_positions() const noexcept { return ref_positions_; }
  /// What build_from_reference needs to rebuild this list exactly: [n_atoms][12], per atom its
  /// reference position and the build cell of its system (row-major, zero without a cell), so that
  /// a restarted run holds the list built in the cell of the build, which after a strain is not
  /// the batch's cell any more. Per atom, so it can be split and gathered with the atoms.
  std::vector<double> state() const;
  /// Builds the list from `reference` (reference_positions(), or state()) with g's pbc and
  /// atoms_ptr, and g's cell or, from the [n_atoms][12] form, the build cells it holds; later
  /// update()s compare positions against it. InvalidArgument if the size does not match g.
  template <typename T>
  void build_from_reference(const BatchGeometry<T>& g, std::span<const double> reference);

  double cutoff() const noexcept { return cutoff_; }
  double skin() const noexcept { return skin_; }
  /// Number of builds so far (a rebuild of some of the systems counts as one).
  std::int64_t n_builds() const noexcept { return n_builds_; }
  /// Names the pairs the list holds: a new value, unique in the process across all lists, after
  /// every build and partial rebuild (0 before the first). Kernels cache what they derive from
  /// the pairs alone (chunk bounds, the windows of touched_slots) under it.
  std::uint64_t pairs_id() const noexcept { return pairs_id_; }
  std::int64_t n_systems() const noexcept { return n_systems_; }
  std::int64_t n_atoms() const noexcept { return n_atoms_; }
  std::int64_t n_pairs() const noexcept { return static_cast<std::int64_t>(n_pairs_); }

  /// atoms_ptr as of the last build.
  std::span<const std::int64_t> atoms_ptr() const noexcept { return atoms_ptr_; }
  std::span<const std::int64_t> atom_order() const noexcept { return order_; }
  /// [n_atoms][3]
  std::span<const std::int32_t> image_offsets() const noexcept { return image_; }
  /// [n_atoms + 1]
  std::span<const std::int64_t> neighbor_offsets() const noexcept { return offsets_; }
  /// [n_atoms]
  std::span<const std::int64_t> shifted_begin() const noexcept { return shifted_begin_; }
  /// [n_pairs] slot indices.
  std::span<const std::int32_t> neighbors() const noexcept { return {neighbors_.data(), n_pairs_}; }
  /// [n_pairs] index into the pair's system shift table (the zero shift for unshifted pairs).
  std::span<const std::int32_t> shift_index() const noexcept { return {shift_index_.data(), n_pairs_}; }
  /// [n_systems + 1] offsets of each system's table in shifts().
  std::span<const std::int64_t> shift_ptr() const noexcept { return shift_ptr_; }
  /// [n_shifts][3] integer lattice shifts (units of a, b, c).
  std::span<const std::int32_t> shifts() const noexcept { return shifts_; }

  /// The slots that the pairs of slots [k0, k1) touch: [lo, hi) spanning those slots and all
  /// their neighbors ([k0, k1) when it is empty). A thread summing forces of these pairs into a
  /// private buffer needs only this window of it (the slot order is by bin, so it is narrow).
  std::pair<std::int64_t, std::int64_t> touched_slots(std::int64_t k0, std::int64_t k1) const noexcept;

  /// All pairs in the caller's atom indices, shifts for the positions last given to update()
  /// (for tests and diagnostics; allocates).
  std::vector<NeighborPair> pairs() const;

 private:
  // One system's part of a build, concatenated afterwards (buffers reused across builds).
  // Pair buffers never shrink (their size is a capacity; the first n_pairs entries are used), so
  // a rebuild neither allocates nor clears memory once the list has reached its working size.
  struct SystemWork {
    std::vector<std::int32_t> neighbors;
    std::vector<std::int32_t> shift_index;
    std::vector<std::int32_t> shifts;
    std::size_t n_pairs = 0;
    // Bin stencil of the last build and what it depends on (bin metric, reach, bin counts,
    // cutoff): the same stencil while those stay the same, i.e. once a cell is fixed.
    std::vector<std::array<std::int32_t, 3>> stencil;
    std::array<double, 16> stencil_key{};
    // Under a strain (a barostat changes the metric at every step) the stencil is selected again
    // from these: each candidate offset's exact minimum distance (squared) at the reference metric
    // stencil_ref[0..8], and a lower bound of that metric's smallest eigenvalue (stencil_ref[9];
    // 0 when unusable). See select_stencil in neighbor_cells.cpp.
    std::vector<double> stencil_q;
    std::array<double, 10> stencil_ref{};
  };

  // What update() must do: keep the list (kKeep), rebuild the systems with sys_state_ 2
  // (kRebuildSome), or build everything (kRebuildAll). Collects the lattice jumps of the kept
  // systems into pending_*; changes nothing of the list.
  static constexpr int kKeep = 0, kRebuildSome = 1, kRebuildAll = 2;
  template <typename T>
  int refresh(const BatchGeometry<T>& g);
  template <typename T>
  void build(const BatchGeometry<T>& g);
  template <typename T>
  void rebuild_systems(const BatchGeometry<T>& g);
  void concatenate(const std::uint8_t* rebuilt = nullptr);

  double cutoff_;
  double skin_;
  std::int64_t n_builds_ = 0;
  std::uint64_t pairs_id_ = 0;
  bool rebuild_requested_ = false;

  // State of the last build, for the rebuild criterion.
  std::int64_t n_systems_ = 0;
  std::int64_t n_atoms_ = 0;
  std::vector<std::int64_t> atoms_ptr_;
  std::vector<double> ref_positions_;  // [n_atoms][3], caller order
  std::vector<double> ref_cell_;       // [n_systems][9], zero when none given
  std::vector<double> cur_cell_;       // [n_systems][9] as of the last update() (strained or not)
  // Scratch of refresh(): per system the strain A = h0^-1 h ([9]), the current frame's cell rows
  // and reciprocal rows ([9] each), the squared displacement threshold, and whether it is strained.
  std::vector<double> strain_, now_cell_, now_recip_, thr2_;
  std::vector<std::uint8_t> strained_;
  std::vector<std::uint8_t> sys_state_;      // per system: 0 kept, 1 kept with lattice jumps, 2 rebuild
  std::vector<std::int64_t> check_begin_;    // scratch of refresh(): first atom of each check chunk, then n_atoms
  std::vector<std::int64_t> check_system_;   // scratch of refresh(): the system of each check chunk
  std::vector<std::uint8_t> check_state_;    // scratch of refresh(): each chunk's verdict (as sys_state_)
  std::vector<std::int64_t> rebuild_list_;   // the systems rebuilt by rebuild_systems()
  std::vector<std::uint8_t> ref_pbc_;        // [n_systems][3]
  std::vector<double> ref_recip_;            // [n_systems][3][3] binning-frame reciprocal rows
  std::vector<std::int64_t> slot_of_;        // [n_atoms] caller atom -> slot
  std::vector<std::int32_t> build_image_;    // [n_atoms][3] image offsets at the build
  std::vector<std::int64_t> jumped_slots_;   // slots whose image_ differs from build_image_
  std::vector<std::int64_t> pending_slots_;  // scratch of refresh()
  std::vector<std::int32_t> pending_jumps_;

  // The list.
  std::vector<std::int64_t> order_;
  std::vector<std::int32_t> image_;
  std::vector<std::int64_t> offsets_;
  std::vector<std::int64_t> shifted_begin_;
  std::vector<std::int32_t> neighbors_;    // capacity buffer, first n_pairs_ used
  std::vector<std::int32_t> shift_index_;  // capacity buffer, first n_pairs_ used
  std::size_t n_pairs_ = 0;
  std::vector<std::int64_t> shift_ptr_;
  std::vector<std::int32_t> shifts_;

  std::vector<SystemWork> work_;
  std::vector<std::int64_t> pair_base_;                        // [n_systems + 1] each system's first pair in neighbors_
  std::vector<std::int64_t> prev_pair_base_, prev_shift_ptr_;  // scratch of concatenate()
};

}  // namespace batchmd::model
