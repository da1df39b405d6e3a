// SPDX-License-Identifier: Apache-2.0
// zarr/group: Zarr groups (v3 zarr.json node_type group; v2 .zgroup + .zattrs): creating and
// opening them, their attributes (replaced atomically), and their children.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batchmd/zarr/array.hpp"
#include "batchmd/zarr/metadata.hpp"
#include "batchmd/zarr/store.hpp"

namespace batchmd::zarr {

enum class NodeType { Array, Group };

struct NodeInfo {
  ZarrFormat format;
  NodeType type;
};

/// What is at `path`: a v3 or v2 array or group, or nullopt for nothing (an implicit prefix).
/// FormatError for a zarr.json that is not valid JSON or has no known node_type.
std::optional<NodeInfo> find_node(const Store& store, const std::string& path);

class Group {
 public:
  /// Writes the group's metadata (replacing any there; children stay) and returns it.
  static Group create(std::shared_ptr<Store> store, const std::string& path, ZarrFormat format = ZarrFormat::V3,
                      const nlohmann::json& attributes = nlohmann::json::object());
  /// Opens the group at `path` (v3 or v2); FormatError when there is none. A group whose
  /// attributes hold {"batchmd": {"chunks": "complete"}} (batchmd's trajectory writer records it:
  /// every chunk inside the committed rows exists) passes that promise down: arrays opened
  /// through it, or through groups opened from it, treat a missing chunk as damage
  /// (Array::require_chunks). Groups without it read missing chunks as fill values, as Zarr says.
  static Group open(std::shared_ptr<Store> store, const std::string& path);

  ZarrFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  const std::shared_ptr<Store>& store() const { return store_; }
  /// Whether arrays opened through this group must have every chunk (see open()).
  bool complete_chunks() const { return complete_chunks_; }

  /// The attributes as stored now (read from the store on each call).
  nlohmann::json attributes() const;
  /// Replaces the attributes with one atomic write (v3 zarr.json; v2 .zattrs).
  void set_attributes(const nlohmann::json& attributes);
  /// Names of the arrays and groups directly below this group, sorted.
  std::vector<std::string> children() const;

  /// A child group or array, by name (a relative path is allowed: "meta/atoms_ptr").
  Group create_group(const std::string& name, const nlohmann::json& attributes = nlohmann::json::object()) const;
  Group open_group(const std::string& name) const;
  /// Creates a child array; meta.format must match the group's.
  Array create_array(const std::string& name, const ArrayMeta& meta) const;
  Array open_array(const std::string& name) const;

 private:
  Group(std::shared_ptr<Store> store, std::string path, ZarrFormat format);
  std::string child(const std::string& name) const;

  std::shared_ptr<Store> store_;
  std::string path_;
  ZarrFormat format_;
  bool complete_chunks_ = false;
};

}  // namespace batchmd::zarr
