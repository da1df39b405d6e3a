// SPDX-License-Identifier: Apache-2.0
// sinks/trajectory_reader: TrajectoryReader — opens a trajectory store (batchmd's or another
// writer's in the same layout), validates the pointer arrays against num_samples and the standard
// fields against the schema, and reads samples by range, index list or system_id;
// last_snapshot_per_system for restarts.
//
// Whatever the store claims, reading stays bounded: sizes are checked against the read budget
// (zarr/read_limits) before anything is allocated, pointer arrays are read chunk by chunk, and in
// a batchmd store (root attribute batchmd.chunks = "complete") a chunk missing inside the
// committed rows is an error naming its key rather than a silent run of fill values.
#include <algorithm>
#include <limits>
#include <map>

#include "batchmd/core/error.hpp"
#include "batchmd/data/schema.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/group.hpp"
#include "batchmd/zarr/read_limits.hpp"

namespace batchmd::sinks {

// ====================================================================== TrajectoryReader

struct TrajectoryReader::Impl {
  std::string url;
  std::shared_ptr<zarr::Store> store;
  std::optional<zarr::Group> root;
  nlohmann::json attrs;
  int format = 3;
  std::int64_t n = 0;
  std::vector<std::int64_t> aptr, eptr;
  struct F {
    std::string group, name;
    Level level;
    zarr::Array array;
    /// The ALCHEMI toolkit's layout of an index field: [2, E], concatenated along the last axis,
    /// with store-wide atom indices (batchmd writes [E, 2] with sample-local ones).
    bool toolkit_index = false;
  };
  std::vector<bool> live;  ///< meta/samples_mask (all true without it): false = soft-deleted
  std::vector<F> fields;
  mutable std::optional<std::vector<std::int64_t>> system_ids;

  void open() {
    store = zarr::open_store(url);
    auto node = zarr::find_node(*store, "");
    if (!node) throw FormatError(url + ": no Zarr store here (no zarr.json or .zgroup at the root)");
    if (node->type != zarr::NodeType::Group)
      throw FormatError(url + ": the root is a Zarr array, not a trajectory group");
    format = static_cast<int>(node->format);
    root = zarr::Group::open(store, "");
    load();
  }

