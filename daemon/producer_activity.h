// SPDX-License-Identifier: Apache-2.0
#pragma once

// The last activity of each producer (statsctl ps): every tick, the series whose
// value changed since the previous tick (or that are new) mark the producer that
// created them, and shmstatsd writes the tick's time into those producers' records,
// through a read-write mapping made for that write only (the collector's is
// read-only). Decided from values between ticks: the recording hot path does nothing.
// A daemon that may not write the segment skips it (tried again a minute later).
//
// Thread-safety: one thread (the collector's tick).

#include <cstdint>
#include <string>
#include <unordered_map>

#include "shmstats/snapshot.h"

namespace shmstats::daemon {

class ProducerActivity {
 public:
  // Compares `snap` with the previous tick's and notes the producers of the series
  // that changed in segment `name`. Never throws.
  void Note(const std::string& name, const Snapshot& snap);

 private:
  uint64_t instance_ = 0;
  std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>>
      seen_;  // index -> (producer, value hash)
  int64_t next_try_ms_ = 0;
};

}  // namespace shmstats::daemon
