// SPDX-License-Identifier: Apache-2.0
// Stores: key validation, the FileStore and MemoryStore contract (the same tests run on both),
// atomic replace under concurrent readers, and open_store URLs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "batchmd/core/error.hpp"
#include "batchmd/zarr/file_store.hpp"
#include "batchmd/zarr/memory_store.hpp"
#include "batchmd/zarr/store.hpp"
#include "test_util.hpp"

namespace batchmd::zarr {
namespace {

using testing::as_bytes;
using testing::as_string;
using testing::TempDir;

TEST(KeyValidation, AcceptsRelativePaths) {
  for (const char* key : {"a", "zarr.json", ".zarray", "core/positions/c/0/0", "a/b.c/d..e", "x-y_z"}) {
    EXPECT_NO_THROW(validate_key(key)) << key;
  }
}

TEST(KeyValidation, RejectsBadKeysNamingThem) {
  const std::string with_nul("a\0b", 3);
  for (const std::string& key :
       {std::string(""), std::string("/abs"), std::string("a/../b"), std::string(".."), std::string("./a"),
        std::string("a/."), std::string("a//b"), std::string("a/"), std::string("a\\b"), with_nul}) {
    try {
      validate_key(key);
      ADD_FAILURE() << "accepted '" << key << "'";
    } catch (const InvalidArgument& e) {
      if (!key.empty() && key.find('\0') == std::string::npos) {
        EXPECT_NE(std::string(e.what()).find("'" + key + "'"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(KeyValidation, PrefixesMayBeEmptyOrEndInSlash) {
  EXPECT_NO_THROW(validate_prefix(""));
  EXPECT_NO_THROW(validate_prefix("core/"));
  EXPECT_THROW(validate_prefix("../"), InvalidArgument);
  EXPECT_EQ(node_path(""), "");
  EXPECT_EQ(node_path("core/positions/"), "core/positions");
  EXPECT_THROW(node_path("/core"), InvalidArgument);
}

// The Store contract, run against every implementation.
class StoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "file") {
      store_ = std::make_shared<FileStore>(dir_.path() / "root");
    } else {
      store_ = std::make_shared<MemoryStore>("contract");
    }
  }
  TempDir dir_;
  std::shared_ptr<Store> store_;
};

TEST_P(StoreContract, SetGetEraseExists) {
  Store& s = *store_;
  EXPECT_FALSE(s.get("a/b").has_value());
  EXPECT_FALSE(s.exists("a/b"));
  s.set("a/b", as_bytes("hello"));
  EXPECT_TRUE(s.exists("a/b"));
  EXPECT_EQ(as_string(*s.get("a/b")), "hello");
  s.set("a/b", as_bytes("bye"));  // replace with a shorter value
  EXPECT_EQ(as_string(*s.get("a/b")), "bye");
  s.set("empty", {});
  ASSERT_TRUE(s.get("empty").has_value());
  EXPECT_TRUE(s.get("empty")->empty());
  s.erase("a/b");
  EXPECT_FALSE(s.exists("a/b"));
  EXPECT_NO_THROW(s.erase("a/b"));  // erasing a missing key is fine
  EXPECT_FALSE(s.exists("a"));      // a folder is not a key
  EXPECT_FALSE(s.get("a").has_value());
}

TEST_P(StoreContract, Ranges) {
  Store& s = *store_;
  s.set("k", as_bytes("0123456789"));
  EXPECT_EQ(as_string(*s.get_range("k", 2, 3)), "234");
  EXPECT_EQ(as_string(*s.get_range("k", 8, 100)), "89");
  EXPECT_EQ(as_string(*s.get_range("k", 20, 5)), "");
  EXPECT_EQ(as_string(*s.get_suffix("k", 4)), "6789");
  EXPECT_EQ(as_string(*s.get_suffix("k", 40)), "0123456789");
  EXPECT_FALSE(s.get_range("missing", 0, 1).has_value());
  EXPECT_FALSE(s.get_suffix("missing", 1).has_value());
}

TEST_P(StoreContract, ListAndListDir) {
  Store& s = *store_;
  for (const char* k : {"zarr.json", "core/zarr.json", "core/positions/zarr.json", "core/positions/c/0/0",
                        "core/positions/c/1/0", "meta/atoms_ptr/zarr.json", "corex"}) {
    s.set(k, as_bytes("x"));
  }
  EXPECT_EQ(s.list("core/positions/"),
            (std::vector<std::string>{"core/positions/c/0/0", "core/positions/c/1/0", "core/positions/zarr.json"}));
  EXPECT_EQ(s.list("core").size(), 5u);  // "core..." includes corex
  EXPECT_EQ(s.list("").size(), 7u);
  EXPECT_EQ(s.list_dir(""), (std::vector<std::string>{"core", "corex", "meta", "zarr.json"}));
  EXPECT_EQ(s.list_dir("core"), (std::vector<std::string>{"positions", "zarr.json"}));
  EXPECT_EQ(s.list_dir("core/positions/c/"), (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(s.list_dir("nothing").empty());
}

TEST_P(StoreContract, EveryOperationValidatesKeys) {
  Store& s = *store_;
  const std::string bad = "a/../b";
  EXPECT_THROW(s.get(bad), InvalidArgument);
  EXPECT_THROW(s.get_range(bad, 0, 1), InvalidArgument);
  EXPECT_THROW(s.get_suffix(bad, 1), InvalidArgument);
  EXPECT_THROW(s.set(bad, as_bytes("x")), InvalidArgument);
  EXPECT_THROW(s.erase(bad), InvalidArgument);
  EXPECT_THROW(s.exists(bad), InvalidArgument);
  EXPECT_THROW(s.list("/abs"), InvalidArgument);
}

// Writers replace a value again and again with values of different sizes while readers check
// that they only ever see one whole value.
TEST_P(StoreContract, ReplaceIsAtomicUnderConcurrentReaders) {
  Store& s = *store_;
  const std::vector<std::string> values = {std::string(10, 'a'), std::string(70000, 'b'), std::string(3, 'c'),
                                           std::string(200000, 'd')};
  s.set("doc", as_bytes(values[0]));
  std::atomic<bool> stop{false};
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop) {
        const auto v = s.get("doc");
        if (!v || std::find(values.begin(), values.end(), as_string(*v)) == values.end()) ++bad_reads;
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 150; ++i) {
        s.set("doc", as_bytes(values[static_cast<std::size_t>(i + w) % values.size()]));
        s.set("other/" + std::to_string(w) + "/" + std::to_string(i % 5), as_bytes("v"));
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_EQ(s.list("other/").size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::Values("file", "memory"));

TEST(FileStore, LeavesNoTemporaryFilesAndWritesPlainFiles) {
  TempDir dir;
  FileStore s(dir.path(), FileStoreOptions{.fsync = true});
  s.set("a/b/c", as_bytes("data"));
  s.set("a/b/c", as_bytes("more data"));
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (e.is_regular_file()) ++files;
  }
  EXPECT_EQ(files, 1u);
  std::ifstream in(dir.path() / "a/b/c");
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "more data");
  EXPECT_EQ(s.url(), dir.str());
}

TEST(FileStore, IOErrorsNameThePathAndReason) {
  TempDir dir;
  FileStore s(dir.path());
  s.set("file", as_bytes("x"));
  try {
    s.set("file/child", as_bytes("y"));  // "file" is a file, not a folder
    FAIL() << "no error";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((dir.path() / "file").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("failed"), std::string::npos) << msg;
  }
  FileStore under_a_file(dir.path() / "file" / "root");  // opening creates nothing: no error yet
  EXPECT_THROW(under_a_file.set("x", as_bytes("y")), IOError);
  EXPECT_THROW(under_a_file.lock_writer(WriterLockOptions{}), IOError);
  if (::geteuid() != 0) {  // root ignores permissions
    std::filesystem::create_directories(dir.path() / "ro");
    ::chmod((dir.path() / "ro").c_str(), 0555);
    FileStore ro(dir.path() / "ro");
    EXPECT_THROW(ro.set("x", as_bytes("y")), IOError);
  }
}

TEST(OpenStore, PicksTheImplementationByUrl) {
  TempDir dir;
  auto plain = open_store((dir.path() / "plain").string());
  ASSERT_NE(dynamic_cast<FileStore*>(plain.get()), nullptr);
  auto file = open_store("file://" + (dir.path() / "f").string());
  ASSERT_NE(dynamic_cast<FileStore*>(file.get()), nullptr);
  EXPECT_EQ(file->url(), (dir.path() / "f").string());
  auto mem = open_store("memory://open-store-test");
  ASSERT_NE(dynamic_cast<MemoryStore*>(mem.get()), nullptr);
  EXPECT_EQ(mem->url(), "memory://open-store-test");
}

TEST(OpenStore, SameMemoryNameReopensSameData) {
  open_store("memory://shared-name")->set("k", as_bytes("kept"));
  EXPECT_EQ(as_string(*open_store("memory://shared-name")->get("k")), "kept");
  EXPECT_FALSE(open_store("memory://other-name")->exists("k"));
}

TEST(OpenStore, UnknownSchemesAreRejected) {  // s3:// and gs:// are tested in tests/zarr/s3
  EXPECT_THROW(open_store("ftp://x"), InvalidArgument);
  EXPECT_THROW(open_store("memory://"), InvalidArgument);
  EXPECT_THROW(open_store(""), InvalidArgument);
}

}  // namespace
}  // namespace batchmd::zarr
