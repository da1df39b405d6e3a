// SPDX-License-Identifier: Apache-2.0
// io/atomic_file: AtomicFile, a file written beside its target and renamed over it on commit(),
// so a writer that fails half way (bad data, full disk) leaves the old file untouched and no
// reader ever sees half a file. Structure writers and `batchmd convert` write through it.
#pragma once
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace batchmd::io {

class AtomicFile {
 public:
  /// Creates a temporary file next to `target` (IOError naming the directory if it cannot).
  explicit AtomicFile(const std::filesystem::path& target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  /// Appends bytes; IOError on failure.
  void write(std::string_view s);
  /// Flushes, syncs and renames the file over the target; IOError on failure.
  /// @post the target holds everything written; the temporary file is gone.
  void commit();

 private:
  std::filesystem::path target_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

}  // namespace batchmd::io