  void load() {
    attrs = root->attributes();
    if (!attrs.contains("num_samples") || !attrs["num_samples"].is_number_integer() ||
        attrs["num_samples"].get<std::int64_t>() < 0)
      throw FormatError(url +
                        ": not a trajectory store: root attribute 'num_samples' is missing or not an integer >= 0");
    if (!attrs.contains("fields") || !attrs["fields"].is_object())
      throw FormatError(url + ": not a trajectory store: root attribute 'fields' is missing");
    n = attrs["num_samples"].get<std::int64_t>();
    if (n == std::numeric_limits<std::int64_t>::max()) throw FormatError(url + ": num_samples is out of range");
    zarr::Array ap = root->open_array("meta/atoms_ptr");
    check_pointer_array(ap, "meta/atoms_ptr");
    aptr = read_int64(ap, n + 1, "meta/atoms_ptr");
    if (zarr::find_node(*store, "meta/edges_ptr")) {
      zarr::Array ep = root->open_array("meta/edges_ptr");
      check_pointer_array(ep, "meta/edges_ptr");
      eptr = read_int64(ep, n + 1, "meta/edges_ptr");
    } else {
      zarr::check_read_size(8.0 * static_cast<double>(n + 1), url + ": edge pointers");
      eptr.assign(static_cast<std::size_t>(n + 1), 0);
    }
    for (std::int64_t i = 0; i < n; ++i)
      if (aptr[i + 1] < aptr[i] || eptr[i + 1] < eptr[i])
        throw FormatError(url + ": meta/atoms_ptr or meta/edges_ptr decreases at sample " + std::to_string(i));
    if (aptr[0] != 0 || eptr[0] != 0) throw FormatError(url + ": meta/atoms_ptr and meta/edges_ptr must start at 0");
    fields.clear();
    for (const char* group : {"core", "custom"}) {
      if (!attrs["fields"].contains(group)) continue;
      const auto& g = attrs["fields"][group];
      if (!g.is_object()) throw FormatError(url + ": root attribute fields." + group + " is not an object");
      for (auto it = g.begin(); it != g.end(); ++it) {
        if (!it.value().is_string())
          throw FormatError(url + ": fields." + group + "." + it.key() + " must be \"atom\", \"edge\" or \"system\"");
        Level level;
        try {
          level = level_from_name(it.value().get<std::string>());
        } catch (const InvalidArgument& e) {
          throw FormatError(url + ": fields." + group + "." + it.key() + ": " + e.what());
        }
        zarr::Array a = root->open_array(std::string(group) + "/" + it.key());
        const std::int64_t need = level == Level::Atom ? aptr.back() : level == Level::Edge ? eptr.back() : n;
        // The toolkit's edge_index: int [2, E'] with E' >= E, in a store batchmd did not write.
        const auto& shape = a.meta().shape;
        const bool toolkit_index = it.key() == kEdgeIndex && level == Level::Edge && !attrs.contains("batchmd") &&
                                   shape.size() == 2 && shape[0] == 2 && shape[1] >= need &&
                                   (a.meta().dtype == DType::Int64 || a.meta().dtype == DType::Int32);
        if (!toolkit_index) check_schema(a, std::string(group) + "/" + it.key(), it.key(), level);
        const std::int64_t have = toolkit_index ? shape[1] : a.rows();
        if (have < need)
          throw FormatError(url + ": " + group + "/" + it.key() + " has " + std::to_string(have) +
                            " rows but the pointer arrays need " + std::to_string(need));
        fields.push_back(F{group, it.key(), level, std::move(a), toolkit_index});
      }
    }
    system_ids.reset();
    live.assign(static_cast<std::size_t>(n), true);
    if (zarr::find_node(*store, "meta/samples_mask")) {
      zarr::Array m = root->open_array("meta/samples_mask");
      if (m.meta().dtype != DType::Bool || m.meta().shape.size() != 1 || m.rows() < n)
        throw FormatError(url + ": meta/samples_mask must be a bool array of num_samples entries");
      const std::int64_t block = std::max<std::int64_t>(m.meta().chunk_rows, 1 << 16);
      for (std::int64_t r = 0; r < n; r += block) {
        const std::int64_t k = std::min(block, n - r);
        std::vector<std::uint8_t> v(static_cast<std::size_t>(k));
        m.read_rows(r, k, reinterpret_cast<std::byte*>(v.data()));
        for (std::int64_t i = 0; i < k; ++i)
          live[static_cast<std::size_t>(r + i)] = v[static_cast<std::size_t>(i)] != 0;
      }
    }
  }

  void check_pointer_array(const zarr::Array& a, const std::string& name) const {
    if (a.meta().dtype != DType::Int64 && a.meta().dtype != DType::Int32)
      throw FormatError(url + ": " + name + " must hold integers");
    if (a.meta().shape.size() != 1)
      throw FormatError(url + ": " + name + " must be one-dimensional, has " + std::to_string(a.meta().shape.size()) +
                        " axes");
    if (a.rows() < n + 1)
      throw FormatError(url + ": " + name + " has " + std::to_string(a.rows()) + " entries but num_samples is " +
                        std::to_string(n) + " (needs num_samples + 1)");
  }

  // Rows [0, rows) of a pointer array, a block at a time: memory grows with what the store
  // really holds, so a num_samples far beyond the stored chunks fails at the first missing one
  // (batchmd stores) before allocating what it claims.
  std::vector<std::int64_t> read_int64(const zarr::Array& a, std::int64_t rows, const std::string& name) const {
    zarr::check_read_size(8.0 * static_cast<double>(rows), url + ": " + name);
    const std::int64_t block = std::max<std::int64_t>(a.meta().chunk_rows, 1 << 16);
    std::vector<std::int64_t> out;
    for (std::int64_t r = 0; r < rows; r += block) {
      const std::int64_t k = std::min(block, rows - r);
      if (a.meta().dtype == DType::Int64) {
        const auto v = a.read<std::int64_t>(r, k);
        out.insert(out.end(), v.begin(), v.end());
      } else {
        const auto v = a.read<std::int32_t>(r, k);
        out.insert(out.end(), v.begin(), v.end());
      }
    }
    return out;
  }

