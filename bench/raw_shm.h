// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace shmstats::bench {

// Bytes of /dev/shm/<name> mapped MAP_SHARED, zero-filled: the memory the floor
// benchmarks write to, mapped the way a shmstats segment is (tmpfs, shared).
// The mapping is page aligned, so slot(0) and slot(8) start cache lines.
// Ownership: the object owns the mapping and the name; the destructor unmaps and
// unlinks. Not copyable. Errors: the constructor throws std::system_error naming
// the call that failed (a stale file of the same name is replaced).
// Thread-safety: slot() may be used from any thread.
class RawShm {
 public:
  explicit RawShm(std::string name, size_t bytes = 4096);
  ~RawShm();
  RawShm(const RawShm&) = delete;
  RawShm& operator=(const RawShm&) = delete;

  // REQUIRES: i < bytes / 8.
  std::atomic<uint64_t>& slot(size_t i) const noexcept { return slots_[i]; }
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  size_t bytes_;
  std::atomic<uint64_t>* slots_;
};

}  // namespace shmstats::bench
