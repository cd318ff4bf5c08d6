// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real PostgreSQL 15 for tests: initdb and pg_ctl in a temporary directory, as
// the unprivileged user nobody when run as root, Unix socket only (no TCP), stopped
// and removed at the end.

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "daemon_harness.h"

namespace shmstats::testing {

inline constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

class PgServer {
 public:
  PgServer() {
    chmod(dir_.str().c_str(), 0755);
    as_ = geteuid() == 0 ? "runuser -u nobody -- " : "";
    if (geteuid() == 0) Shell("chown nobody " + dir_.str());
    auto init = Shell(as_ + kPgBin + "/initdb -D " + (dir_ / "data") +
                      " -A trust -U postgres --no-sync > " + (dir_ / "initdb.log") + " 2>&1");
    if (init.status != 0) return;
    started_ = Start();
  }
  ~PgServer() { Stop(); }
  bool started() const { return started_; }
  // Starts (again) on the same data; Stop() shuts it down (fast).
  bool Start() {
    return Shell(as_ + kPgBin + "/pg_ctl -D " + (dir_ / "data") + " -w -l " + (dir_ / "pg.log") +
                 " -o \"-k " + dir_.str() + " -c listen_addresses='' -c fsync=off\" start")
               .status == 0;
  }
  bool Stop() {
    return Shell(as_ + kPgBin + "/pg_ctl -D " + (dir_ / "data") + " -w -m fast stop").status == 0;
  }
  // SIGSTOP (or SIGCONT) to the server and its backends: a store that stops
  // answering without closing a connection.
  bool Freeze(bool frozen) {
    const std::string sig = frozen ? "STOP" : "CONT";
    return Shell("pid=$(head -1 " + (dir_ / "data/postmaster.pid") + ") && pkill -" + sig +
                 " -P \"$pid\"; kill -" + sig + " \"$pid\"")
               .status == 0;
  }
  std::string Log() const { return ReadFile(dir_ / "pg.log"); }
  std::string url() const { return "postgresql:///postgres?host=" + dir_.str() + "&user=postgres"; }

 private:
  TempDir dir_;
  std::string as_;
  bool started_ = false;
};

}  // namespace shmstats::testing
