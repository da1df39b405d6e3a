// SPDX-License-Identifier: Apache-2.0
// app/inspect: `batchmd inspect`: what a trajectory store holds (samples, systems, atoms, steps)
// and how it is stored (per field: level, dtype, shape, codec, chunking, raw and stored bytes).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "batchmd/app/commands.hpp"
#include "batchmd/core/error.hpp"
#include "batchmd/sinks/zarr_data.hpp"
#include "batchmd/zarr/group.hpp"

namespace batchmd::app {
namespace {

using FieldInfo = sinks::TrajectoryReader::FieldInfo;

/// A missing local store is a FormatError here, before the reader would create its directory.
void require_local_store(const std::string& url) {
  std::string path = url;
  if (url.starts_with("file://"))
    path = url.substr(7);
  else if (url.find("://") != std::string::npos)
    return;  // memory:// and others: the reader decides
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw FormatError(url + ": no Zarr store here (no such file or directory)");
}

/// Rows [0, n) of an integer array of the store (int64 or int32), or nullopt for other dtypes.
std::optional<std::vector<std::int64_t>> read_int_column(const zarr::Group& root, const std::string& path,
                                                         std::int64_t n) {
  zarr::Array a = root.open_array(path);
  if (a.meta().dtype == DType::Int64) return a.read<std::int64_t>(0, n);
  if (a.meta().dtype == DType::Int32) {
    auto v = a.read<std::int32_t>(0, n);
    return std::vector<std::int64_t>(v.begin(), v.end());
  }
  return std::nullopt;
}

const FieldInfo* find_system_field(const std::vector<FieldInfo>& fields, const std::string& name) {
  for (const auto& f : fields)
    if (f.name == name && f.level == Level::System) return &f;
  return nullptr;
}

std::uint64_t row_bytes(const FieldInfo& f) {
  std::uint64_t n = dtype_size(f.dtype);
  for (std::size_t i = 1; i < f.shape.size(); ++i) n *= static_cast<std::uint64_t>(f.shape[i]);
  return n;
}

std::string shape_text(const Shape& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

std::string ratio_text(std::uint64_t raw, std::uint64_t stored) {
  if (stored == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(raw) / static_cast<double>(stored));
  return buf;
}

/// "12345 (12.1 KiB)".
std::string bytes_text(std::uint64_t b) {
  if (b < 1024) return std::to_string(b) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = -1;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

struct Report {
  std::string url;
  int zarr_format = 3;
  std::int64_t samples = 0, deleted = 0;  // deleted: soft-deleted (meta/samples_mask false)
  std::optional<std::int64_t> systems;    // distinct system_id values
  std::int64_t atoms_total = 0, atoms_min = 0, atoms_max = 0;
  double atoms_mean = 0.0;
  std::int64_t edges_total = 0;
  std::optional<std::pair<std::int64_t, std::int64_t>> steps;
  struct Row {
    FieldInfo info;
    std::int64_t committed_rows;
    std::uint64_t raw_bytes;
  };
  std::vector<Row> rows;
  std::uint64_t raw_total = 0, stored_total = 0;
  nlohmann::json batchmd = nlohmann::json::object();
};

Report build_report(const std::string& url) {
  require_local_store(url);
  sinks::TrajectoryReader reader(url);  // FormatError for a bad URL or a foreign store
  Report r;
  r.url = reader.url();
  r.zarr_format = reader.zarr_format();
  r.samples = reader.num_samples();
  for (bool live : reader.live_samples()) r.deleted += live ? 0 : 1;
  r.batchmd = reader.batchmd_attributes();
  const std::int64_t n = r.samples;

  const auto counts = reader.atom_counts();
  for (auto c : counts) r.atoms_total += c;
  if (!counts.empty()) {
    r.atoms_min = *std::min_element(counts.begin(), counts.end());
    r.atoms_max = *std::max_element(counts.begin(), counts.end());
    r.atoms_mean = static_cast<double>(r.atoms_total) / static_cast<double>(counts.size());
  }

  const auto fields = reader.fields();
  zarr::Group root = zarr::Group::open(zarr::open_store(url), "");
  if (zarr::find_node(*root.store(), "meta/edges_ptr")) {
    if (auto e = read_int_column(root, "meta/edges_ptr", n + 1)) r.edges_total = e->back();
  }
  if (const FieldInfo* f = find_system_field(fields, "system_id")) {
    if (auto ids = read_int_column(root, f->group + "/" + f->name, n))
      r.systems = static_cast<std::int64_t>(std::set<std::int64_t>(ids->begin(), ids->end()).size());
  }
  if (const FieldInfo* f = find_system_field(fields, "step")) {
    if (auto steps = read_int_column(root, f->group + "/" + f->name, n); steps && !steps->empty())
      r.steps = std::make_pair(*std::min_element(steps->begin(), steps->end()),
                               *std::max_element(steps->begin(), steps->end()));
  }

  for (const auto& f : fields) {
    const std::int64_t rows = f.level == Level::Atom ? r.atoms_total : f.level == Level::Edge ? r.edges_total : n;
    const std::uint64_t raw = static_cast<std::uint64_t>(rows) * row_bytes(f);
    r.raw_total += raw;
    r.stored_total += f.stored_bytes;
    r.rows.push_back({f, rows, raw});
  }
  return r;
}

void print_json(const Report& r, std::FILE* out) {
  nlohmann::json j;
  j["url"] = r.url;
  j["zarr_format"] = r.zarr_format;
  j["samples"] = r.samples;
  j["deleted_samples"] = r.deleted;
  j["systems"] = r.systems ? nlohmann::json(*r.systems) : nlohmann::json(nullptr);
  j["atoms"] = {{"total", r.atoms_total}, {"min", r.atoms_min}, {"mean", r.atoms_mean}, {"max", r.atoms_max}};
  j["edges"] = r.edges_total;
  j["steps"] = r.steps ? nlohmann::json{{"min", r.steps->first}, {"max", r.steps->second}} : nlohmann::json(nullptr);
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& row : r.rows) {
    const auto& f = row.info;
    fs.push_back({{"group", f.group},
                  {"name", f.name},
                  {"path", f.group + "/" + f.name},
                  {"level", std::string(level_name(f.level))},
                  {"dtype", std::string(dtype_name(f.dtype))},
                  {"shape", f.shape},
                  {"codec", f.codecs},
                  {"chunk_rows", f.chunk_rows},
                  {"rows", row.committed_rows},
                  {"raw_bytes", row.raw_bytes},
                  {"stored_bytes", f.stored_bytes},
                  {"ratio", f.stored_bytes ? nlohmann::json(static_cast<double>(row.raw_bytes) /
                                                            static_cast<double>(f.stored_bytes))
                                           : nlohmann::json(nullptr)}});
  }
  j["fields"] = std::move(fs);
  j["totals"] = {
      {"raw_bytes", r.raw_total},
      {"stored_bytes", r.stored_total},
      {"ratio", r.stored_total ? nlohmann::json(static_cast<double>(r.raw_total) / static_cast<double>(r.stored_total))
                               : nlohmann::json(nullptr)}};
  j["batchmd"] = r.batchmd;
  std::fprintf(out, "%s\n", j.dump(2).c_str());
}

void print_text(const Report& r, std::FILE* out) {
  std::fprintf(out, "store:        %s\n", r.url.c_str());
  std::fprintf(out, "zarr format:  v%d\n", r.zarr_format);
  if (r.deleted > 0)
    std::fprintf(out, "samples:      %" PRId64 " (%" PRId64 " deleted)\n", r.samples, r.deleted);
  else
    std::fprintf(out, "samples:      %" PRId64 "\n", r.samples);
  if (r.systems)
    std::fprintf(out, "systems:      %" PRId64 " distinct system_id values\n", *r.systems);
  else
    std::fprintf(out, "systems:      - (no system_id field)\n");
  std::fprintf(out, "atoms:        %" PRId64 " total; per sample min %" PRId64 ", mean %.2f, max %" PRId64 "\n",
               r.atoms_total, r.atoms_min, r.atoms_mean, r.atoms_max);
  if (r.edges_total > 0) std::fprintf(out, "edges:        %" PRId64 " total\n", r.edges_total);
  if (r.steps)
    std::fprintf(out, "steps:        %" PRId64 " .. %" PRId64 "\n", r.steps->first, r.steps->second);
  else
    std::fprintf(out, "steps:        - (no step field)\n");
  if (r.batchmd.is_object() && r.batchmd.contains("writer")) {
    auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    std::string w = text(r.batchmd["writer"]);
    if (r.batchmd.contains("version")) w += " " + text(r.batchmd["version"]);
    std::fprintf(out, "writer:       %s\n", w.c_str());
  }

  // The field table: every cell formatted first, then columns padded to their widths.
  std::vector<std::vector<std::string>> table;
  table.push_back({"field", "level", "dtype", "shape", "codec", "chunk rows", "raw bytes", "stored bytes", "ratio"});
  for (const auto& row : r.rows) {
    const auto& f = row.info;
    table.push_back({f.group + "/" + f.name, std::string(level_name(f.level)), std::string(dtype_name(f.dtype)),
                     shape_text(f.shape), f.codecs, std::to_string(f.chunk_rows), std::to_string(row.raw_bytes),
                     std::to_string(f.stored_bytes), ratio_text(row.raw_bytes, f.stored_bytes)});
  }
  table.push_back({"total", "", "", "", "", "", std::to_string(r.raw_total), std::to_string(r.stored_total),
                   ratio_text(r.raw_total, r.stored_total)});
  std::vector<std::size_t> width(table[0].size(), 0);
  for (const auto& t : table)
    for (std::size_t c = 0; c < t.size(); ++c) width[c] = std::max(width[c], t[c].size());
  const std::size_t first_numeric = 5;  // chunk rows, bytes and ratio are right-aligned
  std::fprintf(out, "\n");
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (i + 1 == table.size()) {
      std::size_t total = 0;
      for (auto w : width) total += w + 2;
      std::fprintf(out, "%s\n", std::string(total - 2, '-').c_str());
    }
    std::string line;
    for (std::size_t c = 0; c < table[i].size(); ++c) {
      const std::string& cell = table[i][c];
      const std::string pad(width[c] - cell.size(), ' ');
      line += c >= first_numeric ? pad + cell : cell + pad;
      if (c + 1 < table[i].size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fprintf(out, "%s\n", line.c_str());
  }
  std::fprintf(out, "\n%zu fields; raw %s, stored %s, compression ratio %s\n", r.rows.size(),
               bytes_text(r.raw_total).c_str(), bytes_text(r.stored_total).c_str(),
               ratio_text(r.raw_total, r.stored_total).c_str());
}

}  // namespace

int inspect_command(const InspectOptions& opts, std::FILE* out) {
  if (opts.url.empty()) throw InvalidArgument("inspect: no store given");
  const Report r = build_report(opts.url);
  if (opts.json)
    print_json(r, out);
  else
    print_text(r, out);
  return 0;
}

}  // namespace batchmd::app
