// SPDX-License-Identifier: Apache-2.0
// data/batch: AtomicData and Batch storage and the batch operations.
#include "batchmd/data/batch.hpp"

#include <algorithm>
#include <cstring>

#include "batchmd/core/cuda.hpp"
#include "batchmd/core/error.hpp"

namespace batchmd {

namespace {

Shape with_leading(std::int64_t n, const Shape& trailing_of) {
  Shape s{n};
  for (std::size_t i = 1; i < trailing_of.size(); ++i) s.push_back(trailing_of[i]);
  return s;
}

Shape trailing(const Tensor& t) { return Shape(t.shape().begin() + (t.ndim() ? 1 : 0), t.shape().end()); }

std::string describe(const std::string& name, const Field& f) {
  return "'" + name + "' (" + std::string(level_name(f.level)) + ", " + std::string(dtype_name(f.tensor.dtype())) +
         ", rows x " + shape_str(trailing(f.tensor)) + ")";
}

/// Copies rows between tensors on any devices (GPU copies are ordered on the compute stream;
/// copies into host memory are complete on return).
void copy_rows(Tensor& dst, std::int64_t dst_row, const Tensor& src, std::int64_t src_row, std::int64_t n) {
  if (n <= 0) return;
  const std::size_t rb = src.row_bytes();
  std::byte* d = dst.bytes() + static_cast<std::size_t>(dst_row) * rb;
  const std::byte* s = src.bytes() + static_cast<std::size_t>(src_row) * rb;
  const std::size_t bytes = static_cast<std::size_t>(n) * rb;
  if (!dst.is_cuda() && !src.is_cuda()) {
    std::memcpy(d, s, bytes);
    return;
  }
  const int dev = dst.is_cuda() ? dst.device().index : src.device().index;
  if (dst.is_cuda())
    cuda::copy_async(d, s, bytes, cuda::compute_stream(dev));
  else
    cuda::copy(d, s, bytes, cuda::compute_stream(dev));
}

void add_to_rows(Tensor& t, std::int64_t first_row, std::int64_t n_rows, std::int64_t delta) {
  if (delta == 0 || n_rows <= 0) return;
  const std::int64_t n = n_rows * t.row_numel();
  if (t.is_cuda()) {  // rare (edge indices on a GPU batch): adjust through the host
    std::vector<std::int64_t> h(static_cast<std::size_t>(n));
    auto* p = t.data<std::int64_t>() + first_row * t.row_numel();
    cuda::copy(h.data(), p, h.size() * sizeof(std::int64_t), cuda::compute_stream(t.device().index));
    for (auto& v : h) v += delta;
    cuda::copy_async(p, h.data(), h.size() * sizeof(std::int64_t), cuda::compute_stream(t.device().index));
    cuda::synchronize(cuda::compute_stream(t.device().index));
    return;
  }
  auto* p = t.data<std::int64_t>() + first_row * t.row_numel();
  for (std::int64_t i = 0; i < n; ++i) p[i] += delta;
}

}  // namespace

// ---------------------------------------------------------------- AtomicData

AtomicData AtomicData::make(DType float_dtype, const std::vector<double>& positions,
                            const std::vector<std::int64_t>& atomic_numbers, const std::vector<double>& cell,
                            std::array<bool, 3> pbc) {
  if (!is_floating(float_dtype)) throw_not_floating(float_dtype);
  const auto n = static_cast<std::int64_t>(atomic_numbers.size());
  if (positions.size() != static_cast<std::size_t>(3 * n))
    throw InvalidArgument("AtomicData::make: " + std::to_string(positions.size()) + " position values for " +
                          std::to_string(n) + " atoms (expected 3 per atom)");
  if (!cell.empty() && cell.size() != 9)
    throw InvalidArgument("AtomicData::make: cell needs 9 values (rows a, b, c), got " + std::to_string(cell.size()));
  AtomicData d;
  dispatch_float(float_dtype, [&](auto zero) {
    using T = decltype(zero);
    Tensor pos(float_dtype, {n, 3}), mass(float_dtype, {n}), c(float_dtype, {1, 3, 3});
    for (std::size_t i = 0; i < positions.size(); ++i) pos.data<T>()[i] = static_cast<T>(positions[i]);
    for (std::int64_t i = 0; i < n; ++i)
      mass.data<T>()[i] = static_cast<T>(atomic_mass(atomic_numbers[static_cast<std::size_t>(i)]));
    for (std::size_t i = 0; i < cell.size(); ++i) c.data<T>()[i] = static_cast<T>(cell[i]);
    d.set("positions", Level::Atom, std::move(pos));
    d.set("masses", Level::Atom, std::move(mass));
    d.set("cell", Level::System, std::move(c));
  });
  d.set("atomic_numbers", Level::Atom, Tensor::from(atomic_numbers, {n}));
  Tensor p(DType::Bool, {1, 3});
  for (int k = 0; k < 3; ++k) p.data<bool>()[k] = pbc[static_cast<std::size_t>(k)];
  d.set("pbc", Level::System, std::move(p));
  return d;
}

Tensor& AtomicData::get(std::string_view name) {
  auto it = fields_.find(name);
  if (it == fields_.end()) throw InvalidArgument("system has no field '" + std::string(name) + "'");
  return it->second.tensor;
}
const Tensor& AtomicData::get(std::string_view name) const { return const_cast<AtomicData*>(this)->get(name); }

Level AtomicData::level(std::string_view name) const {
  auto it = fields_.find(name);
  if (it == fields_.end()) throw InvalidArgument("system has no field '" + std::string(name) + "'");
  return it->second.level;
}

void AtomicData::set(std::string name, Level level, Tensor t) {
  if (t.ndim() == 0) throw InvalidArgument("field '" + name + "' needs a leading axis");
  std::int64_t* count = level == Level::Atom ? &n_atoms_ : level == Level::Edge ? &n_edges_ : nullptr;
  auto it = fields_.find(name);
  const bool replacing_only_of_level =
      it != fields_.end() && count &&
      std::count_if(fields_.begin(), fields_.end(), [&](auto& kv) { return kv.second.level == level; }) == 1;
  if (level == Level::System) {
    if (t.rows() != 1) throw InvalidArgument("system-level field '" + name + "' must have leading dimension 1");
  } else if (*count >= 0 && t.rows() != *count && !replacing_only_of_level) {
    throw InvalidArgument("field '" + name + "' has " + std::to_string(t.rows()) + " rows but the system has " +
                          std::to_string(*count) + (level == Level::Atom ? " atoms" : " edges"));
  }
  if (count) *count = t.rows();
  fields_.insert_or_assign(std::move(name), Field{level, std::move(t)});
}

void AtomicData::erase(std::string_view name) {
  auto it = fields_.find(name);
  if (it != fields_.end()) fields_.erase(it);
}

AtomicData AtomicData::clone() const {
  AtomicData d;
  d.n_atoms_ = n_atoms_;
  d.n_edges_ = n_edges_;
  for (const auto& [k, f] : fields_) d.fields_.emplace(k, Field{f.level, f.tensor.clone()});
  return d;
}

// ---------------------------------------------------------------- Batch

Batch::Batch() : atoms_ptr_(DType::Int64, {1}), edges_ptr_(DType::Int64, {1}), system_index_(DType::Int64, {0}) {}

std::int64_t Batch::rows_for(Level l) const {
  switch (l) {
    case Level::Atom:
      return n_atoms();
    case Level::Edge:
      return n_edges();
    case Level::System:
      return n_systems();
  }
  return 0;
}

Tensor& Batch::get(std::string_view name) {
  auto it = fields_.find(name);
  if (it == fields_.end()) throw InvalidArgument("batch has no field '" + std::string(name) + "'");
  return it->second.tensor;
}
const Tensor& Batch::get(std::string_view name) const { return const_cast<Batch*>(this)->get(name); }

Level Batch::level(std::string_view name) const {
  auto it = fields_.find(name);
  if (it == fields_.end()) throw InvalidArgument("batch has no field '" + std::string(name) + "'");
  return it->second.level;
}

DType Batch::float_dtype() const {
  auto it = fields_.find("positions");
  return it == fields_.end() ? DType::Float64 : it->second.tensor.dtype();
}

Tensor& Batch::add_field(const std::string& name, Level level, DType dtype, const Shape& trail) {
  auto it = fields_.find(name);
  if (it != fields_.end()) {
    const Field& f = it->second;
    if (f.level != level || f.tensor.dtype() != dtype || trailing(f.tensor) != trail)
      throw InvalidArgument("field " + describe(name, f) + " already exists with another level, dtype or shape");
    return it->second.tensor;
  }
  Shape s{rows_for(level)};
  s.insert(s.end(), trail.begin(), trail.end());
  Tensor t(dtype, s, device_);
  const std::int64_t cap = level == Level::Atom ? cap_atoms_ : level == Level::Edge ? cap_edges_ : cap_systems_;
  if (cap > t.rows()) t.reserve_rows(cap);
  return fields_.emplace(name, Field{level, std::move(t)}).first->second.tensor;
}

Tensor& Batch::add_standard(std::string_view name) {
  auto spec = standard_field(name);
  if (!spec) throw InvalidArgument("'" + std::string(name) + "' is not a standard field");
  return add_field(std::string(name), spec->level, spec->floating ? float_dtype() : spec->dtype, spec->trailing);
}

void Batch::set(const std::string& name, Level level, Tensor t) {
  if (!fields_.empty() && t.device() != device_)
    throw InvalidArgument("field '" + name + "' is on " + t.device().str() + " but the batch is on " + device_.str());
  if (fields_.empty()) device_ = t.device();
  if (t.ndim() == 0 || t.rows() != rows_for(level))
    throw InvalidArgument("field '" + name + "' has leading dimension " + std::to_string(t.ndim() ? t.rows() : -1) +
                          " but the batch has " + std::to_string(rows_for(level)) + " " +
                          std::string(level_name(level)) + " rows");
  fields_.insert_or_assign(name, Field{level, std::move(t)});
}

void Batch::erase(std::string_view name) {
  auto it = fields_.find(name);
  if (it != fields_.end()) fields_.erase(it);
}

void Batch::reserve(std::int64_t systems, std::int64_t atoms, std::int64_t edges) {
  if (systems < 0 || atoms < 0 || edges < 0) throw InvalidArgument("Batch::reserve: negative capacity");
  cap_systems_ = std::max(cap_systems_, systems);
  cap_atoms_ = std::max(cap_atoms_, atoms);
  cap_edges_ = std::max(cap_edges_, edges);
  atoms_ptr_.reserve_rows(cap_systems_ + 1);
  edges_ptr_.reserve_rows(cap_systems_ + 1);
  system_index_.reserve_rows(cap_atoms_);
  for (auto& [k, f] : fields_)
    f.tensor.reserve_rows(f.level == Level::Atom ? cap_atoms_ : f.level == Level::Edge ? cap_edges_ : cap_systems_);
}

void Batch::clear() {
  atoms_ptr_.resize_rows(1);
  edges_ptr_.resize_rows(1);
  system_index_.resize_rows(0);
  for (auto& [k, f] : fields_) f.tensor.resize_rows(0);
  dev_index_valid_ = false;
}

Batch Batch::empty_like() const {
  Batch b;
  b.adopt_schema(*this);
  return b;
}

void Batch::adopt_schema(const Batch& src) {
  fields_.clear();
  device_ = src.device_;
  for (const auto& [k, f] : src.fields_)
    fields_.emplace(k, Field{f.level, Tensor(f.tensor.dtype(), with_leading(0, f.tensor.shape()), device_)});
}

void Batch::check_same_schema(const Batch& src) const {
  for (const auto& [k, f] : src.fields_) {
    auto it = fields_.find(k);
    if (it == fields_.end()) throw InvalidArgument("field '" + k + "' is in the source batch but not in the target");
    const Field& g = it->second;
    if (g.level != f.level || g.tensor.dtype() != f.tensor.dtype() || trailing(g.tensor) != trailing(f.tensor))
      throw InvalidArgument("field mismatch: target has " + describe(k, g) + ", source has " + describe(k, f));
  }
  for (const auto& [k, f] : fields_)
    if (!src.fields_.count(k)) throw InvalidArgument("field '" + k + "' is in the target batch but not in the source");
}

Batch Batch::clone() const {
  Batch b;
  b.atoms_ptr_ = atoms_ptr_.clone();
  b.edges_ptr_ = edges_ptr_.clone();
  b.system_index_ = system_index_.clone();
  b.device_ = device_;
  for (const auto& [k, f] : fields_) b.fields_.emplace(k, Field{f.level, f.tensor.clone()});
  return b;
}

Batch Batch::to(const Device& d) const {
  cuda::require(d);
  Batch b;
  b.atoms_ptr_ = atoms_ptr_.clone();
  b.edges_ptr_ = edges_ptr_.clone();
  b.system_index_ = system_index_.clone();
  b.device_ = d;
  for (const auto& [k, f] : fields_) b.fields_.emplace(k, Field{f.level, f.tensor.to(d)});
  return b;
}

void Batch::sync_device_index() const {
  if (dev_index_valid_) return;
  dev_atoms_ptr_ = atoms_ptr_.to(device_);
  dev_edges_ptr_ = edges_ptr_.to(device_);
  dev_system_index_ = system_index_.to(device_);
  dev_index_valid_ = true;
}

const std::int64_t* Batch::atoms_ptr_on_device() const {
  if (device_.is_cpu()) return atoms_ptr_.data<std::int64_t>();
  sync_device_index();
  return dev_atoms_ptr_.data<std::int64_t>();
}
const std::int64_t* Batch::edges_ptr_on_device() const {
  if (device_.is_cpu()) return edges_ptr_.data<std::int64_t>();
  sync_device_index();
  return dev_edges_ptr_.data<std::int64_t>();
}
const std::int64_t* Batch::system_index_on_device() const {
  if (device_.is_cpu()) return system_index_.data<std::int64_t>();
  sync_device_index();
  return dev_system_index_.data<std::int64_t>();
}

void Batch::rebuild_system_index(std::int64_t from_system) {
  dev_index_valid_ = false;
  const auto* ap = atoms_ptr_.data<std::int64_t>();
  system_index_.resize_rows(n_atoms());
  auto* si = system_index_.data<std::int64_t>();
  for (std::int64_t s = from_system; s < n_systems(); ++s)
    for (std::int64_t a = ap[s]; a < ap[s + 1]; ++a) si[a] = s;
}

void Batch::append(const Batch& src, std::span<const std::int64_t> systems) {
  if (fields_.empty() && n_systems() == 0)
    adopt_schema(src);
  else
    check_same_schema(src);
  const auto* sap = src.atoms_ptr_.data<std::int64_t>();
  const auto* sep = src.edges_ptr_.data<std::int64_t>();
  std::int64_t add_atoms = 0, add_edges = 0;
  for (auto s : systems) {
    if (s < 0 || s >= src.n_systems())
      throw InvalidArgument("system index " + std::to_string(s) + " out of range for a batch of " +
                            std::to_string(src.n_systems()) + " systems");
    add_atoms += sap[s + 1] - sap[s];
    add_edges += sep[s + 1] - sep[s];
  }
  const std::int64_t s0 = n_systems(), a0 = n_atoms(), e0 = n_edges();
  const auto k = static_cast<std::int64_t>(systems.size());
  atoms_ptr_.resize_rows(s0 + k + 1);
  edges_ptr_.resize_rows(s0 + k + 1);
  for (auto& [name, f] : fields_)
    f.tensor.resize_rows(f.level == Level::Atom ? a0 + add_atoms : f.level == Level::Edge ? e0 + add_edges : s0 + k);
  auto* ap = atoms_ptr_.data<std::int64_t>();
  auto* ep = edges_ptr_.data<std::int64_t>();
  // Copy runs of consecutive source systems with one memcpy per field.
  std::int64_t i = 0, sys = s0;
  while (i < k) {
    std::int64_t j = i + 1;
    while (j < k && systems[static_cast<std::size_t>(j)] == systems[static_cast<std::size_t>(j - 1)] + 1) ++j;
    const std::int64_t first = systems[static_cast<std::size_t>(i)], last = systems[static_cast<std::size_t>(j - 1)];
    const std::int64_t na = sap[last + 1] - sap[first], ne = sep[last + 1] - sep[first];
    const std::int64_t da = ap[sys], de = ep[sys];
    for (auto& [name, f] : fields_) {
      const Tensor& st = src.fields_.find(name)->second.tensor;
      switch (f.level) {
        case Level::Atom:
          copy_rows(f.tensor, da, st, sap[first], na);
          break;
        case Level::Edge:
          copy_rows(f.tensor, de, st, sep[first], ne);
          if (name == kEdgeIndex) add_to_rows(f.tensor, de, ne, da - sap[first]);
          break;
        case Level::System:
          copy_rows(f.tensor, sys, st, first, j - i);
          break;
      }
    }
    for (std::int64_t t = i; t < j; ++t, ++sys) {
      const auto s = systems[static_cast<std::size_t>(t)];
      ap[sys + 1] = ap[sys] + (sap[s + 1] - sap[s]);
      ep[sys + 1] = ep[sys] + (sep[s + 1] - sep[s]);
    }
    i = j;
  }
  rebuild_system_index(s0);
}

void Batch::put(const Batch& src, const std::vector<bool>& mask) {
  if (mask.size() != static_cast<std::size_t>(src.n_systems()))
    throw InvalidArgument("put: mask has " + std::to_string(mask.size()) + " entries for " +
                          std::to_string(src.n_systems()) + " systems");
  std::vector<std::int64_t> idx;
  std::int64_t atoms = 0, edges = 0;
  const auto* sap = src.atoms_ptr_.data<std::int64_t>();
  const auto* sep = src.edges_ptr_.data<std::int64_t>();
  for (std::size_t s = 0; s < mask.size(); ++s)
    if (mask[s]) {
      idx.push_back(static_cast<std::int64_t>(s));
      atoms += sap[s + 1] - sap[s];
      edges += sep[s + 1] - sep[s];
    }
  if (!(fields_.empty() && n_systems() == 0)) check_same_schema(src);
  if (n_systems() + static_cast<std::int64_t>(idx.size()) > cap_systems_ || n_atoms() + atoms > cap_atoms_ ||
      n_edges() + edges > cap_edges_)
    throw CapacityError("put: " + std::to_string(idx.size()) + " systems (" + std::to_string(atoms) + " atoms, " +
                        std::to_string(edges) + " edges) do not fit; batch holds " + std::to_string(n_systems()) + "/" +
                        std::to_string(cap_systems_) + " systems, " + std::to_string(n_atoms()) + "/" +
                        std::to_string(cap_atoms_) + " atoms, " + std::to_string(n_edges()) + "/" +
                        std::to_string(cap_edges_) + " edges");
  append(src, idx);
}

Batch Batch::from_systems(std::span<const AtomicData> systems) {
  Batch b;
  if (systems.empty()) return b;
  std::int64_t atoms = 0, edges = 0;
  for (std::size_t i = 0; i < systems.size(); ++i) {
    const AtomicData& d = systems[i];
    if (d.fields_.size() != systems[0].fields_.size())
      throw InvalidArgument("system " + std::to_string(i) + " has " + std::to_string(d.fields_.size()) +
                            " fields, system 0 has " + std::to_string(systems[0].fields_.size()));
    for (const auto& [k, f] : systems[0].fields_) {
      auto it = d.fields_.find(k);
      if (it == d.fields_.end())
        throw InvalidArgument("system " + std::to_string(i) + " lacks field '" + k + "' that system 0 has");
      if (it->second.level != f.level || it->second.tensor.dtype() != f.tensor.dtype() ||
          trailing(it->second.tensor) != trailing(f.tensor))
        throw InvalidArgument("system " + std::to_string(i) + ": field " + describe(k, it->second) +
                              " differs from system 0's " + describe(k, f));
    }
    atoms += std::max<std::int64_t>(d.n_atoms(), 0);
    edges += std::max<std::int64_t>(d.n_edges(), 0);
  }
  for (const auto& [k, f] : systems[0].fields_)
    b.fields_.emplace(k, Field{f.level, Tensor(f.tensor.dtype(), with_leading(0, f.tensor.shape()))});
  b.reserve(static_cast<std::int64_t>(systems.size()), atoms, edges);
  const auto n = static_cast<std::int64_t>(systems.size());
  b.atoms_ptr_.resize_rows(n + 1);
  b.edges_ptr_.resize_rows(n + 1);
  auto* ap = b.atoms_ptr_.data<std::int64_t>();
  auto* ep = b.edges_ptr_.data<std::int64_t>();
  for (std::int64_t s = 0; s < n; ++s) {
    ap[s + 1] = ap[s] + std::max<std::int64_t>(systems[static_cast<std::size_t>(s)].n_atoms(), 0);
    ep[s + 1] = ep[s] + std::max<std::int64_t>(systems[static_cast<std::size_t>(s)].n_edges(), 0);
  }
  for (auto& [k, f] : b.fields_) {
    f.tensor.resize_rows(f.level == Level::Atom ? atoms : f.level == Level::Edge ? edges : n);
    for (std::int64_t s = 0; s < n; ++s) {
      const Tensor& st = systems[static_cast<std::size_t>(s)].fields_.find(k)->second.tensor;
      const std::int64_t row = f.level == Level::Atom ? ap[s] : f.level == Level::Edge ? ep[s] : s;
      copy_rows(f.tensor, row, st, 0, st.rows());
      if (k == kEdgeIndex) add_to_rows(f.tensor, row, st.rows(), ap[s]);
    }
  }
  b.rebuild_system_index(0);
  return b;
}

Batch Batch::from_parts(std::span<const std::int64_t> atoms_per_system, std::span<const std::int64_t> edges_per_system,
                        std::map<std::string, Field, std::less<>> fields) {
  if (!edges_per_system.empty() && edges_per_system.size() != atoms_per_system.size())
    throw FormatError("from_parts: " + std::to_string(edges_per_system.size()) + " edge counts for " +
                      std::to_string(atoms_per_system.size()) + " systems");
  Batch b;
  const auto n = static_cast<std::int64_t>(atoms_per_system.size());
  b.atoms_ptr_.resize_rows(n + 1);
  b.edges_ptr_.resize_rows(n + 1);
  auto* ap = b.atoms_ptr_.data<std::int64_t>();
  auto* ep = b.edges_ptr_.data<std::int64_t>();
  for (std::int64_t s = 0; s < n; ++s) {
    const auto na = atoms_per_system[static_cast<std::size_t>(s)];
    const auto ne = edges_per_system.empty() ? 0 : edges_per_system[static_cast<std::size_t>(s)];
    if (na < 0 || ne < 0) throw FormatError("from_parts: negative atom or edge count for system " + std::to_string(s));
    ap[s + 1] = ap[s] + na;
    ep[s + 1] = ep[s] + ne;
  }
  for (auto& [k, f] : fields) {
    if (f.tensor.ndim() == 0 || f.tensor.rows() != b.rows_for(f.level))
      throw FormatError("field '" + k + "' has " + std::to_string(f.tensor.ndim() ? f.tensor.rows() : -1) +
                        " rows, expected " + std::to_string(b.rows_for(f.level)) + " (" +
                        std::string(level_name(f.level)) + " level)");
  }
  if (!fields.empty()) {
    b.device_ = fields.begin()->second.tensor.device();
    for (auto& [k, f] : fields)
      if (f.tensor.device() != b.device_)
        throw FormatError("from_parts: field '" + k + "' is on " + f.tensor.device().str() + ", others on " +
                          b.device_.str());
  }
  b.fields_ = std::move(fields);
  b.rebuild_system_index(0);
  return b;
}

AtomicData Batch::system(std::int64_t s) const {
  if (s < 0 || s >= n_systems())
    throw InvalidArgument("system " + std::to_string(s) + " out of range for a batch of " +
                          std::to_string(n_systems()) + " systems");
  const auto* ap = atoms_ptr_.data<std::int64_t>();
  const auto* ep = edges_ptr_.data<std::int64_t>();
  AtomicData d;
  d.n_atoms_ = ap[s + 1] - ap[s];
  d.n_edges_ = ep[s + 1] - ep[s];
  for (const auto& [k, f] : fields_) {
    const std::int64_t first = f.level == Level::Atom ? ap[s] : f.level == Level::Edge ? ep[s] : s;
    const std::int64_t n = f.level == Level::Atom ? d.n_atoms_ : f.level == Level::Edge ? d.n_edges_ : 1;
    Tensor t(f.tensor.dtype(), with_leading(n, f.tensor.shape()));
    copy_rows(t, 0, f.tensor, first, n);
    if (k == kEdgeIndex) add_to_rows(t, 0, n, -ap[s]);
    d.fields_.emplace(k, Field{f.level, std::move(t)});
  }
  return d;
}

std::vector<AtomicData> Batch::split() const {
  std::vector<AtomicData> out;
  out.reserve(static_cast<std::size_t>(n_systems()));
  for (std::int64_t s = 0; s < n_systems(); ++s) out.push_back(system(s));
  return out;
}

Batch Batch::index_select(std::span<const std::int64_t> systems) const {
  Batch b = empty_like();
  b.append(*this, systems);
  return b;
}

Batch Batch::concat(std::span<const Batch* const> parts) {
  if (parts.empty()) return Batch();
  Batch b = parts[0]->empty_like();
  for (const Batch* p : parts) {
    std::vector<std::int64_t> all(static_cast<std::size_t>(p->n_systems()));
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
    b.append(*p, all);
  }
  return b;
}

void Batch::validate() const {
  const auto* ap = atoms_ptr_.data<std::int64_t>();
  const auto* ep = edges_ptr_.data<std::int64_t>();
  if (ap[0] != 0 || ep[0] != 0) throw FormatError("batch pointer arrays must start at 0");
  for (std::int64_t s = 0; s < n_systems(); ++s)
    if (ap[s + 1] < ap[s] || ep[s + 1] < ep[s])
      throw FormatError("batch pointer arrays decrease at system " + std::to_string(s));
  if (system_index_.rows() != n_atoms()) throw FormatError("system_index length differs from the atom count");
  const auto* si = system_index_.data<std::int64_t>();
  for (std::int64_t s = 0; s < n_systems(); ++s)
    for (std::int64_t a = ap[s]; a < ap[s + 1]; ++a)
      if (si[a] != s) throw FormatError("system_index[" + std::to_string(a) + "] is not " + std::to_string(s));
  for (const auto& [k, f] : fields_)
    if (f.tensor.rows() != rows_for(f.level))
      throw FormatError("field '" + k + "' has " + std::to_string(f.tensor.rows()) + " rows, expected " +
                        std::to_string(rows_for(f.level)));
}

}  // namespace batchmd
