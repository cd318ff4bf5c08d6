// SPDX-License-Identifier: Apache-2.0
#pragma once

// An exclusive flock(2) on "<history db>.lock": one shmstatsd per history database.
// The kernel drops the lock when the process dies, SIGKILL included.
//
// Errors: the constructor throws shmstats::Error: kAlreadyExists (another process
// holds the lock; the message names its pid) or kSystem (cannot create the file).

#include <string>

namespace shmstats::daemon {

class LockFile {
 public:
  explicit LockFile(const std::string& path);
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;
  ~LockFile();

 private:
  int fd_ = -1;
};

}  // namespace shmstats::daemon
