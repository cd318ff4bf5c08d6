// SPDX-License-Identifier: Apache-2.0
#pragma once

// Views of a segment's descriptors (libshm/src/layout.h) for the crash
// tests: which processes hold a registration claim right now, and a claim planted
// as a producer that died in the middle of its registration would have left it.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "layout.h"
#include "shmstats/metric_spec.h"

namespace shmstats::test {

// A mapping of the whole of /dev/shm/<name>, unmapped when destroyed. The test
// created the segment, so its header is trusted (indexes are still checked).
// Throws std::runtime_error if the segment cannot be mapped.
class SegmentMapping {
 public:
  SegmentMapping(const std::string& segment_name, bool writable);
  ~SegmentMapping();
  SegmentMapping(const SegmentMapping&) = delete;
  SegmentMapping& operator=(const SegmentMapping&) = delete;

  layout::Header& header() const { return *reinterpret_cast<layout::Header*>(base_); }
  uint32_t descriptors() const;
  // Throws std::runtime_error if i is out of range.
  layout::Descriptor& descriptor(uint32_t i) const;

 private:
  char* base_ = nullptr;
  size_t size_ = 0;
};

// Which processes hold a claim. Not thread-safe.
class ClaimWatcher {
 public:
  explicit ClaimWatcher(const std::string& segment_name) : mapping_(segment_name, false) {}

  // The owner pids of descriptors in the kClaimed state at this instant (a claimer
  // that has not yet stored its pid shows as 0).
  std::vector<pid_t> ClaimOwners() const;

 private:
  SegmentMapping mapping_;
};

// Leaves a claim of `spec` (a counter or gauge) for `owner` as a producer that
// stopped in the middle of its registration would: with `linked`, the series'
// published descriptor is turned back into a linked claim (stopped between the
// index link and the publication); without, a fresh descriptor is taken from the
// cursor and claimed but never linked (stopped while filling it). Returns the
// descriptor's index. Throws std::runtime_error if the segment cannot be mapped or
// (linked) the series is not published.
uint32_t PlantClaim(const std::string& segment_name, const MetricSpec& spec, pid_t owner,
                    bool linked);

}  // namespace shmstats::test
