// SPDX-License-Identifier: Apache-2.0
#pragma once

// Retirement of process-scoped series: every tick, shmstatsd folds the
// series of processes that have exited into their shared series and makes their
// descriptors reusable, through a read-write mapping of its own made for each pass
// (the collector's mapping is read-only). A daemon that may not write the segment
// skips it: readers still show the right values, and registrations that need room
// retire for it.

#include <cstdint>
#include <string>

#include "shmstats/segment.h"

namespace shmstats::daemon {

class Retirement {
 public:
  // Retires what it can in segment `name`; returns how many series. Never throws:
  // a segment it cannot open for writing is tried again a minute later.
  uint32_t Run(const std::string& name);

 private:
  int64_t next_try_ms_ = 0;
};

}  // namespace shmstats::daemon
