// SPDX-License-Identifier: Apache-2.0
// data/batch: AtomicData (one system) and Batch (many systems, struct of arrays, CSR by
// system) with the batch operations: build from systems, split, index_select, concat and a
// masked put into pre-reserved storage. atoms_ptr, edges_ptr and system_index are kept
// consistent by every operation.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "batchmd/core/tensor.hpp"
#include "batchmd/data/schema.hpp"

namespace batchmd {

struct Field {
  Level level;
  Tensor tensor;  // leading axis: atoms, edges or 1 (AtomicData) / systems (Batch)
};

/// The field name whose values are atom indices; local to the system in AtomicData,
/// global (offset by atoms_ptr) in a Batch.
inline constexpr std::string_view kEdgeIndex = "edge_index";

/// One atomic system. System-level fields have leading dimension 1.
class AtomicData {
 public:
  AtomicData() = default;
  /// A system from positions [n][3] (Å), atomic numbers, an optional cell (rows a,b,c in Å;
  /// all zeros for an open system) and pbc. Masses default to standard atomic weights.
  static AtomicData make(DType float_dtype, const std::vector<double>& positions,
                         const std::vector<std::int64_t>& atomic_numbers, const std::vector<double>& cell = {},
                         std::array<bool, 3> pbc = {false, false, false});

  std::int64_t n_atoms() const { return n_atoms_; }
  std::int64_t n_edges() const { return n_edges_; }
  bool has(std::string_view name) const { return fields_.count(std::string(name)) != 0; }
  Tensor& get(std::string_view name);
  const Tensor& get(std::string_view name) const;
  Level level(std::string_view name) const;
  /// Adds or replaces a field; its leading dimension must match the level (1 for system).
  void set(std::string name, Level level, Tensor t);
  void erase(std::string_view name);
  const std::map<std::string, Field, std::less<>>& fields() const { return fields_; }
  AtomicData clone() const;

 private:
  friend class Batch;
  std::map<std::string, Field, std::less<>> fields_;
  std::int64_t n_atoms_ = -1;  // -1: not known until the first atom-level field
  std::int64_t n_edges_ = -1;
};

class Batch {
 public:
  Batch();
  Batch(Batch&&) noexcept = default;
  Batch& operator=(Batch&&) noexcept = default;

  static Batch from_systems(std::span<const AtomicData> systems);
  /// A batch from whole field tensors and per-system atom/edge counts (as readers and sinks
  /// hold them). Leading dimensions are checked against the counts; throws FormatError.
  static Batch from_parts(std::span<const std::int64_t> atoms_per_system,
                          std::span<const std::int64_t> edges_per_system,
                          std::map<std::string, Field, std::less<>> fields);
  std::vector<AtomicData> split() const;
  AtomicData system(std::int64_t i) const;
  /// A new batch of the given systems, in the given order.
  Batch index_select(std::span<const std::int64_t> systems) const;
  /// All systems of `parts`, in order. Every part must have the same fields.
  static Batch concat(std::span<const Batch* const> parts);
  /// Appends src's systems where mask is true, in place: the result must fit in the capacity
  /// reserved with reserve(), else CapacityError and nothing changes.
  void put(const Batch& src, const std::vector<bool>& mask);
  /// Appends the given systems of src (growing storage as needed).
  void append(const Batch& src, std::span<const std::int64_t> systems);
  /// Pre-allocates storage for this many systems, atoms and edges (for put()).
  void reserve(std::int64_t systems, std::int64_t atoms, std::int64_t edges);
  /// Drops every system, keeping fields, dtypes and reserved storage.
  void clear();
  Batch clone() const;
  /// A copy with every field on device d (the pointer arrays stay on the host too).
  Batch to(const Device& d) const;
  /// Where the fields live (cpu for a batch without fields).
  const Device& device() const { return device_; }
  bool is_cuda() const { return !device_.is_cpu(); }
  /// atoms_ptr / edges_ptr / system_index on the batch's device, for kernels (the host arrays
  /// for a CPU batch; a GPU copy refreshed after the structure changed otherwise).
  const std::int64_t* atoms_ptr_on_device() const;
  const std::int64_t* edges_ptr_on_device() const;
  const std::int64_t* system_index_on_device() const;
  /// A batch with the same fields (levels, dtypes, shapes) and no systems.
  Batch empty_like() const;

  std::int64_t n_systems() const { return atoms_ptr_.rows() - 1; }
  std::int64_t n_atoms() const { return atoms_ptr_.data<std::int64_t>()[n_systems()]; }
  std::int64_t n_edges() const { return edges_ptr_.data<std::int64_t>()[n_systems()]; }
  std::int64_t system_capacity() const { return cap_systems_; }
  std::int64_t atom_capacity() const { return cap_atoms_; }
  std::int64_t edge_capacity() const { return cap_edges_; }

  /// int64 [n_systems+1]: system s owns atoms [atoms_ptr[s], atoms_ptr[s+1]).
  const Tensor& atoms_ptr() const { return atoms_ptr_; }
  const Tensor& edges_ptr() const { return edges_ptr_; }
  /// int64 [n_atoms]: the system each atom belongs to.
  const Tensor& system_index() const { return system_index_; }
  const std::int64_t* atoms_ptr_data() const { return atoms_ptr_.data<std::int64_t>(); }

  bool has(std::string_view name) const { return fields_.count(std::string(name)) != 0; }
  Tensor& get(std::string_view name);
  const Tensor& get(std::string_view name) const;
  Level level(std::string_view name) const;
  /// Adds a zero-filled field with the right leading dimension (returns the existing one if
  /// it already matches; throws if it exists with another level/dtype/shape).
  Tensor& add_field(const std::string& name, Level level, DType dtype, const Shape& trailing);
  /// Adds a standard field (see schema) in the batch's float dtype where floating.
  Tensor& add_standard(std::string_view name);
  /// Replaces or adds a field; its leading dimension must match its level.
  void set(const std::string& name, Level level, Tensor t);
  void erase(std::string_view name);
  const std::map<std::string, Field, std::less<>>& fields() const { return fields_; }
  /// dtype of positions (float32 or float64).
  DType float_dtype() const;
  /// Checks the invariants (pointer arrays, system_index, leading dims); throws FormatError.
  void validate() const;

 private:
  std::int64_t rows_for(Level l) const;
  void check_same_schema(const Batch& src) const;
  void adopt_schema(const Batch& src);
  void rebuild_system_index(std::int64_t from_system);
  void sync_device_index() const;
  std::map<std::string, Field, std::less<>> fields_;
  // The structure lives on the host (host code reads counts and offsets without a copy); a GPU
  // batch keeps device copies of it for kernels, refreshed lazily when it changed.
  Tensor atoms_ptr_, edges_ptr_, system_index_;
  Device device_;
  mutable Tensor dev_atoms_ptr_, dev_edges_ptr_, dev_system_index_;
  mutable bool dev_index_valid_ = false;
  std::int64_t cap_systems_ = 0, cap_atoms_ = 0, cap_edges_ = 0;
};

}  // namespace batchmd
