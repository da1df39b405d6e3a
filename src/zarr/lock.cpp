// SPDX-License-Identifier: Apache-2.0
// The writer lock record: who this process is (host, pid, start time, boot and PID namespace),
// the record's JSON, whether a recorded holder still runs, and the lock options from the
// environment. The stores' lock protocols live in file_lock.cpp, memory_store.cpp, s3_lock.cpp.
#include "batchmd/zarr/lock.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

namespace batchmd::zarr {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

/// Fields of /proc/<pid>/stat after the command name: [0] = state, [19] = start time in ticks.
std::optional<std::vector<std::string>> proc_stat(std::int64_t pid) {
  const std::string text = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  if (fields.size() < 20) return std::nullopt;
  return fields;
}

std::string utc(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

/// This process's start, from the boot time and its start ticks; "" when /proc cannot say.
std::string process_start_utc(std::uint64_t start_ticks) {
  std::ifstream in("/proc/stat");
  std::string key;
  long long btime = -1;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("btime ", 0) == 0) btime = std::atoll(line.c_str() + 6);
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (btime < 0 || hz <= 0) return "";
  return utc(static_cast<std::time_t>(btime + static_cast<long long>(start_ticks / static_cast<std::uint64_t>(hz))));
}

struct Machine {
  std::string host, boot_id, pid_namespace;
  std::uint64_t start_ticks = 0;
  std::string started;
};

const Machine& machine() {
  static const Machine m = [] {
    Machine x;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) == 0) x.host = host;
    x.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
    char ns[128] = {};
    const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    if (n > 0) x.pid_namespace.assign(ns, static_cast<std::size_t>(n));
    if (const auto st = proc_stat(::getpid())) x.start_ticks = std::strtoull((*st)[19].c_str(), nullptr, 10);
    x.started = process_start_utc(x.start_ticks);
    return x;
  }();
  return m;
}

std::string random_token() {
  std::random_device rd;
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) out += hex[rd() % 16];
  return out;
}

double env_seconds(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(d > 0) || d > 1e6)
    throw InvalidArgument(std::string(name) + "='" + v + "': expected a number of seconds in (0, 1e6]");
  return d;
}

}  // namespace

LockHolder LockHolder::self(const std::string& tool, const std::string& mode, double lease_s) {
  const Machine& m = machine();
  LockHolder h;
  h.host = m.host;
  h.pid = ::getpid();
  h.process_started = m.started;
  h.acquired = utc(std::time(nullptr));
  h.tool = tool;
  h.mode = mode;
  h.token = random_token();
  h.lease_s = lease_s;
  h.boot_id = m.boot_id;
  h.pid_namespace = m.pid_namespace;
  h.start_ticks = m.start_ticks;
  return h;
}

std::string LockHolder::to_json() const {
  nlohmann::json j = {{"batchmd_writer_lock", 1},
                      {"host", host},
                      {"pid", pid},
                      {"process_started", process_started},
                      {"acquired", acquired},
                      {"tool", tool},
                      {"mode", mode},
                      {"token", token},
                      {"lease_s", lease_s},
                      {"boot_id", boot_id},
                      {"pid_namespace", pid_namespace},
                      {"start_ticks", start_ticks}};
  return j.dump(1) + "\n";
}

std::optional<LockHolder> LockHolder::parse(std::span<const std::byte> bytes) {
  const auto j = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                       reinterpret_cast<const char*>(bytes.data()) + bytes.size(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("batchmd_writer_lock")) return std::nullopt;
  try {
    LockHolder h;
    h.host = j.value("host", "");
    h.pid = j.value("pid", std::int64_t{0});
    h.process_started = j.value("process_started", "");
    h.acquired = j.value("acquired", "");
    h.tool = j.value("tool", "");
    h.mode = j.value("mode", "");
    h.token = j.value("token", "");
    h.lease_s = j.value("lease_s", 0.0);
    h.boot_id = j.value("boot_id", "");
    h.pid_namespace = j.value("pid_namespace", "");
    h.start_ticks = j.value("start_ticks", std::uint64_t{0});
    return h;
  } catch (const nlohmann::json::exception&) {  // a field of the wrong type: not our record
    return std::nullopt;
  }
}

std::string LockHolder::describe() const {
  std::string s = "pid " + std::to_string(pid) + " on host " + (host.empty() ? "?" : host) + " (" +
                  (tool.empty() ? "unknown tool" : tool);
  if (!process_started.empty()) s += ", process started " + process_started;
  if (!acquired.empty()) s += ", holding the store since " + acquired;
  return s + ")";
}

Liveness holder_liveness(const LockHolder& h) {
  const Machine& m = machine();
  if (h.host != m.host || h.boot_id.empty() || h.boot_id != m.boot_id || h.pid_namespace != m.pid_namespace ||
      h.pid <= 0)
    return Liveness::Unknown;
  if (h.pid == ::getpid()) return h.start_ticks == m.start_ticks ? Liveness::Alive : Liveness::Dead;
  if (::kill(static_cast<pid_t>(h.pid), 0) != 0 && errno == ESRCH) return Liveness::Dead;
  const auto st = proc_stat(h.pid);
  if (!st) return Liveness::Alive;                                // it exists, /proc does not say more
  if ((*st)[0] == "Z" || (*st)[0] == "X") return Liveness::Dead;  // killed, not yet reaped
  if (h.start_ticks != 0 && std::strtoull((*st)[19].c_str(), nullptr, 10) != h.start_ticks)
    return Liveness::Dead;  // the pid was reused by another process
  return Liveness::Alive;
}

WriterLockOptions WriterLockOptions::from_environment() {
  WriterLockOptions o;
  if (const char* m = std::getenv("BATCHMD_FILE_LOCK"); m != nullptr && *m != '\0') {
    const std::string mode = m;
    if (mode == "flock") {
      o.file_mode = FileMode::Flock;
    } else if (mode == "lockfile") {
      o.file_mode = FileMode::LockFile;
    } else {
      throw InvalidArgument("BATCHMD_FILE_LOCK='" + mode + "': expected 'flock' or 'lockfile'");
    }
  }
  o.lease_s = env_seconds("BATCHMD_LOCK_LEASE_S", o.lease_s);
  o.settle_s = env_seconds("BATCHMD_LOCK_SETTLE_S", o.settle_s);
  return o;
}

std::string locked_message(const std::string& store_url, const std::optional<LockHolder>& holder,
                           const std::string& how_to_break) {
  std::string m = store_url + ": another writer holds this store";
  m += holder ? ": " + holder->describe() : " (its lock record is unreadable)";
  m += ". Wait for it to finish or write to another path";
  if (!how_to_break.empty()) m += "; " + how_to_break;
  return m;
}

}  // namespace batchmd::zarr
