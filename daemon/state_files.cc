// SPDX-License-Identifier: Apache-2.0
#include "daemon/state_files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& path, int err) {
  if (err == ELOOP || err == EEXIST) {
    throw Error(Errc::kPermission,
                fmt::format("refusing {} {}: it already exists and is not a file of ours (a "
                            "symlink?); check who can write its directory and remove it",
                            what, path));
  }
  throw Error(err == EACCES || err == EPERM ? Errc::kPermission : Errc::kSystem,
              fmt::format("cannot {} {}: {}", what, path, std::strerror(err)));
}

bool StaleFileOfOurs(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid();
}

}  // namespace

void CheckStateDir(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return;  // missing: opening the database says so, and retries
  bool owner_ok = st.st_uid == geteuid() || st.st_uid == 0;
  bool group_ok = !(st.st_mode & S_IWGRP) || st.st_gid == getegid();
  if (!owner_ok || !group_ok || (st.st_mode & S_IWOTH)) {
    throw Error(Errc::kPermission,
                fmt::format("state directory {} (mode {:04o}, uid {}, gid {}) is writable by "
                            "other users, who could plant links to files the daemon would then "
                            "overwrite: refused; make it owned by this user and not writable by "
                            "others (chown; chmod go-w {})",
                            dir, st.st_mode & 07777, st.st_uid, st.st_gid, dir));
  }
}

int CreateExclusive(const std::string& path, int flags, int mode) {
  for (int attempt = 0;; ++attempt) {
    int fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    int err = errno;
    if (err == EEXIST && attempt == 0 && StaleFileOfOurs(path) && ::unlink(path.c_str()) == 0) {
      continue;
    }
    Fail("create", path, err);
  }
}

int OpenOrCreateNoFollow(const std::string& path, int mode) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd >= 0 || errno != EEXIST) {
    if (fd < 0) Fail("create", path, errno);
    return fd;
  }
  fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) Fail("open", path, errno);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    ::close(fd);
    Fail("open", path, EEXIST);
  }
  return fd;
}

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), tmp_(fmt::format("{}.tmp.{}", path_, getpid())) {
  fd_ = CreateExclusive(tmp_, O_WRONLY, 0644);  // never through a planted symlink
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("write", tmp_, n < 0 ? errno : ENOSPC);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void AtomicFile::Commit() {
  const int fd = std::exchange(fd_, -1);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(tmp_.c_str());
    Fail("sync", tmp_, saved);
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp_.c_str());
    Fail("rename onto", path_, saved);
  }
  std::string dir =
      path_.find('/') == std::string::npos ? "." : path_.substr(0, path_.rfind('/') + 1);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void WriteFileAtomically(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.Write(content);
  file.Commit();
}

std::string ReadFileNoFollow(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return {};
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) data.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return data;
}

}  // namespace shmstats::daemon