  // A standard field (positions, cell, edge_index, ...) must have its schema's level, per-row
  // element count and kind (float or not): readers of a Batch index these by the schema.
  void check_schema(const zarr::Array& a, const std::string& path, const std::string& name, Level level) const {
    const auto spec = standard_field(name);
    if (!spec) return;
    if (spec->level != level)
      throw FormatError(url + ": " + path + " is recorded as a " + std::string(level_name(level)) + " field, but " +
                        name + " is per " + std::string(level_name(spec->level)));
    std::int64_t want = 1, have = 1;
    for (auto d : spec->trailing) want *= d;
    const auto& shape = a.meta().shape;
    for (std::size_t i = 1; i < shape.size(); ++i) have *= shape[i];
    if (have != want)
      throw FormatError(url + ": " + path + " has " + std::to_string(have) + " values per row, " + name + " has " +
                        std::to_string(want));
    const bool floating = a.meta().dtype == DType::Float32 || a.meta().dtype == DType::Float64;
    if (floating != spec->floating)
      throw FormatError(url + ": " + path + " holds " + std::string(dtype_name(a.meta().dtype)) + ", but " + name +
                        (spec->floating ? " are floating-point" : " are " + std::string(dtype_name(spec->dtype))));
  }

  // Samples [a, b) of a toolkit-layout index field ([2, E'], store-wide atom indices) as batchmd's
  // [E, 2] int64 with indices into the batch of those samples. A deleted sample's edges (zeroed by
  // the toolkit) are not checked against its atoms; they read as they are stored, shifted.
  Tensor toolkit_index(const F& f, std::int64_t a, std::int64_t b) const {
    const std::int64_t cols = f.array.meta().shape[1], e0 = eptr[a], ne = eptr[b] - eptr[a];
    Tensor raw(f.array.meta().dtype, {2, cols});
    f.array.read_rows(0, 2, raw.bytes());
    Tensor t(DType::Int64, {ne, 2});
    auto* v = t.data<std::int64_t>();
    for (std::int64_t i = a; i < b; ++i)
      for (std::int64_t e = eptr[i]; e < eptr[i + 1]; ++e)
        for (std::int64_t c = 0; c < 2; ++c) {
          const std::int64_t x = raw.dtype() == DType::Int64 ? raw.data<std::int64_t>()[c * cols + e]
                                                             : raw.data<std::int32_t>()[c * cols + e];
          const bool inside = x >= aptr[i] && x < aptr[i + 1];
          if (!inside && live[static_cast<std::size_t>(i)])
            throw FormatError(url + ": " + f.group + "/" + f.name + " of sample " + std::to_string(i) +
                              " holds atom index " + std::to_string(x) + ", outside the sample's atoms [" +
                              std::to_string(aptr[i]) + ", " + std::to_string(aptr[i + 1]) + ")");
          v[(e - e0) * 2 + c] = inside ? x - aptr[a] : aptr[i] - aptr[a];
        }
    return t;
  }

