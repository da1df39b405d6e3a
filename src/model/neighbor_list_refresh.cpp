// SPDX-License-Identifier: Apache-2.0
// model/neighbor_list_refresh: NeighborList's decision at each update() — keep the list, rebuild
// some systems or all — from every atom's displacement since the build (modulo lattice vectors)
// and a fully periodic cell's strain, both charged against the skin (the strain's share:
// neighbor_list_strain.hpp).
#include <algorithm>

#include "batchmd/core/frame.hpp"
#include "batchmd/core/parallel.hpp"
#include "batchmd/core/simd_clones.hpp"
#include "batchmd/model/neighbor_list.hpp"
#include "neighbor_cells.hpp"
#include "neighbor_list_strain.hpp"

namespace batchmd::model {

using detail::pbc_of;

namespace {

// Whether every atom a in [a0, a1) lies within thr2 of its reference position x0 (carried by the
// strain A when A is given): dot3(dl, dl) <= thr2 with dl as classify() in refresh() computes it,
// the same operations in the same order (so the same bits: this file is compiled without FMA
// contraction, src/model/CMakeLists.txt), over all atoms without an early exit, in SIMD.
template <typename T>
BATCHMD_SIMD_CLONES bool all_within(const T* x, const double* x0, std::int64_t a0, std::int64_t a1, const double* A,
                                    double thr2) {
  int ok = 1;
  if (A != nullptr) {
    const double a00 = A[0], a01 = A[1], a02 = A[2], a10 = A[3], a11 = A[4], a12 = A[5], a20 = A[6], a21 = A[7],
                 a22 = A[8];
    for (std::int64_t a = a0; a < a1; ++a) {
      const double p0 = x0[3 * a], p1 = x0[3 * a + 1], p2 = x0[3 * a + 2];
      const double d0 = static_cast<double>(x[3 * a]) - (p0 * a00 + p1 * a10 + p2 * a20);
      const double d1 = static_cast<double>(x[3 * a + 1]) - (p0 * a01 + p1 * a11 + p2 * a21);
      const double d2 = static_cast<double>(x[3 * a + 2]) - (p0 * a02 + p1 * a12 + p2 * a22);
      ok &= static_cast<int>(d0 * d0 + d1 * d1 + d2 * d2 <= thr2);
    }
  } else {
    for (std::int64_t a = a0; a < a1; ++a) {
      const double d0 = static_cast<double>(x[3 * a]) - x0[3 * a];
      const double d1 = static_cast<double>(x[3 * a + 1]) - x0[3 * a + 1];
      const double d2 = static_cast<double>(x[3 * a + 2]) - x0[3 * a + 2];
      ok &= static_cast<int>(d0 * d0 + d1 * d1 + d2 * d2 <= thr2);
    }
  }
  return ok != 0;
}

}  // namespace

template <typename T>
int NeighborList::refresh(const BatchGeometry<T>& g) {
  if (n_builds_ == 0 || rebuild_requested_) return kRebuildAll;
  if (g.n_systems != n_systems_ || g.n_atoms != n_atoms_) return kRebuildAll;
  if (g.atoms_ptr == nullptr) return kRebuildAll;  // validation decides whether that is an error
  for (std::int64_t s = 0; s <= n_systems_; ++s)
    if (g.atoms_ptr[s] != atoms_ptr_[s]) return kRebuildAll;
  // Per system: the cell and reciprocal rows displacements are measured in, the strain since the
  // build, and the threshold. A changed cell of a fully periodic system is a strain A = h0^-1 h
  // charged against the skin (see update()); any other changed cell rebuilds.
  const double rc = cutoff_ + skin_;
  strain_.resize(9 * static_cast<std::size_t>(n_systems_));
  now_cell_.resize(9 * static_cast<std::size_t>(n_systems_));
  now_recip_.resize(9 * static_cast<std::size_t>(n_systems_));
  thr2_.assign(static_cast<std::size_t>(n_systems_), 0.25 * skin_ * skin_);
  strained_.assign(static_cast<std::size_t>(n_systems_), 0);
  sys_state_.assign(static_cast<std::size_t>(n_systems_), 0);  // 0 kept, 1 kept with lattice jumps, 2 rebuilt
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    const auto p = pbc_of(g, s);
    bool any = false, all = true;
    for (int d = 0; d < 3; ++d) {
      if (static_cast<std::uint8_t>(p[d]) != ref_pbc_[3 * s + d]) return kRebuildAll;
      any = any || p[d];
      all = all && p[d];
    }
    std::copy_n(&ref_cell_[9 * s], 9, &now_cell_[9 * s]);
    std::copy_n(&ref_recip_[9 * s], 9, &now_recip_[9 * s]);
    if (!any) continue;
    if (g.cell == nullptr) return kRebuildAll;
    bool changed = false;
    for (int e = 0; e < 9; ++e) changed = changed || static_cast<double>(g.cell[9 * s + e]) != ref_cell_[9 * s + e];
    if (!changed) continue;
    if (!all) {
      sys_state_[s] = 2;
      continue;
    }
    double h[9];
    for (int e = 0; e < 9; ++e) h[e] = static_cast<double>(g.cell[9 * s + e]);
    Frame f;
    const bool periodic[3] = {true, true, true};
    if (make_frame(h, periodic, f).error != FrameError::kNone) {  // the build names the problem
      sys_state_[s] = 2;
      continue;
    }
    // A[e][c] = sum_d recip0[d][e] h[d][c]: x0 A maps a build position into the current cell.
    double* A = &strain_[9 * s];
    for (int e = 0; e < 3; ++e)
      for (int c = 0; c < 3; ++c) {
        double a = 0;
        for (int d = 0; d < 3; ++d) a += ref_recip_[9 * s + 3 * d + e] * h[3 * d + c];
        A[3 * e + c] = a;
      }
    const double delta = detail::strained_skin(A, skin_, rc);
    if (!(delta > 0)) {  // also NaN
      sys_state_[s] = 2;
      continue;
    }
    thr2_[s] = 0.25 * delta * delta;
    strained_[s] = 1;
    for (int d = 0; d < 3; ++d)
      for (int e = 0; e < 3; ++e) {
        now_cell_[9 * s + 3 * d + e] = f.row[d][e];
        now_recip_[9 * s + 3 * d + e] = f.recip[d][e];
      }
  }
  if (n_atoms_ > 0 && g.positions == nullptr) return kRebuildAll;

