// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace shmstats::bench {

// On SIGINT, SIGTERM or SIGHUP, unlinks /dev/shm/<a> and /dev/shm/<b>, then dies
// of the same signal, so an interrupted run leaves nothing behind. Call once, from
// main, before the objects exist. A name longer than 250 bytes is not registered.
void UnlinkOnSignal(const std::string& a, const std::string& b);

}  // namespace shmstats::bench
