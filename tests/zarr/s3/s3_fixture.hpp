// SPDX-License-Identifier: Apache-2.0
// Test fixture for the S3 store tests: a local S3 server (npm s3rver through s3_server.mjs) on
// 127.0.0.1, a random free port and a temporary directory, started by fork/exec of node and
// stopped at the end; a misbehaving proxy in front of it (fault_proxy.mjs); and helpers that run
// the independent node tools. A missing node or npm package makes the tests fail, not skip.
#pragma once
#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace batchmd::s3test {

inline const std::string kTestDir = BATCHMD_S3_TEST_DIR;  // tests/zarr/s3 in the source tree
inline const std::string kBucket = "batchmd-test";

/// A node script run as a child process: its stdin is a pipe (closing it stops the script even
/// if this process dies), its first stdout line "PORT <n>" gives the port it listens on.
class NodeProcess {
 public:
  NodeProcess(std::string script, std::vector<std::string> args) : script_(std::move(script)), args_(std::move(args)) {
    start();
  }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;
  ~NodeProcess() { stop(); }

  int port() const { return port_; }
  bool running() const { return pid_ > 0; }

  /// SIGKILL: the server dies mid-request, as a crash would.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap();
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        close_pipes();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill();
  }
  /// Starts again with the same arguments (a server keeps its port and directory).
  void restart(const std::vector<std::string>& extra_args = {}) {
    stop();
    std::vector<std::string> saved = args_;
    args_.insert(args_.end(), extra_args.begin(), extra_args.end());
    start();
    args_ = saved;
  }

 private:
  void start() {
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::string path = kTestDir + "/" + script_;
    std::vector<std::string> argv_s = {"node", path};
    argv_s.insert(argv_s.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execvp("node", argv.data());
      std::fprintf(stderr, "s3 test fixture: cannot run node (install it with scripts/setup.sh)\n");
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{stdout_fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[256];
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    if (line.rfind("PORT ", 0) != 0) {
      kill();
      throw std::runtime_error("could not start node " + path +
                               " (are node and the npm packages installed? run scripts/setup.sh); it printed: " + line);
    }
    port_ = std::stoi(line.substr(5));
    // later runs listen on the same port
    bool has_port = false;
    for (const auto& a : args_) has_port = has_port || a == "--port";
    if (!has_port && script_ == "s3_server.mjs") args_.insert(args_.end(), {"--port", std::to_string(port_)});
  }
  void reap() {
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    close_pipes();
  }
  void close_pipes() {
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
    stdin_fd_ = stdout_fd_ = -1;
  }

  std::string script_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1, stdout_fd_ = -1;
  int port_ = 0;
};

/// A scratch directory removed at scope exit.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("batchmd_s3_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The local S3 server with one bucket, kBucket.
class LocalS3 {
 public:
  LocalS3() : dir_("server"), server_("s3_server.mjs", {"--dir", dir_.path().string(), "--bucket", kBucket}) {}
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  int port() const { return server_.port(); }
  NodeProcess& process() { return server_; }
  /// Points the AWS_* variables (as open_store reads them) at this server, with its keys.
  void export_environment() const {
    ::setenv("AWS_ENDPOINT_URL", endpoint().c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_ENDPOINT_URL_S3");
  }

 private:
  ScratchDir dir_;
  NodeProcess server_;
};

/// A shell command's exit status and output (stdout + stderr).
struct CommandResult {
  int status = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  r.status = ::pclose(pipe);
  return r;
}

inline std::string quote(const std::string& w) {
  std::string q = "'";
  for (const char c : w) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// The body of a plain HTTP GET (the proxy's control and statistics endpoints).
inline std::string http_get(const std::string& url) {
  std::string body;
  CURL* h = curl_easy_init();
  if (h == nullptr) return body;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(
      h, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t sz, std::size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, sz * n);
        return sz * n;
      });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_perform(h);
  curl_easy_cleanup(h);
  return body;
}

/// A unique prefix for one test's store inside the shared bucket.
inline std::string unique_name(const std::string& tag) {
  static int counter = 0;
  return tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace batchmd::s3test