  Batch range(std::int64_t a, std::int64_t b) const {
    // Everything this read allocates, against the budget, before any of it is.
    double bytes = 8.0 * static_cast<double>(aptr[b] - aptr[a]) + 16.0 * static_cast<double>(b - a);
    for (const auto& f : fields) {
      const std::int64_t rows = f.level == Level::Atom   ? aptr[b] - aptr[a]
                                : f.level == Level::Edge ? eptr[b] - eptr[a]
                                                         : b - a;
      bytes += f.toolkit_index ? 2.0 * static_cast<double>(f.array.row_bytes()) + 16.0 * static_cast<double>(rows)
                               : static_cast<double>(rows) * static_cast<double>(f.array.row_bytes());
    }
    zarr::check_read_size(bytes, url + ": samples [" + std::to_string(a) + ", " + std::to_string(b) + ")");
    std::map<std::string, Field, std::less<>> out;
    std::vector<std::int64_t> atoms, edges;
    for (std::int64_t i = a; i < b; ++i) {
      atoms.push_back(aptr[i + 1] - aptr[i]);
      edges.push_back(eptr[i + 1] - eptr[i]);
    }
    for (const auto& f : fields) {
      const std::int64_t first = f.level == Level::Atom ? aptr[a] : f.level == Level::Edge ? eptr[a] : a;
      const std::int64_t last = f.level == Level::Atom ? aptr[b] : f.level == Level::Edge ? eptr[b] : b;
      if (f.toolkit_index) {
        out.emplace(f.name, Field{f.level, toolkit_index(f, a, b)});
        continue;
      }
      Shape shape = f.array.meta().shape;
      shape[0] = last - first;
      Tensor t(f.array.meta().dtype, shape);
      f.array.read_rows(first, last - first, t.bytes());
      if (f.name == kEdgeIndex && t.dtype() == DType::Int64) {  // local per sample → global in the batch
        auto* v = t.data<std::int64_t>();
        const std::int64_t w = t.row_numel();
        for (std::int64_t i = a; i < b; ++i)
          for (std::int64_t e = eptr[i]; e < eptr[i + 1]; ++e)
            for (std::int64_t c = 0; c < w; ++c) {
              std::int64_t& x = v[(e - eptr[a]) * w + c];
              if (x < 0 || x >= aptr[i + 1] - aptr[i])
                throw FormatError(url + ": " + f.group + "/" + f.name + " of sample " + std::to_string(i) +
                                  " holds atom index " + std::to_string(x) + ", but the sample has " +
                                  std::to_string(aptr[i + 1] - aptr[i]) + " atoms");
              x += aptr[i] - aptr[a];
            }
      }
      if (out.count(f.name)) throw FormatError(url + ": field '" + f.name + "' is in both core and custom");
      out.emplace(f.name, Field{f.level, std::move(t)});
    }
    return Batch::from_parts(atoms, edges, std::move(out));
  }
};

TrajectoryReader::TrajectoryReader(const std::string& url) : impl_(std::make_unique<Impl>()) {
  impl_->url = url;
  impl_->open();
}
TrajectoryReader::~TrajectoryReader() = default;
TrajectoryReader::TrajectoryReader(TrajectoryReader&&) noexcept = default;

std::int64_t TrajectoryReader::num_samples() const { return impl_->n; }
const std::vector<bool>& TrajectoryReader::live_samples() const { return impl_->live; }
void TrajectoryReader::refresh() { impl_->load(); }
const std::string& TrajectoryReader::url() const { return impl_->url; }
int TrajectoryReader::zarr_format() const { return impl_->format; }

nlohmann::json TrajectoryReader::batchmd_attributes() const {
  return impl_->attrs.contains("batchmd") ? impl_->attrs["batchmd"] : nlohmann::json::object();
}

Batch TrajectoryReader::read(std::int64_t i) const { return read_range(i, i + 1); }

Batch TrajectoryReader::read_range(std::int64_t start, std::int64_t stop) const {
  if (start < 0 || stop > impl_->n || start > stop)
    throw InvalidArgument(impl_->url + ": samples [" + std::to_string(start) + ", " + std::to_string(stop) +
                          ") out of range (the store holds " + std::to_string(impl_->n) + ")");
  return impl_->range(start, stop);
}

Batch TrajectoryReader::read_indices(const std::vector<std::int64_t>& idx) const {
  for (auto i : idx)
    if (i < 0 || i >= impl_->n)
      throw InvalidArgument(impl_->url + ": sample " + std::to_string(i) + " out of range (the store holds " +
                            std::to_string(impl_->n) + ")");
  std::vector<Batch> parts;
  std::size_t i = 0;
  while (i < idx.size()) {
    std::size_t j = i + 1;
    while (j < idx.size() && idx[j] == idx[j - 1] + 1) ++j;
    parts.push_back(impl_->range(idx[i], idx[j - 1] + 1));
    i = j;
  }
  if (parts.empty()) return impl_->range(0, 0);
  std::vector<const Batch*> ptrs;
  for (auto& p : parts) ptrs.push_back(&p);
  return Batch::concat(ptrs);
}

const std::vector<std::int64_t>& TrajectoryReader::system_ids() const {
  if (!impl_->system_ids) {
    const Impl::F* f = nullptr;
    for (const auto& x : impl_->fields)
      if (x.name == "system_id") f = &x;
    if (!f) throw InvalidArgument(impl_->url + ": the store has no system_id field");
    if (f->array.meta().dtype != DType::Int64) throw FormatError(impl_->url + ": system_id must be int64");
    impl_->system_ids = f->array.read<std::int64_t>(0, impl_->n);
  }
  return *impl_->system_ids;
}

std::vector<std::int64_t> TrajectoryReader::samples_of_system(std::int64_t system_id) const {
  system_ids();
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < impl_->n; ++i)
    if ((*impl_->system_ids)[static_cast<std::size_t>(i)] == system_id && impl_->live[static_cast<std::size_t>(i)])
      out.push_back(i);
  return out;
}

