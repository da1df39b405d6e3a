// SPDX-License-Identifier: Apache-2.0
// Group: v3 and v2 group documents, attributes and children.
#include "batchmd/zarr/group.hpp"

#include "batchmd/core/error.hpp"

namespace batchmd::zarr {

using nlohmann::json;

namespace {

std::string where(const Store& store, const std::string& key) { return store.url() + "/" + key; }

}  // namespace

std::optional<NodeInfo> find_node(const Store& store, const std::string& path) {
  const std::string p = node_path(path);
  const std::string v3 = join_key(p, kV3Meta);
  if (const auto bytes = store.get(v3)) {
    const json doc = parse_json(*bytes, where(store, v3));
    const json type = doc.is_object() ? doc.value("node_type", json()) : json();
    if (type == "array") return NodeInfo{ZarrFormat::V3, NodeType::Array};
    if (type == "group") return NodeInfo{ZarrFormat::V3, NodeType::Group};
    throw FormatError(where(store, v3) + ": node_type must be 'array' or 'group', got " + type.dump());
  }
  if (store.exists(join_key(p, kV2Array))) return NodeInfo{ZarrFormat::V2, NodeType::Array};
  if (store.exists(join_key(p, kV2Group))) return NodeInfo{ZarrFormat::V2, NodeType::Group};
  return std::nullopt;
}

Group::Group(std::shared_ptr<Store> store, std::string path, ZarrFormat format)
    : store_(std::move(store)), path_(std::move(path)), format_(format) {}

Group Group::create(std::shared_ptr<Store> store, const std::string& path, ZarrFormat format, const json& attributes) {
  if (!store) throw InvalidArgument("Group::create: null store");
  if (format != ZarrFormat::V2 && format != ZarrFormat::V3) throw InvalidArgument("Group::create: bad format");
  Group g(std::move(store), node_path(path), format);
  if (format == ZarrFormat::V2) g.store_->set(join_key(g.path_, kV2Group), dump_json({{"zarr_format", 2}}));
  g.set_attributes(attributes);
  return g;
}

Group Group::open(std::shared_ptr<Store> store, const std::string& path) {
  if (!store) throw InvalidArgument("Group::open: null store");
  const std::string p = node_path(path);
  const auto node = find_node(*store, p);
  if (!node || node->type != NodeType::Group) {
    throw FormatError(where(*store, p) + ": no Zarr group here" +
                      (node ? " (it is an array)" : " (neither zarr.json nor .zgroup)"));
  }
  Group g(std::move(store), p, node->format);
  if (g.format_ == ZarrFormat::V2) {
    const std::string key = join_key(p, kV2Group);
    const json doc = parse_json(*g.store_->get(key), where(*g.store_, key));
    if (!doc.is_object() || doc.value("zarr_format", json()) != 2) {
      throw FormatError(where(*g.store_, key) + ": zarr_format must be 2");
    }
  }
  const json attrs = g.attributes();  // validates the document now rather than at first use
  const json* bm = attrs.contains("batchmd") ? &attrs["batchmd"] : nullptr;
  g.complete_chunks_ = bm && bm->is_object() && bm->value("chunks", json()) == "complete";
  return g;
}

json Group::attributes() const {
  if (format_ == ZarrFormat::V3) {
    const std::string key = join_key(path_, kV3Meta);
    const auto bytes = store_->get(key);
    if (!bytes) throw FormatError(where(*store_, key) + ": group metadata disappeared");
    return parse_v3_group(parse_json(*bytes, where(*store_, key)), where(*store_, key));
  }
  const std::string key = join_key(path_, kV2Attrs);
  const auto bytes = store_->get(key);
  if (!bytes) return json::object();
  json attrs = parse_json(*bytes, where(*store_, key));
  if (!attrs.is_object()) throw FormatError(where(*store_, key) + ": attributes must be a JSON object");
  return attrs;
}

void Group::set_attributes(const json& attributes) {
  if (!attributes.is_object()) {
    throw InvalidArgument(where(*store_, path_) + ": group attributes must be a JSON object");
  }
  if (format_ == ZarrFormat::V3) {
    store_->set(join_key(path_, kV3Meta), dump_json(v3_group_json(attributes)));
  } else {
    store_->set(join_key(path_, kV2Attrs), dump_json(attributes));
  }
}

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  for (const std::string& name : store_->list_dir(path_)) {
    if (name.empty() || name.front() == '.' || name == kV3Meta) continue;
    if (find_node(*store_, join_key(path_, name))) names.push_back(name);
  }
  return names;
}

std::string Group::child(const std::string& name) const {
  validate_key(name);
  return join_key(path_, name);
}

Group Group::create_group(const std::string& name, const json& attributes) const {
  return create(store_, child(name), format_, attributes);
}

Group Group::open_group(const std::string& name) const {
  Group g = open(store_, child(name));
  g.complete_chunks_ = g.complete_chunks_ || complete_chunks_;
  return g;
}

Array Group::create_array(const std::string& name, const ArrayMeta& meta) const {
  if (meta.format != format_) {
    throw InvalidArgument(where(*store_, child(name)) + ": array format differs from its group's");
  }
  return Array::create(store_, child(name), meta);
}

Array Group::open_array(const std::string& name) const {
  Array a = Array::open(store_, child(name));
  a.require_chunks(complete_chunks_);
  return a;
}

}  // namespace batchmd::zarr
