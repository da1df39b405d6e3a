// SPDX-License-Identifier: Apache-2.0
// model/neighbor_list: NeighborList — the checks a build relies on, the build of every system
// (each by the cell-list construction of neighbor_cells.cpp) concatenated into one CSR list,
// update() (what to keep: neighbor_list_refresh.cpp) with its partial rebuilds, the pairs and the
// restart state.
#include "batchmd/model/neighbor_list.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "batchmd/core/error.hpp"
#include "batchmd/core/frame.hpp"
#include "batchmd/core/parallel.hpp"
#include "neighbor_cells.hpp"

namespace batchmd::model {

using detail::build_split;
using detail::build_system;
using detail::frame_of;
using detail::kSplitAtoms;
using detail::pbc_of;
using detail::sys_str;
using detail::SystemOut;

NeighborList::NeighborList(double cutoff, double skin) : cutoff_(cutoff), skin_(skin) {
  if (!std::isfinite(cutoff) || !(cutoff > 0))
    throw InvalidArgument("neighbor list cutoff must be a finite positive length in Å, got " + std::to_string(cutoff));
  if (!std::isfinite(skin) || !(skin >= 0))
    throw InvalidArgument("neighbor list skin must be a finite length >= 0 in Å, got " + std::to_string(skin));
}
namespace {

// NeighborList::pairs_id values: process-wide, so no two lists (nor one list at two times) share one.
std::uint64_t next_pairs_id() {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

// A list denser than this (half-list neighbours per atom) is taken for a mistake, such as a
// cutoff far beyond a tiny box, whose periodic images would exhaust memory and time; the job
// estimate of app/limits refuses the same bound earlier, naming the job's keys.
constexpr double kMaxNeighborsPerAtom = 16384;

// Refuses system s when its list would exceed kMaxNeighborsPerAtom. The estimate: per direction,
// the fraction of the system's atoms (images included) within a slab of width 2 rc — 2 rc / h
// along a periodic direction (above 1 when the box is thinner than the cutoff sphere), at most 1
// along an open one; times the sphere's share (π/6) of the cube. ext: extent along open directions.
void check_density(const Frame& f, const double ext[3], std::int64_t ns, double rc, std::int64_t s) {
  double reach = 0.5235987755982988;  // π/6
  for (int d = 0; d < 3; ++d) reach *= f.periodic[d] ? 2 * rc / f.h[d] : std::min(1.0, 2 * rc / ext[d]);
  const double per_atom = 0.5 * static_cast<double>(ns) * reach;
  if (per_atom > kMaxNeighborsPerAtom)
    throw InvalidArgument(sys_str(s) + ": cutoff + skin = " + std::to_string(rc) + " Å gives ~" +
                          std::to_string(static_cast<std::int64_t>(per_atom)) + " neighbours per atom (" +
                          std::to_string(ns) + " atoms" +
                          (f.any_periodic ? ", cell heights " + std::to_string(f.h[0]) + ", " + std::to_string(f.h[1]) +
                                                ", " + std::to_string(f.h[2]) + " Å"
                                          : std::string()) +
                          "), more than the 16384 a neighbour list allows: is the cutoff meant for this system?");
}

// Checks everything a build relies on, so that the build itself cannot fail half-way.
// With `only`, the per-system checks cover only the systems s with only[s] == 2 (to be rebuilt).
template <typename T>
void validate(const BatchGeometry<T>& g, double rc, const std::uint8_t* only = nullptr) {
  if (g.n_systems < 0 || g.n_atoms < 0) throw InvalidArgument("batch geometry: negative n_systems or n_atoms");
  if (g.n_atoms >= std::numeric_limits<std::int32_t>::max())
    throw InvalidArgument("neighbor list: at most 2^31 - 2 atoms per batch, got " + std::to_string(g.n_atoms));
  if (g.atoms_ptr == nullptr) {
    if (g.n_systems == 0 && g.n_atoms == 0) return;
    throw InvalidArgument("batch geometry: atoms_ptr is null");
  }
  if (g.atoms_ptr[0] != 0)
    throw InvalidArgument("batch geometry: atoms_ptr[0] must be 0, got " + std::to_string(g.atoms_ptr[0]));
  for (std::int64_t s = 0; s < g.n_systems; ++s)
    if (g.atoms_ptr[s + 1] < g.atoms_ptr[s])
      throw InvalidArgument("batch geometry: atoms_ptr decreases at system " + std::to_string(s));
  if (g.atoms_ptr[g.n_systems] != g.n_atoms)
    throw InvalidArgument("batch geometry: atoms_ptr[n_systems] = " + std::to_string(g.atoms_ptr[g.n_systems]) +
                          " but n_atoms = " + std::to_string(g.n_atoms));
  if (g.n_atoms > 0 && g.positions == nullptr) throw InvalidArgument("batch geometry: positions are null");
  for (std::int64_t s = 0; s < g.n_systems; ++s) {
    if (only != nullptr && only[s] != 2) continue;
    const Frame f = frame_of(g, s);  // throws for a bad cell
    double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (std::int64_t a = g.atoms_ptr[s]; a < g.atoms_ptr[s + 1]; ++a) {
      const T* x = g.positions + 3 * a;
      if (!std::isfinite(x[0]) || !std::isfinite(x[1]) || !std::isfinite(x[2]))
        throw NumericalError(sys_str(s) + ", atom " + std::to_string(a - g.atoms_ptr[s]) + " (batch atom " +
                             std::to_string(a) + "): position is not finite (" + std::to_string(x[0]) + ", " +
                             std::to_string(x[1]) + ", " + std::to_string(x[2]) + ")");
      const Vec3 xd{static_cast<double>(x[0]), static_cast<double>(x[1]), static_cast<double>(x[2])};
      for (int d = 0; d < 3; ++d) {
        const double u = dot(xd, f.recip[d]);
        if (f.periodic[d] && std::abs(u) > kMaxImageCells)
          throw NumericalError(sys_str(s) + ", atom " + std::to_string(a - g.atoms_ptr[s]) +
                               ": position is more than 1e9 cells away from the cell");
        lo[d] = a == g.atoms_ptr[s] ? u : std::min(lo[d], u);
        hi[d] = a == g.atoms_ptr[s] ? u : std::max(hi[d], u);
      }
    }
    const double ext[3] = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
    check_density(f, ext, g.atoms_ptr[s + 1] - g.atoms_ptr[s], rc, s);
  }
}

}  // namespace

std::pair<std::int64_t, std::int64_t> NeighborList::touched_slots(std::int64_t k0, std::int64_t k1) const noexcept {
  if (k0 >= k1) return {k0, k1};
  auto mn = static_cast<std::int32_t>(k0), mx = static_cast<std::int32_t>(k1 - 1);
  for (std::int64_t p = offsets_[k0]; p < offsets_[k1]; ++p) {
    mn = std::min(mn, neighbors_[p]);
    mx = std::max(mx, neighbors_[p]);
  }
  return {mn, std::int64_t{mx} + 1};
}

// Concatenates the per-system lists (work_) into one CSR. rebuilt == nullptr: every system was
// built, and offsets_ and shifted_begin_ hold system-local values on entry. Else only the systems
// with rebuilt[s] == 2 were (their offsets system-local), and the others' pairs, shift tables and
// offsets are in place at their old bases (pair_base_, shift_ptr_): they move (within the list)
// and are offset again only where a base moved, and only the rebuilt systems are copied in.
void NeighborList::concatenate(const std::uint8_t* rebuilt) {
  const std::int64_t ns = n_systems_, na = n_atoms_;
  if (rebuilt != nullptr) {
    prev_pair_base_.swap(pair_base_);
    prev_shift_ptr_.swap(shift_ptr_);
  }
  shift_ptr_.assign(ns + 1, 0);
  std::vector<std::int64_t>& pair_base = pair_base_;
  pair_base.assign(ns + 1, 0);
  for (std::int64_t s = 0; s < ns; ++s) {
    shift_ptr_[s + 1] = shift_ptr_[s] + static_cast<std::int64_t>(work_[s].shifts.size() / 3);
    pair_base[s + 1] = pair_base[s] + static_cast<std::int64_t>(work_[s].n_pairs);
  }
  if (ns == 1) {
    shifts_.assign(work_[0].shifts.begin(), work_[0].shifts.end());
  } else {
    if (neighbors_.size() < static_cast<std::size_t>(pair_base[ns])) {
      neighbors_.resize(pair_base[ns]);
      shift_index_.resize(pair_base[ns]);
    }
    shifts_.resize(3 * shift_ptr_[ns]);
    if (rebuilt != nullptr) {
      // The kept systems' pairs move within the list, in runs of systems that move by the same
      // amount: leftward runs first, left to right, then rightward ones, right to left, so that
      // no move overwrites pairs still to be moved; then the rebuilt systems' pairs come in.
      auto move_runs = [&](bool leftward) {
        std::int64_t s = leftward ? 0 : ns - 1;
        const std::int64_t step = leftward ? 1 : -1;
        for (; s >= 0 && s < ns; s += step) {
          const std::int64_t delta = pair_base[s] - prev_pair_base_[s];
          if (rebuilt[s] == 2 || delta == 0 || (delta < 0) != leftward) continue;
          std::int64_t t = s;  // the run: systems [lo, hi]
          while (t + step >= 0 && t + step < ns && rebuilt[t + step] != 2 &&
                 pair_base[t + step] - prev_pair_base_[t + step] == delta)
            t += step;
          const std::int64_t lo = std::min(s, t), hi = std::max(s, t);
          const std::int64_t from = prev_pair_base_[lo], n = prev_pair_base_[hi + 1] - from;
          std::memmove(neighbors_.data() + from + delta, neighbors_.data() + from, n * sizeof(std::int32_t));
          std::memmove(shift_index_.data() + from + delta, shift_index_.data() + from, n * sizeof(std::int32_t));
          s = t;
        }
      };
      move_runs(true);
      move_runs(false);
    }
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      const SystemWork& w = work_[s];
      const bool all = rebuilt == nullptr || rebuilt[s] == 2;
      if (all) {
        const auto n = static_cast<std::ptrdiff_t>(w.n_pairs);
        std::copy(w.neighbors.begin(), w.neighbors.begin() + n, neighbors_.begin() + pair_base[s]);
        std::copy(w.shift_index.begin(), w.shift_index.begin() + n, shift_index_.begin() + pair_base[s]);
      }
      if (all || shift_ptr_[s] != prev_shift_ptr_[s])
        std::copy(w.shifts.begin(), w.shifts.end(), shifts_.begin() + 3 * shift_ptr_[s]);
    });
  }
  for (std::int64_t s = 0; s < ns; ++s) {
    const std::int64_t add = rebuilt == nullptr || rebuilt[s] == 2 ? pair_base[s] : pair_base[s] - prev_pair_base_[s];
    if (add != 0)
      for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k) {
        offsets_[k] += add;
        shifted_begin_[k] += add;
      }
  }
  offsets_[na] = pair_base[ns];
  n_pairs_ = static_cast<std::size_t>(pair_base[ns]);
}

