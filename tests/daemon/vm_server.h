// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real VictoriaMetrics (Debian's victoria-metrics package) for tests: a second
// remote-write receiver, its data in a temporary directory, stopped at the end.
// It listens on 127.0.0.1:0 but never says which port it got (its log repeats
// ":0"), so the port is read from the kernel: the listening TCP socket among the
// process's own descriptors (/proc/PID/fd and /proc/PID/net/tcp). Nothing probes.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "daemon_harness.h"

namespace shmstats::testing {

inline constexpr const char* kVictoriaMetrics = "/usr/bin/victoria-metrics";

// The loopback TCP port `pid` listens on, or 0 while it listens on none.
inline int ListeningPort(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::set<std::string> sockets;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", ec)) {
    std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) {
      sockets.insert(target.substr(8, target.size() - 9));
    }
  }
  std::ifstream tcp(proc + "/net/tcp");
  std::string line;
  std::getline(tcp, line);  // the header
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    in >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
        inode;
    if (state == "0A" && sockets.count(inode) && local.rfind("0100007F:", 0) == 0) {
      return std::stoi(local.substr(9), nullptr, 16);
    }
  }
  return 0;
}

class VmServer {
 public:
  // Starts it and waits (at most 60 s) until it listens and answers /health.
  bool Start() {
    child_ = std::make_unique<Child>(
        std::vector<std::string>{kVictoriaMetrics, "-httpListenAddr=127.0.0.1:0",
                                 "-storageDataPath=" + (dir_ / "data"), "-loggerLevel=WARN"},
        dir_ / "vm.log");
    return WaitFor(
        [&] {
          if (port_ == 0) port_ = ListeningPort(child_->pid());
          return port_ != 0 && Get(port_, "/health").status == 200;
        },
        60);
  }
  int port() const { return port_; }
  std::string write_url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/write";
  }
  std::string Log() const { return ReadFile(dir_ / "vm.log"); }

 private:
  TempDir dir_;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

}  // namespace shmstats::testing