Batch last_snapshot_per_system(const TrajectoryReader& reader) {
  if (reader.num_samples() == 0) throw InvalidArgument(reader.url() + ": the trajectory holds no samples");
  std::map<std::int64_t, std::int64_t> last;  // system_id → its last sample
  const auto& ids = reader.system_ids();
  const auto& live = reader.live_samples();
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (live[i]) last[ids[i]] = static_cast<std::int64_t>(i);
  if (last.empty()) throw InvalidArgument(reader.url() + ": every sample of the trajectory is deleted");
  std::vector<std::int64_t> idx;
  for (const auto& [id, i] : last) idx.push_back(i);
  return reader.read_indices(idx);
}

Batch TrajectoryReader::read_system(std::int64_t system_id) const { return read_indices(samples_of_system(system_id)); }

std::optional<std::vector<double>> TrajectoryReader::model_state(std::int64_t step) const {
  if (!zarr::find_node(*impl_->store, "restart/model_state")) return std::nullopt;
  zarr::Array a = impl_->root->open_array("restart/model_state");  // complete chunks, as the root says
  const auto& attrs = a.meta().attributes;
  if (!attrs.contains("step") || attrs["step"] != step || a.meta().dtype != DType::Float64) return std::nullopt;
  return a.read<double>(0, a.rows());
}

std::vector<std::int64_t> TrajectoryReader::atom_counts() const {
  std::vector<std::int64_t> c;
  for (std::int64_t i = 0; i < impl_->n; ++i) c.push_back(impl_->aptr[i + 1] - impl_->aptr[i]);
  return c;
}

std::vector<TrajectoryReader::FieldInfo> TrajectoryReader::fields() const {
  std::vector<FieldInfo> out;
  for (const auto& f : impl_->fields) {
    FieldInfo info{
        f.group,
        f.name,
        f.level,
        f.array.meta().dtype,
        f.array.meta().shape,
        (f.array.meta().quantize ? "fixedscaleoffset+" : "") + zarr::compressor_config_of(f.array.layout().codecs).name,
        f.array.meta().chunk_rows,
        0};
    const std::string prefix = f.group + "/" + f.name + "/";
    for (const auto& key : impl_->store->list(prefix)) {
      if (key.ends_with("zarr.json") || key.ends_with(".zarray") || key.ends_with(".zattrs")) continue;
      if (auto v = impl_->store->get(key)) info.stored_bytes += v->size();
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace batchmd::sinks
