// SPDX-License-Identifier: Apache-2.0
// Groups: v3 and v2 documents, attributes replaced atomically, children, the trajectory layout.
#include <gtest/gtest.h>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "batchmd/zarr/group.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "test_util.hpp"

namespace batchmd::zarr {
namespace {

using nlohmann::json;
using testing::TempDir;

class GroupTest : public ::testing::TestWithParam<ZarrFormat> {};

TEST_P(GroupTest, TrajectoryLayout) {
  TempDir dir;
  auto store = std::make_shared<FileStore>(dir.path() / "traj.zarr");
  const ZarrFormat format = GetParam();
  Group root = Group::create(store, "", format, {{"num_samples", 0}});
  Group meta = root.create_group("meta");
  Group core = root.create_group("core");
  root.create_group("custom");
  ArrayMeta ptr;
  ptr.format = format;
  ptr.dtype = DType::Int64;
  ptr.shape = {0};
  ptr.chunk_rows = 16;
  meta.create_array("atoms_ptr", ptr);
  ArrayMeta pos;
  pos.format = format;
  pos.dtype = DType::Float32;
  pos.shape = {0, 3};
  core.create_array("positions", pos);

  EXPECT_EQ(root.children(), (std::vector<std::string>{"core", "custom", "meta"}));
  EXPECT_EQ(meta.children(), (std::vector<std::string>{"atoms_ptr"}));
  EXPECT_EQ(Group::open(store, "").format(), format);
  EXPECT_EQ(root.open_group("core").open_array("positions").meta().dtype, DType::Float32);
  EXPECT_EQ(Group::open(store, "meta").open_array("atoms_ptr").rows(), 0);
  EXPECT_EQ(find_node(*store, "core/positions")->type, NodeType::Array);
  EXPECT_EQ(find_node(*store, "core")->type, NodeType::Group);
  EXPECT_FALSE(find_node(*store, "elsewhere").has_value());

  const json fields = {{"core", {{"positions", "atom"}}}, {"custom", json::object()}};
  root.set_attributes({{"num_samples", 12}, {"fields", fields}});
  const json attrs = Group::open(store, "").attributes();
  EXPECT_EQ(attrs["num_samples"], 12);
  EXPECT_EQ(attrs["fields"], fields);
  EXPECT_THROW(root.set_attributes(json::array()), InvalidArgument);
  ArrayMeta other = pos;
  other.format = format == ZarrFormat::V3 ? ZarrFormat::V2 : ZarrFormat::V3;
  EXPECT_THROW(core.create_array("mixed", other), InvalidArgument);
  if (format == ZarrFormat::V2) {
    EXPECT_TRUE(store->exists(".zgroup"));
    EXPECT_TRUE(store->exists("core/.zgroup"));
    EXPECT_TRUE(store->exists(".zattrs"));
  } else {
    EXPECT_TRUE(store->exists("zarr.json"));
    EXPECT_FALSE(store->exists(".zgroup"));
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, GroupTest, ::testing::Values(ZarrFormat::V2, ZarrFormat::V3),
                         [](const auto& p) { return p.param == ZarrFormat::V2 ? "v2" : "v3"; });

TEST(Group, OpenErrors) {
  auto store = std::make_shared<MemoryStore>("groups");
  EXPECT_THROW(Group::open(store, "none"), FormatError);
  ArrayMeta m;
  m.shape = {0};
  Array::create(store, "arr", m);
  try {
    Group::open(store, "arr");
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("memory://groups/arr: no Zarr group here (it is an array)"), std::string::npos)
        << e.what();
  }
  store->set("bad/zarr.json", testing::as_bytes("{\"zarr_format\": 3, \"node_type\": \"file\"}"));
  EXPECT_THROW(Group::open(store, "bad"), FormatError);
  store->set("g/zarr.json", testing::as_bytes("{\"zarr_format\": 3, \"node_type\": \"group\", \"attributes\": 5}"));
  EXPECT_THROW(Group::open(store, "g"), FormatError);
  EXPECT_THROW(Group::open(store, "../up"), InvalidArgument);
}

}  // namespace
}  // namespace batchmd::zarr
