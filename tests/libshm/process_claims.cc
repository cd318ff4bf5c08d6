// SPDX-License-Identifier: Apache-2.0
#include "process_claims.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "names.h"

namespace shmstats::test {

SegmentMapping::SegmentMapping(const std::string& segment_name, bool writable) {
  std::string path = "/dev/shm/" + segment_name;
  int fd = open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    throw std::runtime_error(path + ": " + std::strerror(err));
  }
  size_ = static_cast<size_t>(st.st_size);
  void* p = size_ < layout::kHeaderSize
                ? MAP_FAILED
                : mmap(nullptr, size_, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) throw std::runtime_error(path + ": cannot map: " + std::strerror(err));
  base_ = static_cast<char*>(p);
}

SegmentMapping::~SegmentMapping() { munmap(base_, size_); }

uint32_t SegmentMapping::descriptors() const {
  uint64_t dir = header().directory_offset;
  size_t room = dir < size_ ? (size_ - dir) / layout::kDescriptorSize : 0;
  uint64_t used = std::min<uint64_t>(header().series_used.load(), header().max_metrics);
  return static_cast<uint32_t>(std::min<uint64_t>(used, room));
}

layout::Descriptor& SegmentMapping::descriptor(uint32_t i) const {
  if (i >= descriptors()) throw std::runtime_error("descriptor index out of range");
  return reinterpret_cast<layout::Descriptor*>(base_ + header().directory_offset)[i];
}

std::vector<pid_t> ClaimWatcher::ClaimOwners() const {
  std::vector<pid_t> owners;
  for (uint32_t i = 0, n = mapping_.descriptors(); i < n; ++i) {
    const layout::Descriptor& d = mapping_.descriptor(i);
    // Acquire, as a registrant would: owner_pid is stored after the claim.
    uint64_t state = d.state.load(std::memory_order_acquire);
    if ((state & layout::kStateMask) == layout::kClaimed)
      owners.push_back(static_cast<pid_t>(d.owner_pid.load(std::memory_order_relaxed)));
  }
  return owners;
}

uint32_t PlantClaim(const std::string& segment_name, const MetricSpec& spec, pid_t owner,
                    bool linked) {
  SegmentMapping m(segment_name, /*writable=*/true);
  std::string labels = names::CheckSpecAndEncodeLabels(spec, /*histogram=*/false);
  uint64_t hash = names::KeyHash(spec.name, labels);
  uint32_t index = 0;
  if (linked) {
    while (index < m.descriptors() &&
           m.descriptor(index).state.load() != (layout::kPublished | hash))
      ++index;
    if (index == m.descriptors()) throw std::runtime_error(spec.name + " is not published");
  } else {
    index = static_cast<uint32_t>(m.header().series_used.fetch_add(1));
  }
  layout::Descriptor& d = m.descriptor(index);
  d.owner_pid.store(static_cast<uint32_t>(owner), std::memory_order_relaxed);
  d.state.store(layout::kClaimed | hash);
  return index;
}

}  // namespace shmstats::test
