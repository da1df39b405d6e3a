// SPDX-License-Identifier: Apache-2.0
// python/bind_sinks: DataSink and its implementations (HostMemory, GPUBuffer, ZarrData) and the
// TrajectoryReader. read() returns a Batch whose fields are views of that new batch. Every call that
// copies, encodes or touches storage runs with the GIL released.
#include <nlohmann/json.hpp>

#include "batchmd/core/error.hpp"
#include "batchmd/sinks/gpu_buffer.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "common.hpp"

namespace batchmd::python {

namespace {

using sinks::DataSink;

std::string path_str(py::handle h) { return py::str(py::module_::import("os").attr("fspath")(h)).cast<std::string>(); }

zarr::CompressorConfig compressor_from_py(py::handle v, const std::string& where) {
  zarr::CompressorConfig c{"zstd", 1, true, false};
  if (v.is_none()) return {"none", 0, false, false};
  if (py::isinstance<py::str>(v)) {
    c.name = v.cast<std::string>();
    return c;
  }
  if (!py::isinstance<py::dict>(v))
    throw InvalidArgument(where +
                          ": compressor must be a name ('zstd', 'blosc-lz4', 'blosc-zstd', 'gzip', 'none') "
                          "or a dict with name, level, shuffle, checksum");
  for (auto [k, x] : v.cast<py::dict>()) {
    const auto key = k.cast<std::string>();
    if (key == "name")
      c.name = x.cast<std::string>();
    else if (key == "level")
      c.level = x.cast<int>();
    else if (key == "shuffle")
      c.shuffle = x.cast<bool>();
    else if (key == "checksum")
      c.checksum = x.cast<bool>();
    else
      throw InvalidArgument(where + ": unknown compressor key '" + key + "' (name, level, shuffle, checksum)");
  }
  return c;
}

sinks::ZarrWriteConfig zarr_config(const py::dict& cfg) {
  sinks::ZarrWriteConfig c;
  std::optional<int> level;
  for (auto [k, v] : cfg) {
    const auto key = k.cast<std::string>();
    if (key == "format") {
      const auto f = to_str(v);
      if (f == "v3" || f == "3")
        c.format = zarr::ZarrFormat::V3;
      else if (f == "v2" || f == "2")
        c.format = zarr::ZarrFormat::V2;
      else
        throw InvalidArgument("ZarrData: format must be 'v3' or 'v2', got '" + f + "'");
    } else if (key == "compressor") {
      c.compressor = compressor_from_py(v, "ZarrData");
    } else if (key == "level") {
      level = v.cast<int>();
    } else if (key == "chunk_bytes") {
      c.chunk_bytes = v.cast<std::int64_t>();
    } else if (key == "chunk_samples") {
      c.chunk_samples = v.cast<std::int64_t>();
    } else if (key == "chunks_per_shard") {
      c.chunks_per_shard = v.cast<std::int64_t>();
    } else if (key == "queue_depth") {
      c.queue_depth = v.cast<std::size_t>();
    } else if (key == "workers") {
      c.workers = v.cast<int>();
    } else if (key == "commit_interval") {
      c.commit_interval = v.cast<double>();  // seconds; ZarrData checks the range
    } else if (key == "append") {
      c.append = v.cast<bool>();
    } else if (key == "only_fields") {
      c.only_fields = v.cast<std::vector<std::string>>();
    } else if (key == "fields") {
      for (auto [fk, fv] : v.cast<py::dict>()) {
        sinks::ZarrFieldOverride o;
        for (auto [ok, ov] : fv.cast<py::dict>()) {
          const auto okey = ok.cast<std::string>();
          if (okey == "compressor")
            o.compressor = compressor_from_py(ov, "ZarrData fields['" + fk.cast<std::string>() + "']");
          else if (okey == "chunk_rows")
            o.chunk_rows = ov.cast<std::int64_t>();
          else if (okey == "precision")
            o.precision = ov.cast<double>();
          else
            throw InvalidArgument("ZarrData fields['" + fk.cast<std::string>() + "']: unknown key '" + okey +
                                  "' (compressor, chunk_rows, precision)");
        }
        c.fields[fk.cast<std::string>()] = o;
      }
    } else {
      throw InvalidArgument("ZarrData: unknown option '" + key +
                            "' (format, compressor, level, chunk_bytes, chunk_samples, chunks_per_shard, fields, "
                            "only_fields, queue_depth, workers, commit_interval, append)");
    }
  }
  if (level) c.compressor.level = *level;
  return c;
}

nlohmann::json json_from_py(py::handle o) {
  return nlohmann::json::parse(py::module_::import("json").attr("dumps")(o).cast<std::string>());
}
py::object json_to_py(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::array_t<std::int64_t> int_array(const std::vector<std::int64_t>& v) {
  py::array_t<std::int64_t> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

template <class F>
Batch released(F&& f) {
  py::gil_scoped_release nogil;
  return f();
}

}  // namespace

void bind_sinks(py::module_& m) {
  using namespace py::literals;

  py::class_<DataSink, std::shared_ptr<DataSink>>(m, "DataSink", "A store of samples (one sample = one system).")
      .def_property_readonly("name", &DataSink::name)
      .def(
          "write",
          [](DataSink& s, const Batch& b, py::handle mask) {
            auto msk = mask_from_py(mask, b.n_systems(), s.name() + ".write mask");
            py::gil_scoped_release nogil;
            s.write(b, msk);
          },
          "batch"_a, "mask"_a = py::none(),
          "Stores the systems of the batch (where mask is true); CapacityError, storing nothing, if they do not "
          "fit.")
      .def("read", &DataSink::read, py::call_guard<py::gil_scoped_release>(), "Everything stored, as one Batch.")
      .def("drain", &DataSink::drain, py::call_guard<py::gil_scoped_release>(), "read(), then zero().")
      .def("zero", &DataSink::zero, py::call_guard<py::gil_scoped_release>(), "Forgets every sample.")
      .def("flush", &DataSink::flush, py::call_guard<py::gil_scoped_release>(),
           "Blocks until everything written so far is stored.")
      .def("__len__", &DataSink::size)
      .def_property_readonly("size", &DataSink::size)
      .def_property_readonly("capacity", &DataSink::capacity)
      .def_property_readonly("is_full", &DataSink::is_full)
      .def("__repr__", [](const DataSink& s) {
        return "<" + s.name() + ": " + std::to_string(s.size()) + "/" + std::to_string(s.capacity()) + " samples>";
      });

  py::class_<sinks::HostMemory, DataSink, std::shared_ptr<sinks::HostMemory>>(
      m, "HostMemory", "Snapshots in host RAM, one contiguous block per field and write.")
      .def(py::init<std::int64_t>(), "capacity"_a)
      .def_property_readonly("raw_bytes", &sinks::HostMemory::raw_bytes)
      .def_property_readonly("allocated_bytes", &sinks::HostMemory::allocated_bytes)
      .def(
          "reserve_pinned",
          [](sinks::HostMemory& h, std::size_t nbytes, py::handle device) {
            const Device d = device_from_py(device.is_none() ? py::str("cuda") : device);
            py::gil_scoped_release nogil;  // pinning takes a while
            h.reserve_pinned(nbytes, d);
          },
          "nbytes"_a, "device"_a = "cuda",
          "Pins nbytes of host memory now for snapshots written from a batch on that GPU (pinning runs "
          "at a few GB/s: do it before the run); such writes then copy straight into it.");

  py::class_<sinks::GPUBuffer, DataSink, std::shared_ptr<sinks::GPUBuffer>>(
      m, "GPUBuffer", "Snapshots in pre-allocated GPU memory (read() gives a Batch on the GPU).")
      .def(py::init([](std::int64_t capacity, std::int64_t max_atoms, std::int64_t max_edges, py::handle device) {
             return std::make_shared<sinks::GPUBuffer>(capacity, max_atoms, max_edges,
                                                       device_from_py(device.is_none() ? py::str("cuda") : device));
           }),
           "capacity"_a, "max_atoms"_a, "max_edges"_a = 0, "device"_a = "cuda")
      .def_property_readonly("max_atoms", &sinks::GPUBuffer::max_atoms)
      .def_property_readonly("max_edges", &sinks::GPUBuffer::max_edges)
      .def_property_readonly("device", [](const sinks::GPUBuffer& g) { return g.device().str(); })
      .def_property_readonly("allocated_bytes", &sinks::GPUBuffer::allocated_bytes);

  py::class_<sinks::ZarrData, DataSink, std::shared_ptr<sinks::ZarrData>>(
      m, "ZarrData",
      "Appends samples to a Zarr trajectory store (a path, file://, memory://, s3:// or gs:// URL); encoding "
      "and I/O on background threads.")
      .def(py::init([](py::handle store, std::int64_t capacity, py::handle config, const py::kwargs& kwargs) {
             py::dict cfg;
             if (!config.is_none()) {
               if (!py::isinstance<py::dict>(config)) throw py::type_error("ZarrData: config must be a dict");
               for (auto [k, v] : config.cast<py::dict>()) cfg[k] = v;
             }
             for (auto [k, v] : kwargs) cfg[k] = v;
             auto c = zarr_config(cfg);
             const std::string url = path_str(store);
             py::gil_scoped_release nogil;
             return std::make_shared<sinks::ZarrData>(url, capacity, c);
           }),
           "store"_a, "capacity"_a = 1'000'000, "config"_a = py::none(),
           "store: path or URL. Options (as config dict or keywords): format ('v3'|'v2'), compressor (name or "
           "dict), level, chunk_bytes, chunk_samples, chunks_per_shard, fields (per-field overrides), only_fields, "
           "queue_depth, workers, commit_interval (seconds between commits: the loss window of a kill; 0 = every "
           "write), append.")
      .def_property_readonly("url", &sinks::ZarrData::url)
      .def(
          "set_run_attributes", [](sinks::ZarrData& z, py::handle attrs) { z.set_run_attributes(json_from_py(attrs)); },
          "attributes"_a,
          "JSON-serialisable attributes stored under the root's 'batchmd' attribute with the next commit.")
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__",
          [](sinks::ZarrData& z, py::handle, py::handle, py::handle) {
            py::gil_scoped_release nogil;
            z.flush();
          },
          "exc_type"_a, "exc"_a, "tb"_a);

  using sinks::TrajectoryReader;
  py::class_<TrajectoryReader>(m, "TrajectoryReader",
                               "Reads a trajectory store (batchmd's or the ALCHEMI toolkit's layout) into Batches.")
      .def(py::init([](py::handle url) {
             const std::string u = path_str(url);
             py::gil_scoped_release nogil;
             return std::make_unique<TrajectoryReader>(u);
           }),
           "store"_a)
      .def_property_readonly("num_samples", &TrajectoryReader::num_samples)
      .def("__len__", &TrajectoryReader::num_samples)
      .def("refresh", &TrajectoryReader::refresh, py::call_guard<py::gil_scoped_release>(),
           "Sees samples appended since the store was opened.")
      .def(
          "read",
          [](const TrajectoryReader& r, std::int64_t i) {
            if (i < 0) i += r.num_samples();
            return released([&] { return r.read(i); });
          },
          "index"_a, "Sample i as a one-system Batch.")
      .def(
          "read_range",
          [](const TrajectoryReader& r, std::int64_t start, std::optional<std::int64_t> stop) {
            return released([&] { return r.read_range(start, stop.value_or(r.num_samples())); });
          },
          "start"_a = 0, "stop"_a = py::none(), "Samples [start, stop) as one Batch.")
      .def(
          "read_indices",
          [](const TrajectoryReader& r, py::handle idx) {
            auto v = indices_from_py(idx, r.num_samples(), "read_indices");
            return released([&] { return r.read_indices(v); });
          },
          "indices"_a)
      .def(
          "read_system",
          [](const TrajectoryReader& r, std::int64_t id) { return released([&] { return r.read_system(id); }); },
          "system_id"_a, "Every sample of one system, in order.")
      .def(
          "__getitem__",
          [](const TrajectoryReader& r, py::handle key) {
            const std::int64_t n = r.num_samples();
            if (py::isinstance<py::slice>(key)) {
              std::size_t start, stop, step, len;
              if (!key.cast<py::slice>().compute(static_cast<std::size_t>(n), &start, &stop, &step, &len))
                throw py::error_already_set();
              if (step == 1)
                return released(
                    [&] { return r.read_range(static_cast<std::int64_t>(start), static_cast<std::int64_t>(stop)); });
              std::vector<std::int64_t> idx;
              for (std::size_t k = 0; k < len; ++k) idx.push_back(static_cast<std::int64_t>(start + k * step));
              return released([&] { return r.read_indices(idx); });
            }
            if (py::isinstance<py::int_>(key)) {
              std::int64_t i = key.cast<std::int64_t>();
              if (i < 0) i += n;
              if (i < 0 || i >= n)
                throw py::index_error("sample index out of range for " + std::to_string(n) + " samples");
              return released([&] { return r.read(i); });
            }
            auto v = indices_from_py(key, n, "TrajectoryReader[...]");
            return released([&] { return r.read_indices(v); });
          },
          "reader[i] -> one sample; reader[a:b] or reader[[i, j, ...]] -> those samples, as a Batch.")
      .def_property_readonly("system_ids", [](const TrajectoryReader& r) { return int_array(r.system_ids()); })
      .def(
          "samples_of_system",
          [](const TrajectoryReader& r, std::int64_t id) { return int_array(r.samples_of_system(id)); }, "system_id"_a)
      .def_property_readonly("atom_counts", [](const TrajectoryReader& r) { return int_array(r.atom_counts()); })
      .def("model_state", &TrajectoryReader::model_state, "step"_a)
      .def_property_readonly("zarr_format", &TrajectoryReader::zarr_format)
      .def_property_readonly("url", &TrajectoryReader::url)
      .def_property_readonly("attributes", [](const TrajectoryReader& r) { return json_to_py(r.batchmd_attributes()); })
      .def_property_readonly("fields", [](const TrajectoryReader& r) {
        py::list out;
        for (const auto& f : r.fields()) {
          py::dict d;
          d["group"] = f.group;
          d["name"] = f.name;
          d["level"] = std::string(level_name(f.level));
          d["dtype"] = std::string(dtype_name(f.dtype));
          d["shape"] = py::tuple(py::cast(f.shape));
          d["codecs"] = f.codecs;
          d["chunk_rows"] = f.chunk_rows;
          d["stored_bytes"] = f.stored_bytes;
          out.append(d);
        }
        return out;
      });

  m.def(
      "last_snapshot_per_system",
      [](const TrajectoryReader& r) { return released([&] { return sinks::last_snapshot_per_system(r); }); },
      "reader"_a, "The last sample of every system (ordered by system_id), e.g. to restart a run.");
}

}  // namespace batchmd::python
