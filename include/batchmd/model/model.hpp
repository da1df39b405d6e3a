// SPDX-License-Identifier: Apache-2.0
// model/model: the Model interface — given a Batch, fill per-system energies, per-atom forces
// and, on request, per-system virial and stress. The contract below is all a model author needs:
// when the step loop calls compute() and what it relies on afterwards.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "batchmd/data/batch.hpp"

namespace batchmd::model {

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  /// Energies and forces (and on request virials and stresses) of every system of the batch at
  /// its current positions. Called by Dynamics::prepare() and once per step between the
  /// BEFORE_COMPUTE and AFTER_COMPUTE hooks, always on the whole batch.
  ///
  /// Reads: "positions" [N,3] (Å, the batch's float dtype; need not be wrapped into the cell),
  ///   "atomic_numbers" [N] int64, "cell" [S,3,3] (Å, rows a b c) and "pbc" [S,3] bool when
  ///   present, and the batch structure (atoms_ptr, system_index). Nothing else.
  /// Writes (adding the fields if absent, in the batch's float dtype), overwriting — never
  ///   accumulating — every system, also those a masked step does not update:
  ///   "energy" [S] (eV) and "forces" [N,3] (eV/Å, −∂E/∂x); with compute_stress also
  ///   "virial" [S,3,3] (eV, W = Σ r_ij ⊗ F_j over pairs, r_ij = x_j − x_i) and "stress"
  ///   [S,3,3] (eV/Å³, −W/V; zero unless all three directions are periodic). No other field.
  /// @post energy and forces belong to the current positions (hooks at AFTER_COMPUTE may then
  ///   add to them, e.g. a bias, or clamp the forces).
  /// Device: runs where the batch lives. For a GPU batch every kernel and copy goes on the
  ///   device's compute stream (cuda::compute_stream) and compute() may return before the
  ///   results exist: whatever is enqueued on that stream afterwards (the integrator, hook
  ///   kernels, a sink's gather, Tensor copies) sees them. A steady-state compute() must not wait
  ///   for the GPU; work on another stream must be ordered against the compute stream (events).
  /// Errors: InvalidArgument for missing or malformed fields (bad atomic numbers, degenerate
  ///   cells), NumericalError for non-finite positions or blow-ups, naming system and atom. For a
  ///   GPU batch an error found by a kernel may surface at a later call (LennardJones: at most two
  ///   calls late); the outputs of the calls in between are then not valid.
  /// Not thread-safe: a model keeps state between calls (neighbor lists); one compute at a time.
  virtual void compute(Batch& batch, bool compute_stress = false) = 0;
  /// Largest interaction range (Å); informs callers such as box-size checks.
  virtual double cutoff() const = 0;
  /// Opaque state beyond the batch that decides the exact floating-point result of the next
  /// compute() (for Lennard-Jones: the neighbor list's reference positions). Stored with a
  /// restart checkpoint and given back to restore_state, it lets a restarted run continue
  /// bit for bit. Empty for stateless models.
  virtual std::vector<double> state() const { return {}; }
  /// Restores state() for the systems of `batch` (same atoms, same order).
  virtual void restore_state(const Batch& /*batch*/, std::span<const double> /*state*/) {}
  /// Neighbor-list builds so far (a diagnostic: the run summary prints it); 0 for a model that
  /// keeps no list. A sum of models: its terms' builds added up.
  virtual std::int64_t neighbor_builds() const { return 0; }
  /// The atomic numbers the model evaluates, ascending, when an atom of another element makes
  /// compute() throw and the caller should refuse such a batch up front (app::check_model_elements
  /// names the structure that holds it); nullopt when the model takes every element, or checks
  /// the elements itself in compute() with its own message (EAM, Stillinger-Weber, Morse).
  virtual std::optional<std::vector<std::int64_t>> covered_elements() const { return std::nullopt; }
};

}  // namespace batchmd::model
