// SPDX-License-Identifier: Apache-2.0
#pragma once

// shmstatsd owns the segment's creation (--create-segment): a missing segment is
// created with the configured capacity, mode and group, so producers and
// `statsctl inc` find it on a fresh host. One that exists is left as it is.

#include "daemon/config.h"

namespace shmstats::daemon {

// Creates config.segment with config.segment_options unless it exists (a producer
// creating it at the same instant wins the race harmlessly). Returns true if this
// call created it. Throws shmstats::Error for anything else (permission, tmpfs full).
bool CreateSegmentIfMissing(const Config& config);

}  // namespace shmstats::daemon