template <typename T>
void NeighborList::build(const BatchGeometry<T>& g) {
  validate(g, cutoff_ + skin_);
  const std::int64_t ns = g.n_systems, na = g.n_atoms;
  n_systems_ = ns;
  n_atoms_ = na;
  atoms_ptr_.assign(ns + 1, 0);
  if (g.atoms_ptr != nullptr) std::copy(g.atoms_ptr, g.atoms_ptr + ns + 1, atoms_ptr_.begin());
  ref_positions_.resize(3 * na);
  {
    double* ref = ref_positions_.data();
    const T* x = g.positions;
    parallel_for(na, [=](std::int64_t a) {
      for (int e = 0; e < 3; ++e) ref[3 * a + e] = static_cast<double>(x[3 * a + e]);
    });
  }
  ref_pbc_.assign(3 * ns, 0);
  ref_cell_.assign(9 * ns, 0.0);
  for (std::int64_t s = 0; s < ns; ++s) {
    const auto p = pbc_of(g, s);
    for (int d = 0; d < 3; ++d) ref_pbc_[3 * s + d] = p[d];
    if (g.cell != nullptr)
      for (int e = 0; e < 9; ++e) ref_cell_[9 * s + e] = static_cast<double>(g.cell[9 * s + e]);
  }

  order_.resize(na);
  image_.resize(3 * na);
  offsets_.resize(na + 1);
  shifted_begin_.resize(na);
  if (static_cast<std::int64_t>(work_.size()) != ns) work_.resize(ns);
  const double rc = cutoff_ + skin_;
  if (ns == 1) {
    // One system builds straight into the list: no second copy of the pairs in memory.
    SystemWork& w = work_[0];
    std::vector<std::int32_t>().swap(w.neighbors);
    std::vector<std::int32_t>().swap(w.shift_index);
    const SystemOut out{neighbors_, shift_index_,  w.shifts,    w.n_pairs,
                        w.stencil,  w.stencil_key, w.stencil_q, w.stencil_ref};
    if (num_threads() > 1 && na >= kSplitAtoms)
      build_split(g, rc, out, order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
    else
      build_system(g, 0, rc, out, order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
  } else {
    parallel_for_dynamic(ns, [&](std::int64_t s) {
      SystemWork& w = work_[s];
      build_system(g, s, rc,
                   SystemOut{w.neighbors, w.shift_index, w.shifts, w.n_pairs, w.stencil, w.stencil_key, w.stencil_q,
                             w.stencil_ref},
                   order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
    });
  }

  concatenate();

  // State for refresh(): inverse permutation, build-time images, frames.
  slot_of_.resize(na);
  {
    std::int64_t* slot_of = slot_of_.data();
    const std::int64_t* order = order_.data();
    parallel_for(na, [=](std::int64_t k) { slot_of[order[k]] = k; });
  }
  build_image_.assign(image_.begin(), image_.end());
  jumped_slots_.clear();
  cur_cell_ = ref_cell_;
  ref_recip_.assign(9 * ns, 0.0);
  for (std::int64_t s = 0; s < ns; ++s) {
    const Frame f = frame_of(g, s);
    for (int d = 0; d < 3; ++d)
      for (int e = 0; e < 3; ++e) ref_recip_[9 * s + 3 * d + e] = f.recip[d][e];
  }
  ++n_builds_;
  pairs_id_ = next_pairs_id();
  rebuild_requested_ = false;
}

template <typename T>
bool NeighborList::update(const BatchGeometry<T>& g) {
  const int plan = refresh(g);
  if (plan == kRebuildAll) {
    build(g);
    return true;
  }
  if (plan == kRebuildSome) validate(g, cutoff_ + skin_, sys_state_.data());  // throws before any change
  // Kept systems: image offsets follow the lattice jumps.
  for (const std::int64_t k : jumped_slots_)
    for (int d = 0; d < 3; ++d) image_[3 * k + d] = build_image_[3 * k + d];
  jumped_slots_.clear();
  for (std::size_t q = 0; q < pending_slots_.size(); ++q) {
    const std::int64_t k = pending_slots_[q];
    for (int d = 0; d < 3; ++d) image_[3 * k + d] = build_image_[3 * k + d] + pending_jumps_[3 * q + d];
    jumped_slots_.push_back(k);
  }
  cur_cell_.assign(now_cell_.begin(), now_cell_.end());
  if (plan == kKeep) return false;
  rebuild_systems(g);
  return true;
}

template <typename T>
void NeighborList::rebuild_systems(const BatchGeometry<T>& g) {
  const std::int64_t ns = n_systems_;
  const std::uint8_t* mv = sys_state_.data();
  rebuild_list_.clear();
  for (std::int64_t s = 0; s < ns; ++s)
    if (mv[s] == 2) rebuild_list_.push_back(s);
  const double rc = cutoff_ + skin_;
  parallel_for_dynamic(static_cast<std::int64_t>(rebuild_list_.size()), [&](std::int64_t q) {
    const std::int64_t s = rebuild_list_[static_cast<std::size_t>(q)];
    SystemWork& w = work_[s];
    build_system(g, s, rc,
                 SystemOut{w.neighbors, w.shift_index, w.shifts, w.n_pairs, w.stencil, w.stencil_key, w.stencil_q,
                           w.stencil_ref},
                 order_.data(), image_.data(), offsets_.data(), shifted_begin_.data());
  });
  concatenate(mv);
  // Reference state of the rebuilt systems (their slots were not among the jumped ones).
  for (const std::int64_t s : rebuild_list_) {
    for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k) {
      slot_of_[order_[k]] = k;
      for (int d = 0; d < 3; ++d) {
        build_image_[3 * k + d] = image_[3 * k + d];
        ref_positions_[3 * k + d] = static_cast<double>(g.positions[3 * k + d]);
      }
    }
    if (g.cell != nullptr)
      for (int e = 0; e < 9; ++e) ref_cell_[9 * s + e] = cur_cell_[9 * s + e] = static_cast<double>(g.cell[9 * s + e]);
    const Frame f = frame_of(g, s);
    for (int d = 0; d < 3; ++d)
      for (int e = 0; e < 3; ++e) ref_recip_[9 * s + 3 * d + e] = f.recip[d][e];
  }
  ++n_builds_;
  pairs_id_ = next_pairs_id();
}

std::vector<NeighborPair> NeighborList::pairs() const {
  std::vector<NeighborPair> out;
  out.reserve(neighbors_.size());
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    const double* cell = &cur_cell_[9 * s];
    for (std::int64_t k = atoms_ptr_[s]; k < atoms_ptr_[s + 1]; ++k)
      for (std::int64_t p = offsets_[k]; p < offsets_[k + 1]; ++p) {
        const std::int64_t j = neighbors_[p];
        NeighborPair pr;
        pr.i = order_[k];
        pr.j = order_[j];
        for (int d = 0; d < 3; ++d) {
          const std::int32_t S = p < shifted_begin_[k] ? 0 : shifts_[3 * (shift_ptr_[s] + shift_index_[p]) + d];
          pr.image[d] = S + image_[3 * k + d] - image_[3 * j + d];
        }
        for (int e = 0; e < 3; ++e) {
          double v = 0;
          for (int d = 0; d < 3; ++d) v += pr.image[d] * cell[3 * d + e];
          pr.shift[e] = v;
        }
        out.push_back(pr);
      }
  }
  return out;
}

std::vector<double> NeighborList::state() const {
  std::vector<double> out(12 * static_cast<std::size_t>(n_atoms_));
  for (std::int64_t s = 0; s < n_systems_; ++s)
    for (std::int64_t a = atoms_ptr_[s]; a < atoms_ptr_[s + 1]; ++a) {
      std::copy_n(&ref_positions_[3 * a], 3, &out[12 * a]);
      std::copy_n(&ref_cell_[9 * s], 9, &out[12 * a + 3]);
    }
  return out;
}

template <typename T>
void NeighborList::build_from_reference(const BatchGeometry<T>& g, std::span<const double> reference) {
  const auto na = static_cast<std::size_t>(g.n_atoms);
  const bool with_cells = na > 0 && reference.size() == 12 * na;
  if (reference.size() != 3 * na && !with_cells)
    throw InvalidArgument("NeighborList: reference positions hold " + std::to_string(reference.size() / 3) +
                          " atoms, the geometry " + std::to_string(g.n_atoms));
  // The reference came from T positions (and T cells), so converting back is exact.
  const std::size_t stride = with_cells ? 12 : 3;
  std::vector<T> pos(3 * na);
  for (std::size_t a = 0; a < na; ++a)
    for (int e = 0; e < 3; ++e) pos[3 * a + e] = static_cast<T>(reference[stride * a + e]);
  BatchGeometry<T> ref = g;
  ref.positions = pos.data();
  std::vector<T> cell;
  if (with_cells && g.cell != nullptr) {
    if (g.atoms_ptr == nullptr) throw InvalidArgument("batch geometry: atoms_ptr is null");
    cell.assign(g.cell, g.cell + 9 * g.n_systems);
    for (std::int64_t s = 0; s < g.n_systems; ++s) {
      const std::int64_t a0 = g.atoms_ptr[s];
      if (a0 >= 0 && a0 < g.atoms_ptr[s + 1] && static_cast<std::size_t>(a0) < na)  // else the build refuses g
        for (int e = 0; e < 9; ++e) cell[9 * s + e] = static_cast<T>(reference[12 * a0 + 3 + e]);
    }
    ref.cell = cell.data();
  }
  request_rebuild();
  update(ref);
  if (!cell.empty())  // the list's cells are the stored build cells; the batch is in g's cells
    for (std::size_t e = 0; e < cur_cell_.size(); ++e) cur_cell_[e] = static_cast<double>(g.cell[e]);
}

template void NeighborList::build_from_reference<float>(const BatchGeometry<float>&, std::span<const double>);
template void NeighborList::build_from_reference<double>(const BatchGeometry<double>&, std::span<const double>);
template bool NeighborList::update<float>(const BatchGeometry<float>&);
template bool NeighborList::update<double>(const BatchGeometry<double>&);

}  // namespace batchmd::model
