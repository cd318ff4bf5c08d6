// SPDX-License-Identifier: Apache-2.0
#pragma once

// Segment creation options as users write them (statsctl create, shmstatsd's
// --segment-* options): an octal mode and a group name or number.
//
// Errors: throws shmstats::Error(kInvalidArgument) with a message saying what to
// write instead. Thread-safety: any thread (getgrnam_r).

#include <cstdint>
#include <string>

#include "shmstats/segment.h"

namespace shmstats::common {

// mode: octal such as "0640" or "660"; group: a name from /etc/group, a number, or
// "" for the creator's group.
SegmentOptions ParseSegmentOptions(uint32_t max_metrics, uint32_t max_slots,
                                   const std::string& mode, const std::string& group);

}  // namespace shmstats::common
