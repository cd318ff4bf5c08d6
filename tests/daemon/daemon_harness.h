// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers for tests that run the real shmstatsd: unique names, temporary state
// directories, the ports a daemon got (--port-file), a child-process wrapper that always stops what
// it started, and an HTTP getter.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shmstats/shmstats.h"

namespace shmstats::testing {

inline std::string UniqueName(const char* tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(tag) + "-" + (info ? info->name() : "t") + "-" + std::to_string(getpid());
}

// A segment with room for a few hundred metrics.
inline SegmentOptions Small() {
  SegmentOptions o;
  o.max_metrics = 256;
  o.max_slots = 1 << 14;
  return o;
}

// A segment name removed again when the test ends.
class ScopedSegmentName {
 public:
  explicit ScopedSegmentName(std::string name) : name_(std::move(name)) { Segment::Remove(name_); }
  ~ScopedSegmentName() { Segment::Remove(name_); }
  const std::string& str() const { return name_; }

 private:
  std::string name_;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "shmstatsd-test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& leaf) const { return path_ + "/" + leaf; }
  const std::string& str() const { return path_; }

 private:
  std::string path_;
};

// A loopback port held for a server that starts later, or restarts, on it: a socket
// bound with SO_REUSEADDR and SO_REUSEPORT but not listening, so that the kernel gives the port to no
// one else, connections to it are refused until the server listens, and a server
// that sets SO_REUSEADDR too (Go's, cpp-httplib's) may bind it. The kernel chooses
// the port; nothing is probed.
class ReservedPort {
 public:
  ReservedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    // Both: a server that binds the port later may set either (cpp-httplib sets only
    // SO_REUSEPORT, Go's net package SO_REUSEADDR).
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~ReservedPort() { close(fd_); }
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A blocking TCP connection to loopback:`port`, or -1.
inline int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool WaitFor(const std::function<bool()>& done, double seconds = 20) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// shmstatsd's arguments to listen on a port the kernel chooses and report it in
// `port_file` (removed first, so that a previous run's file is never read).
inline std::vector<std::string> ListenAnyPort(const std::string& port_file) {
  std::filesystem::remove(port_file);
  return {"--listen", "127.0.0.1:0", "--port-file", port_file};
}

// The port shmstatsd wrote into its --port-file for `door` ("http", "statsd"), once
// the file is there (it is written whole, once listening), or 0 after `seconds`.
inline int AwaitPort(const std::string& port_file, const std::string& door = "http",
                     double seconds = 20) {
  int port = 0;
  WaitFor(
      [&] {
        std::istringstream in(ReadFile(port_file));
        std::string key;
        int value = 0;
        while (in >> key >> value) {
          if (key == door) port = value;
        }
        return port != 0;
      },
      seconds);
  return port;
}

// A child process; killed (SIGKILL) and reaped by the destructor if still running.
class Child {
 public:
  Child(std::vector<std::string> argv, const std::string& log_path) : log_(log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* log = std::fopen(log_path.c_str(), "a");
      if (log) {
        dup2(fileno(log), 1);
        dup2(fileno(log), 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Sends `sig` and waits; returns the exit status, or 128+signal when killed.
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    return Wait();
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // The exit status if it has exited, without waiting.
  std::optional<int> Exited() {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string Log() const { return ReadFile(log_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// A shell command's exit status and standard output (standard error dropped).
struct Output {
  int status = -1;
  std::string out;
};

inline Output Shell(const std::string& command) {
  Output o;
  FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) o.out.append(buf, n);
  int st = pclose(p);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

struct HttpReply {
  int status = 0;
  std::string body;  // as sent: not decompressed
  std::string content_type;
  std::string content_encoding;
};

inline HttpReply Get(int port, const std::string& path, const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(10);
  client.set_decompress(false);
  auto res = client.Get(path, headers);
  if (!res) return {};
  return {res->status, res->body, res->get_header_value("Content-Type"),
          res->get_header_value("Content-Encoding")};
}

inline HttpReply Post(int port, const std::string& path, const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  auto res = client.Post(path, headers, "", "text/plain");
  if (!res) return {};
  return {res->status, res->body, res->get_header_value("Content-Type"),
          res->get_header_value("Content-Encoding")};
}

// The value of an unlabelled sample in Prometheus text, or -1.
inline double Scalar(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

// A Small() segment holding what the history tests record: a counter
// req_total{code="200"}, a gauge inflight and a histogram wait_seconds (bounds 0.1, 1).
struct HistorySegment {
  explicit HistorySegment(const std::string& name)
      : segment(Segment::Create(name, Small())),
        c(segment.RegisterCounter({"req_total", {{"code", "200"}}, "Requests", ""})),
        g(segment.RegisterGauge({"inflight", {}, "", ""})),
        h(segment.RegisterHistogram({"wait_seconds", {}, "", "seconds"},
                                    ExplicitBuckets{{0.1, 1}})) {}
  Segment segment;
  Counter c;
  Gauge g;
  Histogram h;
};

// A running shmstatsd with a 1 s interval on a port the kernel chose and its own
// state dir; ready once it has written its port file and answers /healthz.
class Daemon {
 public:
  Daemon(const std::string& segment, const TempDir& dir, std::vector<std::string> extra = {})
      : dir_(dir) {
    std::vector<std::string> argv = {SHMSTATSD_PATH, "--segment",  segment, "--state-dir",
                                     dir.str(),      "--interval", "1s"};
    auto listen = ListenAnyPort(dir / "ports");
    argv.insert(argv.end(), listen.begin(), listen.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(argv, dir / "shmstatsd.log");
    port_ = AwaitPort(dir / "ports", "http", 20);
    ready_ = port_ != 0 && WaitFor([&] { return Get(port_, "/healthz").status != 0; }, 10);
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }
  // The statsd UDP port, when started with --statsd HOST:0.
  int statsd_port() const { return AwaitPort(dir_ / "ports", "statsd", 1); }
  Child& child() { return *child_; }
  double Ticks() { return Scalar(Get(port_, "/metrics").body, "shmstatsd_ticks_total"); }
  // Waits until `n` more ticks have completed.
  bool AwaitTicks(int n = 1) {
    double start = Ticks();
    return WaitFor([&] { return Ticks() >= start + n; }, 10 + 2 * n);
  }

 private:
  int port_ = 0;
  const TempDir& dir_;
  std::unique_ptr<Child> child_;
  bool ready_ = false;
};

}  // namespace shmstats::testing
