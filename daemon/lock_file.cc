// SPDX-License-Identifier: Apache-2.0
#include "daemon/lock_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/state_files.h"
#include "shmstats/error.h"

namespace shmstats::daemon {

LockFile::LockFile(const std::string& path) {
  fd_ = OpenOrCreateNoFollow(path, 0644);  // never through a planted symlink
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    char pid[32] = {};
    ssize_t n = ::pread(fd_, pid, sizeof(pid) - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (saved == EWOULDBLOCK) {
      std::string owner = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "unknown";
      while (!owner.empty() && (owner.back() == '\n' || owner.back() == ' ')) owner.pop_back();
      throw Error(Errc::kAlreadyExists,
                  fmt::format("another shmstatsd (pid {}) is using this history database: {} "
                              "is locked; stop it or give this one another --state-dir",
                              owner, path));
    }
    throw Error(Errc::kSystem, fmt::format("cannot lock {}: {}", path, std::strerror(saved)));
  }
  std::string me = fmt::format("{}\n", getpid());
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd_, me.data(), me.size(), 0);
  }
}

LockFile::~LockFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace shmstats::daemon
