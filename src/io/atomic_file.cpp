// SPDX-License-Identifier: Apache-2.0
// io/atomic_file: temporary file + fsync + rename.
#include "batchmd/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "batchmd/core/error.hpp"

namespace batchmd::io {

AtomicFile::AtomicFile(const std::filesystem::path& target) : target_(target) {
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string base = ".";
  base += target.filename().string();
  base += ".tmp-XXXXXX";
  const std::string tmpl = (dir / base).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());
  if (fd < 0) throw IOError("cannot create a file in '" + dir.string() + "': " + std::strerror(errno));
  tmp_ = name.data();
  ::fchmod(fd, 0644);
  file_ = ::fdopen(fd, "w");
  if (!file_) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp_.c_str());
    throw IOError("cannot open '" + tmp_ + "': " + std::strerror(err));
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(std::string_view s) {
  if (!file_) throw IOError("'" + target_.string() + "': write after commit");
  if (std::fwrite(s.data(), 1, s.size(), file_) != s.size())
    throw IOError("writing '" + tmp_ + "' failed: " + std::strerror(errno));
}

void AtomicFile::commit() {
  std::FILE* f = file_;
  file_ = nullptr;
  if (!f) throw IOError("'" + target_.string() + "': committed twice");
  if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) {
    const int err = errno;
    std::fclose(f);
    throw IOError("writing '" + tmp_ + "' failed: " + std::strerror(err));
  }
  if (std::fclose(f) != 0) throw IOError("closing '" + tmp_ + "' failed: " + std::strerror(errno));
  if (std::rename(tmp_.c_str(), target_.c_str()) != 0)
    throw IOError("cannot rename '" + tmp_ + "' to '" + target_.string() + "': " + std::strerror(errno));
  committed_ = true;
}

}  // namespace batchmd::io
