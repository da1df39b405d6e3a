// SPDX-License-Identifier: Apache-2.0
// Test support: real child processes for the crash and writer-lock tests — started with fork and
// execve (everything the child needs is prepared before fork), their output captured in a file,
// descriptors handed down on purpose, signalled, killed and reaped; and start barriers that
// release several children at the same moment.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace batchmd::test_support {

struct SpawnOptions {
  std::vector<std::string> argv;                         ///< argv[0] is the program's path
  std::vector<std::pair<std::string, std::string>> env;  ///< set (or, with value "\x01unset", removed)
  std::string output_file;                               ///< stdout + stderr; "" = /dev/null
  std::vector<int> keep_fds;                             ///< descriptors the child inherits
};

/// A child process; SIGKILLed and reaped by the destructor if it still runs.
class Child {
 public:
  explicit Child(const SpawnOptions& o) : output_file_(o.output_file) {
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      bool overridden = false;
      for (const auto& [k, v] : o.env) overridden = overridden || kv.compare(0, k.size() + 1, k + "=") == 0;
      if (!overridden) env_s.push_back(kv);
    }
    for (const auto& [k, v] : o.env)
      if (v != "\x01unset") env_s.push_back(k + "=" + v);
    std::vector<std::string> args = o.argv;
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string out = o.output_file.empty() ? "/dev/null" : o.output_file;
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) throw std::runtime_error("cannot open " + out);
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(out_fd);
      throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {  // only async-signal-safe calls until execve
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
      for (int fd : o.keep_fds) ::fcntl(fd, F_SETFD, 0);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out_fd);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::kill(pid_, SIGCONT);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }

  /// Waits for the end: the exit status, or 128 + the signal that ended it.
  int wait() {
    if (reaped_) return status_;
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    return reap(st);
  }
  /// Like wait(), for at most `seconds`; nullopt while it still runs.
  std::optional<int> wait_for(double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
      if (reaped_) return status_;
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) return reap(st);
      if (std::chrono::steady_clock::now() >= end) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  /// Waits until the child is stopped (SIGSTOP); false when it ended instead.
  bool wait_stopped() {
    int st = 0;
    while (::waitpid(pid_, &st, WUNTRACED) < 0 && errno == EINTR) {
    }
    if (WIFSTOPPED(st)) return true;
    reap(st);
    return false;
  }
  /// SIGKILL, then reap; true when SIGKILL is what ended it (it had not exited on its own).
  bool kill() {
    ::kill(pid_, SIGKILL);
    return wait() == 128 + SIGKILL;
  }
  /// Whether a signal ended it (rather than an exit with status 128 + n).
  bool signaled() const { return signaled_; }
  /// What it printed so far (stdout + stderr).
  std::string output() const {
    std::ifstream in(output_file_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  int reap(int st) {
    reaped_ = true;
    signaled_ = WIFSIGNALED(st);
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    return status_;
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  bool signaled_ = false;
  int status_ = -1;
  std::string output_file_;
};

/// The kill tests' repeat factor: BATCHMD_KILL_STORM=N runs N times as many kills as CI does
/// (a longer storm by hand); 1 when unset.
inline int kill_storm() {
  const char* v = std::getenv("BATCHMD_KILL_STORM");
  const int n = v == nullptr ? 1 : std::atoi(v);
  return n < 1 ? 1 : n;
}

/// A pipe: children get the read end (e.g. --go-fd) and block on it until release() closes the
/// write end, which wakes all of them at once.
class StartBarrier {
 public:
  StartBarrier() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  }
  ~StartBarrier() {
    close_read_end();
    release();
  }
  StartBarrier(const StartBarrier&) = delete;
  StartBarrier& operator=(const StartBarrier&) = delete;
  int read_fd() const { return fds_[0]; }
  /// After the children are started: the parent's read end is not needed.
  void close_read_end() {
    if (fds_[0] >= 0) ::close(fds_[0]);
    fds_[0] = -1;
  }
  void release() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

/// A pipe a child writes one byte into when it is ready (kill_writer's READY_FD).
class ReadySignal {
 public:
  ReadySignal() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  }
  ~ReadySignal() {
    for (int fd : fds_)
      if (fd >= 0) ::close(fd);
  }
  ReadySignal(const ReadySignal&) = delete;
  ReadySignal& operator=(const ReadySignal&) = delete;
  int write_fd() const { return fds_[1]; }
  /// After the child is started; then waits up to `seconds` for its byte.
  bool wait(double seconds) {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      char c = 0;
      const int flags = ::fcntl(fds_[0], F_GETFL);
      ::fcntl(fds_[0], F_SETFL, flags | O_NONBLOCK);
      const ssize_t n = ::read(fds_[0], &c, 1);
      if (n == 1) return true;
      if (n == 0) return false;  // the child closed it without a byte (it died)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  }

 private:
  int fds_[2] = {-1, -1};
};

}  // namespace batchmd::test_support
