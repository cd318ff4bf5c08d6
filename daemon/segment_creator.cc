// SPDX-License-Identifier: Apache-2.0
#include "daemon/segment_creator.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include "daemon/log.h"
#include "shmstats/error.h"

namespace shmstats::daemon {

bool CreateSegmentIfMissing(const Config& config) {
  struct stat st;
  if (stat(("/dev/shm/" + config.segment).c_str(), &st) == 0) return false;
  try {
    Segment::Create(config.segment, config.segment_options);
  } catch (const Error& e) {
    if (e.code() == Errc::kAlreadyExists) return false;
    throw;
  }
  const SegmentOptions& o = config.segment_options;
  Log("info", fmt::format("created segment {} ({} metrics, {} slots, mode {:04o}{})",
                          config.segment, o.max_metrics, o.max_slots, o.mode,
                          o.group ? fmt::format(", gid {}", *o.group) : ""));
  return true;
}

}  // namespace shmstats::daemon