  // Displacements since the build (from x0 A under a strain); one longer than the threshold is
  // first reduced by the nearest lattice vector (periodic directions), and only what remains counts.
  // Systems are checked in parallel (a pass over every atom, each step); the rare lattice jumps
  // are then collected serially, in system order. Each system is judged on its own atoms and cell
  // only; once cells move (a barostat), only the systems that need it are rebuilt, so that a
  // system's list, and so its forces to the last bit, do not depend on the rest of its batch.
  auto classify = [&](std::int64_t s, std::int64_t a, int* k) {
    double dl[3];
    const double* x0 = &ref_positions_[3 * a];
    if (strained_[s]) {
      const double* A = &strain_[9 * s];
      for (int e = 0; e < 3; ++e)
        dl[e] = static_cast<double>(g.positions[3 * a + e]) - (x0[0] * A[e] + x0[1] * A[3 + e] + x0[2] * A[6 + e]);
    } else {
      for (int e = 0; e < 3; ++e) dl[e] = static_cast<double>(g.positions[3 * a + e]) - x0[e];
    }
    return classify_displacement(dl, &now_cell_[9 * s], &now_recip_[9 * s], &ref_pbc_[3 * s], thr2_[s], k);
  };
  // The check runs over chunks of at most kCheckChunk atoms of one system each, so that one large
  // system is checked by every thread too; a system's verdict is its chunks' worst (2 rebuild >
  // 1 lattice jump > 0), which is what one pass over its atoms finds.
  constexpr std::int64_t kCheckChunk = 4096;
  std::uint8_t* mv = sys_state_.data();
  check_begin_.clear();
  check_system_.clear();
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    if (mv[s] == 2) continue;
    for (std::int64_t a = atoms_ptr_[s]; a < atoms_ptr_[s + 1]; a += kCheckChunk) {
      check_begin_.push_back(a);
      check_system_.push_back(s);
    }
    mv[s] = 0;
  }
  const auto n_chunks = static_cast<std::int64_t>(check_system_.size());
  check_state_.assign(static_cast<std::size_t>(n_chunks), 0);
  // parallel_for_weighted wants a prefix of costs: chunk starts, the last one's end appended.
  check_begin_.push_back(
      n_chunks > 0 ? std::min(check_begin_.back() + kCheckChunk, atoms_ptr_[check_system_.back() + 1]) : 0);
  const std::int64_t* cb = check_begin_.data();
  const std::int64_t* cs = check_system_.data();
  std::uint8_t* cst = check_state_.data();
  parallel_for_weighted(n_chunks, cb, [&](std::int64_t c) {
    const std::int64_t s = cs[c];
    const std::int64_t end = std::min(cb[c] + kCheckChunk, atoms_ptr_[s + 1]);
    // First the common case, every atom within the threshold, in a loop without branches: the
    // squared displacements as classify() rounds them, only compared. Any other atom (or a NaN)
    // sends the chunk through classify() atom by atom.
    if (all_within(g.positions, ref_positions_.data(), cb[c], end, strained_[s] != 0 ? &strain_[9 * s] : nullptr,
                   thr2_[s])) {
      cst[c] = 0;
      return;
    }
    std::uint8_t state = 0;
    for (std::int64_t a = cb[c]; a < end; ++a) {
      int k[3];
      const Displacement d = classify(s, a, k);
      if (d == Displacement::kRebuild) {
        state = 2;
        break;
      }
      if (d == Displacement::kLatticeJump) state = 1;
    }
    cst[c] = state;
  });
  for (std::int64_t c = 0; c < n_chunks; ++c) mv[cs[c]] = std::max(mv[cs[c]], cst[c]);
  bool some = false, any_strained = false;
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    some = some || mv[s] == 2;
    any_strained = any_strained || strained_[s] != 0;
  }
  // Without a strained cell in the batch, a rebuild rebuilds every system, as the GPU list does
  // (the CPU and GPU lists rebuild at the same steps: tests/model/lj_model_cases.hpp).
  if (some && (n_systems_ == 1 || !any_strained)) return kRebuildAll;
  pending_slots_.clear();
  pending_jumps_.clear();
  for (std::int64_t s = 0; s < n_systems_; ++s) {
    if (mv[s] == 0) continue;
    for (std::int64_t a = atoms_ptr_[s]; a < atoms_ptr_[s + 1]; ++a) {
      int k[3];
      if (classify(s, a, k) != Displacement::kLatticeJump) continue;
      pending_slots_.push_back(slot_of_[a]);
      pending_jumps_.insert(pending_jumps_.end(), k, k + 3);
    }
  }
  return some ? kRebuildSome : kKeep;
}

template int NeighborList::refresh<float>(const BatchGeometry<float>&);
template int NeighborList::refresh<double>(const BatchGeometry<double>&);

}  // namespace batchmd::model
