// SPDX-License-Identifier: Apache-2.0
#include "raw_shm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <system_error>

namespace shmstats::bench {
namespace {

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

RawShm::RawShm(std::string name, size_t bytes) : name_(std::move(name)), bytes_(bytes) {
  const std::string path = "/" + name_;
  shm_unlink(path.c_str());  // a file left by a killed run with the same pid
  int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) ThrowErrno("shm_open " + path);
  if (ftruncate(fd, static_cast<off_t>(bytes_)) != 0) {
    int saved = errno;
    close(fd);
    shm_unlink(path.c_str());
    errno = saved;
    ThrowErrno("ftruncate " + path);
  }
  void* addr = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int saved = errno;
  close(fd);
  if (addr == MAP_FAILED) {
    shm_unlink(path.c_str());
    errno = saved;
    ThrowErrno("mmap " + path);
  }
  slots_ = static_cast<std::atomic<uint64_t>*>(addr);
  for (size_t i = 0; i < bytes_ / sizeof(uint64_t); ++i) new (&slots_[i]) std::atomic<uint64_t>(0);
}

RawShm::~RawShm() {
  munmap(slots_, bytes_);
  shm_unlink(("/" + name_).c_str());
}

}  // namespace shmstats::bench
